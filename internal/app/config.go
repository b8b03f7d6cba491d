package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/sso"
)

// Config is everything the service reads from the environment, read in one place
// (LoadConfig) from one list of variables (envVars).
type Config struct {
	ListenAddr       string
	DatabaseURL      string
	RedisURL         string
	TwilioAuthToken  string
	TwilioSharedKeys map[string]string // TWILIO_SHARED_KEYS: id=secret,id2=secret2
	PublicURL        string
	AdminToken       string
	DefaultRegion    string
	WorkflowSID      string // TaskRouter workflow for hand-offs; empty: <Dial>
	AgentSIPURI      string // hand-off by SIP with context headers
	AgentClient      string // hand-off to a Twilio Client identity with <Parameter>s
	LookupTimeout    time.Duration
	FetchTurnBudget  time.Duration
	TwilioCallerID   string // callbacks' From
	TwilioAPIURL     string // Twilio's REST base
	// Messages: the messaging service (MG…) or the number they are sent from, and the
	// send rate per sender.
	MessagingServiceSID, SMSFrom string
	MessageRate                  float64
	RetryWindow                  time.Duration // how long a repeat of a webhook (Twilio's retry) gets its answer again
	CacheTTL                     time.Duration
	UpcomingWindow               time.Duration
	RecentWindow                 time.Duration
	LogFormat                    string // "json" or "text"
	// DebugAddr, when set, serves Go's profiler (net/http/pprof) there, apart from the
	// main port.
	DebugAddr string
	// MetricsAddr, when set, serves /metrics there, and then not on the main port (which
	// Twilio reaches from the internet).
	MetricsAddr string

	RedisMode           string // "single", "sentinel" or "cluster"
	RedisSentinelMaster string
	LocalCacheSize      int // numbers kept in each process; 0 turns the local tier off
	LocalCacheMB        int
	LocalCacheTTL       time.Duration
	PGMaxConns          int // 0: pgx's default
	PGStatementTimeout  time.Duration
	// ShutdownDelay keeps serving (with /readyz failing) after SIGTERM so load balancers
	// stop sending calls before the listener closes; ShutdownTimeout bounds the wait for
	// requests in flight after that.
	ShutdownDelay   time.Duration
	ShutdownTimeout time.Duration

	// PIN tries per member and per calling number within the lockout window.
	PINMaxAttempts   int
	AdminRate        float64 // admin API requests a second per token; 0: no limit
	AdminBurst       float64
	PINLockoutWindow time.Duration

	// Sign-in with the company's OpenID provider (OIDC_*); off without OIDC_ISSUER.
	OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCRedirectURL string
	OIDCScopes                                                  []string
	OIDCRolesClaim, OIDCProviderName                            string
	OIDCRoleMap                                                 map[string]string
	SessionIdleTimeout, SessionMaxAge                           time.Duration

	// Call records: kept for CallRetention, purged every CallPurgeInterval; callers are
	// hashed with CallHashKey (derived from the Twilio token when empty).
	CallRetention     time.Duration
	CallPurgeInterval time.Duration
	CallHashKey       string

	// ConnectionKey seals the stored connections' signing secrets (32 bytes); nil: a
	// key derived from the admin token (ConnectionSealKey), for development only.
	ConnectionKey []byte

	// FlowPollInterval is how often each instance checks for flow changes.
	FlowPollInterval time.Duration

	// Twilio's REST API, for `memberline twilio configure`: the account, and an API key
	// and secret (else the account SID and the auth token).
	TwilioAccountSID, TwilioAPIKey, TwilioAPISecret string

	// InsecureSkipSignature disables Twilio signature checks (development only).
	InsecureSkipSignature bool

	// tracerProvider, when set, traces PostgreSQL and Redis calls (serve sets it when
	// spans are exported); not read from the environment.
	tracerProvider trace.TracerProvider
}

