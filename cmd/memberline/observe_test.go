package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/ivr"
)

// TestServeRecordsCallsAndServesMetrics places a call against the real service, reads
// /metrics, then stops the service: the call's record must be in PostgreSQL once serve has
// returned (flushed on the clean shutdown, whatever the batch timer said).
func TestServeRecordsCallsAndServesMetrics(t *testing.T) {
	base, env, cancel, done := startServiceWith(t, map[string]string{"SHUTDOWN_DELAY": "0s"})
	const sid = "CAobserve000000000000000000000000"
	params := url.Values{
		"CallSid": {sid}, "AccountSid": {"ACtest"},
		"From": {"+14045550123"}, "To": {"+18005550100"}, "CallStatus": {"ringing"},
	}
	req, err := http.NewRequest(http.MethodPost, base+"/twilio/voice", strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", ivr.Sign(env["TWILIO_AUTH_TOKEN"], env["PUBLIC_URL"]+"/twilio/voice", params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Welcome back, Dana.") {
		t.Fatalf("voice = %d %s", resp.StatusCode, body)
	}

	// The caller hangs up at the first question: the recorder decides caller_hung_up and
	// counts it once the record is written.
	status := url.Values{"CallSid": {sid}, "CallStatus": {"completed"}, "CallDuration": {"9"}}
	req, _ = http.NewRequest(http.MethodPost, base+"/twilio/status", strings.NewReader(status.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", ivr.Sign(env["TWILIO_AUTH_TOKEN"], env["PUBLIC_URL"]+"/twilio/status", status))
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status = %v %v", resp, err)
	}
	resp.Body.Close()
	var metrics []byte
	testenv.WaitFor(t, "the hung-up call in /metrics", func() bool {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metrics, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return strings.Contains(string(metrics), `memberline_flow_outcomes_total{flow="default",outcome="caller_hung_up"`)
	})
	t.Logf("/metrics (memberline series):\n%s", memberlineSeries(string(metrics)))
	for _, want := range []string{
		`memberline_webhook_duration_seconds_bucket{http_route="/twilio/voice"`,
		`memberline_calls_recognized_total{outcome="member"`,
		`memberline_db_pool_connections{state="max"`,
		`memberline_redis_pool_connections{state="total"`,
		`memberline_lookup_tier_total{result="miss",tier="local"`,
		`memberline_call_records_events_total{state="recorded"`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every series the Grafana dashboard queries is served.
	dashboard, err := os.ReadFile("../../deploy/grafana/memberline.json")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`memberline_[a-z_]+`).FindAllString(string(dashboard), -1)
	if len(names) < 10 {
		t.Fatalf("only %d metric names in the dashboard", len(names))
	}
	for _, n := range names {
		if !strings.Contains(string(metrics), "\n"+n) {
			t.Errorf("the dashboard queries %s, which /metrics does not serve", n)
		}
	}
	for _, pii := range []string{"4045550123", "Dana", "Whitfield"} {
		if strings.Contains(string(metrics), pii) {
			t.Errorf("/metrics contains %q", pii)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	pool, err := pgxpool.New(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var member, recognized, masked string
	err = pool.QueryRow(context.Background(),
		"SELECT member_id, recognized, caller_masked FROM calls WHERE call_sid = $1", sid).Scan(&member, &recognized, &masked)
	if err != nil {
		t.Fatalf("the call's record was not flushed on shutdown: %v", err)
	}
	var outcome string
	if err := pool.QueryRow(context.Background(), "SELECT outcome FROM calls WHERE call_sid = $1", sid).Scan(&outcome); err != nil || outcome != "caller_hung_up" {
		t.Errorf("outcome = %q, %v; want caller_hung_up", outcome, err)
	}
	if member != "1001" || recognized != "member" || masked != "+1404***0123" {
		t.Errorf("record = %s %s %s", member, recognized, masked)
	}
}

// memberlineSeries keeps the service's own lines of a scrape.
func memberlineSeries(scrape string) string {
	var b strings.Builder
	for _, l := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(l, "memberline_") && !strings.Contains(l, "_bucket{") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func TestCallsPurge(t *testing.T) {
	base, env, cancel, done := startServiceWith(t, nil)
	_ = base
	cancel()
	<-done
	pool, err := pgxpool.New(context.Background(), env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `INSERT INTO calls (call_sid, started_at, updated_at) VALUES
		('CAold', now() - interval '100 days', now()), ('CAnew', now() - interval '1 day', now())`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"default retention", []string{"calls", "purge"}, "deleted 1 call records"},
		{"older than", []string{"calls", "purge", "-older-than", "12h"}, "deleted 1 call records"},
		{"nothing left", []string{"calls", "purge", "-older-than", "1h"}, "deleted 0 call records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr testenv.Buffer
			if err := run(context.Background(), tc.args, envOf(env), strings.NewReader(""), &stdout, &stderr); err != nil {
				t.Fatalf("%v: %s", err, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.want) {
				t.Errorf("got %q, want %q", stdout.String(), tc.want)
			}
		})
	}
	var stdout, stderr testenv.Buffer
	if err := run(context.Background(), []string{"calls", "purge", "-older-than", "soon"}, envOf(env), strings.NewReader(""), &stdout, &stderr); err == nil {
		t.Error("a bad -older-than was accepted")
	}
}

// TestServeExportsTracesOverOTLP points OTEL_EXPORTER_OTLP_ENDPOINT at a fake collector:
// the spans of a call arrive, at the latest when the service flushes them on shutdown.
func TestServeExportsTracesOverOTLP(t *testing.T) {
	var got atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/traces" {
			b, _ := io.ReadAll(r.Body)
			if len(b) > 0 {
				got.Add(1)
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	// The exporter reads the standard variables from the process environment.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	base, env, cancel, done := startServiceWith(t, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL, "SHUTDOWN_DELAY": "0s",
	})
	params := url.Values{"CallSid": {"CAotlp"}, "From": {"+14045550123"}, "To": {"+18005550100"}}
	req, _ := http.NewRequest(http.MethodPost, base+"/twilio/voice", strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", ivr.Sign(env["TWILIO_AUTH_TOKEN"], env["PUBLIC_URL"]+"/twilio/voice", params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got.Load() == 0 {
		t.Error("no spans reached the collector")
	}
}
