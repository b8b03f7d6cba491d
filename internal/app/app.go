// Package app wires the service: from a Config it opens the pools and clients, builds the
// stores, the Twilio edge, the admin API and the console, starts the background loops
// (flow changes, call-record purge), and serves them on one listener with a graceful
// stop. cmd/memberline reads flags and calls it; tests can start it the same way.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/memberline/memberline/connections"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/console"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/pgpool"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
	"github.com/memberline/memberline/sso"
)

// Data is what every command that touches data needs: PostgreSQL (migrated), Redis, and
// the cached directory in front of them.
type Data struct {
	Pool  *pgxpool.Pool
	Redis redis.UniversalClient
	Cache *lookup.Cache
	Local *lookup.Local // nil when LOCAL_CACHE_SIZE is 0
	Front interface {   // what the edge calls: the local tier, or the cache
		lookup.Resolver
		lookup.Writer
	}
}

// Close closes the tiers and the connections.
func (d *Data) Close() {
	if d.Local != nil {
		d.Local.Close()
	}
	if d.Redis != nil {
		_ = d.Redis.Close()
	}
	if d.Pool != nil {
		d.Pool.Close()
	}
}

// Connect opens PostgreSQL and Redis, migrates, and builds the cached directory.
func Connect(ctx context.Context, cfg Config) (*Data, error) {
	d := &Data{}
	pcfg, err := pgpool.Config(cfg.DatabaseURL, cfg.PGMaxConns, cfg.PGStatementTimeout)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	tracePool(pcfg, cfg.tracerProvider)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	d.Pool = pool
	if err := Migrate(ctx, pool); err != nil {
		d.Close()
		return nil, err
	}
	d.Redis, err = redisx.NewClient(cfg.RedisMode, cfg.RedisURL, cfg.RedisSentinelMaster)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	if err := redisx.Trace(d.Redis, cfg.tracerProvider); err != nil {
		d.Close()
		return nil, err
	}
	windows := lookup.Windows{Upcoming: cfg.UpcomingWindow, Recent: cfg.RecentWindow}
	d.Cache = lookup.NewCache(lookup.NewDirectory(pool, windows).InRegion(cfg.DefaultRegion), d.Redis, lookup.CacheOptions{
		TTL:     cfg.CacheTTL,
		Windows: windows,
	})
	d.Front = d.Cache
	if cfg.LocalCacheSize > 0 {
		d.Local = lookup.NewLocal(d.Cache, lookup.LocalOptions{
			MaxEntries: cfg.LocalCacheSize,
			MaxBytes:   int64(cfg.LocalCacheMB) << 20,
			TTL:        cfg.LocalCacheTTL,
		})
		d.Front = d.Local
	}
	return d, nil
}

// Migrate brings every package's tables up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, m := range []func(context.Context, *pgxpool.Pool) error{lookup.Migrate, flowstore.Migrate, auth.Migrate, calls.Migrate, connections.Migrate, outbound.Migrate} {
		if err := m(ctx, pool); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	return nil
}

// App is the service, wired and ready to serve.
type App struct {
	cfg      Config
	log      *slog.Logger
	tel      *telemetry
	data     *Data
	records  *calls.Store
	pins     *lookup.PINs
	handler  http.Handler
	draining atomic.Bool // /readyz fails from SIGTERM on, while requests in flight finish
	closers  []func()    // run by Close, last first
}

