// Package connections reaches the company's HTTP APIs for the flows' data actions: each
// request signed so the company can verify it comes from the line, sent only to addresses
// the connection may reach (checked on the address actually dialed), bounded in time and
// size, and behind a circuit breaker per connection, so that a failing API is not waited on
// and never slows calls that do not use it.
//
// Breakers are github.com/sony/gobreaker/v2: well kept, and its rolling window (a bucket a
// second over 30 s) gives exactly "half of at least 20 requests within 30 s" beside "5
// failures in a row", which a hand-written breaker would have to get right again.
package connections

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Connection is one of the company's APIs as a flow reaches it.
type Connection struct {
	ID      string
	BaseURL string            // https://crm.example.com/v2 (http only with AllowPrivate)
	Headers map[string]string // sent with every request
	Secret  string            // signs every request (SignatureHeader)
	Timeout time.Duration     // at most, for one request
	// AllowPrivate (allow_private_addresses) lets the connection reach loopback, private, link-local and other
	// internal addresses (an on-premise CRM); off, they are refused where they are dialed.
	AllowPrivate bool
}

// Outcomes of a fetch, which a flow branches on (vars.fetch_error) when it is not OK.
const (
	OK          = "ok"
	Timeout     = "timeout"      // no answer within the time allowed
	Unreachable = "unreachable"  // no connection: refused, not resolved, or an address not allowed
	Status      = "status"       // an answer other than 2xx (redirects are not followed)
	Invalid     = "invalid"      // a 2xx that is not JSON, or larger than MaxAnswer
	CircuitOpen = "circuit_open" // the connection failed too often lately: not tried
)

// MaxAnswer bounds an answer's body.
const MaxAnswer = 64 << 10

// SignatureHeader carries a request's signature: t=<unix seconds>,v1=<hex of
// HMAC-SHA256(secret, "<t>.<METHOD>.<path with query>.<body>")>, the scheme of Stripe's
// webhooks; the body is empty for a GET.
const SignatureHeader = "Memberline-Signature"

// Sign is the SignatureHeader value of a request made at t.
func Sign(secret string, t time.Time, method, pathQuery string, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + method + "." + pathQuery + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Result is what a fetch got: the outcome, the status and the JSON answer (on OK), why it
// failed otherwise, and how long it took.
type Result struct {
	Outcome  string
	Status   int
	Answer   any // the decoded JSON, on OK
	Reason   string
	Duration time.Duration
}

// Options tune a Client. Zero fields get the defaults noted.
type Options struct {
	Now func() time.Time // time.Now
	// BreakerTimeout is how long a tripped breaker stays open before one try (30 s).
	BreakerTimeout time.Duration
	// ConsecutiveFailures trips a breaker (5); so does FailureShare of at least
	// MinRequests requests (half of 20) within BreakerWindow (30 s).
	ConsecutiveFailures uint32
	MinRequests         uint32
	BreakerWindow       time.Duration
	// TracerProvider gets a client span per request, MeterProvider
	// memberline.fetch.requests{connection,outcome} and memberline.fetch.duration
	// {connection}; nil: none.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

// Client fetches from connections. Safe for concurrent use.
type Client struct {
	o        Options
	guarded  *http.Client // refuses internal addresses
	open     *http.Client // for connections that AllowPrivate
	mu       sync.Mutex
	breakers map[string]*gobreaker.CircuitBreaker[Result]
	tracer   trace.Tracer
	requests metric.Int64Counter
	duration metric.Float64Histogram
}

// Scope names the package's spans and metrics.
const Scope = "github.com/memberline/memberline/connections"

// NewClient returns a Client.
func NewClient(o Options) *Client {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BreakerTimeout <= 0 {
		o.BreakerTimeout = 30 * time.Second
	}
	if o.ConsecutiveFailures == 0 {
		o.ConsecutiveFailures = 5
	}
	if o.MinRequests == 0 {
		o.MinRequests = 20
	}
	if o.BreakerWindow <= 0 {
		o.BreakerWindow = 30 * time.Second
	}
	if o.TracerProvider == nil {
		o.TracerProvider = tracenoop.NewTracerProvider()
	}
	if o.MeterProvider == nil {
		o.MeterProvider = metricnoop.NewMeterProvider()
	}
	meter := o.MeterProvider.Meter(Scope)
	c := &Client{o: o, guarded: httpClient(false), open: httpClient(true), breakers: map[string]*gobreaker.CircuitBreaker[Result]{},
		tracer: o.TracerProvider.Tracer(Scope)}
	// The instruments' errors are for invalid names and units, fixed here: a test catches them.
	c.requests, _ = meter.Int64Counter("memberline.fetch.requests",
		metric.WithDescription("requests to the company's APIs, by connection and outcome (ok, timeout, unreachable, status, invalid, circuit_open)"))
	c.duration, _ = meter.Float64Histogram("memberline.fetch.duration", metric.WithUnit("s"),
		metric.WithDescription("how long requests to the company's APIs took, by connection"),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10))
	return c
}

// httpClient is a client that follows no redirect and uses no proxy (a proxy would dial
// for us, past the address check); with allowPrivate false it dials public addresses only.
func httpClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = refuseInternal
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			TLSHandshakeTimeout: 5 * time.Second,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// errInternal refuses an address a connection may not reach.
var errInternal = errors.New("an internal address, which this connection may not reach")

// refuseInternal is the dialer's check of the address it is about to connect to: after
// name resolution, so a DNS answer that changes between a check and the connection cannot
// slip an internal address through.
func refuseInternal(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || Internal(ip) {
		return errInternal
	}
	return nil
}

// cgnat is the carrier-grade NAT range (RFC 6598), internal to a provider's network.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// Internal reports whether ip is an address a connection without AllowPrivate may not
// reach: loopback, private (RFC 1918, RFC 4193), link-local (with the cloud metadata
// address 169.254.169.254), CGNAT, unspecified, multicast; IPv4-mapped IPv6 as its IPv4.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || cgnat.Contains(ip)
}

