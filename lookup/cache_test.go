package lookup

import (
	"context"
	"errors"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// cacheHarness is a Cache over a counted pool and a counted shared-Redis client.
type cacheHarness struct {
	cache *Cache
	// dir is the same database reached past the cache: its writes are not the cache's to
	// invalidate, as another writer's (a bulk job, another service) would not be.
	dir     *Directory
	pool    *pgxpool.Pool // the directory's
	queries *queryCounter
	cmds    *commandCounter
	rdb     redis.UniversalClient
	prefix  string
}

func newCacheHarness(t testing.TB, opts CacheOptions) *cacheHarness {
	t.Helper()
	pool, queries := countedPool(t, newPool(t))
	rdb, prefix := testenv.Redis(t)
	cmds := &commandCounter{}
	rdb.AddHook(cmds)
	return newHarnessWith(t, pool, queries, rdb, prefix, cmds, opts)
}

func newHarnessWith(t testing.TB, pool *pgxpool.Pool, queries *queryCounter, rdb redis.UniversalClient,
	prefix string, cmds *commandCounter, opts CacheOptions) *cacheHarness {
	if opts.Prefix == "" {
		opts.Prefix = prefix
	}
	return &cacheHarness{cache: NewCache(NewDirectory(pool, DefaultWindows), rdb, opts), dir: NewDirectory(pool, DefaultWindows),
		pool: pool, queries: queries, cmds: cmds, rdb: rdb, prefix: opts.Prefix}
}

// resolve resolves phone and waits for the refill it started, if any, to land in Redis.
func (h *cacheHarness) resolve(t testing.TB, phone string, at time.Time) Caller {
	t.Helper()
	c, err := h.cache.Resolve(ctxT(t), phone, at)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", phone, err)
	}
	h.cache.refills.Wait()
	return c
}

func (h *cacheHarness) resetCounts() {
	h.queries.n.Store(0)
	if h.cmds != nil {
		h.cmds.get.Store(0)
		h.cmds.other.Store(0)
	}
}

func seedDana(t testing.TB, w Writer) {
	mustPutMember(t, w, dana())
	mustPutActivity(t, w, trip("1001", "t1", now.Add(2*h).In(est), now.Add(10*h).In(ist)))
}

func TestCacheHitAfterMiss(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	seedDana(t, h.dir)

	h.resetCounts()
	first := h.resolve(t, "+14045550123", now)
	if h.queries.n.Load() != 1 {
		t.Fatalf("miss: %d PostgreSQL statements; want 1", h.queries.n.Load())
	}
	if st := h.cache.Stats(); st.Misses != 1 || st.Fills != 1 || st.Hits != 0 {
		t.Fatalf("after a miss: %+v", st)
	}

	h.resetCounts()
	second := h.resolve(t, "(404) 555-0123", now.Add(time.Minute))
	if q, g, o := h.queries.n.Load(), h.cmds.get.Load(), h.cmds.other.Load(); q != 0 || g != 1 || o != 0 {
		t.Fatalf("hit: %d PostgreSQL statements, %d GETs, %d other Redis commands; want 0, 1, 0", q, g, o)
	}
	if h.cache.Stats().Hits != 1 {
		t.Fatalf("stats %+v", h.cache.Stats())
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("hit answered %+v; the miss %+v", second, first)
	}
	// The cached answer is the directory's, offsets and all.
	direct, err := h.dir.Resolve(ctxT(t), "+14045550123", now)
	if err != nil || !reflect.DeepEqual(first, direct) {
		t.Fatalf("cache answered %+v; the directory %+v (%v)", first, direct, err)
	}
}