// New builds the service from cfg and starts its background loops, which stop when ctx
// ends. getenv is read only for the OpenTelemetry SDK's standard variables; out is told
// where listeners of their own (METRICS_ADDR) serve. Close releases what New opened,
// also after an error.
func New(ctx context.Context, cfg Config, log *slog.Logger, getenv func(string) string, out io.Writer) (_ *App, err error) {
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.tel, err = setupTelemetry(ctx, getenv); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { // last: spans of the shutdown itself are flushed too
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.tel.Shutdown(sctx); err != nil {
			log.Warn("telemetry not flushed", "err", err)
		}
	})
	if a.tel.tracing() {
		cfg.tracerProvider = a.tel.tp
	}
	if a.data, err = Connect(ctx, cfg); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.data.Close)

	// Call records: written in batches off the webhook's path; Close flushes them after
	// the server has finished its requests (Serve's drain) and before the pool closes.
	flowOutcome := ivr.FlowOutcomes(a.tel.mp)
	a.records = calls.New(a.data.Pool, calls.Options{
		HashKey: cfg.HashKey(),
		Logger:  log,
		OnHungUp: func(flow string, version int) {
			flowOutcome(context.Background(), flow, version, calls.OutcomeHungUp)
		},
	})
	a.closers = append(a.closers, func() {
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.records.Close(fctx); err != nil {
			log.Error("call records not flushed", "err", err)
		} else {
			log.Info("call records flushed", "written", a.records.Stats().Written)
		}
	})
	go purgeCalls(ctx, a.records, cfg.CallRetention, cfg.CallPurgeInterval, log)
	if err := observeStores(a.tel.mp, a.data.Pool, a.data.Redis, a.data.Cache, a.data.Local, a.records); err != nil {
		return nil, err
	}
	conns, err := openConnections(ctx, a.data.Pool, cfg, log)
	if err != nil {
		return nil, err
	}
	// A member whose PIN is locked after too many wrong tries is counted, and in the admin
	// audit, so that someone can look into it and set a new PIN.
	admin := auth.NewStore(a.data.Pool)
	lockouts, err := a.tel.mp.Meter("memberline").Int64Counter("memberline.pin.lockouts",
		metric.WithDescription("members whose PIN was locked after too many wrong tries, until a new one is set"))
	if err != nil {
		return nil, err
	}
	a.pins = lookup.NewPINs(a.data.Pool, a.data.Redis, lookup.PINOptions{
		MaxAttempts: cfg.PINMaxAttempts, Window: cfg.PINLockoutWindow,
		CallerKey: []byte("memberline pin callers " + cfg.TwilioAuthToken),
		OnLocked: func(ctx context.Context, memberID string) {
			lockouts.Add(ctx, 1)
			if err := admin.Audit(context.WithoutCancel(ctx), "ivr", "PIN locked", "memberID="+memberID, http.StatusLocked); err != nil {
				log.Warn("a PIN lockout is not audited", "err", err)
			}
		},
	})

	// Calls read the flow bindings from memory; Watch polls for publishes and rebinds so
	// every instance follows within FLOW_POLL_INTERVAL.
	store := flowstore.NewStore(a.data.Pool)
	if err := store.Refresh(ctx); err != nil {
		return nil, err
	}
	go store.Watch(ctx, cfg.FlowPollInterval, func(err error) {
		log.Warn("flow changes are not visible; calls keep the last known bindings", "err", err)
	})

	answers := ivr.RedisAnswers(a.data.Redis, "ml:")
	// One fetch client for calls and the API's connection tests: one breaker per connection.
	fetcher := connections.NewClient(connections.Options{TracerProvider: a.tel.tp, MeterProvider: a.tel.mp})
	flowFetcher := ivr.NewFetcher(conns, fetcher, log)
	callbacks := outbound.NewStore(a.data.Pool)
	twilioREST := outbound.TwilioConfig{AccountSID: cfg.TwilioAccountSID, APIKey: cfg.TwilioAPIKey, APISecret: cfg.TwilioAPISecret,
		AuthToken: cfg.TwilioAuthToken, APIURL: cfg.TwilioAPIURL, CallerID: cfg.TwilioCallerID}
	edge := ivr.New(ivr.Config{
		PublicURL:        cfg.PublicURL,
		TwilioAuthToken:  cfg.TwilioAuthToken,
		TwilioSharedKeys: cfg.TwilioSharedKeys,
		DefaultRegion:    cfg.DefaultRegion,
		LookupTimeout:    cfg.LookupTimeout,
		FetchTurnBudget:  cfg.FetchTurnBudget,
		CallbacksReady:   twilioREST.Ready(),
		MessagesReady:    messagesReady(cfg, twilioREST),
		RetryWindow:      cfg.RetryWindow,
		ExperimentKey:    cfg.ExperimentKey(),
		Handoff: ivr.HandoffConfig{
			WorkflowSID: cfg.WorkflowSID,
			SIPURI:      cfg.AgentSIPURI,
			Client:      cfg.AgentClient,
		},
		Logger:         log,
		TracerProvider: a.tel.tp,
		MeterProvider:  a.tel.mp,
	}, ivr.Deps{
		Resolver: a.data.Front,
		Members:  a.data.Front,
		Flow:     flows.Default(),
		Flows:    store,
		Calls:    a.records,
		PINs:     a.pins,
		Answers:  answers,

		Fetcher:      flowFetcher,
		FetchResults: ivr.RedisFetchResults(a.data.Redis, "ml:"),
		Callbacks:    callbacks,
		Messages:     callbacks, // one store: the outbox and the consent beside the callbacks
	})
	if err := a.startCallbacks(ctx, twilioREST, callbacks, edge, store); err != nil {
		return nil, err
	}
	if err := a.startMessages(ctx, cfg, twilioREST, callbacks); err != nil {
		return nil, err
	}
	if err := outbound.ObserveMessages(callbacks, a.tel.mp); err != nil {
		return nil, err
	}
	var signIn *sso.SSO
	if cfg.OIDCIssuer != "" {
		if signIn, err = sso.New(ctx, sso.Config{
			Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCClientSecret, Scopes: cfg.OIDCScopes,
			RedirectURL: cfg.redirectURL(), ConsoleURL: cfg.PublicURL + console.Prefix, ProviderName: cfg.OIDCProviderName,
			RolesClaim: cfg.OIDCRolesClaim, RoleMap: cfg.OIDCRoleMap, IdleTimeout: cfg.SessionIdleTimeout, MaxAge: cfg.SessionMaxAge,
			Secure: strings.HasPrefix(cfg.PublicURL, "https://"),
		}, a.data.Redis, "ml:"); err != nil {
			return nil, err
		}
	}
	admins := api.New(api.Config{
		AdminToken:    cfg.AdminToken,
		PublicURL:     cfg.PublicURL,
		AdminRate:     adminRate(cfg.AdminRate),
		AdminBurst:    cfg.AdminBurst,
		DefaultRegion: cfg.DefaultRegion,
		Logger:        log,
		ExperimentKey: cfg.ExperimentKey(),
		NoCallbacks:   !twilioREST.Ready(),
	}, api.Deps{
		Resolver: a.data.Front,
		Members:  a.data.Front,
		Flows:    store,
		Edge:     edge,
		PINs:     a.pins,
		Admin:    admin,
		Calls:    a.records,
		Answers:  answers,
		SSO:      signIn,

		Connections: conns,
		Fetcher:     fetcher,
		FlowFetcher: flowFetcher,
		Callbacks:   callbacks,
		Messages:    callbacks,
	})
	metrics := a.tel.metrics
	if cfg.MetricsAddr != "" && metrics != nil {
		stop, err := serveApart("METRICS_ADDR", cfg.MetricsAddr, "/metrics", metrics, out, log)
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, stop)
		metrics = nil // not on the main port
	}
	a.handler = handler(edge, admins, signIn, cfg.AdminToken != "", a.readiness, metrics)
	if strings.HasPrefix(cfg.PublicURL, "https://") {
		a.handler = strictTransport(a.handler)
	}
	return a, nil
}

