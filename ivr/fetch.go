package ivr

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/connections"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
)

// Fetch nodes at the edge: the engine stops a turn at a fetch node with a request
// (flows.Turn.Fetch); the edge performs it through a Fetcher within the turn's budget and
// resumes the flow with the answer (flows.Complete). A node that says something while it
// waits is answered at once with its words and a Redirect to /twilio/fetch; the request
// runs meanwhile, its answer is kept under the call (FetchResults, shared by every
// instance), and the redirected webhook, on whichever instance gets it, picks it up.

// DefaultFetchTurnBudget bounds the fetches of one webhook together (FETCH_TURN_BUDGET).
const DefaultFetchTurnBudget = 3 * time.Second

// fetchKeep is how long a pending fetch's answer is kept for its redirect.
const fetchKeep = 2 * time.Minute

// fetchPath is the webhook a fetch node's redirect posts to, with its state parameter.
const fetchPath = "/twilio/fetch?s="

// Fetcher performs fetch nodes' requests (NewFetcher: a connection's signed client).
// It never fails: the answer's Outcome says how it went.
type Fetcher interface {
	Fetch(ctx context.Context, req flows.FetchRequest) flows.Fetched
}

// FetchResults keeps the answers of pending fetches (say_while_waiting) for the
// redirected webhook, which another instance may get (RedisFetchResults).
type FetchResults interface {
	Put(ctx context.Context, key string, res flows.Fetched, ttl time.Duration) error
	// Get answers ok false when nothing is kept under key (yet).
	Get(ctx context.Context, key string) (res flows.Fetched, ok bool, err error)
}

// ConnectionSource reads connections with their secrets (connections.Store).
type ConnectionSource interface {
	Get(ctx context.Context, id string) (connections.Connection, error)
}

// NewFetcher performs fetches on the connections src stores through client. Connections
// are read at most every few seconds; a connection that does not exist (deleted after a
// flow was published) makes its fetch nodes take their error way as unreachable, logged
// once per connection.
func NewFetcher(src ConnectionSource, client *connections.Client, log *slog.Logger) Fetcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &connFetcher{src: src, client: client, log: log, ttl: 5 * time.Second, cache: map[string]cachedConn{}, missing: map[string]bool{}}
}

type connFetcher struct {
	src    ConnectionSource
	client *connections.Client
	log    *slog.Logger
	ttl    time.Duration

	mu      sync.Mutex
	cache   map[string]cachedConn
	missing map[string]bool // connections logged as missing
}

type cachedConn struct {
	conn       connections.Connection
	found      bool
	until      time.Time
	refreshing bool // one caller reads it again; the others keep using this one meanwhile
}

// connection is the connection id from the cache, read again at most every ttl by one
// caller at a time: calls never queue on the database together when an entry expires.
func (f *connFetcher) connection(ctx context.Context, id string) (connections.Connection, bool, error) {
	now := time.Now()
	f.mu.Lock()
	c, ok := f.cache[id]
	if ok && (now.Before(c.until) || c.refreshing) {
		f.mu.Unlock()
		return c.conn, c.found, nil
	}
	if ok {
		c.refreshing = true
		f.cache[id] = c
	}
	f.mu.Unlock()
	conn, err := f.src.Get(ctx, id)
	found := err == nil
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		if ok { // keep the last known one and try again later
			c.refreshing, c.until = false, now.Add(time.Second)
			f.cache[id] = c
			return c.conn, c.found, nil
		}
		return conn, false, err
	}
	f.cache[id] = cachedConn{conn: conn, found: found, until: now.Add(f.ttl)}
	if !found && !f.missing[id] {
		f.missing[id] = true
		f.log.WarnContext(ctx, "a flow fetches from a connection that does not exist; its fetch nodes take their error way", "connection", id)
	} else if found {
		delete(f.missing, id)
	}
	return conn, found, nil
}

func (f *connFetcher) Fetch(ctx context.Context, req flows.FetchRequest) flows.Fetched {
	conn, found, err := f.connection(ctx, req.Connection)
	switch {
	case err != nil:
		f.log.WarnContext(ctx, "connection not read; the fetch takes its error way", "connection", req.Connection, "err", err)
		return flows.Fetched{Node: req.Node, Outcome: flows.FetchUnreachable}
	case !found:
		return flows.Fetched{Node: req.Node, Outcome: flows.FetchUnreachable}
	}
	if req.Timeout > 0 {
		conn.Timeout = req.Timeout
	}
	r := f.client.Fetch(ctx, conn, req.Method, req.Path, req.Body)
	return flows.Fetched{Node: req.Node, Outcome: r.Outcome, Status: r.Status, Answer: r.Answer, Duration: r.Duration}
}