// envVar is one setting: its name, its default, what it means (Markdown, for the
// configuration table in docs/operations.md, which is generated from envVars), and how it
// is read into the config.
type envVar struct {
	name, def, doc string
	set            func(c *Config, v string) error
}

func durationVar(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 250ms or 5m, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

// parseSharedKeys reads "id=secret,id2=secret2": Twilio's shared key ids with their
// secrets, two at once during a rotation.
func parseSharedKeys(v string) (map[string]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	keys := map[string]string{}
	for part := range strings.SplitSeq(v, ",") {
		id, secret, ok := strings.Cut(strings.TrimSpace(part), "=")
		id, secret = strings.TrimSpace(id), strings.TrimSpace(secret)
		switch {
		case !ok || id == "" || secret == "":
			return nil, fmt.Errorf("must be id=secret pairs separated by commas, got %q", part)
		case keys[id] != "":
			return nil, fmt.Errorf("key %q is given twice", id)
		}
		keys[id] = secret
	}
	return keys, nil
}

func stringVar(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

// addrVar reads a host:port; empty leaves the setting off (LISTEN_ADDR has a default).
func addrVar(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, got %q", v)
		}
		*dst(c) = v
		return nil
	}
}

func intVar(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("must be a whole number, 0 or more, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func rateVar(dst func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("must be a number, 0 or more, got %q", v)
		}
		*dst(c) = f
		return nil
	}
}

