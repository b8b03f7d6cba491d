package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/console"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/gctune"
	"github.com/memberline/memberline/internal/pgpool"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/sso"
)

// deps are the connections every command that touches data needs.
type deps struct {
	pool  *pgxpool.Pool
	rdb   redis.UniversalClient
	cache *lookup.Cache
	local *lookup.Local // nil when LOCAL_CACHE_SIZE is 0
	front interface {   // what the edge calls: the local tier, or the cache
		lookup.Resolver
		lookup.Writer
	}
}

func (d *deps) Close() {
	if d.local != nil {
		d.local.Close()
	}
	if d.rdb != nil {
		_ = d.rdb.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
}

// connect opens PostgreSQL and Redis, migrates, and builds the cached directory.
func connect(ctx context.Context, cfg config) (*deps, error) {
	d := &deps{}
	pcfg, err := pgpool.Config(cfg.DatabaseURL, cfg.PGMaxConns, cfg.PGStatementTimeout)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	tracePool(pcfg, cfg.tracerProvider)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	d.pool = pool
	if err := migrate(ctx, pool); err != nil {
		d.Close()
		return nil, err
	}
	d.rdb, err = redisx.NewClient(cfg.RedisMode, cfg.RedisURL, cfg.RedisSentinelMaster)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if err := redisx.Trace(d.rdb, cfg.tracerProvider); err != nil {
		d.Close()
		return nil, err
	}
	windows := lookup.Windows{Upcoming: cfg.UpcomingWindow, Recent: cfg.RecentWindow}
	d.cache = lookup.NewCache(lookup.NewDirectory(pool, windows).InRegion(cfg.DefaultRegion), d.rdb, lookup.CacheOptions{
		TTL:     cfg.CacheTTL,
		Windows: windows,
	})
	d.front = d.cache
	if cfg.LocalCacheSize > 0 {
		d.local = lookup.NewLocal(d.cache, lookup.LocalOptions{
			MaxEntries: cfg.LocalCacheSize,
			MaxBytes:   int64(cfg.LocalCacheMB) << 20,
			TTL:        cfg.LocalCacheTTL,
		})
		d.front = d.local
	}
	return d, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := lookup.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := flowstore.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := auth.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := calls.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

func newLogger(format string, w io.Writer) *slog.Logger {
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	insecure := fs.Bool("insecure-skip-twilio-signature", false, "accept webhooks without checking X-Twilio-Signature (local development only)")
	seed := fs.Bool("seed", false, "load the demo members after migrating")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, *insecure, needAll)
	if err != nil {
		return err
	}
	logs := newLogBuffer(stderr, logFlushEvery)
	defer logs.Close() // last: the shutdown's own lines are written too
	log := slog.New(flushOnWarn{newLogger(cfg.LogFormat, logs).Handler(), logs})
	if gc, err := gctune.Apply(getenv, log); err != nil {
		log.Warn("garbage collector settings not applied", "err", err)
	} else {
		log.Info("garbage collector", "settings", gc.String())
	}
	if cfg.InsecureSkipSignature {
		fmt.Fprintln(stderr, "WARNING: --insecure-skip-twilio-signature: Twilio signatures are NOT checked. Anyone who can reach this service can impersonate Twilio. Never run like this in production.")
		log.Warn("twilio signature checks are disabled")
	}
	tel, err := setupTelemetry(ctx, getenv)
	if err != nil {
		return err
	}
	defer func() { // last: spans of the shutdown itself are flushed too
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry not flushed", "err", err)
		}
	}()
	if tel.tracing() {
		cfg.tracerProvider = tel.tp
	}

	d, err := connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	// Call records: written in batches off the webhook's path; the deferred Close runs
	// after the HTTP server has finished its requests (drain) and before the pool closes.
	flowOutcome := ivr.FlowOutcomes(tel.mp)
	records := calls.New(d.pool, calls.Options{
		HashKey: callHashKey(cfg),
		Logger:  log,
		OnHungUp: func(flow string, version int) {
			flowOutcome(context.Background(), flow, version, calls.OutcomeHungUp)
		},
	})
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := records.Close(fctx); err != nil {
			log.Error("call records not flushed", "err", err)
		} else {
			log.Info("call records flushed", "written", records.Stats().Written)
		}
	}()
	go purgeCalls(ctx, records, cfg.CallRetention, cfg.CallPurgeInterval, log)
	if err := observeStores(tel.mp, d.pool, d.rdb, d.cache, d.local, records); err != nil {
		return err
	}
	pins := lookup.NewPINs(d.pool, d.rdb, lookup.PINOptions{
		MaxAttempts: cfg.PINMaxAttempts, Window: cfg.PINLockoutWindow,
		CallerKey: []byte("memberline pin callers " + cfg.TwilioAuthToken),
	})
	if *seed {
		if err := seedDemo(ctx, d.cache, time.Now()); err != nil {
			return err
		}
		// The demo's step-up verification: Dana (1001) has PIN 2580.
		if err := pins.SetPIN(ctx, demoPINMember, demoPIN); err != nil {
			return err
		}
	}

	// draining turns /readyz to 503 from SIGTERM on, while requests in flight finish.
	var draining atomic.Bool
	// Calls read the flow bindings from memory; Watch polls for publishes and rebinds so
	// every instance follows within FLOW_POLL_INTERVAL.
	store := flowstore.NewStore(d.pool)
	if err := store.Refresh(ctx); err != nil {
		return err
	}
	go store.Watch(ctx, cfg.FlowPollInterval, func(err error) {
		log.Warn("flow changes are not visible; calls keep the last known bindings", "err", err)
	})

	edge := ivr.New(ivr.Config{
		PublicURL:        cfg.PublicURL,
		TwilioAuthToken:  cfg.TwilioAuthToken,
		TwilioSharedKeys: cfg.TwilioSharedKeys,
		DefaultRegion:    cfg.DefaultRegion,
		LookupTimeout:    cfg.LookupTimeout,
		RetryWindow:      cfg.RetryWindow,
		Handoff: ivr.HandoffConfig{
			WorkflowSID: cfg.WorkflowSID,
			SIPURI:      cfg.AgentSIPURI,
			Client:      cfg.AgentClient,
		},
		Logger:         log,
		TracerProvider: tel.tp,
		MeterProvider:  tel.mp,
	}, ivr.Deps{
		Resolver: d.front,
		Members:  d.front,
		Flow:     flows.Default(),
		Flows:    store,
		Calls:    records,
		PINs:     pins,
		Answers:  ivr.RedisAnswers(d.rdb, "ml:"),
	})
	var signIn *sso.SSO
	if cfg.OIDCIssuer != "" {
		var err error
		if signIn, err = sso.New(ctx, sso.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret, Scopes: cfg.OIDCScopes,
			RedirectURL: cfg.redirectURL(), ConsoleURL: cfg.PublicURL + console.Prefix, ProviderName: cfg.OIDCProviderName,
			RolesClaim: cfg.OIDCRolesClaim, RoleMap: cfg.OIDCRoleMap, IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge,
			Secure: strings.HasPrefix(cfg.PublicURL, "https://"),
		}, d.rdb, "ml:"); err != nil {
			return err
		}
	}
	admins := api.New(api.Config{
		AdminToken:    cfg.AdminToken,
		PublicURL:     cfg.PublicURL,
		AdminRate:     adminRate(cfg.AdminRate),
		AdminBurst:    cfg.AdminBurst,
		DefaultRegion: cfg.DefaultRegion,
		Logger:        log,
	}, api.Deps{
		Resolver: d.front,
		Members:  d.front,
		Flows:    store,
		Edge:     edge,
		PINs:     pins,
		Admin:    auth.NewStore(d.pool),
		Calls:    records,
		SSO:      signIn,
	})
	ready := readiness(&draining, d.pool, d.rdb, log)
	metrics := tel.metrics
	if cfg.MetricsAddr != "" && metrics != nil {
		stop, err := serveApart("METRICS_ADDR", cfg.MetricsAddr, "/metrics", metrics, stdout, log)
		if err != nil {
			return err
		}
		defer stop()
		metrics = nil // not on the main port
	}

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	srv := &http.Server{
		Handler:           handler(edge, admins, signIn, cfg.AdminToken != "", ready, metrics),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second, // Twilio gives up after 15 s anyway
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stdout, "memberline: listening on http://%s (Twilio webhooks at %s/twilio/voice)\n", ln.Addr(), cfg.PublicURL)
	if *seed {
		printCallHint(stdout, ln.Addr().String(), cfg.AdminToken)
	}
	if cfg.DebugAddr != "" {
		stop, err := serveApart("DEBUG_ADDR", cfg.DebugAddr, "/debug/pprof/", debugHandler(), io.Discard, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return drain(srv, errc, &draining, cfg.ShutdownDelay, cfg.ShutdownTimeout, log)
}

// readiness is /readyz's check. It names the dependency that is down, never its address
// (/readyz is on the public port); the details go to the log.
func readiness(draining *atomic.Bool, pool *pgxpool.Pool, rdb redis.UniversalClient, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		if draining.Load() {
			return errors.New("draining: shutting down")
		}
		if err := pool.Ping(ctx); err != nil {
			log.WarnContext(ctx, "not ready: postgres", "err", err)
			return errors.New("postgres is unreachable")
		}
		if err := rdb.Ping(ctx).Err(); err != nil {
			log.WarnContext(ctx, "not ready: redis", "err", err)
			return errors.New("redis is unreachable")
		}
		return nil
	}
}