// RedisFetchResults keeps pending fetches' answers in Redis under PREFIX fetch:{CALLSID}:KEY.
func RedisFetchResults(rdb redis.UniversalClient, prefix string) FetchResults {
	return redisFetchResults{rdb: rdb, prefix: prefix}
}

type redisFetchResults struct {
	rdb    redis.UniversalClient
	prefix string
}

func (r redisFetchResults) Put(ctx context.Context, key string, res flows.Fetched, ttl time.Duration) error {
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return r.rdb.Set(ctx, r.prefix+"fetch:"+key, b, ttl).Err()
}

func (r redisFetchResults) Get(ctx context.Context, key string) (flows.Fetched, bool, error) {
	var res flows.Fetched
	b, err := r.rdb.Get(ctx, r.prefix+"fetch:"+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return res, false, nil
	}
	if err != nil {
		return res, false, err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return res, false, err
	}
	return res, true, nil
}

// pendingFetches are the fetches this instance runs for redirects, by key.
type pendingFetches struct {
	mu sync.Mutex
	m  map[string]*pendingFetch
}

type pendingFetch struct {
	done chan struct{}
	res  flows.Fetched
}

func (p *pendingFetches) add(key string) *pendingFetch {
	pf := &pendingFetch{done: make(chan struct{})}
	p.mu.Lock()
	if p.m == nil {
		p.m = map[string]*pendingFetch{}
	}
	p.m[key] = pf
	p.mu.Unlock()
	time.AfterFunc(fetchKeep, func() {
		p.mu.Lock()
		delete(p.m, key)
		p.mu.Unlock()
	})
	return pf
}

func (p *pendingFetches) get(key string) *pendingFetch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[key]
}

func (s *Edge) fetchBudget() time.Duration {
	if s.cfg.FetchTurnBudget > 0 {
		return s.cfg.FetchTurnBudget
	}
	return DefaultFetchTurnBudget
}

// complete carries a turn through its gotos and fetches (flows.Complete): fetches run
// now, together within the turn's budget from start, except one that says something while
// it waits, which starts here and is left pending for the redirect render adds.
func (s *Edge) complete(ctx context.Context, r *http.Request, flow *flows.Flow, turn flows.Turn, call flows.Call, start time.Time) (flows.Turn, error) {
	if turn.Fetch == nil && turn.GotoFlow == "" && turn.Message == nil {
		return turn, nil
	}
	deadline := start.Add(s.fetchBudget())
	turn, _, err := flows.Complete(flow, turn, call, flows.Effects{Load: s.gotoFlow(ctx),
		Fetch: func(req flows.FetchRequest) (flows.Fetched, bool) {
			if req.Wait {
				return flows.Fetched{}, false
			}
			return s.fetchBy(ctx, req, deadline), true
		},
		Send: func(req flows.MessageRequest) flows.Messaged { return s.queueMessage(ctx, call, req) },
	})
	if err != nil || turn.Fetch == nil {
		return turn, err
	}
	req := *turn.Fetch
	req.Key = call.CallSID + ":" + newFetchKey()
	turn.Fetch = &req
	if ownTurn(ctx) { // a retry of this webhook gets the first answer, whose fetch runs already
		s.fetchMeanwhile(ctx, req)
	}
	return turn, nil
}

func newFetchKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fetchBy performs req, giving up at deadline.
func (s *Edge) fetchBy(ctx context.Context, req flows.FetchRequest, deadline time.Time) flows.Fetched {
	if s.deps.Fetcher == nil {
		return flows.Fetched{Node: req.Node, Outcome: flows.FetchUnreachable}
	}
	if !time.Now().Before(deadline) {
		return flows.Fetched{Node: req.Node, Outcome: flows.FetchTimeout}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	return s.deps.Fetcher.Fetch(ctx, req)
}

// fetchMeanwhile runs a pending request in the background, within the turn's budget, and
// keeps its answer for the redirect: here, and in FetchResults for other instances.
func (s *Edge) fetchMeanwhile(ctx context.Context, req flows.FetchRequest) {
	pf := s.pending.add(req.Key)
	ctx = context.WithoutCancel(ctx)
	go func() {
		res := s.fetchBy(ctx, req, time.Now().Add(s.fetchBudget()))
		pf.res = res
		close(pf.done)
		if s.deps.FetchResults != nil {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			if err := s.deps.FetchResults.Put(pctx, req.Key, res, fetchKeep); err != nil {
				s.log.WarnContext(ctx, "fetch answer not kept for other instances", "connection", req.Connection, "err", err)
			}
		}
	}()
}

// fetchPoll is how often a redirect on another instance looks for the answer.
const fetchPoll = 20 * time.Millisecond

// awaitFetch is the answer kept under key, waiting at most wait for it: a timeout when
// none comes.
func (s *Edge) awaitFetch(ctx context.Context, key string, wait time.Duration) flows.Fetched {
	timeout := flows.Fetched{Outcome: flows.FetchTimeout}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	if pf := s.pending.get(key); pf != nil {
		select {
		case <-pf.done:
			return pf.res
		case <-timer.C:
			return timeout
		case <-ctx.Done():
			return timeout
		}
	}
	if s.deps.FetchResults == nil {
		return timeout
	}
	tick := time.NewTicker(fetchPoll)
	defer tick.Stop()
	for {
		res, ok, err := s.deps.FetchResults.Get(ctx, key)
		if ok {
			return res
		}
		if err != nil {
			s.log.WarnContext(ctx, "fetch answer not read", "err", err)
		}
		select {
		case <-tick.C:
		case <-timer.C:
			return timeout
		case <-ctx.Done():
			return timeout
		}
	}
}

// validFetchKey: a call SID, a colon and 32 hex digits, as complete makes them.
func validFetchKey(key, callSID string) bool {
	rest, ok := strings.CutPrefix(key, callSID+":")
	if !ok || len(rest) != 32 {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}

// handleFetch continues a call after a fetch node's words: the answer its request got
// (waiting for it at most the node's timeout), then the flow from there.
func (s *Edge) handleFetch() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		callSID := r.PostFormValue("CallSid")
		st, err := s.state.decode(r.URL.Query().Get("s"), callSID, s.cfg.Now())
		if err != nil {
			s.answer(w, r, flows.Turn{}, err, "", start, flows.Caller{})
			return
		}
		caller, outcome := s.resolveCaller(ctx, r)
		call := flows.Call{Now: s.cfg.Now(), Caller: caller, CallSID: callSID, ExperimentKey: s.cfg.ExperimentKey}
		if st.Member != "" && !hasMember(caller, st.Member) {
			call.Identified = s.identify(ctx, st.Member)
		}
		flow, err := s.pinnedFlow(ctx, st)
		if err != nil {
			s.answer(w, r, flows.Turn{State: st}, err, outcome, start, caller)
			return
		}
		wait := flow.FetchTimeout(st.Node)
		if wait <= 0 {
			wait = s.fetchBudget()
		}
		res := flows.Fetched{Outcome: flows.FetchTimeout}
		if key := r.URL.Query().Get("k"); validFetchKey(key, callSID) {
			res = s.awaitFetch(ctx, key, wait)
		}
		res.Node = st.Node
		call.Fetched = &res
		sctx, span := s.startSpan(ctx, r, "flows.engine")
		turn, err := flow.Resume(call, st, flows.Input{})
		if err == nil {
			call.Fetched = nil
			turn, err = s.complete(sctx, r, flow, turn, call, time.Now())
		}
		endSpan(span, err, st)
		if err != nil {
			turn.State = st
		}
		s.answer(w, r, turn, err, outcome, start, caller)
	})
}

// recordedFetches are a turn's fetches as the call record keeps them.
func recordedFetches(recs []flows.FetchRecord) []calls.Fetch {
	if len(recs) == 0 {
		return nil
	}
	out := make([]calls.Fetch, len(recs))
	for i, f := range recs {
		out[i] = calls.Fetch{Node: f.Node, Connection: f.Connection, Path: f.Path, Status: f.Status, Outcome: f.Outcome,
			DurationMS: f.DurationMS, Saved: f.Saved}
	}
	return out
}

// redirectTo is a <Redirect> (POST) to url.
func redirectTo(url string) Node {
	return Node{Name: "Redirect", Attrs: attrs(attr("method", http.MethodPost)), Text: url}
}
