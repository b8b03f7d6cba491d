package lookup

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/redisx"
)

// CacheOptions configure a Cache. Zero fields take the defaults in brackets.
type CacheOptions struct {
	Prefix      string        // before every key ["ml:"]
	TTL         time.Duration // an entry is answered from Redis for this long [5m]
	StaleTTL    time.Duration // and kept, to answer when PostgreSQL fails, this long [24h]
	NegativeTTL time.Duration // an unknown number is remembered this long [1m]
	Windows     Windows       // [the directory's]; no wider, or candidates are missing

	// Timeout bounds each Redis read and refill [100ms]; past it the directory answers.
	// The client must honour context deadlines (redis.Options.ContextTimeoutEnabled).
	Timeout time.Duration
	// WriteTimeout bounds the invalidation after a write [1s].
	WriteTimeout time.Duration
	// TombstoneTTL is how long an invalidated number is answered from PostgreSQL alone
	// [10s]. A refill racing a write is refused while the tombstone lives; refills
	// slower than half of it are dropped.
	TombstoneTTL time.Duration
}

func (o CacheOptions) withDefaults(dirWindows Windows) CacheOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.Prefix == "" {
		o.Prefix = "ml:"
	}
	def(&o.TTL, 5*time.Minute)
	def(&o.StaleTTL, 24*time.Hour)
	def(&o.NegativeTTL, time.Minute)
	def(&o.Timeout, 100*time.Millisecond)
	def(&o.WriteTimeout, time.Second)
	def(&o.TombstoneTTL, 10*time.Second)
	if o.StaleTTL < o.TTL {
		o.StaleTTL = o.TTL
	}
	if o.Windows == (Windows{}) {
		o.Windows = dirWindows
	}
	o.Windows = o.Windows.WithDefaults()
	return o
}

// Cache answers from Redis in front of another tier (the Directory), with the same
// interface: one GET per call while an entry is fresh. It stores an Entry per number, so the relevant
// activity is picked at read time with the current clock. A write through the Cache
// invalidates every number it touched before it returns.
//
// When Redis fails, the directory answers. When the directory fails, a stale entry (kept
// StaleTTL) answers. Member-id lookups go to the directory: they are rare.
//
// Invalidation writes a short-lived tombstone, not a delete: a reader that read the
// directory before a write committed cannot then store its old answer (the refill
// replaces only the value it found).
type Cache struct {
	below Tier
	rdb   redis.UniversalClient
	o     CacheOptions

	hits, misses, stale, redisErrors, fills atomic.Int64
	refills                                 sync.WaitGroup // refills in flight, which tests wait for

	watchers watchers // the tiers over this cache in this process
}

var _ Tier = (*Cache)(nil)

// NewCache returns a cache in rdb over below (the Directory). Writes go through to below,
// which has the cache invalidate what they touched before they return.
func NewCache(below Tier, rdb redis.UniversalClient, opts CacheOptions) *Cache {
	c := &Cache{below: below, rdb: rdb, o: opts.withDefaults(below.Windows())}
	below.Watch(func(ctx context.Context, phones []string) error { return c.Invalidate(ctx, phones...) })
	return c
}

// CacheStats count what a Cache did since it was made.
type CacheStats struct {
	Hits        int64 // answered from a fresh entry
	Misses      int64 // went to the directory
	StaleServed int64 // answered from a stale entry because the directory failed
	RedisErrors int64 // Redis calls that failed or timed out
	Fills       int64 // entries stored
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Hits:        c.hits.Load(),
		Misses:      c.misses.Load(),
		StaleServed: c.stale.Load(),
		RedisErrors: c.redisErrors.Load(),
		Fills:       c.fills.Load(),
	}
}

// tombstone is the value of an invalidated key; entries are in the format of
// appendEntry.
const tombstone = "-"

// refillScript stores ARGV[2] with expiry ARGV[3] ms only if the key still holds ARGV[1]
// ("" for no value): the value the reader found before it read the directory. A
// tombstone or a newer entry in between wins.
const refillScript = `
local cur = redis.call('GET', KEYS[1])
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`

var refillSHA = redis.NewScript(refillScript).Hash()

// runRefill runs refillScript through the automatic pipeline: by its digest, and by its
// text when Redis does not have it yet (after a restart or SCRIPT FLUSH), as Script.Run.
func (c *Cache) runRefill(ctx context.Context, key, found string, value []byte, ms int64) (int64, error) {
	cmd := redis.NewCmd(ctx, "evalsha", refillSHA, 1, key, found, value, ms)
	err := redisx.AutoPipelined(ctx, c.rdb, cmd)
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		cmd = redis.NewCmd(ctx, "eval", refillScript, 1, key, found, value, ms)
		err = redisx.AutoPipelined(ctx, c.rdb, cmd)
	}
	if err != nil {
		return 0, err
	}
	return cmd.Int64()
}

