package ivr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/redisx"
)

// Twilio retries a webhook it thinks failed (a timeout, a connection override's #rc=, a
// Webhook Settings retry policy) and counts any 4xx or 5xx as failed: error 11200, then
// the number's fallback URL. So a repeat of a signed webhook must get the answer the
// first one got, without the turn running again (no second PIN try, no second hand-off).
// The answer is kept for the retry window; a repeat after it, within the replay window,
// is refused (403, no TwiML): a captured request played again does not take a turn.
//
// The call's first webhook (the voice URL) and its status callback are answered first and
// settled after: they take no PIN try and write nothing but the call record, which waits
// for the settling. One command then stores the answer unless a copy of the request stored
// one already, and returns that one if so: a repeat on any instance, even one running at
// the same time, gets the first answer, in one round trip to Redis instead of two. A
// gather (which may be a PIN try) claims the request first and keeps the answer after, so
// that a repeat never runs its turn a second time.
//
// A request is the same request when its signature and URL are: Twilio's signed string
// concatenates keys and values with nothing between them, so every re-encoding of a body
// (parameters reordered, %41C for AC, a trailing &, a repeated pair) and every re-cut of
// it (a pair folded into the value before) has the same signature, and is the same
// request, not a new one.

// Answers remembers the answers to signed webhooks, in every instance.
type Answers interface {
	// Begin claims key for a request seen for the first time, for replayTTL. When the key
	// was claimed before, seen is true and answer is the stored answer, or nil when it is
	// no longer kept or not yet stored.
	Begin(ctx context.Context, key string, replayTTL time.Duration) (seen bool, answer []byte, err error)
	// Keep stores the answer to key for ttl.
	Keep(ctx context.Context, key string, answer []byte, ttl time.Duration) error
	// Settle stores answer under key for ttl, with the time, unless an answer is stored
	// there already: then it stores nothing and returns that answer and when it was
	// stored. Of copies settled at once, exactly one is first.
	Settle(ctx context.Context, key string, answer []byte, ttl time.Duration) (kept []byte, at time.Time, err error)
}

// Default windows: Twilio retries within seconds; a webhook is remembered as seen for ten
// minutes.
const (
	DefaultRetryWindow  = 60 * time.Second
	DefaultReplayWindow = 10 * time.Minute
)

// RedisAnswers keeps the answers in Redis, shared by every instance. Its commands go
// through the client's automatic pipeline (redisx.AutoPipelined).
func RedisAnswers(rdb redis.UniversalClient, prefix string) Answers {
	return redisAnswers{rdb: rdb, prefix: prefix}
}

type redisAnswers struct {
	rdb    redis.UniversalClient
	prefix string
}

func (a redisAnswers) Begin(ctx context.Context, key string, replayTTL time.Duration) (bool, []byte, error) {
	// SET NX answers nil when the key is there, which a BoolCmd reads as false.
	claim := redis.NewBoolCmd(ctx, "set", a.prefix+"webhook:"+key, 1, "px", max(1, replayTTL.Milliseconds()), "nx")
	if err := redisx.AutoPipelined(ctx, a.rdb, claim); err != nil {
		return false, nil, err
	}
	if claim.Val() {
		return false, nil, nil
	}
	get := redis.NewStringCmd(ctx, "get", a.prefix+"answer:"+key)
	err := redisx.AutoPipelined(ctx, a.rdb, get)
	if errors.Is(err, redis.Nil) {
		return true, nil, nil
	}
	if err != nil {
		return true, nil, err
	}
	return true, []byte(get.Val()), nil
}

func (a redisAnswers) Keep(ctx context.Context, key string, answer []byte, ttl time.Duration) error {
	return redisx.AutoPipelined(ctx, a.rdb, redis.NewStatusCmd(ctx, "set", a.prefix+"answer:"+key, answer, "px", max(1, ttl.Milliseconds())))
}

func (a redisAnswers) Settle(ctx context.Context, key string, answer []byte, ttl time.Duration) ([]byte, time.Time, error) {
	v := make([]byte, 0, 16+len(answer))
	v = strconv.AppendInt(v, time.Now().UnixMilli(), 10)
	v = append(v, '\n')
	v = append(v, answer...)
	// SET NX GET (Redis 7) answers the value there before, or nil when this one was stored.
	set := redis.NewStringCmd(ctx, "set", a.prefix+"settled:"+key, v, "px", max(1, ttl.Milliseconds()), "nx", "get")
	err := redisx.AutoPipelined(ctx, a.rdb, set)
	if errors.Is(err, redis.Nil) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	ms, kept, ok := bytes.Cut([]byte(set.Val()), []byte("\n"))
	n, perr := strconv.ParseInt(string(ms), 10, 64)
	if !ok || perr != nil {
		return nil, time.Time{}, fmt.Errorf("ivr: the answer settled under %s is unreadable", key)
	}
	return kept, time.UnixMilli(n), nil
}

// A repeat that arrives while the first is still being answered waits this long for it.
const (
	inFlightWait = 2 * time.Second
	inFlightPoll = 20 * time.Millisecond
)

