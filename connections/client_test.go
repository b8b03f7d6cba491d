package connections

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Vectors computed outside this package (HMAC-SHA256 over "<t>.<METHOD>.<path>.<body>").
func TestSignVectors(t *testing.T) {
	at := time.Unix(1765065600, 0)
	for _, v := range []struct{ method, path, body, want string }{
		{"GET", "/members/1001/bookings?upcoming=1", "", "t=1765065600,v1=bd232efd5838917d0169095490dab3c00bb7f96fdfd3dfbc56ddbc863aab0ce4"},
		{"POST", "/v2/lookup", `{"member":"1001"}`, "t=1765065600,v1=cafc432a74895f935a36724d45bfa52dfc22bc03b801cbfb4579c07621bbddb9"},
	} {
		if got := Sign("whsec_test_secret", at, v.method, v.path, []byte(v.body)); got != v.want {
			t.Errorf("Sign(%s %s) = %s, want %s", v.method, v.path, got, v.want)
		}
	}
}

func TestInternal(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "100.64.0.1": true, "0.0.0.0": true, "::1": true,
		"fd00::1": true, "fe80::1": true, "::ffff:127.0.0.1": true, "224.0.0.1": true,
		"8.8.8.8": false, "2606:4700::1111": false, "100.128.0.1": false,
	} {
		if got := Internal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Internal(%s) = %v, want %v", addr, got, want)
		}
	}
}

// server answers with h and checks each request's signature against secret.
func server(t *testing.T, secret string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var bad atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sig := r.Header.Get(SignatureHeader)
		ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
		var sec int64
		for _, c := range ts {
			sec = sec*10 + int64(c-'0')
		}
		if Sign(secret, time.Unix(sec, 0), r.Method, r.URL.RequestURI(), body) != sig {
			bad.Add(1)
		}
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s, &bad
}

func jsonAnswer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = io.WriteString(w, body)
	}
}

func TestFetchSignsAndDecodes(t *testing.T) {
	var gotKey, gotPath string
	s, bad := server(t, "s3cret", func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotPath = r.Header.Get("X-Api-Key"), r.URL.RequestURI()
		jsonAnswer(`{"trip":{"city":"Atlanta"}}`)(w, r)
	})
	c := NewClient(Options{})
	conn := Connection{ID: "crm", BaseURL: s.URL + "/v2/", Secret: "s3cret", Headers: map[string]string{"X-Api-Key": "k"}, Timeout: time.Second, AllowPrivate: true}
	r := c.Fetch(context.Background(), conn, "GET", "/members/1001?x=1", nil)
	if r.Outcome != OK || r.Status != 200 {
		t.Fatalf("fetch = %+v", r)
	}
	city := r.Answer.(map[string]any)["trip"].(map[string]any)["city"]
	if city != "Atlanta" || gotKey != "k" || gotPath != "/v2/members/1001?x=1" || bad.Load() != 0 {
		t.Errorf("city %v, key %q, path %q, bad signatures %d", city, gotKey, gotPath, bad.Load())
	}
	r = c.Fetch(context.Background(), conn, "POST", "/lookup", []byte(`{"member":"1001"}`))
	if r.Outcome != OK || bad.Load() != 0 {
		t.Errorf("POST = %+v, bad signatures %d", r, bad.Load())
	}
}

func TestFetchRefusesInternalAddresses(t *testing.T) {
	var hits atomic.Int32
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer s.Close()
	port := s.URL[strings.LastIndex(s.URL, ":"):]
	c := NewClient(Options{})
	for _, base := range []string{s.URL, "https://localhost" + port, "https://[::ffff:127.0.0.1]" + port, strings.Replace(s.URL, "https", "http", 1)} {
		r := c.Fetch(context.Background(), Connection{ID: base, BaseURL: base, Timeout: time.Second}, "GET", "/", nil)
		if r.Outcome != Unreachable || !strings.Contains(r.Reason, "https") && !strings.Contains(r.Reason, "internal address") {
			t.Errorf("%s: %+v, want unreachable as an internal address", base, r)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the internal server was reached %d times", hits.Load())
	}
}

func TestFetchOutcomes(t *testing.T) {
	big := `{"x":"` + strings.Repeat("a", MaxAnswer) + `"}`
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"not json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>")
		}, Invalid},
		{"broken json", jsonAnswer(`{"a":`), Invalid},
		{"too large", jsonAnswer(big), Invalid},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/", http.StatusFound)
		}, Status},
		{"not found", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusNotFound) }, Status},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, Timeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := server(t, "", tc.h)
			c := NewClient(Options{})
			r := c.Fetch(context.Background(), Connection{ID: "x", BaseURL: s.URL, Timeout: 100 * time.Millisecond, AllowPrivate: true}, "GET", "/", nil)
			if r.Outcome != tc.want || r.Answer != nil || r.Reason == "" {
				t.Errorf("%+v, want %s with a reason", r, tc.want)
			}
		})
	}
}