var envVars = []envVar{
	{"LISTEN_ADDR", "127.0.0.1:8080", "address to serve on", addrVar(func(c *Config) *string { return &c.ListenAddr })},
	{"DATABASE_URL", "", "Required. PostgreSQL, e.g. `postgres://user@host:5432/memberline`", stringVar(func(c *Config) *string { return &c.DatabaseURL })},
	{"REDIS_URL", "", "Required. Redis, e.g. `redis://host:6379/0`", stringVar(func(c *Config) *string { return &c.RedisURL })},
	{"TWILIO_AUTH_TOKEN", "", "Required; checks `X-Twilio-Signature`. Without it the service refuses to start, unless started with `serve --insecure-skip-twilio-signature` (development only; it warns loudly)", stringVar(func(c *Config) *string { return &c.TwilioAuthToken })},
	{"TWILIO_SHARED_KEYS", "", "shared keys of Twilio's Webhooks configuration, `id=secret,id2=secret2` (two at once, to rotate without downtime): a webhook whose `X-Twilio-Webhooks-Signature-Settings` names a configured key is checked with that key and its algorithm (HMAC-SHA256 or -SHA1); an unknown key or algorithm is 403; without the header, the auth token and HMAC-SHA1", func(c *Config, v string) error {
		keys, err := parseSharedKeys(v)
		c.TwilioSharedKeys = keys
		return err
	}},
	{"PUBLIC_URL", "", "Required with a Twilio token: the base URL Twilio is configured with, e.g. `https://ivr.example.com`; signatures are checked against `PUBLIC_URL` + the request's path and query", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("must be an absolute http(s) URL without query, e.g. https://ivr.example.com, got %q", v)
		}
		c.PublicURL = strings.TrimRight(v, "/")
		return nil
	}},
	{"ADMIN_TOKEN", "", "Required, at least 16 characters, unless `OIDC_ISSUER` is set (then it may be empty): the bootstrap bearer token for `/api/v1` (role admin)", stringVar(func(c *Config) *string { return &c.AdminToken })},
	{"DEFAULT_REGION", "US", "region for numbers written without a country code", func(c *Config, v string) error {
		if len(v) != 2 || strings.ToUpper(v) != v {
			return fmt.Errorf("must be a two-letter region code such as US, got %q", v)
		}
		c.DefaultRegion = v
		return nil
	}},
	{"TWILIO_WORKFLOW_SID", "", "hand off through TaskRouter (`WW…`)", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "WW") {
			return fmt.Errorf("must be a TaskRouter workflow SID (WW...), got %q", v)
		}
		c.WorkflowSID = v
		return nil
	}},
	{"AGENT_SIP_URI", "", "hand off by SIP (`sip:agents@pbx.example.com`) when no workflow is set", func(c *Config, v string) error {
		if v != "" && !strings.HasPrefix(v, "sip:") {
			return fmt.Errorf("must be a sip: URI, got %q", v)
		}
		c.AgentSIPURI = v
		return nil
	}},
	{"AGENT_CLIENT", "agents", "Twilio Client identity to dial otherwise", stringVar(func(c *Config) *string { return &c.AgentClient })},
	{"LOOKUP_TIMEOUT", "250ms", "budget for the whole caller lookup", durationVar(func(c *Config) *time.Duration { return &c.LookupTimeout })},
	{"FETCH_TURN_BUDGET", "3s", "budget for all the fetch nodes of one webhook together (a fetch past it takes its error way as a timeout)", durationVar(func(c *Config) *time.Duration { return &c.FetchTurnBudget })},
	{"TWILIO_RETRY_WINDOW", "60s", "how long a repeat of a signed webhook (Twilio's retry of it) gets the first answer again; after it, and until 10 minutes, a repeat is refused", durationVar(func(c *Config) *time.Duration { return &c.RetryWindow })},
	{"CACHE_TTL", "5m", "how long a cached number is fresh", durationVar(func(c *Config) *time.Duration { return &c.CacheTTL })},
	{"REDIS_MODE", "single", "`single`; `sentinel` (`REDIS_URL` names the sentinels: `redis://s1:26379/0?addr=s2:26379`); `cluster` (`redis://n1:6379?addr=n2:6379`)", func(c *Config, v string) error {
		if v != "single" && v != "sentinel" && v != "cluster" {
			return fmt.Errorf("must be single, sentinel or cluster, got %q", v)
		}
		c.RedisMode = v
		return nil
	}},
	{"REDIS_SENTINEL_MASTER", "", "the master's name, with `REDIS_MODE=sentinel`", stringVar(func(c *Config) *string { return &c.RedisSentinelMaster })},
	{"LOCAL_CACHE_SIZE", "100000", "numbers kept in each process's memory in front of Redis; `0` turns the local tier off", intVar(func(c *Config) *int { return &c.LocalCacheSize })},
	{"LOCAL_CACHE_MB", "64", "and at most this many (estimated) megabytes", intVar(func(c *Config) *int { return &c.LocalCacheMB })},
	{"LOCAL_CACHE_TTL", "30s", "how long a number answers from memory (less up to 10% jitter); writes evict it at once everywhere", durationVar(func(c *Config) *time.Duration { return &c.LocalCacheTTL })},
	{"ADMIN_RATE", "20", "admin API requests a second per token, in each instance (429 with `Retry-After` past it); `0` turns the limit off", rateVar(func(c *Config) *float64 { return &c.AdminRate })},
	{"ADMIN_BURST", "40", "requests a token may make at once before the rate applies", rateVar(func(c *Config) *float64 { return &c.AdminBurst })},
	{"PIN_MAX_ATTEMPTS", "5", "PIN tries per member and per calling number within the window (see Caller trust)", intVar(func(c *Config) *int { return &c.PINMaxAttempts })},
	{"PIN_LOCKOUT_WINDOW", "15m", "how long PIN tries count, from the first", durationVar(func(c *Config) *time.Duration { return &c.PINLockoutWindow })},
	{"OIDC_ISSUER", "", "the company's OpenID provider (e.g. `https://company.okta.com`); set, the console offers \"Sign in with …\" (see Signing in with the company's identity provider)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("must be the provider's issuer URL, e.g. https://company.okta.com, got %q", v)
		}
		c.OIDCIssuer = v
		return nil
	}},
	{"OIDC_CLIENT_ID", "", "the client registered at the provider (required with `OIDC_ISSUER`)", stringVar(func(c *Config) *string { return &c.OIDCClientID })},
	{"OIDC_CLIENT_SECRET", "", "the client's secret; empty for a public client (PKCE)", stringVar(func(c *Config) *string { return &c.OIDCClientSecret })},
	{"OIDC_SCOPES", "openid email profile", "scopes asked for (add the one your provider needs for groups, e.g. `groups`)", func(c *Config, v string) error {
		c.OIDCScopes = strings.Fields(v)
		if !slices.Contains(c.OIDCScopes, "openid") {
			return fmt.Errorf("must include openid, got %q", v)
		}
		return nil
	}},
	{"OIDC_REDIRECT_URL", "", "where the provider sends admins back; register exactly this URL; empty: `PUBLIC_URL` + `/admin/auth/callback`", stringVar(func(c *Config) *string { return &c.OIDCRedirectURL })},
	{"OIDC_ROLES_CLAIM", "groups", "the claim (ID token, else userinfo) listing the user's groups", stringVar(func(c *Config) *string { return &c.OIDCRolesClaim })},
	{"OIDC_ROLE_MAP", "", "Required with `OIDC_ISSUER`: `cc-admins=admin,cc-publishers=publisher,cc-editors=editor,cc-all=viewer`: the highest mapped role wins", func(c *Config, v string) error {
		m, err := parseRoleMap(v)
		c.OIDCRoleMap = m
		return err
	}},
	{"OIDC_PROVIDER_NAME", "", "the name on the sign-in button; empty: the issuer's host", stringVar(func(c *Config) *string { return &c.OIDCProviderName })},
	{"SESSION_IDLE_TIMEOUT", "30m", "a console session ends when unused this long", durationVar(func(c *Config) *time.Duration { return &c.SessionIdleTimeout })},
	{"SESSION_MAX_AGE", "12h", "and this long after sign-in, whatever", durationVar(func(c *Config) *time.Duration { return &c.SessionMaxAge })},
	{"PG_MAX_CONNS", "0", "PostgreSQL pool size; `0` is pgx's default (4 or the CPU count)", intVar(func(c *Config) *int { return &c.PGMaxConns })},
	{"PG_STATEMENT_TIMEOUT", "5s", "statement timeout on every pooled connection (`memberline import` lifts it for its own work)", durationVar(func(c *Config) *time.Duration { return &c.PGStatementTimeout })},
	{"UPCOMING_WINDOW", "336h", "how far ahead an activity is worth mentioning", durationVar(func(c *Config) *time.Duration { return &c.UpcomingWindow })},
	{"RECENT_WINDOW", "72h", "how long after it ended", durationVar(func(c *Config) *time.Duration { return &c.RecentWindow })},
	{"SHUTDOWN_DELAY", "0s", "after SIGTERM, keep serving this long with `/readyz` failing, so load balancers stop sending calls", func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("must be a duration such as 0s or 5s, got %q", v)
		}
		c.ShutdownDelay = d
		return nil
	}},
	{"SHUTDOWN_TIMEOUT", "20s", "then stop accepting and give requests in flight this long to finish; the rest are cut. Exits 0 either way", durationVar(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{"CALL_RETENTION", "90d", "call records are kept this long (days, `90d`, or a duration, `2160h`), then purged", func(c *Config, v string) error {
		d, err := ParseRetention(v)
		c.CallRetention = d
		return err
	}},
	{"CALL_PURGE_INTERVAL", "1h", "how often the purge runs in `serve`", durationVar(func(c *Config) *time.Duration { return &c.CallPurgeInterval })},
	{"CALL_HASH_KEY", "", "keys the caller hash in call records; set it (and keep it) so calls from one number stay joinable when the Twilio token rotates; empty: derived from `TWILIO_AUTH_TOKEN`", stringVar(func(c *Config) *string { return &c.CallHashKey })},
	{"CONNECTION_KEY", "", "32 random bytes in base64 (`openssl rand -base64 32`) that seal the signing secrets of the company APIs flows fetch from (`/api/v1/connections`); keep it: a changed key cannot open the stored secrets. Empty: a key derived from `ADMIN_TOKEN`, for development only (the service warns at start)", func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			return fmt.Errorf("must be 32 bytes in base64 (openssl rand -base64 32)")
		}
		c.ConnectionKey = k
		return nil
	}},
	{"DEBUG_ADDR", "", "serve Go's profiler (`/debug/pprof/`) on this address, apart from the main port; keep it on loopback or a private network (`127.0.0.1:6060`)", addrVar(func(c *Config) *string { return &c.DebugAddr })},
	{"METRICS_ADDR", "", "serve `/metrics` on this address, and then not on the main port (which Twilio reaches from the internet); the manifests and the compose file use `0.0.0.0:9464`", addrVar(func(c *Config) *string { return &c.MetricsAddr })},
	{"FLOW_POLL_INTERVAL", "250ms", "how often each instance checks for flow publishes and binding changes; a change reaches every instance's next call within this", durationVar(func(c *Config) *time.Duration { return &c.FlowPollInterval })},
	{"TWILIO_ACCOUNT_SID", "", "the Twilio account, for callbacks and `memberline twilio configure`", stringVar(func(c *Config) *string { return &c.TwilioAccountSID })},
	{"TWILIO_API_KEY", "", "with `TWILIO_API_SECRET`, the API key the service and `memberline twilio configure` sign in to Twilio's REST API with (else the account SID and `TWILIO_AUTH_TOKEN`)", stringVar(func(c *Config) *string { return &c.TwilioAPIKey })},
	{"TWILIO_API_SECRET", "", "the API key's secret", stringVar(func(c *Config) *string { return &c.TwilioAPISecret })},
	{"TWILIO_CALLER_ID", "", "the line's number (E.164), the caller ID of callbacks; without it (or without Twilio credentials) waiting callers are not offered callbacks", stringVar(func(c *Config) *string { return &c.TwilioCallerID })},
	{"TWILIO_MESSAGING_SERVICE_SID", "", "the messaging service (`MG…`) message nodes send from; else `TWILIO_SMS_FROM`. With neither (or without Twilio credentials) message nodes take their `not_sent` way", stringVar(func(c *Config) *string { return &c.MessagingServiceSID })},
	{"TWILIO_SMS_FROM", "", "the number (E.164) message nodes send from, without a messaging service; WhatsApp sends from `whatsapp:` and this number", stringVar(func(c *Config) *string { return &c.SMSFrom })},
	{"MESSAGE_RATE", "1", "messages a second per sender, shared by every instance; Twilio's 429 and 20429 back off and try again", rateVar(func(c *Config) *float64 { return &c.MessageRate })},
	{"TWILIO_API_URL", "https://api.twilio.com", "the base of Twilio's REST API; every request the service makes to Twilio goes there (tests and proxies point it elsewhere)", stringVar(func(c *Config) *string { return &c.TwilioAPIURL })},
	{"LOG_FORMAT", "json", "`json` or `text`", func(c *Config, v string) error {
		if v != "json" && v != "text" {
			return fmt.Errorf("must be json or text, got %q", v)
		}
		c.LogFormat = v
		return nil
	}},
}

