package lookup

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// scope names the lookup tiers' spans.
const scope = "github.com/memberline/memberline/lookup"

// Span attributes: whether a tier answered. Numbers are never recorded here.
var (
	attrHit  = attribute.Bool("lookup.hit", true)
	attrMiss = attribute.Bool("lookup.hit", false)
)

var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts a tier's span under the caller's span, with the caller's tracer
// provider. Without a recording parent it does nothing, so an untraced lookup pays only a
// context read.
func startSpan(ctx context.Context, name string) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, noSpan
	}
	return parent.TracerProvider().Tracer(scope).Start(ctx, name)
}

// setHit records whether a tier answered, only on a recording span: even a no-op
// SetAttributes call allocates its arguments.
func setHit(span trace.Span, hit bool) {
	if !span.IsRecording() {
		return
	}
	if hit {
		span.SetAttributes(attrHit)
	} else {
		span.SetAttributes(attrMiss)
	}
}

// TraceRedis makes go-redis report its commands as spans, without their arguments (the
// keys hold phone numbers). Only commands sent within a traced request are reported:
// those batched by the automatic pipeline (AutoPipelined) run on the pipeline's own
// context, outside any request, and the lookup's own spans time them instead.
func TraceRedis(rdb redis.UniversalClient, tp trace.TracerProvider) error {
	if tp == nil {
		return nil
	}
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(childSpansOnly{tp: tp}),
		redisotel.WithDBStatement(false)); err != nil {
		return fmt.Errorf("lookup: redis tracing: %w", err)
	}
	return nil
}

// childSpansOnly starts spans only under a parent span: it keeps work that runs outside
// any request from starting traces of its own.
type childSpansOnly struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

func (p childSpansOnly) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return childTracer{t: p.tp.Tracer(name, opts...)}
}

type childTracer struct {
	embedded.Tracer
	t trace.Tracer
}

func (t childTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, noSpan
	}
	return t.t.Start(ctx, name, opts...)
}
