package ivr

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/memberline/memberline/internal/redisx"
	"github.com/redis/go-redis/v9"
)

// ReplayGuard remembers webhooks already answered. FirstSeen records key for ttl and
// reports whether it was new; it must be atomic across instances.
type ReplayGuard interface {
	FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error)
}

// DefaultReplayWindow is how long a webhook's signature and body are remembered.
const DefaultReplayWindow = 10 * time.Minute

// RedisReplayGuard is a ReplayGuard on Redis (SET NX with a TTL), shared by every
// instance. Its commands go through the client's automatic pipeline
// (redisx.AutoPipelined): under load, the checks of concurrent webhooks share round trips.
func RedisReplayGuard(rdb redis.UniversalClient, prefix string) ReplayGuard {
	return redisReplay{rdb: rdb, prefix: prefix}
}

type redisReplay struct {
	rdb    redis.UniversalClient
	prefix string
}

func (g redisReplay) FirstSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	// SET NX answers nil when the key is there, which a BoolCmd reads as false.
	cmd := redis.NewBoolCmd(ctx, "set", g.prefix+"webhook:"+key, 1, "px", max(1, ttl.Milliseconds()), "nx")
	if err := redisx.AutoPipelined(ctx, g.rdb, cmd); err != nil {
		return false, err
	}
	return cmd.Val(), nil
}

// refuseReplays answers 409 with no body to a signed webhook whose signature, URL and
// body were already seen within the window: a captured request played again must not
// take another turn (another PIN try, another hand-off). Twilio itself resends a webhook
// only when it got no answer; such a resend then goes to the number's Fallback URL,
// which hands the call to an agent. When the guard cannot answer (Redis down) the webhook
// goes through: calls keep working, replays are then only as hard as forging a signature.
func (s *Edge) refuseReplays(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig := r.Header.Get(SignatureHeader)
		if s.deps.Replay == nil || sig == "" {
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			http.Error(w, "cannot read request body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		io.WriteString(h, sig+"\n"+r.URL.RequestURI()+"\n")
		h.Write(body)
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		first, err := s.deps.Replay.FirstSeen(ctx, hex.EncodeToString(h.Sum(nil)), s.replayWindow())
		switch {
		case err != nil:
			s.log.WarnContext(r.Context(), "replay check failed; answering anyway", "err", err)
		case !first:
			s.log.WarnContext(r.Context(), "replayed webhook refused", "route", r.URL.Path, "call_sid", r.PostFormValue("CallSid"))
			w.WriteHeader(http.StatusConflict)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Edge) replayWindow() time.Duration {
	if s.cfg.ReplayWindow > 0 {
		return s.cfg.ReplayWindow
	}
	return DefaultReplayWindow
}
