package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
)

// observed is the edge with every tier traced into memory, metrics read by hand and call
// records kept.
type observed struct {
	*harness
	spans   *tracetest.InMemoryExporter
	reader  *sdkmetric.ManualReader
	records *calls.Store
	logs    *testenv.Buffer
}

func newObserved(t *testing.T) *observed {
	t.Helper()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))

	base := testenv.Postgres(t, testenv.Key("lookup+calls", lookup.Migrations, calls.Migrations), testenv.All(lookup.Migrate, calls.Migrate))
	pcfg, err := pgxpool.ParseConfig(testenv.URL(t, base))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tp))
	pool, err := pgxpool.NewWithConfig(context.Background(), pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rdb, prefix := testenv.Redis(t)
	if err := redisx.Trace(rdb, tp); err != nil {
		t.Fatal(err)
	}
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	t.Cleanup(local.Close)
	records := calls.New(pool, calls.Options{HashKey: []byte("test")})
	t.Cleanup(func() { _ = records.Close(context.Background()) })
	logs := &testenv.Buffer{}
	st := newStack(local)
	st.edge.Logger, st.edge.TracerProvider, st.edge.MeterProvider = slog.New(slog.NewJSONHandler(logs, nil)), tp, mp
	st.edgeDeps.Calls, st.apiDeps.Calls = records, records
	h := st.build(t, cache, rdb)
	h.seedMembers()
	spans.Reset()
	return &observed{harness: h, spans: spans, reader: reader, records: records, logs: logs}
}