// readElsewhere are the variables read by something other than LoadConfig: the runtime
// and the garbage collector's settings (internal/gctune), and the OpenTelemetry SDK. They
// are documented with the rest; set is nil.
var readElsewhere = []envVar{
	{"GOGC", "400", "the garbage collector's target (Go's own variable): `serve` sets 400 when it is unset, so the collector runs about four times less often than Go's default of 100", nil},
	{"GOMEMLIMIT", "", "Go's soft memory limit; when unset, `serve` sets it to 90% of the container's memory limit (`AUTOMEMLIMIT` changes that), so the larger GC target never pushes the process past its limit", nil},
	{"AUTOMEMLIMIT", "", "`off`, or a ratio such as `0.8`: how `serve` sets `GOMEMLIMIT` from the cgroup's limit when `GOMEMLIMIT` is unset", nil},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "", "export traces over OTLP there (`OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf`, the default, or `grpc`; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` and `_PROTOCOL` win for traces); unset, no spans are made at all. The SDK reads the other standard `OTEL_*` variables (`OTEL_SERVICE_NAME`, default `memberline`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, …)", nil},
}

// configTable is the Markdown table of every variable, in docs/operations.md.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, ev := range append(slices.Clone(envVars), readElsewhere...) {
		def := "—"
		if ev.def != "" {
			def = "`" + ev.def + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", ev.name, def, ev.doc)
	}
	return b.String()
}

