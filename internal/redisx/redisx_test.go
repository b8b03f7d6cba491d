package redisx

import (
	"context"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// boundedPipeline reports whether the automatic pipeline's queue is bounded, so that a slow
// Redis makes lookups fail at once rather than pile up.
func boundedPipeline(o *redis.AutoPipelineOptions) bool {
	return o != nil && o.MaxQueuedCommands == 10_000
}

func TestNewClient(t *testing.T) {
	for _, tc := range []struct {
		name, mode, url, master string
		check                   func(redis.UniversalClient) bool
		wantErr                 bool
	}{
		{name: "single", mode: Single, url: "redis://127.0.0.1:6379/2",
			check: func(c redis.UniversalClient) bool {
				cl, ok := c.(*redis.Client)
				return ok && cl.Options().DB == 2 && boundedPipeline(cl.Options().AutoPipelineOptions)
			}},
		{name: "default is single", url: "redis://127.0.0.1:6379/0",
			check: func(c redis.UniversalClient) bool { _, ok := c.(*redis.Client); return ok }},
		{name: "cluster", mode: Cluster, url: "redis://n1:6379?addr=n2:6379&addr=n3:6379",
			check: func(c redis.UniversalClient) bool {
				cl, ok := c.(*redis.ClusterClient)
				return ok && len(cl.Options().Addrs) == 3 && boundedPipeline(cl.Options().AutoPipelineOptions)
			}},
		{name: "sentinel", mode: Sentinel, url: "redis://s1:26379?addr=s2:26379", master: "mymaster",
			check: func(c redis.UniversalClient) bool { _, ok := c.(*redis.Client); return ok }},
		{name: "sentinel without a master", mode: Sentinel, url: "redis://s1:26379", wantErr: true},
		{name: "unknown mode", mode: "ring", url: "redis://127.0.0.1:6379", wantErr: true},
		{name: "bad url", mode: Single, url: "http://x", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.mode, tc.url, tc.master)
			if tc.wantErr {
				if err == nil {
					c.Close()
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !tc.check(c) {
				t.Fatalf("client %T not as configured", c)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name, url   string
		dialTimeout time.Duration
		maxRetries  int
		db          int
	}{
		{"defaults", "redis://127.0.0.1:6379/0", 500 * time.Millisecond, 1, 0},
		{"url settings win", "redis://127.0.0.1:6379/2?dial_timeout=2s&max_retries=-1", 2 * time.Second, -1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Options(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if !o.ContextTimeoutEnabled || o.DialerRetries != 1 || o.DialTimeout != tc.dialTimeout ||
				o.MaxRetries != tc.maxRetries || o.DB != tc.db || o.ReadTimeout != 500*time.Millisecond ||
				!boundedPipeline(o.AutoPipelineOptions) {
				t.Fatalf("options %+v", o)
			}
		})
	}
	if _, err := Options("http://nope"); err == nil {
		t.Fatal("a non-redis URL was accepted")
	}
}

// Redis commands are reported only within a request's trace: a batch the automatic
// pipeline sends on its own context starts no trace.
func TestChildSpansOnly(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := childSpansOnly{tp: tp}.Tracer("redis")

	_, orphan := tr.Start(context.Background(), "pipeline get")
	if orphan.IsRecording() {
		t.Error("a span without a parent is recorded")
	}
	orphan.End()

	ctx, parent := tp.Tracer("test").Start(context.Background(), "lookup.redis")
	_, child := tr.Start(ctx, "get")
	if !child.IsRecording() {
		t.Error("a span under a request's span is not recorded")
	}
	child.End()
	parent.End()

	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Name() != "get" || ended[0].Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Fatalf("spans %v", ended)
	}
}