// answerOnce gives a repeat of a signed webhook the first one's answer (see above):
// claimed first, or, with settle, answered first and settled after. When the answers
// cannot be reached (Redis down) the webhook is answered as if new, and counted: calls
// keep working.
func (s *Edge) answerOnce(next http.Handler, settle bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get(SignatureHeader)
		if s.deps.Answers == nil || sig == "" {
			next.ServeHTTP(w, r)
			return
		}
		sum := sha256.Sum256([]byte(sig + "\n" + r.URL.RequestURI()))
		key := hex.EncodeToString(sum[:])
		if settle {
			s.answerThenSettle(w, r, next, key)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		seen, answer, err := s.deps.Answers.Begin(ctx, key, s.replayWindow())
		cancel()
		if err != nil {
			s.retryCacheDown(r, "retry cache unavailable; answering as new", err)
			next.ServeHTTP(w, r)
			return
		}
		if seen {
			for deadline := time.Now().Add(inFlightWait); answer == nil && time.Now().Before(deadline); {
				time.Sleep(inFlightPoll)
				_, answer, err = s.deps.Answers.Begin(r.Context(), key, s.replayWindow())
				if err != nil {
					break
				}
			}
			s.repeat(w, r, answer)
			return
		}
		rec := &answerRecorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		kctx, kcancel := context.WithTimeout(context.WithoutCancel(r.Context()), 100*time.Millisecond)
		if err := s.deps.Answers.Keep(kctx, key, rec.encode(), s.retryWindow()); err != nil {
			s.retryCacheDown(r, "answer not kept for retries", err)
		}
		kcancel()
		rec.writeTo(w)
	})
}

// answerThenSettle answers r with its side effects held back, then settles the answer:
// when a copy of r settled first, the copy's answer is given instead and what this one
// would have recorded is dropped.
func (s *Edge) answerThenSettle(w http.ResponseWriter, r *http.Request, next http.Handler, key string) {
	held := &heldEffects{}
	rec := &answerRecorder{header: http.Header{}}
	next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), heldEffectsKey{}, held)))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 100*time.Millisecond)
	kept, at, err := s.deps.Answers.Settle(ctx, key, rec.encode(), s.replayWindow())
	cancel()
	switch {
	case err != nil:
		s.retryCacheDown(r, "retry cache unavailable; answering as new", err)
	case kept != nil:
		if time.Since(at) > s.retryWindow() {
			kept = nil // a replay, not a retry
		}
		s.repeat(w, r, kept)
		return
	}
	held.run()
	rec.writeTo(w)
}

// repeat answers a repeat with the first answer, or refuses it (403, no TwiML) when that
// is no longer kept.
func (s *Edge) repeat(w http.ResponseWriter, r *http.Request, answer []byte) {
	if answer == nil || !replay(w, answer) {
		s.log.WarnContext(r.Context(), "replayed webhook refused", "route", r.URL.Path, "call_sid", r.PostFormValue("CallSid"))
		w.WriteHeader(http.StatusForbidden)
		return
	}
	s.log.InfoContext(r.Context(), "webhook repeated; the first answer again", "route", r.URL.Path, "call_sid", r.PostFormValue("CallSid"))
}

func (s *Edge) retryCacheDown(r *http.Request, msg string, err error) {
	s.tel.retryCacheErrors.Add(r.Context(), 1)
	s.log.WarnContext(r.Context(), msg, "err", err)
}

// heldEffects are what a webhook being settled would record (its call record, its
// flow's outcome), run once its answer is the first.
type heldEffects struct{ fns []func() }

type heldEffectsKey struct{}

func (h *heldEffects) run() {
	for _, f := range h.fns {
		f()
	}
}

// afterSettling runs f now, or, in a webhook being settled, once its answer is the first.
func afterSettling(ctx context.Context, f func()) {
	if h, ok := ctx.Value(heldEffectsKey{}).(*heldEffects); ok {
		h.fns = append(h.fns, f)
		return
	}
	f()
}

// answerRecorder holds a handler's answer until it is kept.
type answerRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (a *answerRecorder) Header() http.Header         { return a.header }
func (a *answerRecorder) WriteHeader(code int)        { a.code = code }
func (a *answerRecorder) Write(b []byte) (int, error) { return a.body.Write(b) }

func (a *answerRecorder) status() int {
	if a.code == 0 {
		return http.StatusOK
	}
	return a.code
}

// writeTo sends the held answer.
func (a *answerRecorder) writeTo(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status())
	_, _ = w.Write(a.body.Bytes())
}

// encode is "status\ncontent-type\nbody".
func (a *answerRecorder) encode() []byte {
	b := make([]byte, 0, 32+a.body.Len())
	b = strconv.AppendInt(b, int64(a.status()), 10)
	b = append(b, '\n')
	b = append(b, a.header.Get("Content-Type")...)
	b = append(b, '\n')
	return append(b, a.body.Bytes()...)
}

// replay writes a kept answer; false when it cannot be read.
func replay(w http.ResponseWriter, answer []byte) bool {
	status, rest, ok1 := bytes.Cut(answer, []byte("\n"))
	ct, body, ok2 := bytes.Cut(rest, []byte("\n"))
	code, err := strconv.Atoi(string(status))
	if !ok1 || !ok2 || err != nil || code < 200 || code > 599 {
		return false
	}
	if len(ct) > 0 {
		w.Header().Set("Content-Type", string(ct))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	return true
}

func (s *Edge) replayWindow() time.Duration {
	if s.cfg.ReplayWindow > 0 {
		return max(s.cfg.ReplayWindow, s.retryWindow())
	}
	return max(DefaultReplayWindow, s.retryWindow())
}

func (s *Edge) retryWindow() time.Duration {
	if s.cfg.RetryWindow > 0 {
		return s.cfg.RetryWindow
	}
	return DefaultRetryWindow
}
