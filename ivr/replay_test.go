package ivr

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testenv"
	"github.com/memberline/memberline/internal/twiliosim"
	"github.com/memberline/memberline/lookup"
)

// Two instances share one replay memory: a webhook played again is refused wherever it
// lands.
func TestReplayedWebhookRefused(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	newInstance := func() http.Handler {
		return New(Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }},
			Deps{Resolver: cache, Members: cache, Flow: flows.Default(), Replay: RedisReplayGuard(rdb, prefix)})
	}
	a, b := newInstance(), newInstance()
	send := func(h http.Handler, path string, form map[string]string) *httptest.ResponseRecorder {
		vals := twiliosim.Incoming("+12125550000")
		for k, v := range form {
			vals.Set(k, v)
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(SignatureHeader, Sign(testToken, testPublicURL+path, vals))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	steps := []struct {
		name   string
		via    http.Handler
		form   map[string]string
		status int
	}{
		{"first", a, nil, http.StatusOK},
		{"the same again, same instance", a, nil, http.StatusConflict},
		{"the same again, another instance", b, nil, http.StatusConflict},
		{"another call", b, map[string]string{"CallSid": "CAffffffffffffffffffffffffffffffff"}, http.StatusOK},
	}
	for _, s := range steps {
		rec := send(s.via, "/twilio/voice", s.form)
		if rec.Code != s.status {
			t.Errorf("%s: %d, want %d", s.name, rec.Code, s.status)
		}
		if s.status == http.StatusConflict && rec.Body.Len() != 0 {
			t.Errorf("%s: a refused replay carries %q", s.name, rec.Body)
		}
	}
}

// Checks that run at once share the client's automatic pipeline and still each get their
// own answer: of two checks of one key exactly one is first, whichever batch each went in.
func TestRedisReplayGuardConcurrent(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	g := RedisReplayGuard(rdb, prefix)
	const keys = 300 // more than one batch's worth of checks (go-redis's default: 200)
	var firsts [keys]atomic.Int32
	var wg sync.WaitGroup
	for i := range 2 * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % keys
			first, err := g.FirstSeen(t.Context(), fmt.Sprintf("key-%d", k), time.Minute)
			if err != nil {
				t.Errorf("key %d: %v", k, err)
			}
			if first {
				firsts[k].Add(1)
			}
		}()
	}
	wg.Wait()
	for k := range firsts {
		if n := firsts[k].Load(); n != 1 {
			t.Fatalf("key %d was first %d times, want once", k, n)
		}
	}
	if first, err := g.FirstSeen(t.Context(), "key-0", time.Minute); first || err != nil {
		t.Fatalf("key-0 again: first %v, err %v", first, err)
	}
}

// With Redis gone a check fails (the webhook then goes through) within its own
// deadline, and the guard works again once Redis is back.
func TestRedisReplayGuardRedisDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client()
	g := RedisReplayGuard(rdb, "replay-down:")
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if first, err := g.FirstSeen(ctx, "k", time.Minute); err == nil {
		t.Fatalf("Redis down: first %v, no error", first)
	}
	srv.Start()
	for attempt := 0; ; attempt++ {
		first, err := g.FirstSeen(t.Context(), "k", time.Minute)
		if err == nil {
			if !first {
				t.Fatal("the first check after Redis came back was not first")
			}
			break
		}
		if attempt == 50 {
			t.Fatalf("Redis back, the guard still fails: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
