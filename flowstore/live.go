package flowstore

// The live-call read path: which flow version a call to a number runs, compiled flows
// cached by version, and the snapshot of bindings that every instance keeps current by
// polling the change counter.

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
)

// cacheSize bounds the compiled versions kept in memory; a live call needs only its own.
const cacheSize = 256

type versionKey struct {
	id      string
	version int
}

// snapshot is what incoming calls read: the bindings and each flow's latest version, as
// of change counter seq.
type snapshot struct {
	seq      int64
	numbers  map[string]string
	fallback string
	latest   map[string]int
}

// Live returns the flow a call to the called number runs now: the number's binding, else
// the default, at its latest version. It reads the snapshot Watch keeps fresh (loading it
// once when Watch has not yet run), so an incoming call costs no query once the version
// is compiled.
func (s *Store) Live(ctx context.Context, to string) (*flows.Flow, error) {
	snap := s.snap.Load()
	if snap == nil {
		if err := s.Refresh(ctx); err != nil {
			return nil, err
		}
		snap = s.snap.Load()
	}
	id, ok := snap.numbers[to]
	if !ok {
		id = snap.fallback
	}
	if id == "" {
		return nil, errs.Wrapf(errNotFound, "flowstore", "live flow: no default binding")
	}
	v := snap.latest[id]
	if v == 0 {
		return nil, errs.Wrapf(errUnpublished, "flowstore", "live flow %s", id)
	}
	return s.Flow(ctx, id, v)
}

// Flow returns flow id at version n, compiled: a published version (cached, since it
// never changes) or, for n == 0, the current draft (read every time).
func (s *Store) Flow(ctx context.Context, id string, n int) (*flows.Flow, error) {
	if n <= 0 {
		d, err := s.Draft(ctx, id)
		if err != nil {
			return nil, err
		}
		return flows.CheckDocument(id, d.Document)
	}
	key := versionKey{id, n}
	s.mu.Lock()
	f := s.cache[key]
	s.mu.Unlock()
	if f != nil {
		return f, nil
	}
	v, err := s.Version(ctx, id, n)
	if err != nil {
		return nil, err
	}
	f, err = flows.CheckDocument(id, v.Document)
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "%s version %d", id, n)
	}
	f.Version = n
	s.mu.Lock()
	if len(s.cache) >= cacheSize {
		for k := range s.cache { // evict any one: a miss only costs a query
			delete(s.cache, k)
			break
		}
	}
	s.cache[key] = f
	s.mu.Unlock()
	return f, nil
}

// Refresh reloads the bindings and latest versions if the change counter moved.
func (s *Store) Refresh(ctx context.Context) error {
	var seq int64
	if err := s.pool.QueryRow(ctx, qChangesSeq).Scan(&seq); err != nil {
		return errs.Wrapf(err, "flowstore", "refresh")
	}
	if cur := s.snap.Load(); cur != nil && cur.seq == seq {
		return nil
	}
	next := &snapshot{numbers: map[string]string{}, latest: map[string]int{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, qChangesSeq).Scan(&next.seq); err != nil {
			return err
		}
		b, err := readBindings(ctx, tx)
		if err != nil {
			return err
		}
		next.numbers, next.fallback = b.Numbers, b.Default
		rows, err := tx.Query(ctx, qVersionsLatest)
		if err != nil {
			return err
		}
		var id string
		var v int
		_, err = pgx.ForEachRow(rows, []any{&id, &v}, func() error {
			next.latest[id] = v
			return nil
		})
		return err
	})
	if err != nil {
		return errs.Wrapf(err, "flowstore", "refresh")
	}
	s.snap.Store(next)
	return nil
}

// Watch keeps Live's snapshot fresh by polling the change counter every interval (one
// tiny read) until ctx ends. onError, when set, hears the first failure of a run of
// failures, so a database outage logs once rather than every interval; calls meanwhile
// keep the last snapshot.
func (s *Store) Watch(ctx context.Context, every time.Duration, onError func(error)) {
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		rctx, cancel := context.WithTimeout(ctx, every*4)
		err := s.Refresh(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			failing = true
			if onError != nil {
				onError(err)
			}
		case err == nil:
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Published returns flow id at its latest version, compiled, reading the database (for
// simulations and gotos, which want the newest even between Watch polls).
func (s *Store) Published(ctx context.Context, id string) (*flows.Flow, error) {
	var n int
	if err := s.pool.QueryRow(ctx, qVersionLatestNumber, id).Scan(&n); err != nil {
		return nil, errs.Wrapf(err, "flowstore", "published %s", id)
	}
	if n == 0 {
		if err := s.exists(ctx, id); err != nil {
			return nil, errs.Wrapf(err, "flowstore", "published %s", id)
		}
		return nil, errs.Wrapf(errUnpublished, "flowstore", "published %s", id)
	}
	return s.Flow(ctx, id, n)
}

// KnownFlows answers, for validation, whether a goto may name a flow: one with a published
// version (a goto runs the target's latest version).
func (s *Store) KnownFlows(ctx context.Context) (func(id string) bool, error) {
	return publishedIDs(ctx, s.pool)
}

func publishedIDs(ctx context.Context, q querier) (func(id string) bool, error) {
	rows, err := q.Query(ctx, qPublishedIds)
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "published ids")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "published ids")
	}
	set := map[string]bool{}
	for _, id := range ids {
		set[id] = true
	}
	return func(id string) bool { return set[id] }, nil
}