// debugHandler is Go's profiler.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveApart serves h at path on a listener of its own (the setting name names it in
// errors), so that it is never reachable through the main port; it says where on out.
// stop closes it.
func serveApart(setting, addr, path string, h http.Handler, out io.Writer, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setting, err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(out, "memberline: %s on http://%s%s\n", setting, ln.Addr(), path)
	log.Info("listening apart", "setting", setting, "addr", ln.Addr().String(), "path", path)
	return func() { _ = srv.Close() }, nil
}

// drain is the graceful stop: /readyz fails at once; requests keep being served for delay
// (so load balancers notice); then the listener closes and requests in flight get up to
// timeout to finish before their connections are cut. A clean stop is not an error.
func drain(srv *http.Server, errc <-chan error, draining *atomic.Bool, delay, timeout time.Duration, log *slog.Logger) error {
	draining.Store(true)
	log.Info("draining", "delay", delay.String(), "timeout", timeout.String())
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case err := <-errc:
			t.Stop()
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		log.Warn("shutdown timed out; closing the connections still in flight", "timeout", timeout.String())
		_ = srv.Close()
	}
	log.Info("stopped")
	return nil
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	dbURL := getenv("DATABASE_URL")
	if dbURL == "" {
		return errors.New("DATABASE_URL is required")
	}
	if len(args) > 0 {
		return fmt.Errorf("migrate takes no arguments")
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	if err := migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "memberline: migrations applied")
	return nil
}

// adminRate maps ADMIN_RATE to the edge's setting, where 0 means its default and a
// negative rate turns the limit off: ADMIN_RATE=0 means no limit.
func adminRate(r float64) float64 {
	if r == 0 {
		return -1
	}
	return r
}
