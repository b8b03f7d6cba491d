package lookup

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func newLocalHarness(t testing.TB, lopts LocalOptions) (*cacheHarness, *Local) {
	t.Helper()
	h := newCacheHarness(t, CacheOptions{})
	l := NewLocal(h.cache, lopts)
	t.Cleanup(l.Close)
	waitSubscribed(t, []*Local{l})
	return h, l
}

func TestLocalHitCostsNothingDownstream(t *testing.T) {
	h, l := newLocalHarness(t, LocalOptions{})
	seedDana(t, h.dir)
	h.resetCounts()
	for i := range 3 {
		c, err := l.Resolve(ctxT(t), "(404) 555-0123", now)
		if err != nil || len(c.Members) != 1 || c.Members[0].FirstName != "Dana" || c.Members[0].Activity == nil {
			t.Fatalf("call %d: %+v, %v", i, c, err)
		}
	}
	if q, g := h.queries.n.Load(), h.cmds.get.Load(); q != 1 || g != 1 {
		t.Fatalf("3 calls cost %d queries and %d GETs, want 1 and 1", q, g)
	}
	if st := l.Stats(); st.Hits != 2 || st.Misses != 1 || st.Entries != 1 || st.Bytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Peek answers from memory or not at all: it never fills, and a write makes it miss.
func TestLocalPeek(t *testing.T) {
	h, l := newLocalHarness(t, LocalOptions{})
	seedDana(t, h.dir)
	h.resetCounts()
	if c, ok := l.Peek("+14045550123", now); ok {
		t.Fatalf("peek before any lookup: %+v", c)
	}
	if q, g := h.queries.n.Load(), h.cmds.get.Load(); q != 0 || g != 0 {
		t.Fatalf("a peek cost %d queries and %d GETs, want none", q, g)
	}
	if _, err := l.Resolve(ctxT(t), "+14045550123", now); err != nil {
		t.Fatal(err)
	}
	c, ok := l.Peek("+14045550123", now)
	if !ok || len(c.Members) != 1 || c.Members[0].FirstName != "Dana" || c.Members[0].Activity == nil {
		t.Fatalf("peek after a lookup: %+v, %v", c, ok)
	}
	if st := l.Stats(); st.Hits != 1 || st.Misses != 1 {
		t.Fatalf("stats %+v, want 1 hit (the peek) and 1 miss (the fill)", st)
	}
	d := dana()
	d.FirstName = "Danielle"
	mustPutMember(t, l, d)
	if c, ok := l.Peek("+14045550123", now); ok {
		t.Fatalf("peek after a write: %+v", c)
	}
	if c, err := l.Resolve(ctxT(t), "+14045550123", now); err != nil || c.Members[0].FirstName != "Danielle" {
		t.Fatalf("lookup after a write: %+v, %v", c, err)
	}
}

func TestLocalSingleFlight(t *testing.T) {
	h, l := newLocalHarness(t, LocalOptions{})
	seedDana(t, h.dir)
	// Hold the fill until every caller waits on it.
	release := make(chan struct{})
	h.rdb.AddHook(blockGets{release})
	h.resetCounts()
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := l.Resolve(ctxT(t), "+14045550123", now)
			if err == nil && len(c.Members) != 1 {
				err = fmt.Errorf("members %+v", c.Members)
			}
			errs <- err
		}()
	}
	for l.Stats().Misses < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if q := h.queries.n.Load(); q != 1 {
		t.Fatalf("%d concurrent misses cost %d queries, want 1", n, q)
	}
}

// blockGets holds every GET until release is closed.
type blockGets struct{ release chan struct{} }

func (blockGets) DialHook(next redis.DialHook) redis.DialHook { return next }
func (b blockGets) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "get" {
			<-b.release
		}
		return next(ctx, cmd)
	}
}
func (blockGets) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func TestLocalNegativeEntryEvictedByInsert(t *testing.T) {
	h, l := newLocalHarness(t, LocalOptions{NegativeTTL: time.Hour})
	for range 2 {
		if c, err := l.Resolve(ctxT(t), "+14045550123", now); err != nil || len(c.Members) != 0 {
			t.Fatalf("unknown: %+v, %v", c, err)
		}
	}
	if st := l.Stats(); st.Hits != 1 {
		t.Fatalf("negative entry not kept: %+v", st)
	}
	mustPutMember(t, l, dana())
	if c, err := l.Resolve(ctxT(t), "+14045550123", now); err != nil || len(c.Members) != 1 {
		t.Fatalf("after insert: %+v, %v", c, err)
	}
	_ = h
}

func TestLocalBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts LocalOptions
	}{
		{"entries", LocalOptions{MaxEntries: localShards * 2}},
		{"bytes", LocalOptions{MaxBytes: localShards * 400}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, l := newLocalHarness(t, tc.opts)
			for i := range 400 {
				phone := fmt.Sprintf("+1404555%04d", i)
				if _, err := l.Resolve(ctxT(t), phone, now); err != nil {
					t.Fatal(err)
				}
			}
			st := l.Stats()
			if tc.opts.MaxEntries > 0 && st.Entries > tc.opts.MaxEntries {
				t.Fatalf("%d entries, bound %d", st.Entries, tc.opts.MaxEntries)
			}
			if tc.opts.MaxBytes > 0 && st.Bytes > tc.opts.MaxBytes {
				t.Fatalf("%d bytes, bound %d", st.Bytes, tc.opts.MaxBytes)
			}
			if st.Entries == 0 {
				t.Fatalf("nothing kept: %+v", st)
			}
			_ = h
		})
	}
}