// startCallbacks runs this instance's callback dispatcher when the service can place
// calls; without Twilio credentials and a caller ID callbacks are not offered, and the
// service says so once.
func (a *App) startCallbacks(ctx context.Context, tw outbound.TwilioConfig, store *outbound.Store, edge *ivr.Edge, flowStore *flowstore.Store) error {
	if !tw.Ready() {
		a.log.Info("callbacks are off: set TWILIO_ACCOUNT_SID, TWILIO_CALLER_ID and an API key (or TWILIO_AUTH_TOKEN) to offer them")
		return nil
	}
	rest, err := outbound.NewTwilio(tw)
	if err != nil {
		return err
	}
	window := func(ctx context.Context, c outbound.Callback, now time.Time) (bool, time.Time) {
		f, err := flowStore.Flow(ctx, c.Flow, c.FlowVersion)
		if err != nil {
			if d := flows.Default(); d.ID == c.Flow {
				f = d
			} else {
				return true, time.Time{} // the flow is gone: its window with it
			}
		}
		return f.DialWindow(c.Node, edge.Member(ctx, c.MemberID, now), now)
	}
	d := outbound.NewDispatcher(store, outbound.TwilioDialer{REST: rest, From: tw.CallerID, URLs: edge.CallbackURLs},
		outbound.DispatcherOptions{Window: window, Logger: a.log, MeterProvider: a.tel.mp})
	go d.Run(ctx)
	return nil
}

