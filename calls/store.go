package calls

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Call outcomes. A call still in progress (or whose status callback never came) has none.
const (
	OutcomeSelfService = "self_service"   // the flow ended the call itself
	OutcomeHandoff     = "handoff"        // the flow passed the call to a person
	OutcomeHungUp      = "caller_hung_up" // the call ended while the flow waited for the caller
	OutcomeError       = "error"          // the edge answered with its fallback
)

// Kind says what an Event reports.
type Kind uint8

const (
	// KindStep is one webhook's part of the journey (incoming call or gather result).
	KindStep Kind = iota
	// KindStatus is Twilio's status callback: the call is over.
	KindStatus
)

// Event is what the edge knows about a call after one webhook. The caller's number is
// hashed and dropped by the recorder: it is never stored.
type Event struct {
	Kind    Kind
	CallSID string
	At      time.Time

	// Step events.
	Route        string // "voice", "gather" or "fetch" (the redirect after a fetch node's words)
	Called       string // the number called (To), E.164
	Caller       string // the caller's E.164, "" when withheld: hashed, never stored
	CallerMasked string // e.g. +1404***0123
	Recognized   string // member, household, unknown, anonymous, error
	MemberID     string // the member the call is about, once known
	Flow         string
	Version      int
	Nodes        []string // node ids visited in this webhook, in order
	Input        string   // what the caller did: digits, the matched option word, "unmatched", "none"
	Outcome      string   // an Outcome* once the flow is done with the call
	Trust        string   // the caller's trust level at the call's start (the first step's counts)
	// AskedActivity: this webhook's turn asked the caller about their activity;
	// ActivityYes: the caller said yes to that question; HadActivity: the member had an
	// activity when the call started.
	AskedActivity, ActivityYes, HadActivity bool
	// AnswerKey is the retry cache's key of this webhook's answer (which may greet the
	// member): kept so that deleting the member forgets the answer too (AnswerKeys).
	AnswerKey string
	// Arms are the arms of experiments this webhook's split nodes chose, experiment → arm.
	Arms map[string]string
	// Fetches are the requests this webhook's fetch nodes made: never their filled paths,
	// values or answers, which may be personal data.
	Fetches []Fetch

	// Status events.
	Status          string // Twilio's CallStatus
	DurationSeconds int    // Twilio's CallDuration
}

// validSID reports whether s can be a call SID (Twilio's are CA and 32 hex digits): 1-64
// ASCII letters and digits. An event for anything else is dropped, never written.
func validSID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// MaxCallSeconds bounds a call's recorded duration: Twilio ends calls after 4 hours.
const MaxCallSeconds = 4 * 3600

// clean makes the event fit to store: text the database cannot hold (NUL, invalid UTF-8)
// is cut out, so that one webhook's odd field cannot fail the batch it is written in. It
// reports false for an event with no usable call SID.
func (ev *Event) clean() bool {
	if !validSID(ev.CallSID) {
		return false
	}
	for _, f := range []*string{&ev.Route, &ev.Called, &ev.Caller, &ev.CallerMasked, &ev.Recognized, &ev.MemberID,
		&ev.Flow, &ev.Input, &ev.Outcome, &ev.Status, &ev.Trust} {
		*f = storable(*f)
	}
	for i := range ev.Nodes {
		ev.Nodes[i] = storable(ev.Nodes[i])
	}
	ev.DurationSeconds = min(max(ev.DurationSeconds, 0), MaxCallSeconds)
	return true
}