func TestCacheEntryFormat(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{TTL: 2 * time.Minute, StaleTTL: time.Hour})
	seedDana(t, h.dir)
	h.resolve(t, "+14045550123", now)
	ctx := ctxT(t)
	key := h.prefix + "caller:+14045550123"
	raw, err := h.rdb.Get(ctx, key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	if raw[0] != entryV1 {
		t.Fatalf("value is not in the binary form: %q", raw)
	}
	freshUntil, v, err := decodeEntry(raw)
	if err != nil {
		t.Fatalf("value does not decode: %v\n%q", err, raw)
	}
	// Fresh for the TTL less up to a tenth of jitter.
	if freshUntil.After(now.Add(2*time.Minute)) || freshUntil.Before(now.Add(108*time.Second)) || v.Phone != "+14045550123" || len(v.Members) != 1 ||
		len(v.Members[0].Activities) != 1 {
		t.Fatalf("stored %q", raw)
	}
	if ttl := h.rdb.PTTL(ctx, key).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("expiry %s; want StaleTTL", ttl)
	}
}

func TestCacheInvalidatesOnEveryWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(w Writer) error
		phone string
		check func(c Caller) bool
	}{
		{"put member renames", func(w Writer) error {
			m := dana()
			m.FirstName = "Danielle"
			_, err := w.PutMember(context.Background(), m)
			return err
		}, "+14045550123", func(c Caller) bool { return len(c.Members) == 1 && c.Members[0].FirstName == "Danielle" }},
		{"put member drops the number", func(w Writer) error {
			m := dana()
			m.Phones = []string{"+14045550124"}
			_, err := w.PutMember(context.Background(), m)
			return err
		}, "+14045550123", func(c Caller) bool { return len(c.Members) == 0 }},
		{"put member adds a cached-unknown number", func(w Writer) error {
			m := dana()
			m.Phones = append(m.Phones, "+14045550199")
			_, err := w.PutMember(context.Background(), m)
			return err
		}, "+14045550199", func(c Caller) bool { return len(c.Members) == 1 && c.Members[0].ID == "1001" }},
		{"put member in the household", func(w Writer) error {
			_, err := w.PutMember(context.Background(), Member{ID: "1002", FirstName: "Marcus", Phones: []string{"+14045550123"}})
			return err
		}, "+14045550123", func(c Caller) bool { return len(c.Members) == 2 }},
		{"put activity", func(w Writer) error {
			a := trip("1001", "t1", now.Add(-h), now.Add(h))
			a.Summary = "changed"
			_, err := w.PutActivity(context.Background(), a)
			return err
		}, "+14045550123", func(c Caller) bool {
			a := c.Members[0].Activity
			return a != nil && a.Summary == "changed" && a.Relation == RelationCurrent
		}},
		{"cancel activity", func(w Writer) error {
			a := trip("1001", "t1", now.Add(2*h), now.Add(10*h))
			a.Status = StatusCancelled
			_, err := w.PutActivity(context.Background(), a)
			return err
		}, "+14045550123", func(c Caller) bool { return c.Members[0].Activity == nil }},
		{"delete activity", func(w Writer) error {
			return w.DeleteActivity(context.Background(), "1001", "t1")
		}, "+14045550123", func(c Caller) bool { return c.Members[0].Activity == nil }},
		{"delete member", func(w Writer) error {
			return w.DeleteMember(context.Background(), "1001")
		}, "+14045550123", func(c Caller) bool { return len(c.Members) == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newCacheHarness(t, CacheOptions{})
			seedDana(t, h.cache)
			before := h.resolve(t, tc.phone, now) // now cached, positively or negatively
			if tc.check(before) {
				t.Fatalf("the check passes before the write: %+v", before)
			}
			if err := tc.write(h.cache); err != nil {
				t.Fatal(err)
			}
			if after := h.resolve(t, tc.phone, now); !tc.check(after) {
				t.Fatalf("after the write the cache answers %+v", after)
			}
		})
	}
}

