// Package redisx makes the service's Redis clients: one node, Sentinel or Cluster, each
// following context deadlines, failing fast when Redis is down, with a bounded automatic
// pipeline; the pipeline helper the cache and the replay guard send through; and tracing
// that reports commands only within a request's trace.
package redisx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// Redis deployment modes NewClient understands.
const (
	Single   = "single"   // one node: redis://host:6379/0
	Sentinel = "sentinel" // sentinels: redis://s1:26379/0?addr=s2:26379, plus the master's name
	Cluster  = "cluster"  // cluster nodes: redis://n1:6379?addr=n2:6379
)

// NewClient returns a client for a single node, a Sentinel-watched master or a
// Cluster, configured as Options explains: context deadlines are followed and a
// Redis that is down costs one quick failed dial per call.
func NewClient(mode, url, sentinelMaster string) (redis.UniversalClient, error) {
	switch mode {
	case "", Single:
		opts, err := Options(url)
		if err != nil {
			return nil, err
		}
		return redis.NewClient(opts), nil
	case Sentinel, Cluster:
		co, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, err
		}
		u := &redis.UniversalOptions{
			Addrs:                 co.Addrs,
			Username:              co.Username,
			Password:              co.Password,
			TLSConfig:             co.TLSConfig,
			ContextTimeoutEnabled: true,
			MaxRetries:            1,
			DialTimeout:           500 * time.Millisecond,
			ReadTimeout:           500 * time.Millisecond,
			WriteTimeout:          500 * time.Millisecond,
			AutoPipelineOptions:   pipelineOptions(),
		}
		if mode == Cluster {
			u.IsClusterMode = true
			return redis.NewUniversalClient(u), nil
		}
		if sentinelMaster == "" {
			return nil, fmt.Errorf("sentinel mode needs the master's name")
		}
		u.MasterName = sentinelMaster
		return redis.NewUniversalClient(u), nil
	default:
		return nil, fmt.Errorf("unknown Redis mode %q (single, sentinel or cluster)", mode)
	}
}

// pipelineOptions configure the automatic pipeline of every client NewClient and
// Options make: go-redis's defaults (one ordered stream of batches, none waiting to
// fill), with a bound on the commands waiting while Redis is slow, past which a command
// fails at once instead of queueing.
func pipelineOptions() *redis.AutoPipelineOptions {
	o := redis.DefaultAutoPipelineOptions()
	o.MaxQueuedCommands = 10_000
	return o
}

// AutoPipelined sends cmd through rdb's automatic pipeline and waits for its reply, or
// for ctx to end. Commands that goroutines send at the same time share one pipeline: while
// one batch is in flight the next fills, so under load a command costs a fraction of a
// round trip's system calls (on both ends), and alone it goes at once in a batch of one.
// The reply is cmd's; after a context error it must not be read (the command may still
// run). A client without an automatic pipeline (a Ring) sends cmd on its own.
func AutoPipelined(ctx context.Context, rdb redis.UniversalClient, cmd redis.Cmder) error {
	ap, err := rdb.AsyncAutoPipeline()
	if err != nil {
		if errors.Is(err, redis.ErrClosed) {
			return err
		}
		return rdb.Process(ctx, cmd)
	}
	return ap.Submit(ctx, cmd).WaitContext(ctx)
}

// Options parses a redis:// URL into client options fit for the service: the client
// follows context deadlines (so every tier's timeout holds), and a Redis that is down
// costs one quick failed dial per call, not a series of retries. Settings given in the
// URL's query (dial_timeout=, max_retries=, ...) win over these.
func Options(url string) (*redis.Options, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	if opts.DialerRetries == 0 {
		opts.DialerRetries = 1
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	for _, d := range []*time.Duration{&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout} {
		if *d == 0 {
			*d = 500 * time.Millisecond
		}
	}
	if opts.AutoPipelineOptions == nil {
		opts.AutoPipelineOptions = pipelineOptions()
	}
	return opts, nil
}

// Trace makes go-redis report its commands as spans, without their arguments (the
// keys hold phone numbers). Only commands sent within a traced request are reported:
// those batched by the automatic pipeline (AutoPipelined) run on the pipeline's own
// context, outside any request, and the callers' own spans time them instead.
func Trace(rdb redis.UniversalClient, tp trace.TracerProvider) error {
	if tp == nil {
		return nil
	}
	if err := redisotel.InstrumentTracing(rdb, redisotel.WithTracerProvider(childSpansOnly{tp: tp}),
		redisotel.WithDBStatement(false)); err != nil {
		return fmt.Errorf("redis tracing: %w", err)
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

var noSpan = trace.SpanFromContext(context.Background())
