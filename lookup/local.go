package lookup

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// LocalOptions configure a Local tier. Zero fields take the defaults in brackets.
type LocalOptions struct {
	MaxEntries  int           // numbers kept [100000]
	MaxBytes    int64         // estimated bytes kept [64 MiB]
	TTL         time.Duration // an entry answers this long, less up to a tenth of jitter [30s]
	NegativeTTL time.Duration // an unknown number is remembered this long [5s]
	// FillTimeout bounds one shared fill from the Cache [1s]; each caller still waits only
	// as long as its own context allows.
	FillTimeout time.Duration
}

func (o LocalOptions) withDefaults() LocalOptions {
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.TTL <= 0 {
		o.TTL = 30 * time.Second
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 5 * time.Second
	}
	if o.FillTimeout <= 0 {
		o.FillTimeout = time.Second
	}
	return o
}

const localShards = 64

// Local is the in-process tier in front of another tier (a Cache), with the same
// interface: a hit is one map read under a shard's read lock. Misses of one number share one fill (single flight);
// unknown numbers are kept negatively, for less time.
//
// It forgets what the tier below tells it to (Tier.Watch): over a Cache, every
// invalidation through it at once, and through the Cache's Redis channel every write
// through any instance. While that subscription is down invalidations can be missed, so
// the Cache empties the tier whenever it (re)subscribes; TTL bounds what is left.
type Local struct {
	below   Tier
	windows Windows // the tier below's, read once: they never change
	region  string
	o       LocalOptions
	seed    maphash.Seed
	shard   [localShards]localShard
	// epoch counts invalidations: a fill that began before one is not stored, as it may
	// hold what the write replaced.
	epoch atomic.Uint64
	group singleflight.Group

	hits, misses, evictions atomic.Int64

	stopWatch func()
}

type localShard struct {
	mu    sync.RWMutex
	m     map[string]*localEntry
	bytes int64
}

type localEntry struct {
	e       Entry
	expires int64 // unix nanoseconds
	size    int64
}

var _ Tier = (*Local)(nil)

// NewLocal returns a local tier over below (a Cache) and starts forgetting what below
// tells it to. Close stops that.
func NewLocal(below Tier, opts LocalOptions) *Local {
	l := &Local{below: below, windows: below.Windows(), region: below.Region(), o: opts.withDefaults(), seed: maphash.MakeSeed()}
	for i := range l.shard {
		l.shard[i].m = make(map[string]*localEntry)
	}
	l.stopWatch = below.Watch(func(_ context.Context, phones []string) error {
		l.evict(phones)
		return nil
	})
	return l
}

// Close stops listening for invalidations. The tier keeps answering, until its TTL, from
// what it holds.
func (l *Local) Close() { l.stopWatch() }

// LocalStats count what a Local did since it was made.
type LocalStats struct {
	Hits, Misses, Evictions int64
	Entries                 int
	Bytes                   int64
}

// Stats returns the counters and the current size.
func (l *Local) Stats() LocalStats {
	s := LocalStats{Hits: l.hits.Load(), Misses: l.misses.Load(), Evictions: l.evictions.Load()}
	for i := range l.shard {
		sh := &l.shard[i]
		sh.mu.RLock()
		s.Entries += len(sh.m)
		s.Bytes += sh.bytes
		sh.mu.RUnlock()
	}
	return s
}

func (l *Local) shardOf(e164 string) *localShard {
	return &l.shard[maphash.String(l.seed, e164)%localShards]
}

// Resolve answers for the number at now: from memory when it can, else through the Cache.
func (l *Local) Resolve(ctx context.Context, phone string, now time.Time) (Caller, error) {
	e164, err := Normalize(phone, l.region)
	if err != nil {
		return Caller{}, fmt.Errorf("lookup: resolve: %w", err)
	}
	ctx, span := startSpan(ctx, "lookup.local")
	defer span.End()
	if e, ok := l.get(e164, now); ok {
		l.hits.Add(1)
		setHit(span, true)
		return e.Caller(now, l.windows), nil
	}
	l.misses.Add(1)
	setHit(span, false)
	e, err := l.fill(ctx, e164, now)
	if err != nil {
		return Caller{}, fmt.Errorf("lookup: resolve %s: %w", Mask(e164), err)
	}
	return e.Caller(now, l.windows), nil
}

// Peek answers for an E.164 number at now from memory alone: it never blocks and never
// goes further, so a caller can skip the deadline and the tracing a lookup through the
// other tiers needs. ok is false when the tier holds no fresh entry (call Resolve then).
// A hit counts in Stats like one through Resolve; a miss does not (Resolve counts it).
func (l *Local) Peek(e164 string, now time.Time) (c Caller, ok bool) {
	e, ok := l.get(e164, now)
	if !ok {
		return Caller{}, false
	}
	l.hits.Add(1)
	return e.Caller(now, l.windows), true
}

func (l *Local) get(e164 string, now time.Time) (Entry, bool) {
	sh := l.shardOf(e164)
	sh.mu.RLock()
	le, ok := sh.m[e164]
	sh.mu.RUnlock()
	// TTLs run on the wall clock; now is the moment asked about.
	if !ok || time.Now().UnixNano() >= le.expires || !le.e.Covers(now) {
		return Entry{}, false
	}
	return le.e, true
}