// breaker is a connection's breaker, made on first use.
func (c *Client) breaker(id string) *gobreaker.CircuitBreaker[Result] {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.breakers[id]
	if b == nil {
		o := c.o
		b = gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
			Name:         id,
			Interval:     o.BreakerWindow,
			BucketPeriod: time.Second,
			Timeout:      o.BreakerTimeout,
			ReadyToTrip: func(n gobreaker.Counts) bool {
				return n.ConsecutiveFailures >= o.ConsecutiveFailures || (n.Requests >= o.MinRequests && 2*n.TotalFailures >= n.Requests)
			},
		})
		c.breakers[id] = b
	}
	return b
}

// errFailed makes a result count as the breaker's failure: the API did not answer, or
// answered 5xx, or not JSON. A 4xx is the API's answer about the request, not a failure
// of the API.
type errFailed struct{ Result }

func (e errFailed) Error() string { return e.Outcome + ": " + e.Reason }

// Fetch sends method to the connection's base URL + pathQuery (a path with its query,
// already escaped), with body (JSON, for POST and PUT), within ctx's deadline and the
// connection's Timeout, and reads a JSON answer of at most MaxAnswer bytes. It never
// returns an error: the Result says how it went.
func (c *Client) Fetch(ctx context.Context, conn Connection, method, pathQuery string, body []byte) Result {
	start := c.o.Now()
	ctx, span := c.tracer.Start(ctx, "fetch "+conn.ID, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("memberline.connection", conn.ID), attribute.String("http.request.method", method)))
	defer span.End()
	var (
		r   Result
		err error
	)
	if t, terr := target(conn, pathQuery); terr != nil {
		r = Result{Outcome: Unreachable, Reason: terr.Error()}
	} else {
		r, err = c.breaker(conn.ID).Execute(func() (Result, error) {
			r := c.fetch(ctx, conn, method, t, body)
			if r.Outcome == Timeout || r.Outcome == Unreachable || r.Outcome == Invalid || (r.Outcome == Status && r.Status >= 500) {
				return r, errFailed{r}
			}
			return r, nil
		})
	}
	var failed errFailed
	switch {
	case errors.As(err, &failed):
		r = failed.Result
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		r = Result{Outcome: CircuitOpen, Reason: "the connection failed too often lately; it is tried again soon"}
	}
	r.Duration = c.o.Now().Sub(start)
	c.observe(ctx, span, conn.ID, r)
	return r
}

