package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
)

// TestServeDrainsOnShutdown stops the real service while an incoming call is in flight.
// The call is held in flight without any test hook: its form body is sent in two halves
// through a pipe, so the server is inside the webhook (reading the body) until the test
// sends the rest. Every wait is a poll with a deadline; nothing asserts on elapsed time.
func TestServeDrainsOnShutdown(t *testing.T) {
	for _, tc := range []struct {
		name            string
		delay, timeout  string
		finishInFlight  bool // send the rest of the body once the listener is closed
		wantNotReady    bool // /readyz answers 503 before the listener closes
		wantCallAnswers bool
	}{
		{name: "in-flight call finishes, readyz fails while draining", delay: "2s", timeout: "20s",
			finishInFlight: true, wantNotReady: true, wantCallAnswers: true},
		{name: "in-flight call past the timeout is cut, exit still clean", delay: "0s", timeout: "200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, env, cancel, done := startServiceWith(t, map[string]string{
				"SHUTDOWN_DELAY": tc.delay, "SHUTDOWN_TIMEOUT": tc.timeout,
			})

			params := url.Values{
				"CallSid": {"CAdrain0000000000000000000000000"}, "AccountSid": {"ACtest"},
				"From": {"+14045550123"}, "To": {"+18005550100"}, "CallStatus": {"ringing"},
			}
			body := params.Encode()
			pr, pw := io.Pipe()
			req, err := http.NewRequest(http.MethodPost, base+"/twilio/voice", pr)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", ivr.Sign(env["TWILIO_AUTH_TOKEN"], env["PUBLIC_URL"]+"/twilio/voice", params))
			type answer struct {
				status int
				body   string
				err    error
			}
			answers := make(chan answer, 1)
			go func() {
				resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
				if err != nil {
					answers <- answer{err: err}
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				answers <- answer{resp.StatusCode, string(b), err}
			}()
			// The pipe write returns once the transport has taken the bytes, after the
			// request line and headers: the request is on the wire.
			if _, err := io.WriteString(pw, body[:len(body)/2]); err != nil {
				t.Fatal(err)
			}

			cancel() // what SIGTERM does through signal.NotifyContext

			probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
			sawNotReady := false
			testenv.WaitFor(t, "the listener to close", func() bool {
				resp, err := probe.Get(base + "/readyz")
				if err != nil {
					return errors.Is(err, syscall.ECONNREFUSED)
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusServiceUnavailable {
					sawNotReady = true
				}
				return false
			})
			if tc.wantNotReady && !sawNotReady {
				t.Error("/readyz never answered 503 while draining")
			}
			if tc.finishInFlight {
				select {
				case err := <-done:
					t.Fatalf("serve returned (%v) with a call still in flight", err)
				default:
				}
				if _, err := io.WriteString(pw, body[len(body)/2:]); err != nil {
					t.Fatal(err)
				}
				pw.Close()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("serve returned %v, want a clean stop", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
			pw.Close() // a cut call's client may still be waiting to send the rest
			a := <-answers
			if !tc.wantCallAnswers {
				if a.err == nil && a.status == http.StatusOK {
					t.Fatalf("call past the shutdown timeout was answered: %d %s", a.status, a.body)
				}
				return
			}
			if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, "Welcome back, Dana.") {
				t.Fatalf("in-flight call got %d %q (%v), want the member greeting", a.status, a.body, a.err)
			}
		})
	}
}

// startServiceWith runs the real program (`memberline serve --seed`) on a free port with a
// private Redis and a fresh database (unless extra names DATABASE_URL), extra environment
// on top, and leaves the stop in the test's hands: cancel is the signal, done yields run's
// result.
func startServiceWith(t *testing.T, extra map[string]string) (base string, env map[string]string, cancel func(), done <-chan error) {
	t.Helper()
	redisSrv := testenv.StartRedis(t)
	env = map[string]string{
		"REDIS_URL":         redisSrv.URL(),
		"LISTEN_ADDR":       "127.0.0.1:0",
		"PUBLIC_URL":        "https://ivr.example.com",
		"TWILIO_AUTH_TOKEN": "test-twilio-token",
		"ADMIN_TOKEN":       "test-admin-token-0123456789",
		"LOG_FORMAT":        "text",
	}
	for k, v := range extra {
		env[k] = v
	}
	if env["DATABASE_URL"] == "" {
		env["DATABASE_URL"] = testenv.URL(t, testenv.Postgres(t, "lookup", lookup.Migrate))
	}
	base, cancel, done = serveUntil(t, env, "/healthz")
	return base, env, cancel, done
}

// serveUntil runs `memberline serve --seed` with env in this process and waits until its
// route probe (/healthz or /readyz) answers 200; cancel is the signal, done run's result.
func serveUntil(t *testing.T, env map[string]string, probe string) (base string, cancel func(), done <-chan error) {
	t.Helper()
	ctx, cancelCtx := context.WithCancel(context.Background())
	var stdout, stderr testenv.Buffer
	result := make(chan error, 1)
	go func() {
		result <- run(ctx, []string{"serve", "--seed"}, envOf(env), strings.NewReader(""), &stdout, &stderr)
	}()
	t.Cleanup(cancelCtx)
	testenv.WaitFor(t, "the service to answer "+probe, func() bool {
		select {
		case err := <-result:
			t.Fatalf("serve exited early: %v\n%s", err, stderr.String())
		default:
		}
		m := listeningRE.FindStringSubmatch(stdout.String())
		if m == nil {
			return false
		}
		resp, err := http.Get(m[1] + probe)
		if err != nil {
			return false
		}
		resp.Body.Close()
		base = m[1]
		return resp.StatusCode == http.StatusOK
	})
	return base, cancelCtx, result
}