func TestCacheNegativeEntries(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{NegativeTTL: 30 * time.Second})
	ctx := ctxT(t)
	if c := h.resolve(t, "+14045550188", now); len(c.Members) != 0 {
		t.Fatalf("unknown number resolved to %+v", c)
	}
	key := h.prefix + "caller:+14045550188"
	if ttl := h.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("negative entry expiry %s; want NegativeTTL", ttl)
	}
	h.resetCounts()
	h.resolve(t, "+14045550188", now.Add(10*time.Second))
	if h.queries.n.Load() != 0 {
		t.Fatal("a negatively cached number went to PostgreSQL")
	}
	// Past NegativeTTL (by the call's clock) the directory is asked again.
	h.resolve(t, "+14045550188", now.Add(31*time.Second))
	if h.queries.n.Load() != 1 {
		t.Fatalf("%d statements after NegativeTTL; want 1", h.queries.n.Load())
	}
	// Inserting the number evicts the negative entry.
	mustPutMember(t, h.cache, Member{ID: "n1", FirstName: "New", Phones: []string{"+14045550188"}})
	if c := h.resolve(t, "+14045550188", now.Add(32*time.Second)); len(c.Members) != 1 {
		t.Fatalf("after insert the cache answers %+v", c)
	}
}

func TestCacheRefillLosesToInvalidation(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	ctx := ctxT(t)
	seedDana(t, h.dir)
	key := h.prefix + "caller:+14045550123"

	// A reader misses and reads the directory...
	old, err := h.dir.candidates(ctx, "+14045550123", now)
	if err != nil {
		t.Fatal(err)
	}
	// ...a write commits and invalidates...
	m := dana()
	m.FirstName = "Danielle"
	mustPutMember(t, h.cache, m)
	// ...and the reader's refill of its old answer must not land.
	h.cache.store(ctx, key, "", old, now)
	if v := h.rdb.Get(ctx, key).Val(); v != tombstone {
		t.Fatalf("after a racing refill the key holds %q; want the tombstone", v)
	}
	if ttl := h.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 10*time.Second {
		t.Fatalf("tombstone expiry %s; want TombstoneTTL", ttl)
	}
	// While the tombstone lives, calls read the directory and see the write.
	if c := h.resolve(t, "+14045550123", now); c.Members[0].FirstName != "Danielle" {
		t.Fatalf("answer %+v", c)
	}
	if v := h.rdb.Get(ctx, key).Val(); v != tombstone {
		t.Fatalf("a call under a tombstone stored %q", v)
	}
	// Once it expires the next call fills the cache again.
	h.rdb.Del(ctx, key)
	h.resolve(t, "+14045550123", now)
	h.resetCounts()
	if c := h.resolve(t, "+14045550123", now); c.Members[0].FirstName != "Danielle" || h.queries.n.Load() != 0 {
		t.Fatalf("answer %+v after %d statements; want a hit with the new name", c, h.queries.n.Load())
	}
}

func TestCacheReplacesUnreadableEntry(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	ctx := ctxT(t)
	seedDana(t, h.dir)
	key := h.prefix + "caller:+14045550123"
	h.rdb.Set(ctx, key, "{not json", time.Hour)
	if c := h.resolve(t, "+14045550123", now); len(c.Members) != 1 {
		t.Fatalf("answer %+v", c)
	}
	if _, _, err := decodeEntry(h.rdb.Get(ctx, key).Val()); err != nil {
		t.Fatalf("the unreadable entry was not replaced: %v", err)
	}
}

