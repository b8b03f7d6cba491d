package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startService runs the real program (`memberline serve --seed`) like startServiceWith and
// stops it when the test ends, failing the test unless it exits cleanly.
func startService(t *testing.T, extra map[string]string) (string, map[string]string) {
	t.Helper()
	base, env, cancel, done := startServiceWith(t, extra)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop after its context ended")
		}
	})
	return base, env
}

func TestServeAndCall(t *testing.T) {
	base, env := startService(t, nil)
	for _, tc := range []struct {
		name   string
		from   string
		input  string
		expect []string
	}{
		{"member hands off with context", "+14045550123", "1", []string{"Welcome back, Dana.", "trip to Atlanta tomorrow", "member_id", "1001", "HX7Q2P", "handed off"}},
		{"member declines then asks for the tier", "+14045550123", "2,3", []string{"For reservations, press 1.", "Diamond", "call ended"}},
		{"household", "+16175550100", "2", []string{"If this is Sam, press 1.", "Welcome back, Alex."}},
		{"unknown identifies, then the PIN", "+12125550000", "1001,2580,2,1", []string{"member number", "enter your PIN", "recognize this phone number", "Welcome back, Dana.", "confirmation code is HX7Q2P", "handed off"}},
		{"unknown identifies, wrong PIN", "+12125550000", "1001,1111", []string{"member number", "enter your PIN", "doesn't match"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"call", "-url", base, "-input", tc.input, tc.from}, envOf(env), strings.NewReader(""), &out, &errOut)
			if err != nil {
				t.Fatalf("call: %v\n%s\n%s", err, out.String(), errOut.String())
			}
			for _, e := range tc.expect {
				if !strings.Contains(out.String(), e) {
					t.Errorf("transcript lacks %q:\n%s", e, out.String())
				}
			}
		})
	}
	// The readiness probe sees both stores.
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz = %d", resp.StatusCode)
	}
}

func TestServeRefusesBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve"}, envOf(map[string]string{"LOG_FORMAT": "xml"}), strings.NewReader(""), &out, &errOut)
	if err == nil {
		t.Fatal("serve started without configuration")
	}
	for _, p := range []string{"DATABASE_URL", "REDIS_URL", "TWILIO_AUTH_TOKEN", "ADMIN_TOKEN", "LOG_FORMAT"} {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name %s", err, p)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"frobnicate"}, envOf(nil), strings.NewReader(""), &out, &errOut); err == nil {
		t.Fatal("unknown command accepted")
	}
	if !strings.Contains(errOut.String(), "Commands:") {
		t.Fatalf("no usage printed: %q", errOut.String())
	}
}

func TestInsecureModeWarnsLoudly(t *testing.T) {
	var out, errOut bytes.Buffer
	env := envOf(map[string]string{
		"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", "REDIS_URL": "redis://127.0.0.1:1",
		"ADMIN_TOKEN": "test-admin-token-0123456789",
	})
	err := run(context.Background(), []string{"serve", "--insecure-skip-twilio-signature"}, env, strings.NewReader(""), &out, &errOut)
	if err == nil {
		t.Fatal("serve started against an unreachable database")
	}
	if !strings.Contains(errOut.String(), "WARNING") || !strings.Contains(errOut.String(), "NOT checked") {
		t.Fatalf("insecure mode did not warn: %q", errOut.String())
	}
}

// DEBUG_ADDR serves the profiler on its own listener, never on the main port.
func TestDebugAddrServesProfilerApart(t *testing.T) {
	debug := freeAddr(t)
	base, _ := startService(t, map[string]string{"DEBUG_ADDR": debug})
	getStatuses(t, []urlStatus{
		{"http://" + debug + "/debug/pprof/cmdline", http.StatusOK},
		{"http://" + debug + "/debug/pprof/heap?debug=1", http.StatusOK},
		{base + "/debug/pprof/cmdline", http.StatusNotFound},
	})
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type urlStatus struct {
	url  string
	want int
}

// getStatuses GETs each URL and checks its status.
func getStatuses(t *testing.T, tests []urlStatus) {
	t.Helper()
	for _, tc := range tests {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s = %d, want %d", tc.url, resp.StatusCode, tc.want)
		}
	}
}

// TestMetricsAddrServesMetricsApart: with METRICS_ADDR, /metrics is served there and no
// longer on the main port, which Twilio reaches from the internet; /readyz names what is
// down without its address.
func TestMetricsAddrServesMetricsApart(t *testing.T) {
	metrics := freeAddr(t)
	base, _ := startService(t, map[string]string{"METRICS_ADDR": metrics})
	getStatuses(t, []urlStatus{
		{"http://" + metrics + "/metrics", http.StatusOK},
		{base + "/metrics", http.StatusNotFound},
		{"http://" + metrics + "/healthz", http.StatusNotFound},
	})
}

// `make run` prints the console's address beside the make call lines, with the
// development token it sets; any other token is never printed.
func TestCallHintNamesTheConsole(t *testing.T) {
	var b strings.Builder
	printCallHint(&b, "127.0.0.1:8080", devAdminToken)
	if !strings.Contains(b.String(), "Admin console: http://127.0.0.1:8080/admin/ (sign in with the development token dev-admin-token-change-me)") ||
		!strings.Contains(b.String(), "make call FROM=+14045550123") {
		t.Errorf("hint:\n%s", b.String())
	}
	b.Reset()
	printCallHint(&b, "127.0.0.1:8080", "a-real-secret-token-0123456789")
	if strings.Contains(b.String(), "a-real-secret-token") || !strings.Contains(b.String(), "sign in with your ADMIN_TOKEN") {
		t.Errorf("hint with another token:\n%s", b.String())
	}
}

// TestDefaultRegionReachesEveryNumber: with DEFAULT_REGION=GB a number written the British
// way is stored, looked up and recognized as the same E.164 number a call comes from.
func TestDefaultRegionReachesEveryNumber(t *testing.T) {
	base, env := startService(t, map[string]string{"DEFAULT_REGION": "GB"})
	send := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+env["ADMIN_TOKEN"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	code, body := send(http.MethodPut, "/api/v1/members/GB1", `{"first_name":"Imogen","tier":"Gold","time_zone":"Europe/London","phones":["020 7946 0018"]}`)
	if code != http.StatusOK || !strings.Contains(body, `"+442079460018"`) {
		t.Fatalf("PUT a member with a British number = %d %s, want it stored as +442079460018", code, body)
	}
	if code, body := send(http.MethodGet, "/api/v1/lookup?phone=020%207946%200018", ""); code != http.StatusOK || !strings.Contains(body, "Imogen") {
		t.Fatalf("lookup of the British number = %d %s", code, body)
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"call", "-url", base, "+442079460018"}, envOf(env), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("call: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "Welcome back, Imogen.") {
		t.Errorf("a call from +442079460018 hears:\n%s", out.String())
	}
}

// envOf is an environment of the given variables.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