func TestBreakerTripsAndRecovers(t *testing.T) {
	var healthy atomic.Bool
	var hits atomic.Int32
	s, _ := server(t, "", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !healthy.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		jsonAnswer(`{}`)(w, r)
	})
	c := NewClient(Options{BreakerTimeout: 50 * time.Millisecond})
	conn := Connection{ID: "crm", BaseURL: s.URL, Timeout: time.Second, AllowPrivate: true}
	other := Connection{ID: "billing", BaseURL: s.URL, Timeout: time.Second, AllowPrivate: true}
	for i := 0; i < 5; i++ {
		if r := c.Fetch(context.Background(), conn, "GET", "/", nil); r.Outcome != Status || r.Status != 502 {
			t.Fatalf("fetch %d = %+v", i, r)
		}
	}
	if r := c.Fetch(context.Background(), conn, "GET", "/", nil); r.Outcome != CircuitOpen || hits.Load() != 5 {
		t.Fatalf("after 5 failures: %+v, %d requests reached the API", r, hits.Load())
	}
	healthy.Store(true)
	if r := c.Fetch(context.Background(), other, "GET", "/", nil); r.Outcome != OK {
		t.Errorf("another connection's breaker is its own: %+v", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := c.Fetch(context.Background(), conn, "GET", "/", nil)
		if r.Outcome == OK {
			break
		}
		if r.Outcome != CircuitOpen || time.Now().After(deadline) {
			t.Fatalf("the breaker did not half-open: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFourHundredsDoNotTrip(t *testing.T) {
	s, _ := server(t, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no member", http.StatusNotFound) })
	c := NewClient(Options{})
	conn := Connection{ID: "crm", BaseURL: s.URL, Timeout: time.Second, AllowPrivate: true}
	for i := 0; i < 30; i++ {
		if r := c.Fetch(context.Background(), conn, "GET", "/", nil); r.Outcome != Status || r.Status != 404 {
			t.Fatalf("fetch %d = %+v", i, r)
		}
	}
}

// The documented vector is the one the code computes.
func TestDocumentedVector(t *testing.T) {
	doc, err := os.ReadFile("../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	want := Sign("whsec_test_secret", time.Unix(1765065600, 0), "GET", "/members/1001/bookings?upcoming=1", nil)
	_, v1, _ := strings.Cut(want, ",")
	if !strings.Contains(string(doc), v1) {
		t.Errorf("docs/security.md does not show %s", v1)
	}
}

// Each request is counted by outcome, timed, and traced as a client span whose context
// the company's API receives in traceparent.
func TestFetchTelemetry(t *testing.T) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	var traceparent atomic.Value
	s, _ := server(t, "", func(w http.ResponseWriter, r *http.Request) {
		traceparent.Store(r.Header.Get("traceparent"))
		jsonAnswer(`{}`)(w, r)
	})
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	c := NewClient(Options{MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))})
	conn := Connection{ID: "crm", BaseURL: s.URL, Timeout: time.Second, AllowPrivate: true}
	c.Fetch(context.Background(), conn, "GET", "/", nil)
	c.Fetch(context.Background(), Connection{ID: "crm", BaseURL: "https://127.0.0.1:1", Timeout: time.Second}, "GET", "/", nil)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var timed uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					o, _ := p.Attributes.Value("outcome")
					counts[m.Name+" "+o.AsString()] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					timed += p.Count
				}
			}
		}
	}
	if counts["memberline.fetch.requests ok"] != 1 || counts["memberline.fetch.requests unreachable"] != 1 || timed != 2 {
		t.Errorf("counted %v, timed %d", counts, timed)
	}
	ended := spans.Ended()
	if len(ended) != 2 || ended[0].SpanKind() != trace.SpanKindClient || ended[0].Name() != "fetch crm" {
		t.Fatalf("spans = %v", ended)
	}
	tp, _ := traceparent.Load().(string)
	if !strings.Contains(tp, ended[0].SpanContext().TraceID().String()) {
		t.Errorf("traceparent %q does not carry the span's trace %s", tp, ended[0].SpanContext().TraceID())
	}
}

// A path cannot reach another host, whatever it holds.
func TestFetchPathStaysOnTheHost(t *testing.T) {
	var hits atomic.Int32
	s, _ := server(t, "", func(w http.ResponseWriter, r *http.Request) { hits.Add(1); jsonAnswer(`{}`)(w, r) })
	c := NewClient(Options{})
	conn := Connection{ID: "crm", BaseURL: s.URL, Timeout: time.Second, AllowPrivate: true}
	for _, p := range []string{"@169.254.169.254/", ":1@169.254.169.254/", ".evil.example/", "/../admin", "/%2E%2e/admin", "/./x", "/a#frag", "/a\r\nHost: x", ""} {
		if r := c.Fetch(context.Background(), conn, "GET", p, nil); r.Outcome == OK {
			t.Errorf("path %q reached %+v", p, r)
		}
	}
	for _, p := range []string{"/@169.254.169.254/", "//169.254.169.254/"} {
		if r := c.Fetch(context.Background(), conn, "GET", p, nil); r.Outcome != OK {
			t.Errorf("%q is a path on the connection's host: %+v", p, r)
		}
	}
	if hits.Load() != 2 {
		t.Errorf("%d requests reached the server, want 2", hits.Load())
	}
}