// An entry written by an earlier version, as JSON, still answers (instances of both
// versions share Redis during a rolling deploy).
func TestCacheReadsJSONEntries(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	ctx := ctxT(t)
	key := h.prefix + "caller:+14045550123"
	old := `{"fresh_until":"2026-11-26T10:05:00Z","phone":"+14045550123","members":[{"id":"1001","first_name":"Dana",` +
		`"last_name":"Whitfield","tier":"Diamond","language":"en-US","time_zone":"America/New_York","phones":["+14045550123"],` +
		`"created_at":"2026-11-01T00:00:00Z","updated_at":"2026-11-01T00:00:00Z","activities":[{"id":"t1","member_id":"1001",` +
		`"kind":"trip","summary":"Flight DL1234 to Atlanta","place":"Atlanta","starts_at":"2026-11-27T14:05:00-05:00",` +
		`"ends_at":"2026-11-27T16:05:00-05:00","status":"confirmed","reference":"HX7Q2P"}]}],` +
		`"from":"2026-11-26T00:00:00Z","until":"2026-11-27T00:00:00Z"}`
	h.rdb.Set(ctx, key, old, time.Hour)
	c := h.resolve(t, "+14045550123", time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	if len(c.Members) != 1 || c.Members[0].FirstName != "Dana" || c.Members[0].Activity == nil ||
		c.Members[0].Activity.StartsAt.Format(time.RFC3339) != "2026-11-27T14:05:00-05:00" {
		t.Fatalf("answer %+v", c)
	}
	if n := h.queries.n.Load(); n != 0 {
		t.Fatalf("a fresh JSON entry went to PostgreSQL (%d statements)", n)
	}
}

// The refill script runs by its digest; a Redis that lost its scripts (a restart,
// SCRIPT FLUSH) gets its text, and the entry is stored all the same.
func TestCacheRefillAfterScriptFlush(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t)
	rdb := srv.Client()
	pool, queries := countedPool(t, newPool(t))
	h := newHarnessWith(t, pool, queries, rdb, "ml:", nil, CacheOptions{})
	seedDana(t, h.dir)
	ctx := ctxT(t)
	for round := range 2 {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if loaded, _ := rdb.ScriptExists(ctx, refillSHA).Result(); len(loaded) != 1 || loaded[0] {
			t.Fatalf("round %d: the script is still loaded: %v", round, loaded)
		}
		if err := h.cache.Invalidate(ctx, "+14045550123"); err != nil {
			t.Fatal(err)
		}
		rdb.Del(ctx, "ml:caller:+14045550123") // no tombstone: the next call refills
		fills := h.cache.Stats().Fills
		h.resolve(t, "+14045550123", now)
		if got := h.cache.Stats().Fills; got != fills+1 {
			t.Fatalf("round %d: %d fills, want %d", round, got, fills+1)
		}
		if _, _, err := decodeEntry(rdb.Get(ctx, "ml:caller:+14045550123").Val()); err != nil {
			t.Fatalf("round %d: no entry stored: %v", round, err)
		}
	}
}

func TestCacheRedisDown(t *testing.T) {
	t.Parallel()
	srv := testenv.StartRedis(t)
	pool, queries := countedPool(t, newPool(t))
	h := newHarnessWith(t, pool, queries, srv.Client(), "ml:", nil, CacheOptions{})
	seedDana(t, h.cache)
	h.resolve(t, "+14045550123", now) // cached

	srv.Stop()
	c := h.resolve(t, "+14045550123", now)
	if len(c.Members) != 1 || c.Members[0].FirstName != "Dana" {
		t.Fatalf("with Redis down Resolve = %+v; want Dana from PostgreSQL", c)
	}
	if st := h.cache.Stats(); st.RedisErrors == 0 || st.Misses != 2 {
		t.Fatalf("stats %+v", st)
	}

	// A write is stored, but says it could not invalidate.
	m := dana()
	m.FirstName = "Danielle"
	got, err := h.cache.PutMember(ctxT(t), m)
	if !errors.Is(err, errs.ErrCacheUnavailable) || got.FirstName != "Danielle" {
		t.Fatalf("PutMember with Redis down = %+v, %v; want the stored member and errs.ErrCacheUnavailable", got, err)
	}
	if stored, err := h.dir.GetMember(ctxT(t), "1001"); err != nil || stored.FirstName != "Danielle" {
		t.Fatalf("the write was not stored: %+v, %v", stored, err)
	}
	for name, err := range map[string]error{
		"put activity":    func() error { _, err := h.cache.PutActivity(ctxT(t), trip("1001", "t2", now, now)); return err }(),
		"delete activity": h.cache.DeleteActivity(ctxT(t), "1001", "t2"),
		"delete member":   h.cache.DeleteMember(ctxT(t), "1001"),
	} {
		if !errors.Is(err, errs.ErrCacheUnavailable) {
			t.Errorf("%s with Redis down = %v; want errs.ErrCacheUnavailable", name, err)
		}
	}
	// A write that fails for its own reasons says so, not errs.ErrCacheUnavailable.
	if err := h.cache.DeleteMember(ctxT(t), "1001"); !errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrCacheUnavailable) {
		t.Errorf("DeleteMember(missing) with Redis down = %v; want errs.ErrNotFound alone", err)
	}

	// Redis back (empty): calls fill it again.
	srv.Start()
	mustPutMember(t, h.dir, dana())
	h.resolve(t, "+14045550123", now)
	h.resetCounts()
	if c := h.resolve(t, "+14045550123", now); len(c.Members) != 1 || queries.n.Load() != 0 {
		t.Fatalf("after Redis came back: %+v, %d statements; want a hit", c, queries.n.Load())
	}
}

