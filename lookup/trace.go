package lookup

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
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
