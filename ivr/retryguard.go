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
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/redisx"
)

// Twilio retries a webhook it thinks failed (a timeout, a connection override's #rc=, a
// Webhook Settings retry policy) and counts any 4xx or 5xx as failed: error 11200, then
// the number's fallback URL. So a repeat of a signed webhook must get the answer the
// first one got, without the turn running again (no second PIN try, no second hand-off).
// The answer is given again for the retry window; a repeat after it, within the replay
// window, is refused (403, no TwiML): a captured request played again does not take a turn.
//
// A webhook is answered first and settled after: its call record and its flow's outcome
// are held meanwhile, and one command stores the answer unless a copy of the request
// stored one already, and returns that one if so. So a repeat on any instance, even one
// running at the same moment, gets the first answer, in one round trip to Redis, and only
// the first copy records. A turn that would change something beyond the call record (a
// PIN try, a number remembered) first claims the request the same way, with nothing to
// give yet: a copy that finds the claim waits for the answer that replaces it.
//
// A request is the same request when its signature and URL are: Twilio's signed string
// concatenates keys and values with nothing between them, so every re-encoding of a body
// (parameters reordered, %41C for AC, a trailing &, a repeated pair) and every re-cut of
// it (a pair folded into the value before) has the same signature, and is the same
// request, not a new one.

// Answers remembers the answers to signed webhooks, in every instance. What is stored
// under a key is an answer with the time it was stored, or a claim: the time alone.
type Answers interface {
	// Settle stores answer under key for ttl, with the time now, unless something is
	// stored there already: then it stores nothing and returns what is there (an empty,
	// non-nil kept for a claim) and when it was stored. A nil answer stores a claim. Of
	// copies settled at once, exactly one gets a nil kept.
	Settle(ctx context.Context, key string, answer []byte, now time.Time, ttl time.Duration) (kept []byte, at time.Time, err error)
	// Replace stores answer under key for ttl, with the time now, whatever is there: the
	// answer to a request this instance claimed.
	Replace(ctx context.Context, key string, answer []byte, now time.Time, ttl time.Duration) error
	// Get returns what is stored under key, as Settle does; nil when nothing is.
	Get(ctx context.Context, key string) (kept []byte, at time.Time, err error)
	// Forget removes the answers stored under keys: an answer may greet a member, and a
	// member who is deleted must not stay readable in the retry cache. The call records
	// keep each answer's key (calls.Event.AnswerKey) for this.
	Forget(ctx context.Context, keys ...string) error
}

// Default windows: Twilio retries within seconds; a webhook is remembered as seen for ten
// minutes.
const (
	DefaultRetryWindow  = 60 * time.Second
	DefaultReplayWindow = 10 * time.Minute
)

// RedisAnswers keeps the answers in Redis, shared by every instance, one key per request
// (PREFIX settled:KEY; earlier versions kept claims and answers apart, under webhook: and
// answer:, and the two never read each other's). Its commands go through the client's
// automatic pipeline (redisx.AutoPipelined).
func RedisAnswers(rdb redis.UniversalClient, prefix string) Answers {
	return redisAnswers{rdb: rdb, prefix: prefix}
}

type redisAnswers struct {
	rdb    redis.UniversalClient
	prefix string
}

// stamped is "unix-milliseconds\n" (of now) and the answer.
func stamped(answer []byte, now time.Time) []byte {
	v := make([]byte, 0, 16+len(answer))
	v = strconv.AppendInt(v, now.UnixMilli(), 10)
	v = append(v, '\n')
	return append(v, answer...)
}

func unstamped(key, v string) ([]byte, time.Time, error) {
	ms, kept, ok := strings.Cut(v, "\n")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil {
		return nil, time.Time{}, fmt.Errorf("ivr: the answer kept under %s is unreadable", key)
	}
	return []byte(kept), time.UnixMilli(n), nil
}

func (a redisAnswers) keyOf(key string) string { return a.prefix + "settled:" + key }

func (a redisAnswers) Settle(ctx context.Context, key string, answer []byte, now time.Time, ttl time.Duration) ([]byte, time.Time, error) {
	// SET NX answers OK when this one was stored, nil when something is there: then it is
	// read. Not SET NX GET in one command: its nil for a first answer (nearly every webhook)
	// takes the client's error path, which costs more than a repeat's second command. What
	// is read may have expired in between; then the answer is stored again.
	v := stamped(answer, now)
	for range 2 {
		err := a.set(ctx, key, v, ttl, true)
		if err == nil {
			return nil, time.Time{}, nil
		}
		if !errors.Is(err, redis.Nil) {
			return nil, time.Time{}, err
		}
		if kept, at, err := a.Get(ctx, key); err != nil || kept != nil {
			return kept, at, err
		}
	}
	return nil, time.Time{}, fmt.Errorf("ivr: the answer under %s came and went twice while settling", key)
}

func (a redisAnswers) Replace(ctx context.Context, key string, answer []byte, now time.Time, ttl time.Duration) error {
	return a.set(ctx, key, stamped(answer, now), ttl, false)
}