// hangingRedis accepts connections and never answers.
func hangingRedis(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestCacheRedisTimeout(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: hangingRedis(t), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	pool, queries := countedPool(t, newPool(t))
	h := newHarnessWith(t, pool, queries, rdb, "ml:", nil,
		CacheOptions{Timeout: 50 * time.Millisecond, WriteTimeout: 50 * time.Millisecond})
	seedDana(t, h.dir)

	c := h.resolve(t, "+14045550123", now)
	if len(c.Members) != 1 {
		t.Fatalf("with Redis hanging Resolve = %+v; want the member from PostgreSQL", c)
	}
	if h.cache.Stats().RedisErrors == 0 {
		t.Fatal("the timeout was not counted")
	}
	if _, err := h.cache.PutMember(ctxT(t), dana()); !errors.Is(err, errs.ErrCacheUnavailable) {
		t.Fatalf("PutMember with Redis hanging = %v; want errs.ErrCacheUnavailable", err)
	}
}

// deadPool is a pool on a port nothing listens on.
func deadPool(t *testing.T) *pgxpool.Pool {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@"+addr+"/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func TestCachePostgresDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(t *testing.T, live *pgxpool.Pool) *pgxpool.Pool
	}{
		{"closed pool", func(t *testing.T, live *pgxpool.Pool) *pgxpool.Pool { live.Close(); return live }},
		{"unreachable server", func(t *testing.T, _ *pgxpool.Pool) *pgxpool.Pool { return deadPool(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			live := newHarnessFromShared(t)
			seedDana(t, live.dir)
			rdb, prefix := live.rdb, live.prefix
			want := live.resolve(t, "+14045550123", now) // fresh in Redis

			down := newHarnessWith(t, tc.down(t, live.pool), live.queries, rdb, prefix, nil, CacheOptions{})
			// A fresh entry answers without the directory.
			if c := down.resolve(t, "+14045550123", now.Add(time.Minute)); !reflect.DeepEqual(c.Members, want.Members) {
				t.Fatalf("fresh entry with PostgreSQL down = %+v; want %+v", c, want)
			}
			// A stale entry answers when the directory cannot, picking the activity at the
			// new moment: the trip has begun.
			later := now.Add(3 * h)
			c := down.resolve(t, "+14045550123", later)
			if len(c.Members) != 1 || c.Members[0].Activity == nil || c.Members[0].Activity.Relation != RelationCurrent {
				t.Fatalf("stale entry with PostgreSQL down = %+v", c)
			}
			if st := down.cache.Stats(); st.StaleServed != 1 || st.Hits != 1 {
				t.Fatalf("stats %+v; want one hit and one stale answer", st)
			}
			// Nothing cached and no directory: an error.
			if _, err := down.cache.Resolve(ctxT(t), "+14045550124", now); err == nil {
				t.Fatal("an uncached number resolved with PostgreSQL down")
			}
			// Writes fail, and say so.
			if _, err := down.cache.PutMember(ctxT(t), dana()); err == nil || errors.Is(err, errs.ErrCacheUnavailable) {
				t.Fatalf("PutMember with PostgreSQL down = %v", err)
			}
		})
	}
}

// newHarnessFromShared is newCacheHarness with its own pool, so that closing it leaves
// the test database alone.
func newHarnessFromShared(t *testing.T) *cacheHarness {
	pool, queries := countedPool(t, newPool(t))
	rdb, prefix := testenv.Redis(t)
	return newHarnessWith(t, pool, queries, rdb, prefix, nil, CacheOptions{})
}

func TestCacheRefreshesStaleEntry(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{TTL: 5 * time.Minute})
	seedDana(t, h.dir)
	h.resolve(t, "+14045550123", now)
	// A write behind the cache's back (another region, a bulk import).
	if _, err := h.pool.Exec(ctxT(t), "UPDATE members SET first_name = 'Danielle'"); err != nil {
		t.Fatal(err)
	}
	if c := h.resolve(t, "+14045550123", now.Add(4*time.Minute)); c.Members[0].FirstName != "Dana" {
		t.Fatalf("fresh entry answered %q", c.Members[0].FirstName)
	}
	if c := h.resolve(t, "+14045550123", now.Add(6*time.Minute)); c.Members[0].FirstName != "Danielle" {
		t.Fatalf("stale entry was not refreshed: %q", c.Members[0].FirstName)
	}
	h.resetCounts()
	if c := h.resolve(t, "+14045550123", now.Add(7*time.Minute)); c.Members[0].FirstName != "Danielle" || h.queries.n.Load() != 0 {
		t.Fatalf("the refresh was not stored: %q, %d statements", c.Members[0].FirstName, h.queries.n.Load())
	}
	// An entry asked about past its horizon is not answered from, fresh or not.
	h.resetCounts()
	h.resolve(t, "+14045550123", now.Add(7*time.Minute+CandidateHorizon+time.Minute))
	if h.queries.n.Load() != 1 {
		t.Fatal("an entry answered beyond its horizon")
	}
}