func TestLocalFillDropsAnswerOlderThanInvalidation(t *testing.T) {
	_, l := newLocalHarness(t, LocalOptions{})
	e := Entry{Phone: "+14045550123", From: now.Add(-time.Hour), Until: now.Add(time.Hour)}
	epoch := l.epoch.Load()
	l.evict([]string{"+14045550123"})
	l.put("+14045550123", e, epoch)
	if _, ok := l.get("+14045550123", now); ok {
		t.Fatal("a fill that began before an invalidation was stored")
	}
}

// Three instances, each with its own local tier, share PostgreSQL and Redis. A write
// through one of them must reach the others' answers within the 100 ms the issue allows.
func TestLocalInvalidationAcrossInstances(t *testing.T) {
	_, prefix := testenv.Redis(t)
	invalidationAcrossInstances(t, func() redis.UniversalClient {
		rdb, _ := testenv.Redis(t) // a client of its own, as another process would have
		return rdb
	}, prefix)
}

// invalidationAcrossInstances: three instances, each with its own client from client(),
// hear every write through any of them.
func invalidationAcrossInstances(t *testing.T, client func() redis.UniversalClient, prefix string) {
	pool := newPool(t)
	var locals []*Local
	for range 3 {
		rdb := client()
		l := NewLocal(NewCache(NewDirectory(pool, DefaultWindows), rdb, CacheOptions{Prefix: prefix}), LocalOptions{TTL: time.Hour, NegativeTTL: time.Hour})
		t.Cleanup(l.Close)
		locals = append(locals, l)
	}
	seedDana(t, locals[0])
	name := func(l *Local) string {
		c, err := l.Resolve(ctxT(t), "+14045550123", now)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Members) == 0 {
			return ""
		}
		return c.Members[0].FirstName
	}
	waitSubscribed(t, locals)
	for _, tc := range []struct {
		name  string
		via   int
		write func(l *Local)
		want  string
	}{
		{"rename through the first", 0, func(l *Local) {
			m := dana()
			m.FirstName = "Dee"
			mustPutMember(t, l, m)
		}, "Dee"},
		{"rename through the third", 2, func(l *Local) { mustPutMember(t, l, dana()) }, "Dana"},
		{"delete through the second", 1, func(l *Local) {
			if err := l.DeleteMember(ctxT(t), "1001"); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"insert again through the first", 0, func(l *Local) { mustPutMember(t, l, dana()) }, "Dana"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, l := range locals {
				name(l) // every tier holds the number
			}
			tc.write(locals[tc.via])
			deadline := time.Now().Add(100 * time.Millisecond)
			for i, l := range locals {
				for got := name(l); got != tc.want; got = name(l) {
					if time.Now().After(deadline) {
						t.Fatalf("instance %d still answers %q 100ms after the write, want %q", i, got, tc.want)
					}
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
}

// waitSubscribed waits until every tier listens: a subscription confirms by emptying the
// tier, which bumps its epoch.
func waitSubscribed(t testing.TB, locals []*Local) {
	deadline := time.Now().Add(10 * time.Second)
	for _, l := range locals {
		for l.epoch.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("local tier never subscribed")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func BenchmarkResolveLocalHit(b *testing.B) {
	h, l := newLocalHarness(b, LocalOptions{})
	seedDana(b, h.dir)
	ctx := context.Background()
	if _, err := l.Resolve(ctx, "+14045550123", now); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := l.Resolve(ctx, "+14045550123", now)
		if err != nil || len(c.Members) != 1 {
			b.Fatal(c, err)
		}
	}
}

// TestTiersStackOnOneInterface: each tier knows only the Tier below it, so a local tier
// stands on the directory itself as well as on a cache, and a write through it is
// forgotten before the write returns.
func TestTiersStackOnOneInterface(t *testing.T) {
	l := NewLocal(NewDirectory(newPool(t), DefaultWindows), LocalOptions{TTL: time.Hour})
	t.Cleanup(l.Close)
	seedDana(t, l)
	name := func() string {
		c, err := l.Resolve(ctxT(t), "+14045550123", now)
		if err != nil || len(c.Members) != 1 {
			t.Fatalf("resolve: %+v, %v", c, err)
		}
		return c.Members[0].FirstName
	}
	if got := name(); got != "Dana" {
		t.Fatalf("first lookup: %q", got)
	}
	if got := name(); got != "Dana" || l.Stats().Hits != 1 {
		t.Fatalf("second lookup: %q, %+v; want a hit", got, l.Stats())
	}
	m := dana()
	m.FirstName = "Danielle"
	mustPutMember(t, l, m)
	if got := name(); got != "Danielle" {
		t.Fatalf("after a write through the tier it answers %q", got)
	}
}
