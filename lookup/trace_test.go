package lookup

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

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