func storable(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

// Options tune a Store. Zero fields take the defaults in brackets.
type Options struct {
	Buffer     int           // events waiting to be written before Record drops [10000]
	BatchSize  int           // events per write [500]
	FlushEvery time.Duration // the longest an event waits to be written [200ms]
	// WriteTimeout bounds one batch write [10s]; a batch that fails is logged and dropped.
	WriteTimeout time.Duration
	// HashKey keys the caller hash. Calls from one number share a hash only under the same
	// key, so it must stay the same across restarts and instances.
	HashKey []byte
	Logger  *slog.Logger
	// OnHungUp, when set, hears of each call whose outcome the recorder decided itself
	// (the status callback came while the flow waited for the caller), after the write.
	OnHungUp func(flow string, version int)
}

func (o Options) withDefaults() Options {
	if o.Buffer <= 0 {
		o.Buffer = 10000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 200 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store records calls and answers questions about them.
type Store struct {
	pool *pgxpool.Pool
	o    Options

	// Record appends to pending, which the writer takes whole: a webhook's event costs a
	// lock and an append, not a goroutine's wake-up. full tells the writer a batch is ready.
	mu        sync.Mutex
	pending   []Event
	full      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closed    atomic.Bool

	macs sync.Pool // of HMAC-SHA256 under HashKey, for Hash

	recorded atomic.Int64
	dropped  atomic.Int64
	written  atomic.Int64
	failed   atomic.Int64
}

// New returns a Store writing to pool, with its batcher running until Close.
func New(pool *pgxpool.Pool, opts Options) *Store {
	o := opts.withDefaults()
	s := &Store{
		pool:    pool,
		o:       o,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		full:    make(chan struct{}, 1),
		pending: make([]Event, 0, o.BatchSize),
	}
	go s.run()
	return s
}

// Record queues ev for writing. It never blocks: when the buffer is full, or the Store is
// closed, the event is dropped and counted.
func (s *Store) Record(ev Event) {
	if !ev.clean() {
		s.dropped.Add(1)
		return
	}
	s.mu.Lock()
	if s.closed.Load() || len(s.pending) >= s.o.Buffer {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	s.pending = append(s.pending, ev)
	n := len(s.pending)
	s.mu.Unlock()
	s.recorded.Add(1)
	if n == s.o.BatchSize {
		select {
		case s.full <- struct{}{}:
		default:
		}
	}
}

// take removes and returns the events waiting, giving back spare, an emptied batch.
func (s *Store) take(spare []Event) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := s.pending
	s.pending = spare[:0]
	return got
}

// Stats are the recorder's counters since New.
type Stats struct {
	Recorded int64 // events accepted by Record
	Dropped  int64 // events dropped because the buffer was full or the Store closed
	Written  int64 // events written
	Failed   int64 // events lost to a failed write
	Buffered int   // events waiting now
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	return Stats{
		Recorded: s.recorded.Load(), Dropped: s.dropped.Load(),
		Written: s.written.Load(), Failed: s.failed.Load(), Buffered: s.buffered(),
	}
}

func (s *Store) buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Close stops taking events and writes everything buffered, waiting at most until ctx
// ends. Call it after the HTTP server has finished the requests in flight.
func (s *Store) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed.Store(true) // under the lock: no Record appends after the last take
		s.mu.Unlock()
		close(s.stop)
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("calls: flush on close: %w (%d events not written)", ctx.Err(), s.buffered())
	}
}

// Hash is the caller hash of an E.164 number: HMAC-SHA256 under the Store's key, the
// first 16 bytes in hex. The same number always has the same hash under one key.
func (s *Store) Hash(e164 string) string {
	if e164 == "" {
		return ""
	}
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.o.HashKey)
	}
	m.Reset()
	m.Write([]byte(e164))
	var sum [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(sum[:0])[:16])
	s.macs.Put(m)
	return out
}

func (s *Store) run() {
	defer close(s.done)
	tick := time.NewTicker(s.o.FlushEvery)
	defer tick.Stop()
	spare := make([]Event, 0, s.o.BatchSize)
	flush := func() {
		taken := s.take(spare)
		for events := taken; len(events) > 0; {
			n := min(len(events), s.o.BatchSize)
			s.write(events[:n])
			events = events[n:]
		}
		clear(taken) // drop the strings the events held
		spare = taken[:0]
		if cap(spare) > 4*s.o.BatchSize {
			spare = make([]Event, 0, s.o.BatchSize) // a burst's buffer is not kept
		}
	}
	for {
		select {
		case <-s.full:
			flush()
		case <-tick.C:
			flush()
		case <-s.stop:
			// Record refuses new events from now on; write what is queued.
			flush()
			return
		}
	}
}