// set stores the stamped value v under key for ttl; with nx, only where nothing is stored
// (then redis.Nil when something is).
func (a redisAnswers) set(ctx context.Context, key string, v []byte, ttl time.Duration, nx bool) error {
	args := []any{"set", a.keyOf(key), v, "px", max(1, ttl.Milliseconds()), "nx"}
	if !nx {
		args = args[:5]
	}
	return redisx.AutoPipelined(ctx, a.rdb, redis.NewStatusCmd(ctx, args...))
}

// Get reads what is stored under key and unstamps it (nil: nothing).
func (a redisAnswers) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	cmd := redis.NewStringCmd(ctx, "get", a.keyOf(key))
	err := redisx.AutoPipelined(ctx, a.rdb, cmd)
	if errors.Is(err, redis.Nil) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return unstamped(key, cmd.Val())
}

// Forget deletes the keys one command each (they may live on different nodes of a Cluster).
func (a redisAnswers) Forget(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if err := a.rdb.Del(ctx, a.keyOf(key)).Err(); err != nil {
			return fmt.Errorf("ivr: forget an answer: %w", err)
		}
	}
	return nil
}

// A repeat that finds a claim waits this long for the answer that replaces it.
const (
	inFlightWait = 2 * time.Second
	inFlightPoll = 20 * time.Millisecond
)

// answerOnce gives a repeat of a signed webhook the first one's answer (see above). When
// the answers cannot be reached (Redis down) the webhook is answered as if new, and
// counted: calls keep working.
func (s *Edge) answerOnce(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get(SignatureHeader)
		if s.deps.Answers == nil || sig == "" {
			next.ServeHTTP(w, r)
			return
		}
		sum := sha256.Sum256([]byte(sig + "\n" + r.URL.RequestURI()))
		st := &settling{edge: s, key: hex.EncodeToString(sum[:]), r: r}
		rec := &answerRecorder{header: http.Header{}}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), settlingKey{}, st)))
		if st.repeat != nil {
			s.repeat(w, r, st)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 100*time.Millisecond)
		defer cancel()
		if st.claimed {
			if err := s.deps.Answers.Replace(ctx, st.key, rec.encode(), s.cfg.Now(), s.replayWindow()); err != nil {
				s.retryCacheDown(r, "answer not kept for retries", err)
			}
		} else {
			kept, at, err := s.deps.Answers.Settle(ctx, st.key, rec.encode(), s.cfg.Now(), s.replayWindow())
			switch {
			case err != nil:
				s.retryCacheDown(r, "retry cache unavailable; answering as new", err)
			case kept != nil:
				st.repeat, st.at = kept, at
				s.repeat(w, r, st)
				return
			}
		}
		st.run()
		rec.writeTo(w)
	})
}

// repeat answers a repeat with the first answer, waiting for it while only a claim is
// kept, or refuses it (403, no TwiML) after the retry window or when no answer comes.
func (s *Edge) repeat(w http.ResponseWriter, r *http.Request, st *settling) {
	answer, at := st.repeat, st.at
	if s.cfg.Now().Sub(at) > s.retryWindow() {
		answer = nil // a replay, not a retry: refused without waiting
	}
	for deadline := time.Now().Add(inFlightWait); answer != nil && len(answer) == 0 && time.Now().Before(deadline); {
		time.Sleep(inFlightPoll)
		kept, _, err := s.deps.Answers.Get(r.Context(), st.key)
		if err != nil || kept == nil {
			break
		}
		answer = kept
	}
	if len(answer) == 0 || !replay(w, answer) {
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

// settling is a webhook being answered before it is settled: what it would record, held
// until its answer is the first, and whether it claimed the request or found a copy's.
type settling struct {
	edge    *Edge
	key     string
	r       *http.Request
	held    []func()
	claimed bool
	repeat  []byte // a copy's answer (empty: its claim), when a copy came first
	at      time.Time
}

type settlingKey struct{}

func (st *settling) run() {
	for _, f := range st.held {
		f()
	}
}

// answerKey is the retry cache's key of the webhook being answered, "" outside one.
func answerKey(ctx context.Context) string {
	if st, ok := ctx.Value(settlingKey{}).(*settling); ok {
		return st.key
	}
	return ""
}

// afterSettling runs f now, or, in a webhook being settled, once its answer is the first.
func afterSettling(ctx context.Context, f func()) {
	if st, ok := ctx.Value(settlingKey{}).(*settling); ok {
		st.held = append(st.held, f)
		return
	}
	f()
}

// ownTurn claims the webhook being answered before its turn changes something (a PIN try,
// a number remembered). It reports false when a copy of the request claimed or answered
// it first: the handler then stops, writing nothing, and the copy's answer is given. With
// the answers unreachable the turn goes on, as for a new request.
func ownTurn(ctx context.Context) bool {
	st, ok := ctx.Value(settlingKey{}).(*settling)
	if !ok || st.claimed {
		return true
	}
	s := st.edge
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	kept, at, err := s.deps.Answers.Settle(cctx, st.key, nil, s.cfg.Now(), s.replayWindow())
	cancel()
	switch {
	case err != nil:
		s.retryCacheDown(st.r, "retry cache unavailable; answering as new", err)
		return true
	case kept != nil:
		st.repeat, st.at = kept, at
		return false
	}
	st.claimed = true
	return true
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