func (c *Cache) key(e164 string) string { return c.o.Prefix + "caller:" + e164 }

// channel is where invalidated numbers are published for the local tiers of every
// instance sharing the prefix.
func (c *Cache) channel() string { return c.o.Prefix + "invalidate" }

// evictLocal evicts the numbers (all with none) from this process's tiers over the cache.
func (c *Cache) evictLocal(ctx context.Context, phones []string) {
	_ = c.watchers.notify(ctx, phones) // a tier in memory cannot fail to forget
}

// Watch calls forget after every invalidation through this cache, before the write that
// caused it returns, and, through the Redis channel, after every one through any instance
// sharing the prefix; whenever that subscription (re)starts it forgets every number, since
// messages may have been lost while it was down. stop ends the subscription.
func (c *Cache) Watch(forget func(ctx context.Context, phones []string) error) (stop func()) {
	unwatch := c.watchers.add(forget)
	ctx, cancel := context.WithCancel(context.Background())
	ps := c.rdb.Subscribe(ctx, c.channel())
	done := make(chan struct{})
	go c.listen(ctx, ps, forget, done)
	return func() {
		unwatch()
		cancel()
		_ = ps.Close() // interrupts a receive in progress
		<-done
	}
}

// listen relays the messages of the invalidation channel to forget until ctx ends, and
// has it forget everything at each (re)subscription: what was published while the
// subscription was down is lost.
func (c *Cache) listen(ctx context.Context, ps *redis.PubSub, forget func(ctx context.Context, phones []string) error, done chan<- struct{}) {
	defer close(done)
	backoff := 50 * time.Millisecond
	for {
		msg, err := ps.ReceiveTimeout(ctx, 15*time.Second)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			var nerr interface{ Timeout() bool }
			if errors.As(err, &nerr) && nerr.Timeout() {
				_ = ps.Ping(ctx) // a half-open connection shows up as an error on the next receive
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				_ = forget(ctx, nil)
			}
		case *redis.Message:
			if m.Payload == flushAll {
				_ = forget(ctx, nil)
			} else {
				_ = forget(ctx, strings.Split(m.Payload, ","))
			}
		}
	}
}

// flushAll is the invalidation message that empties every local tier.
const flushAll = "*"

// Windows are the cache's: the tier below's, or narrower (CacheOptions.Windows).
func (c *Cache) Windows() Windows { return c.o.Windows }

// Region is the region of numbers written without a country code: the tier below's.
func (c *Cache) Region() string { return c.below.Region() }

// Entry answers an E.164 number's entry from Redis when it can, else from the tier below.
func (c *Cache) Entry(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	return c.entry(ctx, e164, now)
}

// Resolve answers for the number at now, from Redis when it can.
func (c *Cache) Resolve(ctx context.Context, phone string, now time.Time) (Caller, error) {
	e164, err := Normalize(phone, c.Region())
	if err != nil {
		return Caller{}, fmt.Errorf("lookup: resolve: %w", err)
	}
	e, err := c.entry(ctx, e164, now)
	if err != nil {
		return Caller{}, fmt.Errorf("lookup: resolve %s: %w", Mask(e164), err)
	}
	return e.Caller(now, c.o.Windows), nil
}

func (c *Cache) entry(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	key := c.key(e164)
	began := time.Now()

	rctx, span := startSpan(ctx, "lookup.redis")
	rctx, cancel := context.WithTimeout(rctx, c.o.Timeout)
	get := redis.NewStringCmd(rctx, "get", key)
	err := redisx.AutoPipelined(rctx, c.rdb, get)
	raw := ""
	if err == nil {
		raw = get.Val()
	}
	cancel()
	setHit(span, err == nil && raw != tombstone) // a value, fresh or stale
	span.End()

	var (
		stale  *Entry
		found  string // what the refill must find to replace
		refill = true
	)
	switch {
	case err == nil && raw == tombstone:
		refill = false
	case err == nil:
		if freshUntil, e, derr := decodeEntry(raw); derr == nil {
			if now.Before(freshUntil) && e.Covers(now) {
				c.hits.Add(1)
				return e, nil
			}
			stale = &e
		}
		found = raw // stale or unreadable: replace it
	case errors.Is(err, redis.Nil):
	default:
		c.redisErrors.Add(1)
		refill = false
	}

	c.misses.Add(1)
	pctx, pspan := startSpan(ctx, "lookup.postgres")
	e, err := c.below.Entry(pctx, e164, now)
	pspan.End()
	if err != nil {
		if stale != nil {
			c.stale.Add(1)
			return *stale, nil
		}
		return Entry{}, err
	}
	if refill && time.Since(began) < c.o.TombstoneTTL/2 {
		// The caller has its answer: it does not wait for Redis to store it. The refill
		// replaces only what this read found, so it may land at any time.
		c.refills.Add(1)
		go func() {
			defer c.refills.Done()
			c.store(context.WithoutCancel(ctx), key, found, e, now)
		}()
	}
	return e, nil
}