// Fetch is one request a fetch node made, as the journey shows it.
type Fetch struct {
	Node       string   `json:"node"`
	Connection string   `json:"connection"`
	Path       string   `json:"path"` // the path template, never the filled path
	Status     int      `json:"status,omitempty"`
	Outcome    string   `json:"outcome"`
	DurationMS int64    `json:"duration_ms"`
	Saved      []string `json:"saved,omitempty"` // the names of the variables saved
}

// step is one element of a call's steps column.
type step struct {
	At      time.Time `json:"at"`
	Route   string    `json:"route"`
	Nodes   []string  `json:"nodes"`
	Input   string    `json:"input,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Fetches []Fetch   `json:"fetches,omitempty"`
}

// upsertSteps writes step events, one row each, from arrays (one statement for many
// calls; a call appears at most once in it). A step's nodes come as one array literal
// each (unnest cannot take an array of arrays of different lengths).
const upsertSteps = `
INSERT INTO calls (call_sid, started_at, updated_at, called, caller_hash, caller_masked, recognized,
                   member_id, flow, flow_version, nodes, inputs, steps, outcome, trust, asked_activity,
                   activity_yes, had_activity, anonymized, answer_keys, arms)
SELECT e.sid, e.at, e.at, e.called,
       CASE WHEN f.forgot THEN '' ELSE e.hash END, CASE WHEN f.forgot THEN '' ELSE e.masked END, e.recognized,
       CASE WHEN f.forgot THEN NULL ELSE NULLIF(e.member, '') END, e.flow, e.version,
       e.nodes::text[],
       CASE WHEN e.input = '' THEN '{}'::text[] ELSE ARRAY[e.input] END,
       e.step, e.outcome, e.trust, e.asked, e.yes, e.had, f.forgot,
       CASE WHEN e.key = '' THEN '{}'::text[] ELSE ARRAY[e.key] END, e.arms
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
            $9::int4[], $10::text[], $11::jsonb[], $12::text[], $13::text[], $14::bool[], $15::bool[], $16::bool[],
            $17::text[], $18::text[], $19::jsonb[])
     AS e(sid, at, called, hash, masked, recognized, member, flow, version, input, step, outcome, trust, asked, yes, had,
          nodes, key, arms)
     -- An event of a call that began before its member or caller was forgotten.
     CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM forgotten fg
            WHERE ((e.member <> '' AND fg.member_id = e.member) OR (e.hash <> '' AND fg.caller_hash = e.hash))
              AND fg.forgotten_at >= e.at) AS forgot) f
ON CONFLICT (call_sid) DO UPDATE SET
    trust         = CASE WHEN calls.trust = '' THEN EXCLUDED.trust ELSE calls.trust END,
    asked_activity = calls.asked_activity OR EXCLUDED.asked_activity,
    activity_yes  = calls.activity_yes OR EXCLUDED.activity_yes,
    had_activity  = calls.had_activity OR EXCLUDED.had_activity,
    started_at    = LEAST(calls.started_at, EXCLUDED.started_at),
    updated_at    = GREATEST(calls.updated_at, EXCLUDED.updated_at),
    called        = CASE WHEN calls.called = '' THEN EXCLUDED.called ELSE calls.called END,
    -- An anonymized call (its member deleted) never takes its member or caller back.
    anonymized    = calls.anonymized OR EXCLUDED.anonymized,
    caller_hash   = CASE WHEN calls.anonymized OR EXCLUDED.anonymized THEN ''
                         WHEN calls.caller_hash = '' THEN EXCLUDED.caller_hash ELSE calls.caller_hash END,
    caller_masked = CASE WHEN calls.anonymized OR EXCLUDED.anonymized THEN ''
                         WHEN calls.caller_masked = '' THEN EXCLUDED.caller_masked ELSE calls.caller_masked END,
    recognized    = CASE WHEN calls.recognized = '' THEN EXCLUDED.recognized ELSE calls.recognized END,
    member_id     = CASE WHEN calls.anonymized OR EXCLUDED.anonymized THEN NULL
                         ELSE COALESCE(EXCLUDED.member_id, calls.member_id) END,
    flow          = CASE WHEN EXCLUDED.flow <> '' THEN EXCLUDED.flow ELSE calls.flow END,
    flow_version  = CASE WHEN EXCLUDED.flow <> '' THEN EXCLUDED.flow_version ELSE calls.flow_version END,
    nodes         = calls.nodes || EXCLUDED.nodes,
    inputs        = calls.inputs || EXCLUDED.inputs,
    answer_keys   = calls.answer_keys || EXCLUDED.answer_keys,
    arms          = calls.arms || EXCLUDED.arms,
    steps         = calls.steps || EXCLUDED.steps,
    outcome       = CASE WHEN EXCLUDED.outcome <> '' THEN EXCLUDED.outcome ELSE calls.outcome END