// fill reads the number through the Cache once for every caller waiting on it. The read
// runs on its own deadline so that one caller giving up does not fail the others; each
// caller waits only as long as its own context allows.
func (l *Local) fill(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	epoch := l.epoch.Load()
	// Callers arriving after an invalidation start a fill of their own.
	key := e164 + "@" + strconv.FormatUint(epoch, 10)
	ch := l.group.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.o.FillTimeout)
		defer cancel()
		e, err := l.below.Entry(fctx, e164, now)
		if err == nil {
			l.put(e164, e, epoch)
		}
		return e, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Entry{}, r.Err
		}
		return r.Val.(Entry), nil
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	}
}

// put stores e unless an invalidation happened since epoch, evicting to stay in bounds.
func (l *Local) put(e164 string, e Entry, epoch uint64) {
	ttl := l.o.TTL
	if len(e.Members) == 0 {
		ttl = l.o.NegativeTTL
	}
	// Jitter spreads the expiry of entries filled together (after a restart, a flush).
	ttl -= time.Duration(rand.Int64N(int64(ttl)/10 + 1))
	le := &localEntry{e: e, expires: time.Now().Add(ttl).UnixNano(), size: entrySize(e)}
	maxEntries := max(1, l.o.MaxEntries/localShards)
	maxBytes := max(1, l.o.MaxBytes/localShards)

	sh := l.shardOf(e164)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Checked under the shard lock: evict takes the same lock after bumping the epoch.
	if l.epoch.Load() != epoch {
		return
	}
	if old, ok := sh.m[e164]; ok {
		sh.drop(e164, old)
	}
	if le.size > maxBytes {
		return
	}
	full := func() bool { return len(sh.m) >= maxEntries || sh.bytes+le.size > maxBytes }
	if full() {
		nowNano := time.Now().UnixNano()
		for k, v := range sh.m {
			if v.expires <= nowNano {
				sh.drop(k, v)
			}
		}
		for k, v := range sh.m { // map order is random enough for a victim
			if !full() {
				break
			}
			sh.drop(k, v)
			l.evictions.Add(1)
		}
	}
	sh.m[e164] = le
	sh.bytes += le.size
}

func (sh *localShard) drop(k string, v *localEntry) {
	sh.bytes -= v.size
	delete(sh.m, k)
}

// evict drops the numbers; no numbers drops everything.
func (l *Local) evict(phones []string) {
	l.epoch.Add(1)
	if len(phones) == 0 {
		for i := range l.shard {
			sh := &l.shard[i]
			sh.mu.Lock()
			clear(sh.m)
			sh.bytes = 0
			sh.mu.Unlock()
		}
		return
	}
	for _, p := range phones {
		sh := l.shardOf(p)
		sh.mu.Lock()
		if old, ok := sh.m[p]; ok {
			sh.drop(p, old)
		}
		sh.mu.Unlock()
	}
}

// entrySize estimates the memory an entry holds: its strings plus fixed overheads.
func entrySize(e Entry) int64 {
	n := 160 + len(e.Phone)*2 // map slot, key, entry, times
	for _, m := range e.Members {
		n += 200 + len(m.ID) + len(m.FirstName) + len(m.LastName) + len(m.Tier) + len(m.Language) + len(m.TimeZone)
		for _, p := range m.Phones {
			n += 16 + len(p)
		}
		for _, a := range m.Activities {
			n += 220 + len(a.ID) + len(a.MemberID) + len(a.Kind) + len(a.Summary) + len(a.Place) + len(a.Status) + len(a.Reference)
		}
	}
	return int64(n)
}

// Entry answers an E.164 number's entry from memory, or fills it from the tier below.
func (l *Local) Entry(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	if e, ok := l.get(e164, now); ok {
		l.hits.Add(1)
		return e, nil
	}
	l.misses.Add(1)
	return l.fill(ctx, e164, now)
}

// Windows and Region are the tier below's.
func (l *Local) Windows() Windows { return l.windows }
func (l *Local) Region() string   { return l.region }

// Watch passes forget to the tier below: this tier learns of no write it does not.
func (l *Local) Watch(forget func(ctx context.Context, phones []string) error) (stop func()) {
	return l.below.Watch(forget)
}

// ResolveMember answers from the tier below: member-number lookups are rare.
func (l *Local) ResolveMember(ctx context.Context, memberID string, now time.Time) (CallerMember, error) {
	return l.below.ResolveMember(ctx, memberID, now)
}

// GetMember reads the tier below.
func (l *Local) GetMember(ctx context.Context, id string) (Member, error) {
	return l.below.GetMember(ctx, id)
}

// PutMember writes through the tier below, which has every tier over it forget the
// numbers before it returns.
func (l *Local) PutMember(ctx context.Context, m Member) (Member, error) {
	return l.below.PutMember(ctx, m)
}

// DeleteMember deletes through the tier below, like PutMember.
func (l *Local) DeleteMember(ctx context.Context, id string) error {
	return l.below.DeleteMember(ctx, id)
}

// PutActivity writes through the tier below, like PutMember.
func (l *Local) PutActivity(ctx context.Context, a Activity) (Activity, error) {
	return l.below.PutActivity(ctx, a)
}

// DeleteActivity deletes through the tier below, like PutMember.
func (l *Local) DeleteActivity(ctx context.Context, memberID, activityID string) error {
	return l.below.DeleteActivity(ctx, memberID, activityID)
}