// spanTree draws the spans of one trace as an indented tree.
func spanTree(spans tracetest.SpanStubs) string {
	children := map[string][]tracetest.SpanStub{}
	var roots []tracetest.SpanStub
	for _, s := range spans {
		if s.Parent.IsValid() {
			children[s.Parent.SpanID().String()] = append(children[s.Parent.SpanID().String()], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var walk func(s tracetest.SpanStub, depth int)
	walk = func(s tracetest.SpanStub, depth int) {
		var attrs []string
		for _, a := range s.Attributes {
			if strings.HasPrefix(string(a.Key), "twilio.") || strings.HasPrefix(string(a.Key), "caller.") ||
				strings.HasPrefix(string(a.Key), "lookup.") || strings.HasPrefix(string(a.Key), "flow.") || a.Key == "call.outcome" {
				attrs = append(attrs, fmt.Sprintf("%s=%s", a.Key, a.Value.String()))
			}
		}
		fmt.Fprintf(&b, "%s%s (%s) %s\n", strings.Repeat("  ", depth), s.Name, s.EndTime.Sub(s.StartTime).Round(time.Microsecond), strings.Join(attrs, " "))
		kids := children[s.SpanContext.SpanID().String()]
		sort.Slice(kids, func(i, j int) bool { return kids[i].StartTime.Before(kids[j].StartTime) })
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return b.String()
}

// TestOneCallObserved places one call (Dana: the incoming webhook, then "yes" to the trip
// question) through the real handler, and reads back its spans, metrics, log lines and
// call record; none of them may hold her number or her name.
func TestOneCallObserved(t *testing.T) {
	o := newObserved(t)
	const sid = "CA0123456789abcdef0123456789abcdef"
	o.Call("+14045550123", "1")

	// Traces: one per webhook, rooted at the route's span, with every tier of the first
	// lookup (local miss, Redis, PostgreSQL).
	all := o.spans.GetSpans()
	byTrace := map[string]tracetest.SpanStubs{}
	var order []string
	for _, s := range all {
		id := s.SpanContext.TraceID().String()
		if byTrace[id] == nil {
			order = append(order, id)
		}
		byTrace[id] = append(byTrace[id], s)
	}
	if len(byTrace) != 2 {
		t.Fatalf("%d traces, want 2 (one per webhook):\n%s", len(byTrace), spanTree(all))
	}
	first := byTrace[order[0]]
	t.Logf("span tree of the incoming-call webhook:\n%s", spanTree(first))
	names := map[string]bool{}
	for _, s := range first {
		names[s.Name] = true
	}
	for _, want := range []string{"POST /twilio/voice", "twilio.signature", "lookup", "lookup.local", "lookup.redis",
		"lookup.postgres", "flows.engine", "twiml.encode"} {
		if !names[want] {
			t.Errorf("no %q span in the first webhook's trace:\n%s", want, spanTree(first))
		}
	}
	for _, s := range all {
		if s.InstrumentationScope.Name != ivr.Scope {
			continue
		}
		if v := attrOf(s.Attributes, "twilio.call_sid"); v != sid {
			t.Errorf("span %s has call SID %q, want %q", s.Name, v, sid)
		}
	}

	// Metrics.
	var rm metricdata.ResourceMetrics
	if err := o.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	var labels []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					got[m.Name+labelsOf(p.Attributes)] += int64(p.Count)
					labels = append(labels, labelsOf(p.Attributes))
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					got[m.Name+labelsOf(p.Attributes)] += p.Value
					labels = append(labels, labelsOf(p.Attributes))
				}
			}
		}
	}
	for _, want := range []struct {
		key string
		n   int64
	}{
		{"memberline.webhook.duration{http.route=/twilio/voice}", 1},
		{"memberline.webhook.duration{http.route=/twilio/gather}", 1},
		{"memberline.calls.recognized{outcome=member}", 1},
	} {
		if got[want.key] != want.n {
			t.Errorf("%s = %d, want %d (have %v)", want.key, got[want.key], want.n, got)
		}
	}
	ended := int64(0)
	for k, v := range got {
		if strings.HasPrefix(k, "memberline.flow.outcomes{flow=default,outcome=") {
			ended += v
		}
	}
	if ended != 1 {
		t.Errorf("flow outcomes counted %d ended calls, want 1: %v", ended, got)
	}

	// Logs: one line per webhook.
	logs := o.logs.String()
	if n := strings.Count(logs, `"msg":"webhook"`); n != 2 {
		t.Errorf("%d webhook log lines, want 2:\n%s", n, logs)
	}
	if !strings.Contains(logs, `"call_sid":"`+sid+`"`) || !strings.Contains(logs, `"from":"+1404***0123"`) {
		t.Errorf("log lines lack the call SID or the masked number:\n%s", logs)
	}

	// The call record, through the API, once the recorder has flushed.
	if err := o.records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	journey := o.mustAPI(http.MethodGet, "/api/v1/calls/"+sid, "")
	for _, want := range []string{`"member_id": "1001"`, `"recognized": "member"`, `"flow": "default"`, `"route": "gather"`, `"input": "1"`} {
		if !strings.Contains(journey, want) {
			t.Errorf("journey lacks %s:\n%s", want, journey)
		}
	}
	list := o.mustAPI(http.MethodGet, "/api/v1/members/1001/calls", "")
	if !strings.Contains(list, sid) {
		t.Errorf("member's calls lack the call:\n%s", list)
	}
	byNumber := o.mustAPI(http.MethodGet, "/api/v1/calls?number="+url.QueryEscape("(404) 555-0123"), "")
	if !strings.Contains(byNumber, sid) {
		t.Errorf("calls by number lack the call:\n%s", byNumber)
	}

	// No PII anywhere: not the number in any form, not the name.
	var attrs strings.Builder
	for _, s := range all {
		for _, a := range s.Attributes {
			fmt.Fprintf(&attrs, "%s=%s\n", a.Key, a.Value.String())
		}
	}
	for what, text := range map[string]string{
		"log output": logs, "span attributes": attrs.String(), "metric labels": strings.Join(labels, "\n"), "call record": journey,
	} {
		for _, pii := range []string{"+14045550123", "4045550123", "555-0123", "Dana", "Whitfield"} {
			if strings.Contains(text, pii) {
				t.Errorf("%s contain %q", what, pii)
			}
		}
	}
}

func attrOf(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func labelsOf(set attribute.Set) string {
	var parts []string
	for _, kv := range set.ToSlice() {
		if kv.Key == "version" {
			continue
		}
		parts = append(parts, string(kv.Key)+"="+kv.Value.String())
	}
	return "{" + strings.Join(parts, ",") + "}"
}