WHERE calls.status = ''` // a call Twilio said has ended takes no more steps

// stepRows are step events as upsertSteps's arrays.
type stepRows struct {
	sid, called, hash, masked, recognized, member, flow []string
	input, step, outcome, trust, nodes, key, arms       []string // nodes: array literals; arms: JSON objects
	at                                                  []time.Time
	version                                             []int32
	asked, yes, had                                     []bool
	calls                                               map[string]bool // the call SIDs in the run
}

func (r *stepRows) has(sid string) bool { return r.calls[sid] }

func (r *stepRows) add(s *Store, ev *Event) error {
	if ev.Version < 0 || ev.Version > 1<<31-1 {
		return fmt.Errorf("calls: %s: flow version %d out of range", ev.CallSID, ev.Version)
	}
	nodes := ev.Nodes
	if nodes == nil {
		nodes = []string{}
	}
	step, err := json.Marshal([]step{{At: ev.At, Route: ev.Route, Nodes: nodes, Input: ev.Input, Outcome: ev.Outcome, Fetches: ev.Fetches}})
	if err != nil {
		return err
	}
	if r.calls == nil {
		r.calls = map[string]bool{}
	}
	r.calls[ev.CallSID] = true
	r.sid = append(r.sid, ev.CallSID)
	r.at = append(r.at, ev.At)
	r.called = append(r.called, ev.Called)
	r.hash = append(r.hash, s.Hash(ev.Caller))
	r.masked = append(r.masked, ev.CallerMasked)
	r.recognized = append(r.recognized, ev.Recognized)
	r.member = append(r.member, ev.MemberID)
	r.flow = append(r.flow, ev.Flow)
	r.version = append(r.version, int32(ev.Version))
	r.input = append(r.input, ev.Input)
	r.step = append(r.step, string(step))
	r.outcome = append(r.outcome, ev.Outcome)
	r.trust = append(r.trust, ev.Trust)
	r.asked = append(r.asked, ev.AskedActivity)
	r.yes = append(r.yes, ev.ActivityYes)
	r.had = append(r.had, ev.HadActivity)
	r.nodes = append(r.nodes, arrayLiteral(nodes))
	r.key = append(r.key, ev.AnswerKey)
	arms := []byte("{}")
	if len(ev.Arms) > 0 {
		if arms, err = json.Marshal(ev.Arms); err != nil {
			return err
		}
	}
	r.arms = append(r.arms, string(arms))
	return nil
}

// arrayLiteral writes ss as a PostgreSQL array literal of text, every element quoted (so
// that commas, braces, spaces and the word NULL stay text).
func arrayLiteral(ss []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for j := 0; j < len(s); j++ {
			if s[j] == '"' || s[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[j])
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func (r *stepRows) queue(b *pgx.Batch) {
	b.Queue(upsertSteps, r.sid, r.at, r.called, r.hash, r.masked, r.recognized, r.member, r.flow, r.version,
		r.input, r.step, r.outcome, r.trust, r.asked, r.yes, r.had, r.nodes, r.key, r.arms)
}

// upsertStatus closes a call: a call without an outcome ended while the flow waited for
// the caller. It returns the call's flow and whether this write decided that; no row
// when the call was closed already (the first final status stands: a later one reusing
// the call's SID does not rewrite it).
const upsertStatus = `
WITH prev AS (SELECT outcome FROM calls WHERE call_sid = $1)
INSERT INTO calls (call_sid, started_at, updated_at, status, duration_s)
VALUES ($1, $2, $2, $3, $4)
ON CONFLICT (call_sid) DO UPDATE SET
    updated_at = GREATEST(calls.updated_at, EXCLUDED.updated_at),
    status     = EXCLUDED.status,
    duration_s = EXCLUDED.duration_s,
    outcome    = CASE WHEN calls.outcome = '' THEN '` + OutcomeHungUp + `' ELSE calls.outcome END