// Need is what a command needs of the configuration.
type Need int

const (
	NeedServe   Need = iota // everything serve needs
	NeedData                // only the data stores (seed, import, migrate, calls purge)
	NeedNothing             // nothing required: the command checks what it uses
)

// LoadConfig reads the environment and reports every problem at once: a value that does
// not parse, and a variable the command needs (need) that is not set.
func LoadConfig(getenv func(string) string, insecure bool, need Need) (Config, error) {
	c := Config{InsecureSkipSignature: insecure}
	var problems []error
	for _, ev := range envVars {
		v := strings.TrimSpace(getenv(ev.name))
		if v == "" {
			v = ev.def
		}
		if err := ev.set(&c, v); err != nil {
			problems = append(problems, fmt.Errorf("%s %w", ev.name, err))
		}
	}
	problems = append(problems, c.validate(need)...)
	if len(problems) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(problems...))
	}
	return c, nil
}

// parseRoleMap reads OIDC_ROLE_MAP: group=role pairs, comma-separated.
func parseRoleMap(v string) (map[string]string, error) {
	m := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		group, role, ok := strings.Cut(pair, "=")
		group, role = strings.TrimSpace(group), strings.TrimSpace(role)
		if !ok || group == "" || !auth.ValidRole(role) {
			return nil, fmt.Errorf("must be group=role pairs (roles: viewer, editor, publisher, admin), e.g. cc-admins=admin,cc-editors=editor; %q is not", pair)
		}
		m[group] = role
	}
	return m, nil
}

