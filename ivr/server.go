package ivr

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// Config is what the HTTP edge needs. Zero values get the defaults noted.
type Config struct {
	// PublicURL is the base URL Twilio is configured with, e.g. https://ivr.example.com.
	// Signatures are checked against PublicURL + the request's path and query, and action
	// URLs in TwiML are built on it.
	PublicURL string
	// TwilioAuthToken signs webhooks. Empty disables signature checks (development only).
	TwilioAuthToken string
	// TwilioSharedKeys (key id → secret) also sign webhooks, when the request names one
	// (Twilio's Webhooks configuration, HMAC-SHA256): two at once for a rotation.
	TwilioSharedKeys map[string]string
	// StateSecret keys the call state carried in action URLs; defaults to the auth token.
	StateSecret   string
	DefaultRegion string        // for numbers without a country code; lookup.DefaultRegion
	LookupTimeout time.Duration // the whole lookup chain; 250ms
	Handoff       HandoffConfig
	Logger        *slog.Logger
	Now           func() time.Time // time.Now
	// ExperimentKey keys the assignment of callers to the arms of split nodes: keep it,
	// and callers keep their arms (nil: an unkeyed hash, which anyone could predict).
	ExperimentKey []byte
	// RetryWindow is how long a repeat of a signed webhook (Twilio's retry of it) gets the
	// first answer again (with Deps.Answers); DefaultRetryWindow when zero. ReplayWindow is
	// how long the webhook and its answer are kept: a repeat after the retry window and
	// within this one is refused; DefaultReplayWindow when zero.
	RetryWindow, ReplayWindow time.Duration
	// StateTTL is how long the call state in an action URL is valid; DefaultStateTTL (4h,
	// Twilio's default longest call) when zero.
	StateTTL time.Duration
	// FetchTurnBudget bounds the fetches of one webhook together (fetch nodes);
	// DefaultFetchTurnBudget when zero.
	FetchTurnBudget time.Duration
	// CallbacksReady: the service can place calls (Twilio credentials and a caller ID),
	// so waiting callers are offered callbacks (with Deps.Callbacks).
	CallbacksReady bool
	// MessagesReady: the service can send messages (Twilio credentials and a sender),
	// so message nodes queue them (with Deps.Messages).
	MessagesReady bool
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
	// number at its latest version, pinned for the rest of the call.
	Flows FlowSource
	// PINs, when set, checks PINs at verify nodes (with its lockout) and records the
	// consents to remember numbers. Nil: every verify node fails to verify.
	PINs PINChecker
	// Answers, when set, keeps the answers to signed webhooks: a repeat gets the first
	// answer within Config.RetryWindow and is refused after it (see answerOnce).
	Answers Answers
	// Calls, when set, records every call's journey.
	Calls Recorder
	// Fetcher performs fetch nodes' requests; nil: every fetch is unreachable.
	Fetcher Fetcher
	// FetchResults keeps the answers of fetches that run while the caller hears words, for
	// the redirect on any instance; nil: only this instance can pick them up.
	FetchResults FetchResults
	// Callbacks keeps the callbacks waiting callers ask for; nil: none are offered.
	Callbacks *outbound.Store
	// Messages is the message outbox and the numbers' consent; nil: message nodes take
	// their not_sent way.
	Messages *outbound.Store
}

// FlowSource hands calls their flows (flowstore.Store): the version bound to the number
// called, a version a call is pinned to (0: the draft), a flow's latest published one.
type FlowSource interface {
	Live(ctx context.Context, to string) (*flows.Flow, error)
	Flow(ctx context.Context, id string, version int) (*flows.Flow, error)
	Published(ctx context.Context, id string) (*flows.Flow, error)
}

// PINChecker checks a member's PIN with its lockout, and records a caller's consent to
// have a number remembered (lookup.PINs).
type PINChecker interface {
	Check(ctx context.Context, memberID, pin, callerPhone, callSID string) (outcome string, err error)
	RecordConsent(ctx context.Context, memberID, phone, callSID string, at time.Time) error
}

// Recorder keeps call records (calls.Store): it takes each webhook's event without
// blocking, and hashes a caller's number the way the records do.
type Recorder interface {
	Record(ev calls.Event)
	Hash(e164 string) string
}

// Edge answers Twilio's webhooks under /twilio/. It also lends the admin API what a
// simulated call needs to hear what a live one would (Caller, Member, TwiML).
type Edge struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	state     stateCodec
	validator *Validator
	tel       *telemetry
	handler   http.Handler
	pending   pendingFetches
}

// New returns the Twilio edge.
func New(cfg Config, deps Deps) *Edge {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = lookup.DefaultRegion
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
	s := &Edge{cfg: cfg, deps: deps, log: cfg.Logger, state: newStateCodec(secret), tel: newTelemetry(cfg)}
	if cfg.TwilioAuthToken != "" {
		s.validator = NewValidatorWithKeys(cfg.TwilioAuthToken, cfg.TwilioSharedKeys)
	}
	s.handler = s.routes()
	return s
}

func (s *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