// messagesReady reports whether message nodes can send: Twilio credentials and a sender.
func messagesReady(cfg Config, tw outbound.TwilioConfig) bool {
	tw.CallerID = "-" // not needed to send messages
	return tw.Ready() && (cfg.MessagingServiceSID != "" || cfg.SMSFrom != "")
}

// startMessages runs this instance's message sender when the service can send; queued
// messages a stopped instance left are sent too.
func (a *App) startMessages(ctx context.Context, cfg Config, tw outbound.TwilioConfig, store *outbound.Store) error {
	if !messagesReady(cfg, tw) {
		a.log.Info("messages are off: set Twilio credentials and TWILIO_MESSAGING_SERVICE_SID or TWILIO_SMS_FROM to send them")
		return nil
	}
	rest, err := outbound.NewTwilio(tw)
	if err != nil {
		return err
	}
	sender := cfg.MessagingServiceSID
	if sender == "" {
		sender = cfg.SMSFrom
	}
	s := outbound.NewSender(store, outbound.TwilioMessages{REST: rest, MessagingServiceSID: cfg.MessagingServiceSID, From: cfg.SMSFrom,
		StatusURL: cfg.PublicURL + "/twilio/message/status"}, outbound.SenderOptions{Rate: cfg.MessageRate, Sender: sender, Logger: a.log})
	go s.Run(ctx)
	return nil
}

// Seed loads the demo members, their activities placed around now, and the demo PIN.
func (a *App) Seed(ctx context.Context, now time.Time) error {
	if err := SeedDemo(ctx, a.data.Cache, now); err != nil {
		return err
	}
	return a.pins.SetPIN(ctx, DemoPINMember, DemoPIN)
}

// Handler is everything the main listener serves: the webhooks, the admin API, the
// console, the probes, and /metrics unless METRICS_ADDR serves them apart.
func (a *App) Handler() http.Handler { return a.handler }

// Serve serves on ln until ctx ends, then stops gracefully (see drain). DEBUG_ADDR, when
// set, serves the profiler apart meanwhile.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      15 * time.Second, // Twilio gives up after 15 s anyway
		IdleTimeout:       2 * time.Minute,
	}
	if a.cfg.DebugAddr != "" {
		stop, err := serveApart("DEBUG_ADDR", a.cfg.DebugAddr, "/debug/pprof/", debugHandler(), io.Discard, a.log)
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
	return drain(srv, errc, &a.draining, a.cfg.ShutdownDelay, a.cfg.ShutdownTimeout, a.log)
}

// Close flushes the call records and closes what New opened, last first.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// readiness is /readyz's check. It names the dependency that is down, never its address
// (/readyz is on the public port); the details go to the log.
func (a *App) readiness(ctx context.Context) error {
	if a.draining.Load() {
		return errors.New("draining: shutting down")
	}
	if err := a.data.Pool.Ping(ctx); err != nil {
		a.log.WarnContext(ctx, "not ready: postgres", "err", err)
		return errors.New("postgres is unreachable")
	}
	if err := a.data.Redis.Ping(ctx).Err(); err != nil {
		a.log.WarnContext(ctx, "not ready: redis", "err", err)
		return errors.New("redis is unreachable")
	}
	return nil
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

// adminRate maps ADMIN_RATE to the edge's setting, where 0 means its default and a
// negative rate turns the limit off: ADMIN_RATE=0 means no limit.
func adminRate(r float64) float64 {
	if r == 0 {
		return -1
	}
	return r
}

// openConnections is the store of the company APIs flows fetch from, their secrets sealed
// under CONNECTION_KEY. It warns, loudly, when that key is derived (development), and once
// for each connection that may reach private addresses.
func openConnections(ctx context.Context, pool *pgxpool.Pool, cfg Config, log *slog.Logger) (*connections.Store, error) {
	key, derived := cfg.ConnectionSealKey()
	if derived {
		log.Warn("CONNECTION_KEY is not set: connection secrets are sealed under a key derived from ADMIN_TOKEN, " +
			"fit for development only; set CONNECTION_KEY (openssl rand -base64 32) before storing real secrets")
	}
	store, err := connections.NewStore(pool, key)
	if err != nil {
		return nil, fmt.Errorf("CONNECTION_KEY: %w", err)
	}
	list, err := store.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		if c.AllowPrivate {
			log.Warn("connection may reach private addresses", "connection", c.ID, "base_url", c.BaseURL)
		}
	}
	return store, nil
}