func TestCacheRejectsInvalidNumbers(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	for _, raw := range []string{"anonymous", "+266696687", "sip:a@b"} {
		if _, err := h.cache.Resolve(ctxT(t), raw, now); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Resolve(%q) = %v; want errs.ErrInvalid", raw, err)
		}
	}
	if n := h.cmds.get.Load() + h.cmds.other.Load(); n != 0 {
		t.Errorf("%d Redis commands for invalid numbers", n)
	}
}

func TestCacheResolveMember(t *testing.T) {
	t.Parallel()
	h := newCacheHarness(t, CacheOptions{})
	seedDana(t, h.cache)
	cm, err := h.cache.ResolveMember(ctxT(t), "1001", now)
	if err != nil || cm.FirstName != "Dana" || cm.Activity == nil || cm.Activity.Relation != RelationUpcoming {
		t.Fatalf("ResolveMember = %+v, %v", cm, err)
	}
	if _, err := h.cache.ResolveMember(ctxT(t), "nobody", now); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("ResolveMember(nobody) = %v", err)
	}
	if m, err := h.cache.GetMember(ctxT(t), "1001"); err != nil || m.ID != "1001" {
		t.Fatalf("GetMember = %+v, %v", m, err)
	}
}

func BenchmarkResolveRedisHit(b *testing.B) {
	h := newCacheHarness(b, CacheOptions{})
	seedDana(b, h.dir)
	ctx := context.Background()
	h.resolve(b, "+14045550123", now) // the miss, and its refill
	b.ReportAllocs()
	for b.Loop() {
		c, err := h.cache.Resolve(ctx, "+14045550123", now)
		if err != nil || len(c.Members) != 1 {
			b.Fatal(c, err)
		}
	}
	if st := h.cache.Stats(); st.Misses != 1 {
		b.Fatalf("stats %+v", st)
	}
}

func BenchmarkResolveDirectory(b *testing.B) {
	dir := newDirectory(b)
	seedDana(b, dir)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dir.Resolve(ctx, "+14045550123", now); err != nil {
			b.Fatal(err)
		}
	}
}