// observe records a fetch on its span and in the metrics.
func (c *Client) observe(ctx context.Context, span trace.Span, connID string, r Result) {
	span.SetAttributes(attribute.String("memberline.fetch.outcome", r.Outcome))
	if r.Status != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", r.Status))
	}
	if r.Outcome != OK {
		span.SetStatus(codes.Error, r.Outcome)
	}
	byConn := attribute.String("connection", connID)
	c.requests.Add(ctx, 1, metric.WithAttributes(byConn, attribute.String("outcome", r.Outcome)))
	c.duration.Record(ctx, r.Duration.Seconds(), metric.WithAttributes(byConn))
}

// target is the URL of pathQuery on the connection: a path that would leave the
// connection's host (or is not a path) is refused before anything is tried, and is not
// the API's failure.
func target(conn Connection, pathQuery string) (string, error) {
	base, err := url.Parse(conn.BaseURL)
	if err != nil {
		return "", errors.New("the connection's base URL is not a URL")
	}
	if base.Scheme != "https" && !(base.Scheme == "http" && conn.AllowPrivate) {
		return "", errors.New("the connection's base URL must be https")
	}
	if !strings.HasPrefix(pathQuery, "/") || strings.ContainsAny(pathQuery, "#\x00\r\n") {
		return "", errors.New("the path must start with / and hold no #, NUL or line break")
	}
	t := strings.TrimRight(conn.BaseURL, "/") + pathQuery
	u, err := url.Parse(t)
	if err != nil || u.Host != base.Host || u.User != nil {
		return "", errors.New("the path may not change the connection's host")
	}
	// Both spellings: a server that decodes %2F would see /v2//.. in /v2/%2f%2e%2e.
	if dotSegment(u.EscapedPath()) || dotSegment(u.Path) {
		return "", errors.New("the path may not hold . or .. segments, which would leave the base URL's path")
	}
	return t, nil
}

// dotSegment reports whether an escaped path has a "." or ".." segment, also spelled
// with %2e.
func dotSegment(escaped string) bool {
	for _, seg := range strings.Split(escaped, "/") {
		if s := strings.ReplaceAll(strings.ToLower(seg), "%2e", "."); s == "." || s == ".." {
			return true
		}
	}
	return false
}

func (c *Client) fetch(ctx context.Context, conn Connection, method, target string, body []byte) Result {
	if conn.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, conn.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return Result{Outcome: Unreachable, Reason: "not a URL: " + err.Error()}
	}
	for k, v := range conn.Headers {
		req.Header.Set(k, v)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set(SignatureHeader, Sign(conn.Secret, c.o.Now(), method, req.URL.RequestURI(), body))
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(req.Header)) // traceparent
	client := c.guarded
	if conn.AllowPrivate {
		client = c.open
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
			return Result{Outcome: Timeout, Reason: "no answer in time"}
		case errors.Is(err, errInternal):
			return Result{Outcome: Unreachable, Reason: "the address is " + errInternal.Error()}
		}
		return Result{Outcome: Unreachable, Reason: "no connection"}
	}
	defer resp.Body.Close()
	r := Result{Status: resp.StatusCode}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxAnswer))
		r.Outcome, r.Reason = Status, "answered "+strconv.Itoa(resp.StatusCode)
		return r
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	switch mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); {
	case errors.Is(err, context.DeadlineExceeded):
		r.Outcome, r.Reason = Timeout, "the answer did not arrive in time"
	case err != nil:
		r.Outcome, r.Reason = Unreachable, "the answer broke off"
	case len(raw) > MaxAnswer:
		r.Outcome, r.Reason = Invalid, fmt.Sprintf("the answer is larger than %d bytes", MaxAnswer)
	case mt != "application/json" && !strings.HasSuffix(mt, "+json"):
		r.Outcome, r.Reason = Invalid, "the answer is not JSON (Content-Type "+mt+")"
	case json.Unmarshal(raw, &r.Answer) != nil:
		r.Outcome, r.Reason = Invalid, "the answer is not valid JSON"
	default:
		r.Outcome = OK
	}
	return r
}
