package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/lookup"
)

// telemetry is the OpenTelemetry SDK as the service runs it: metrics always (served at
// /metrics by the Prometheus exporter), traces exported over OTLP only when
// OTEL_EXPORTER_OTLP_ENDPOINT (or the traces-only variant) is set. Without it the tracer
// provider is a no-op and the edge starts no spans at all. The exporters read the
// standard OTEL_* variables themselves (headers, timeouts, sampler, batch sizes).
type telemetry struct {
	tp       trace.TracerProvider
	mp       *sdkmetric.MeterProvider
	metrics  http.Handler
	shutdown []func(context.Context) error
}

func (t *telemetry) tracing() bool {
	_, off := t.tp.(noop.TracerProvider)
	return !off
}

func setupTelemetry(ctx context.Context, getenv func(string) string) (*telemetry, error) {
	attrs := []attribute.KeyValue{}
	if getenv("OTEL_SERVICE_NAME") == "" {
		attrs = append(attrs, attribute.String("service.name", "memberline"))
	}
	res, err := resource.New(ctx, resource.WithAttributes(attrs...), resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	t := &telemetry{tp: noop.NewTracerProvider()}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	t.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithResource(res))
	t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	t.shutdown = append(t.shutdown, t.mp.Shutdown)

	if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" {
		protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
		if protocol == "" {
			protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
		}
		var exporter sdktrace.SpanExporter
		switch strings.TrimSpace(protocol) {
		case "", "http/protobuf":
			exporter, err = otlptracehttp.New(ctx)
		case "grpc":
			exporter, err = otlptracegrpc.New(ctx)
		default:
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL must be grpc or http/protobuf, got %q", protocol)
		}
		if err != nil {
			return nil, fmt.Errorf("telemetry: OTLP trace exporter: %w", err)
		}
		// The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on by default).
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
		t.tp = tp
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	otel.SetTracerProvider(t.tp)
	otel.SetMeterProvider(t.mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return t, nil
}

// Shutdown flushes the spans still batched and stops the providers.
func (t *telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(t.shutdown) - 1; i >= 0; i-- {
		if err := t.shutdown[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}

// tracePool makes pgx report every query as a span (statements without their arguments).
func tracePool(cfg *pgxpool.Config, tp trace.TracerProvider) {
	if tp != nil {
		cfg.ConnConfig.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(tp))
	}
}

// observeStores registers the gauges and counters read at scrape time from the stores'
// own statistics: nothing is counted on the call path for them.
func observeStores(mp metric.MeterProvider, pool *pgxpool.Pool, rdb redis.UniversalClient, cache *lookup.Cache, local *lookup.Local, records *calls.Store) error {
	m := mp.Meter("github.com/memberline/memberline/cmd/memberline")
	dbConns, err1 := m.Int64ObservableGauge("memberline.db.pool.connections",
		metric.WithDescription("PostgreSQL pool connections by state (acquired, idle, constructing, total, max)."))
	dbAcquires, err2 := m.Int64ObservableCounter("memberline.db.pool.acquires",
		metric.WithDescription("PostgreSQL pool acquisitions; kind=empty waited for a connection, canceled gave up."))
	dbWait, err3 := m.Float64ObservableCounter("memberline.db.pool.acquire_wait", metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for a PostgreSQL connection."))
	redisConns, err4 := m.Int64ObservableGauge("memberline.redis.pool.connections",
		metric.WithDescription("Redis pool connections by state (total, idle, stale)."))
	redisEvents, err5 := m.Int64ObservableCounter("memberline.redis.pool.events",
		metric.WithDescription("Redis pool events: hits (a free connection), misses (a new one), timeouts (none in time)."))
	lookups, err6 := m.Int64ObservableCounter("memberline.lookup.tier",
		metric.WithDescription("Caller lookups by cache tier and result: local hit/miss, redis hit/miss/stale/error (a miss goes on to postgres)."))
	recs, err7 := m.Int64ObservableCounter("memberline.call_records.events",
		metric.WithDescription("Call record events: recorded, dropped (buffer full), written, failed (write error)."))
	buffered, err8 := m.Int64ObservableGauge("memberline.call_records.buffered",
		metric.WithDescription("Call record events waiting to be written."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7, err8); err != nil {
		return fmt.Errorf("telemetry: instruments: %w", err)
	}
	state := func(k, v string) metric.ObserveOption {
		return metric.WithAttributes(attribute.String(k, v))
	}
	tier := func(t, r string) metric.ObserveOption {
		return metric.WithAttributes(attribute.String("tier", t), attribute.String("result", r))
	}
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if pool != nil {
			s := pool.Stat()
			o.ObserveInt64(dbConns, int64(s.AcquiredConns()), state("state", "acquired"))
			o.ObserveInt64(dbConns, int64(s.IdleConns()), state("state", "idle"))
			o.ObserveInt64(dbConns, int64(s.ConstructingConns()), state("state", "constructing"))
			o.ObserveInt64(dbConns, int64(s.TotalConns()), state("state", "total"))
			o.ObserveInt64(dbConns, int64(s.MaxConns()), state("state", "max"))
			o.ObserveInt64(dbAcquires, s.AcquireCount(), state("kind", "all"))
			o.ObserveInt64(dbAcquires, s.EmptyAcquireCount(), state("kind", "empty"))
			o.ObserveInt64(dbAcquires, s.CanceledAcquireCount(), state("kind", "canceled"))
			o.ObserveFloat64(dbWait, s.AcquireDuration().Seconds())
		}
		if rdb != nil {
			s := rdb.PoolStats()
			o.ObserveInt64(redisConns, int64(s.TotalConns), state("state", "total"))
			o.ObserveInt64(redisConns, int64(s.IdleConns), state("state", "idle"))
			o.ObserveInt64(redisConns, int64(s.StaleConns), state("state", "stale"))
			o.ObserveInt64(redisEvents, int64(s.Hits), state("event", "hit"))
			o.ObserveInt64(redisEvents, int64(s.Misses), state("event", "miss"))
			o.ObserveInt64(redisEvents, int64(s.Timeouts), state("event", "timeout"))
		}
		if local != nil {
			s := local.Stats()
			o.ObserveInt64(lookups, s.Hits, tier("local", "hit"))
			o.ObserveInt64(lookups, s.Misses, tier("local", "miss"))
		}
		if cache != nil {
			s := cache.Stats()
			o.ObserveInt64(lookups, s.Hits, tier("redis", "hit"))
			o.ObserveInt64(lookups, s.Misses, tier("redis", "miss"))
			o.ObserveInt64(lookups, s.StaleServed, tier("redis", "stale"))
			o.ObserveInt64(lookups, s.RedisErrors, tier("redis", "error"))
		}
		if records != nil {
			s := records.Stats()
			o.ObserveInt64(recs, s.Recorded, state("state", "recorded"))
			o.ObserveInt64(recs, s.Dropped, state("state", "dropped"))
			o.ObserveInt64(recs, s.Written, state("state", "written"))
			o.ObserveInt64(recs, s.Failed, state("state", "failed"))
			o.ObserveInt64(buffered, int64(s.Buffered))
		}
		return nil
	}, dbConns, dbAcquires, dbWait, redisConns, redisEvents, lookups, recs, buffered)
	if err != nil {
		return fmt.Errorf("telemetry: callback: %w", err)
	}
	return nil
}
