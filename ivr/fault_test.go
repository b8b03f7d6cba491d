package ivr

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/pgpool"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// hangLimit is how long a webhook may take while servers die under it. The lookup budget
// is 250 ms; the limit is looser so that a loaded test machine does not fail the test,
// while a hang (a dial or a query without a deadline) still does.
const hangLimit = 2 * time.Second

// faultHarness is the edge over a private PostgreSQL and a private Redis that the test
// stops and starts. It has no local tier, so that each fault reaches the tier under test.
type faultHarness struct {
	*harness
	pg    *testenv.PostgresServer
	redis *testenv.RedisServer
}

func newFaultHarness(t *testing.T) *faultHarness {
	pg := testenv.StartPostgres(t)
	rs := testenv.StartRedis(t)
	pg.CreateDatabase("memberline")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pcfg, err := pgpool.Config(pg.URL("memberline"), 4, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := lookup.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rdb := rs.Client()
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{})
	handler := New(Config{
		PublicURL:       testPublicURL,
		TwilioAuthToken: testToken,
		LookupTimeout:   250 * time.Millisecond,
		Now:             func() time.Time { return testNow },
	}, Deps{Resolver: cache, Members: cache, Flow: flows.Default()})
	h := newEdgeHarness(t, handler, cache, rdb)
	h.seedMembers()
	return &faultHarness{harness: h, pg: pg, redis: rs}
}

// greeting places an incoming call and returns what the caller hears first. The answer
// must be valid TwiML with status 200, and come before hangLimit.
func (h *faultHarness) greeting(from string) string {
	h.t.Helper()
	began := time.Now()
	code, body := h.Post("/twilio/voice", twiliotest.Incoming(from))
	took := time.Since(began)
	if code != http.StatusOK || !strings.Contains(body, "<Response>") {
		h.t.Fatalf("call from %s: %d %s", from, code, body)
	}
	if took > hangLimit {
		h.t.Fatalf("call from %s took %v", from, took)
	}
	return twiliotest.Spoken(h.t, body)
}

const generic = "Welcome to the Memberline member line."

func TestFaultsRedisAndPostgres(t *testing.T) {
	h := newFaultHarness(t)
	dana, marcus := "+14045550123", "+13125550142"
	greeted := func(from, name string) bool { return strings.Contains(h.greeting(from), "Welcome back, "+name+".") }

	t.Run("redis killed during a stream of calls", func(t *testing.T) {
		h.t = t
		for i := range 60 {
			if i == 20 {
				h.redis.Stop()
			}
			if !greeted(dana, "Dana") || !greeted(marcus, "Marcus") {
				t.Fatalf("call %d: a known member was not greeted from PostgreSQL", i)
			}
		}
		if st := h.cache.Stats(); st.RedisErrors == 0 {
			t.Fatalf("Redis never failed: %+v", st)
		}
	})

	t.Run("postgres stopped: cached members still greeted", func(t *testing.T) {
		h.t = t
		h.redis.Start() // empty
		// The client meets its broken connections first; call until Dana is in Redis.
		fills := h.cache.Stats().Fills
		for deadline := time.Now().Add(10 * time.Second); h.cache.Stats().Fills == fills; {
			if !greeted(dana, "Dana") {
				t.Fatal("Dana not greeted with both servers up")
			}
			if time.Now().After(deadline) {
				t.Fatal("Dana never cached in the restarted Redis")
			}
		}
		h.pg.Stop()
		for range 10 {
			if !greeted(dana, "Dana") {
				t.Fatal("Dana, cached in Redis, not greeted with PostgreSQL down")
			}
		}
		// Marcus was never cached since Redis came back: nothing knows him now.
		if got := h.greeting(marcus); !strings.HasPrefix(got, generic) {
			t.Fatalf("uncached caller with PostgreSQL down heard %q, want the generic flow", got)
		}
	})

	t.Run("both down: the generic flow", func(t *testing.T) {
		h.t = t
		h.redis.Stop()
		for _, from := range []string{dana, marcus} {
			if got := h.greeting(from); !strings.HasPrefix(got, generic) {
				t.Fatalf("%s with both down heard %q, want the generic flow", from, got)
			}
		}
	})

	t.Run("both back: personalized again without a restart", func(t *testing.T) {
		h.t = t
		h.redis.Start()
		h.pg.Start()
		// The pool drops connections the crash broke as it meets them; the answers in
		// between are generic, and valid.
		deadline := time.Now().Add(20 * time.Second)
		for !greeted(marcus, "Marcus") || !greeted(dana, "Dana") {
			if time.Now().After(deadline) {
				t.Fatal("not personalized again 20s after both came back")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// blackhole accepts connections and never answers: a server that hangs.
func blackhole(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// Servers that accept and never answer cost the call its lookup budget, no more: the
// caller hears the generic flow.
func TestFaultsHangingServersAnswerGenericWithinBudget(t *testing.T) {
	addr := blackhole(t)
	ctx := context.Background()
	pcfg, err := pgpool.Config("postgres://memberline@"+addr+"/memberline?sslmode=disable", 4, 0)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	rdb, err := redisx.NewClient(redisx.Single, "redis://"+addr+"/0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Close() })
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	t.Cleanup(local.Close)
	handler := New(Config{
		PublicURL:       testPublicURL,
		TwilioAuthToken: testToken,
		LookupTimeout:   100 * time.Millisecond,
		Now:             func() time.Time { return testNow },
	}, Deps{Resolver: local, Members: local, Flow: flows.Default()})
	h := &faultHarness{harness: newEdgeHarness(t, handler, nil, nil)}
	for range 5 {
		if got := h.greeting("+14045550123"); !strings.HasPrefix(got, generic) {
			t.Fatalf("heard %q, want the generic flow", got)
		}
	}
}