// redirectURL is where the provider sends admins back: OIDC_REDIRECT_URL, else derived
// from PUBLIC_URL.
func (c *Config) redirectURL() string {
	if c.OIDCRedirectURL != "" {
		return c.OIDCRedirectURL
	}
	return c.PublicURL + sso.CallbackPath
}

func (c *Config) validate(n Need) []error {
	if n == NeedNothing {
		return nil
	}
	var problems []error
	need := func(name, v string) {
		if v == "" {
			problems = append(problems, fmt.Errorf("%s is required", name))
		}
	}
	need("DATABASE_URL", c.DatabaseURL)
	need("REDIS_URL", c.RedisURL)
	if n == NeedData {
		return problems
	}
	if c.OIDCIssuer != "" {
		need("OIDC_CLIENT_ID (with OIDC_ISSUER)", c.OIDCClientID)
		if len(c.OIDCRoleMap) == 0 {
			problems = append(problems, errors.New("with OIDC_ISSUER, OIDC_ROLE_MAP must say which of the provider's groups get which role, e.g. cc-admins=admin,cc-editors=editor"))
		}
	}
	if c.AdminToken == "" && c.OIDCIssuer == "" {
		problems = append(problems, errors.New("ADMIN_TOKEN is required (it may be empty once sign-in with OIDC_ISSUER is set up)"))
	} else if c.AdminToken != "" && len(c.AdminToken) < 16 {
		problems = append(problems, errors.New("ADMIN_TOKEN must be at least 16 characters"))
	}
	if c.InsecureSkipSignature {
		if c.PublicURL == "" {
			c.PublicURL = "http://" + c.ListenAddr
		}
		return problems
	}
	if c.TwilioAuthToken == "" {
		problems = append(problems, errors.New("TWILIO_AUTH_TOKEN is required (or start with --insecure-skip-twilio-signature for local development)"))
	}
	need("PUBLIC_URL", c.PublicURL)
	return problems
}
