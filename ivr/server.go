package ivr

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/memberline/memberline/admin"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// Config is what the HTTP edge needs. Zero values get the defaults noted.
type Config struct {
	// PublicURL is the base URL Twilio is configured with, e.g. https://ivr.example.com.
	// Signatures are checked against PublicURL + the request's path and query, and action
	// URLs in TwiML are built on it.
	PublicURL string
	// TwilioAuthToken signs webhooks. Empty disables signature checks (development only).
	TwilioAuthToken string
	// StateSecret keys the call state carried in action URLs; defaults to the auth token.
	StateSecret   string
	AdminToken    string
	DefaultRegion string        // for numbers without a country code; "US"
	LookupTimeout time.Duration // the whole lookup chain; 250ms
	Handoff       HandoffConfig
	Logger        *slog.Logger
	Now           func() time.Time // time.Now
	// ReplayWindow is how long a signed webhook is remembered to refuse it played again
	// (with Deps.Replay); DefaultReplayWindow when zero.
	ReplayWindow time.Duration
	// AdminRate and AdminBurst limit each admin token's requests (a token bucket per
	// token in each instance); AdminRate 0 means 20 a second, burst 40; negative: off.
	AdminRate, AdminBurst float64
	// TracerProvider and MeterProvider receive the webhooks' spans and metrics; nil means
	// none. With a no-op TracerProvider no span is even started.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// HandoffConfig says how a call reaches a person. With a WorkflowSID the call is enqueued
// to TaskRouter with a Task carrying the context; else it is dialled over SIP (context in
// X- headers) when SIPURI is set, else to a Twilio Client identity (context as
// <Parameter>s).
type HandoffConfig struct {
	WorkflowSID string
	SIPURI      string
	Client      string // "agents"
}

// Deps are the services the edge calls.
type Deps struct {
	Resolver lookup.Resolver
	Members  lookup.Writer
	// Flow is the flow calls run when no flow store is configured, or when the store
	// cannot answer (a call still gets this flow rather than an error).
	Flow *flows.Flow
	// Flows, when set, stores the flows: incoming calls run the flow bound to their To
	// number at its latest version, pinned for the rest of the call, and the flow admin
	// API is served.
	Flows *flows.Store
	// Ready reports whether the service can answer calls with member data
	// (PostgreSQL and Redis reachable).
	Ready func(ctx context.Context) error
	// PINs, when set, checks PINs at verify nodes (with its lockout) and serves
	// PUT /api/v1/members/{id}/pin. Nil: every verify node fails to verify.
	PINs *lookup.PINs
	// Replay, when set, refuses a signed webhook seen before within Config.ReplayWindow.
	Replay ReplayGuard
	// Admin, when set, holds the admin API's named tokens with roles and audits every
	// admin action; the token management routes are served. Config.AdminToken stays the
	// bootstrap token (role admin).
	Admin *admin.Store
	// Calls, when set, records every call's journey and serves the call records and
	// usage reports under /api/v1.
	Calls *calls.Store
	// Metrics, when set, is served at GET /metrics (Prometheus' text format).
	Metrics http.Handler
}

type server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	state     stateCodec
	validator *Validator
	limiter   *admin.Limiter
	tel       *telemetry
}

// NewServer returns the service's whole HTTP surface.
func NewServer(cfg Config, deps Deps) http.Handler {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "US"
	}
	if cfg.LookupTimeout <= 0 {
		cfg.LookupTimeout = 250 * time.Millisecond
	}
	if cfg.Handoff.Client == "" {
		cfg.Handoff.Client = "agents"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	secret := cfg.StateSecret
	if secret == "" {
		secret = cfg.TwilioAuthToken
	}
	if secret == "" {
		secret = "insecure development state secret"
	}
	s := &server{cfg: cfg, deps: deps, log: cfg.Logger, state: newStateCodec(secret), tel: newTelemetry(cfg)}
	if cfg.TwilioAuthToken != "" {
		s.validator = NewValidator(cfg.TwilioAuthToken)
	}
	if cfg.AdminRate == 0 {
		cfg.AdminRate, cfg.AdminBurst = 20, 40
	}
	s.limiter = admin.NewLimiter(cfg.AdminRate, max(cfg.AdminBurst, 1))
	return s.routes()
}