// store puts e under key if the key still holds found.
func (c *Cache) store(ctx context.Context, key, found string, e Entry, now time.Time) {
	fresh, keep := c.o.TTL, c.o.StaleTTL
	if len(e.Members) == 0 {
		fresh, keep = c.o.NegativeTTL, c.o.NegativeTTL
	}
	// Up to a tenth less, so that entries filled together (after a flush, an import, a
	// restart) do not all go back to PostgreSQL at the same moment.
	j := time.Duration(rand.Int64N(int64(fresh)/10 + 1))
	fresh, keep = fresh-j, keep-j
	b := appendEntry(make([]byte, 0, 256), now.Add(fresh), e)
	ctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	n, err := c.runRefill(ctx, key, found, b, keep.Milliseconds())
	if err != nil {
		c.redisErrors.Add(1)
		return
	}
	if n == 1 {
		c.fills.Add(1)
	}
}

// Invalidate makes the next lookup of each number read the directory, in Redis, in this
// process's local tiers and, through a published message, in those of every instance.
func (c *Cache) Invalidate(ctx context.Context, phones ...string) error {
	if len(phones) == 0 {
		return nil
	}
	// The write is committed: a caller that gives up must not leave the cache stale.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.WriteTimeout)
	defer cancel()
	// Tombstones first, then the message and the local eviction: a local refill that
	// starts after the eviction finds the tombstone and reads the directory.
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ph := range phones {
			p.Set(ctx, c.key(ph), tombstone, c.o.TombstoneTTL)
		}
		p.Publish(ctx, c.channel(), strings.Join(phones, ","))
		return nil
	})
	c.evictLocal(ctx, phones)
	if err != nil {
		c.redisErrors.Add(1)
	}
	return err
}

// InvalidateBulk invalidates many numbers in Redis (pipelined tombstones, in chunks) and
// then empties every local tier, here and in every instance, with one message: evicting
// number by number would publish every number of an import.
func (c *Cache) InvalidateBulk(ctx context.Context, phones []string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.WriteTimeout+time.Duration(len(phones))*time.Microsecond*20)
	defer cancel()
	const chunk = 5000
	var err error
	for i := 0; i < len(phones) && err == nil; i += chunk {
		_, err = c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, ph := range phones[i:min(i+chunk, len(phones))] {
				p.Set(ctx, c.key(ph), tombstone, c.o.TombstoneTTL)
			}
			return nil
		})
	}
	if err == nil {
		err = c.rdb.Publish(ctx, c.channel(), flushAll).Err()
	}
	c.evictLocal(ctx, nil)
	if err != nil {
		c.redisErrors.Add(1)
	}
	return err
}

// InvalidateAll empties every local tier, here and in every instance, without touching
// Redis: for bulk changes whose Redis entries are invalidated number by number.
func (c *Cache) InvalidateAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.o.WriteTimeout)
	defer cancel()
	err := c.rdb.Publish(ctx, c.channel(), flushAll).Err()
	c.evictLocal(ctx, nil)
	return err
}

// ResolveMember answers from the tier below: member-number lookups are rare.
func (c *Cache) ResolveMember(ctx context.Context, memberID string, now time.Time) (CallerMember, error) {
	return c.below.ResolveMember(ctx, memberID, now)
}

// GetMember reads the tier below.
func (c *Cache) GetMember(ctx context.Context, id string) (Member, error) {
	return c.below.GetMember(ctx, id)
}

// PutMember writes through to the tier below, which has the cache invalidate the member's
// old and new numbers before it returns. With errs.CacheUnavailable it also returns the
// stored member.
func (c *Cache) PutMember(ctx context.Context, m Member) (Member, error) {
	return c.below.PutMember(ctx, m)
}

// DeleteMember deletes through to the tier below, like PutMember.
func (c *Cache) DeleteMember(ctx context.Context, id string) error {
	return c.below.DeleteMember(ctx, id)
}

// PutActivity writes through to the tier below, like PutMember.
func (c *Cache) PutActivity(ctx context.Context, a Activity) (Activity, error) {
	return c.below.PutActivity(ctx, a)
}

// DeleteActivity deletes through to the tier below, like PutMember.
func (c *Cache) DeleteActivity(ctx context.Context, memberID, activityID string) error {
	return c.below.DeleteActivity(ctx, memberID, activityID)
}

// keepOffsets puts every time back in a zone of its own offset, as the directory gives
// them: encoding/json reads an offset that matches the server's zone as time.Local.
func (e *Entry) keepOffsets() {
	e.From, e.Until = e.From.UTC(), e.Until.UTC()
	for i := range e.Members {
		m := &e.Members[i]
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		for j := range m.Activities {
			a := &m.Activities[j]
			a.StartsAt, a.EndsAt = keepOffset(a.StartsAt), keepOffset(a.EndsAt)
		}
	}
}
