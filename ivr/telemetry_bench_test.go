package ivr

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

// BenchmarkVoiceWebhookObserved is the incoming-call webhook answered from the local tier
// with the telemetry serve runs: "bare" none at all; "metrics+records" the SDK meter and
// the call recorder (serve without an OTLP endpoint); "traced" every span sampled too.
func BenchmarkVoiceWebhookObserved(b *testing.B) {
	pool := testenv.Postgres(b, testenv.Key("lookup+calls", lookup.Migrations, calls.Migrations), testenv.All(lookup.Migrate, calls.Migrate))
	rdb, prefix := testenv.Redis(b)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	b.Cleanup(local.Close)
	ctx := context.Background()
	if _, err := local.PutMember(ctx, lookup.Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond",
		TimeZone: "America/New_York", Phones: []string{"+14045550123"}}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name    string
		tp      trace.TracerProvider
		metrics bool
		records bool
	}{
		{name: "bare", tp: noop.NewTracerProvider()},
		{name: "metrics+records", tp: noop.NewTracerProvider(), metrics: true, records: true},
		{name: "traced", tp: sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter())), metrics: true, records: true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{PublicURL: testPublicURL, TwilioAuthToken: testToken,
				Now: func() time.Time { return testNow }, TracerProvider: bc.tp}
			if bc.metrics {
				cfg.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			}
			deps := Deps{Resolver: local, Members: local, Flow: flows.Default()}
			if bc.records {
				// A large buffer and a long interval: the benchmark measures the webhook's
				// hand-off, not PostgreSQL.
				records := calls.New(pool, calls.Options{Buffer: 1 << 20, FlushEvery: time.Hour, BatchSize: 1 << 20})
				b.Cleanup(func() { _ = records.Close(context.Background()) })
				deps.Calls = records
			}
			handler := New(cfg, deps)
			benchSameCall(b, handler)
		})
	}
}
