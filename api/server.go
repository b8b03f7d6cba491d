package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/memberline/memberline/connections"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
	"github.com/memberline/memberline/sso"
)

// Config is what the admin API needs. Zero values get the defaults noted.
type Config struct {
	// AdminToken is the bootstrap token (role admin); empty admits only stored tokens.
	AdminToken string
	// PublicURL is where the console is served; a console session's request from another
	// origin is refused.
	PublicURL     string
	DefaultRegion string           // for numbers without a country code; lookup.DefaultRegion
	Logger        *slog.Logger     // none
	Now           func() time.Time // time.Now
	// AdminRate and AdminBurst limit each admin token's requests (a token bucket per
	// token in each instance); AdminRate 0 means 20 a second, burst 40; negative: off.
	AdminRate, AdminBurst float64
	// MaxInFlight caps the admin requests served at once in this instance (4), so that
	// the API cannot hold the database connections the webhooks need; a request waits
	// for a place at most QueueTimeout (2s), then is answered 503. Requests with a body
	// take at most MaxInFlight-1 places, so a read always finds one.
	MaxInFlight  int
	QueueTimeout time.Duration
	// ForgetAfter is how long a member's deletion waits, after the member is gone from the
	// directory and every cache tier, for the webhooks then in flight to finish and the call
	// records of every instance to be written (they batch for up to 200 ms), before it
	// forgets the answers the member's calls were given and anonymizes their records
	// (500ms).
	ForgetAfter time.Duration
	// ExperimentKey keys the assignment of callers to experiment arms, as the edge's does,
	// so that a simulated caller lands where the live one would.
	ExperimentKey []byte
	// NoCallbacks: the service cannot place callbacks, so validation warns of callback
	// offers (they are not made).
	NoCallbacks bool
}

// Edge is what the admin API borrows from the Twilio edge, so that a simulated call
// hears what a live call would: the caller as a webhook resolves them, a member number
// as a keypad entry resolves it, and a turn as the TwiML Twilio would get.
type Edge interface {
	Caller(ctx context.Context, phone string, now time.Time) (flows.Caller, error)
	Member(ctx context.Context, number string, now time.Time) *flows.Member
	TwiML(turn flows.Turn, callSID string) ([]byte, error)
	// EngineMember is a directory member as the engine reads it, converted as a live call's.
	EngineMember(m lookup.CallerMember) flows.Member
}

// Deps are the services the admin API acts on. Routes whose service is nil are not served.
type Deps struct {
	Resolver lookup.Resolver  // GET /lookup and the members report: what a call sees
	Members  lookup.Writer    // member writes, through every cache tier
	Flows    *flowstore.Store // drafts, versions, bindings, the flow history
	Edge     Edge             // simulation; required with Flows
	PINs     *lookup.PINs     // PINs and consents; nil: PINs are not configured
	Admin    *auth.Store      // named tokens and the admin audit; nil: the bootstrap token only
	Calls    *calls.Store     // call records and reports
	// Answers is the Twilio edge's retry cache, whose answers may greet a member: a
	// member's deletion forgets theirs. Nil: nothing to forget.
	Answers AnswerForgetter
	// SSO admits console sessions (sign-in with the company's identity provider); nil:
	// bearer tokens only.
	SSO *sso.SSO
	// Connections are the company's APIs that flows fetch from; nil: the connection
	// routes are not served.
	Connections *connections.Store
	// Fetcher reaches them ("Test connection"); required with Connections.
	Fetcher *connections.Client
	// Callbacks are the callbacks waiting callers asked for; nil: the routes are not
	// served.
	Callbacks *outbound.Store
	// Messages is the message outbox and the numbers' consent (the same store); nil:
	// consent is not shown, exported or deleted.
	Messages *outbound.Store
	// FlowFetcher performs a fetch node's request as a live call would (ivr.NewFetcher),
	// for simulations that ask for live fetches; nil: they cannot.
	FlowFetcher FlowFetcher
}

// FlowFetcher performs fetch nodes' requests (ivr.Fetcher).
type FlowFetcher interface {
	Fetch(ctx context.Context, req flows.FetchRequest) flows.Fetched
}

// AnswerForgetter removes the retry cache's answers stored under keys (ivr.Answers).
type AnswerForgetter interface {
	Forget(ctx context.Context, keys ...string) error
}

// Server is the admin REST API under /api/v1.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	limiter  *auth.Limiter // per token
	failures *auth.Limiter // failed sign-ins per client address
	refused  refusedTokens
	inFlight chan struct{}
	writes   chan struct{} // places writes may take: one fewer than inFlight's
	handler  http.Handler
}

// New returns the admin API. Its handler answers every path under /api/v1.
func New(cfg Config, deps Deps) *Server {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = lookup.DefaultRegion
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AdminRate == 0 {
		cfg.AdminRate, cfg.AdminBurst = 20, 40
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = 2 * time.Second
	}
	if cfg.ForgetAfter == 0 {
		cfg.ForgetAfter = 500 * time.Millisecond
	}
	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger,
		limiter:  auth.NewLimiter(cfg.AdminRate, max(cfg.AdminBurst, 1)),
		failures: auth.NewLimiter(failureRate, failureBurst),
		inFlight: make(chan struct{}, cfg.MaxInFlight),
		writes:   make(chan struct{}, max(1, cfg.MaxInFlight-1)),
	}
	s.handler = s.routes()
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