WHERE calls.status = ''
RETURNING flow, flow_version, outcome, COALESCE((SELECT outcome FROM prev), '-')`

// write stores one batch in one round trip (an implicit transaction). When PostgreSQL
// refuses the batch for what one event holds, each event is tried alone, so that a bad
// event loses only itself; when it cannot be reached, the batch is lost as a whole (and
// counted), without a retry per event.
func (s *Store) write(events []Event) {
	err := s.writeBatch(events)
	switch {
	case err == nil:
	case len(events) > 1 && !unreachable(err):
		for i := range events {
			s.write(events[i : i+1])
		}
	default:
		s.failed.Add(int64(len(events)))
		s.o.Logger.Error("call records not written", "events", len(events), "err", err)
	}
}

// unreachable reports whether err says PostgreSQL could not be reached (in time), rather
// than that it refused what a batch held.
func unreachable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) ||
		errors.As(err, &netErr) || errors.As(err, &connErr) || strings.Contains(err.Error(), "closed pool")
}

func (s *Store) writeBatch(events []Event) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.WriteTimeout)
	defer cancel()
	// The batch is its events in order: runs of steps of distinct calls, each one
	// statement, and status callbacks, each one statement (it reports whether it decided
	// the outcome).
	b := &pgx.Batch{}
	var (
		rows    *stepRows
		results []bool // per queued statement: true for a status callback
	)
	endRun := func() {
		if rows != nil {
			rows.queue(b)
			results = append(results, false)
			rows = nil
		}
	}
	for i := range events {
		ev := &events[i]
		if ev.Kind == KindStatus {
			endRun()
			b.Queue(upsertStatus, ev.CallSID, ev.At, ev.Status, ev.DurationSeconds)
			results = append(results, true)
			continue
		}
		if rows != nil && rows.has(ev.CallSID) {
			endRun()
		}
		if rows == nil {
			rows = &stepRows{}
		}
		if err := rows.add(s, ev); err != nil {
			return err
		}
	}
	endRun()
	type hungUp struct {
		flow    string
		version int
	}
	var hung []hungUp
	err := func() error {
		br := s.pool.SendBatch(ctx, b)
		defer br.Close()
		for _, status := range results {
			if !status {
				if _, err := br.Exec(); err != nil {
					return err
				}
				continue
			}
			var (
				flow, outcome, was string
				version            int
			)
			err := br.QueryRow().Scan(&flow, &version, &outcome, &was)
			if errors.Is(err, pgx.ErrNoRows) {
				continue // the call was closed already
			}
			if err != nil {
				return err
			}
			if outcome == OutcomeHungUp && was == "" && flow != "" {
				hung = append(hung, hungUp{flow, version})
			}
		}
		return br.Close()
	}()
	if err != nil {
		return err
	}
	s.written.Add(int64(len(events)))
	if s.o.OnHungUp != nil {
		for _, h := range hung {
			s.o.OnHungUp(h.flow, h.version)
		}
	}
	return nil
}
