package outbound

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the package's schema migrations.
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the migrations are recorded under.
const Component = "outbound"

// Migrate brings the tables up to date; safe to run from several processes.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, Component, Migrations)
}

// Callback statuses.
const (
	Pending   = "pending"   // waiting until it is due (and dial_when holds)
	Dialing   = "dialing"   // an instance is calling the number
	Done      = "done"      // answered: connected to the queue, or a voicemail left
	Failed    = "failed"    // no try reached the member, or the number cannot be called
	Cancelled = "cancelled" // cancelled by an admin
)

// Statuses lists them, for the API's filter.
var Statuses = []string{Pending, Dialing, Done, Failed, Cancelled}

// KV is one pair of the context the agent gets.
type KV struct{ Key, Value string }

// Callback is a callback a caller asked for instead of waiting.
type Callback struct {
	ID          int64     `json:"id"`
	CallSID     string    `json:"call_sid"` // the call that asked for it
	MemberID    string    `json:"member_id,omitempty"`
	Number      string    `json:"number"`
	Queue       string    `json:"queue,omitempty"`
	Workflow    string    `json:"workflow,omitempty"`
	Priority    int       `json:"priority"`
	Language    string    `json:"language,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Context     []KV      `json:"-"`
	Flow        string    `json:"flow"`
	FlowVersion int       `json:"flow_version"`
	Node        string    `json:"node"`
	Trust       string    `json:"trust,omitempty"`
	Position    int       `json:"position,omitempty"`
	RequestedAt time.Time `json:"requested_at"`
	DueAt       time.Time `json:"due_at"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	DialCallSID string    `json:"dial_call_sid,omitempty"`
	Tries       []Try     `json:"tries"`
	Outcome     string    `json:"outcome,omitempty"`
	ErrorCode   *int      `json:"error_code,omitempty"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Try is one dial of a callback.
type Try struct {
	At        time.Time `json:"at"`
	CallSID   string    `json:"call_sid,omitempty"`
	Outcome   string    `json:"outcome"` // answered, voicemail, no-answer, busy, failed, canceled, error
	ErrorCode int       `json:"error_code,omitempty"`
}

// Store keeps callbacks in PostgreSQL. Safe for concurrent use by several instances.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns the store on pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const cbColumns = `id, call_sid, member_id, number, queue, workflow, priority, language, reason, context, flow,
	flow_version, node, trust, position, requested_at, due_at, status, attempts, max_attempts, dial_call_sid, tries,
	outcome, error_code, updated_at`

func scanCallback(row pgx.Row) (Callback, error) {
	var c Callback
	var ctxPairs [][2]string
	err := row.Scan(&c.ID, &c.CallSID, &c.MemberID, &c.Number, &c.Queue, &c.Workflow, &c.Priority, &c.Language, &c.Reason,
		&ctxPairs, &c.Flow, &c.FlowVersion, &c.Node, &c.Trust, &c.Position, &c.RequestedAt, &c.DueAt, &c.Status, &c.Attempts,
		&c.MaxAttempts, &c.DialCallSID, &c.Tries, &c.Outcome, &c.ErrorCode, &c.UpdatedAt)
	for _, p := range ctxPairs {
		c.Context = append(c.Context, KV{p[0], p[1]})
	}
	if c.Tries == nil {
		c.Tries = []Try{}
	}
	return c, err
}

// Request stores a callback durably. A repeat for the same call (a retry of its webhook)
// answers the stored one; a number with a pending callback in the same queue answers that
// one, with existing true either way.
func (s *Store) Request(ctx context.Context, c Callback) (stored Callback, existing bool, err error) {
	pairs := make([][2]string, 0, len(c.Context))
	for _, kv := range c.Context {
		pairs = append(pairs, [2]string{kv.Key, kv.Value})
	}
	ctxJSON, _ := json.Marshal(pairs)
	row := s.pool.QueryRow(ctx, `INSERT INTO callbacks (call_sid, member_id, number, queue, workflow, priority, language, reason,
		context, flow, flow_version, node, trust, position, requested_at, due_at, max_attempts, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $15)
		ON CONFLICT DO NOTHING RETURNING `+cbColumns,
		c.CallSID, c.MemberID, c.Number, c.Queue, c.Workflow, c.Priority, c.Language, c.Reason, ctxJSON, c.Flow,
		c.FlowVersion, c.Node, c.Trust, c.Position, c.RequestedAt, c.DueAt, max(c.MaxAttempts, 1))
	stored, err = scanCallback(row)
	if err == nil {
		return stored, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return Callback{}, false, errs.Wrapf(err, "outbound", "request a callback")
	}
	// Either this call asked already, or the number waits for one in this queue.
	stored, err = scanCallback(s.pool.QueryRow(ctx, `SELECT `+cbColumns+` FROM callbacks
		WHERE call_sid = $1 OR (number = $2 AND queue = $3 AND workflow = $4 AND status IN ('pending', 'dialing'))
		ORDER BY call_sid = $1 DESC LIMIT 1`, c.CallSID, c.Number, c.Queue, c.Workflow))
	if err != nil {
		return Callback{}, false, errs.Wrapf(err, "outbound", "request a callback")
	}
	return stored, true, nil
}

// Get is the callback with id.
func (s *Store) Get(ctx context.Context, id int64) (Callback, error) {
	c, err := scanCallback(s.pool.QueryRow(ctx, `SELECT `+cbColumns+` FROM callbacks WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "no callback %d", id)
	}
	return c, errs.Wrapf(err, "outbound", "get callback %d", id)
}

// ForCall is the callback asked for on call callSID.
func (s *Store) ForCall(ctx context.Context, callSID string) (Callback, error) {
	c, err := scanCallback(s.pool.QueryRow(ctx, `SELECT `+cbColumns+` FROM callbacks WHERE call_sid = $1`, callSID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "no callback for call %s", callSID)
	}
	return c, errs.Wrapf(err, "outbound", "callback of %s", callSID)
}

// List is the callbacks with status ("" for all), soonest due first, at most limit.
func (s *Store) List(ctx context.Context, status string, limit int) ([]Callback, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT `+cbColumns+` FROM callbacks WHERE ($1 = '' OR status = $1)
		ORDER BY due_at, id LIMIT $2`, status, limit)
	if err != nil {
		return nil, errs.Wrapf(err, "outbound", "list callbacks")
	}
	defer rows.Close()
	out := []Callback{}
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			return nil, errs.Wrapf(err, "outbound", "list callbacks")
		}
		out = append(out, c)
	}
	return out, errs.Wrapf(rows.Err(), "outbound", "list callbacks")
}

// Cancel cancels a pending callback; one being dialed or finished is a conflict.
func (s *Store) Cancel(ctx context.Context, id int64, now time.Time) (Callback, error) {
	return s.transition(ctx, id, `UPDATE callbacks SET status = 'cancelled', outcome = 'cancelled', updated_at = $2
		WHERE id = $1 AND status = 'pending' RETURNING `+cbColumns, now, "only a pending callback can be cancelled")
}

// DialNow makes a pending callback due now (dial_when still applies).
func (s *Store) DialNow(ctx context.Context, id int64, now time.Time) (Callback, error) {
	return s.transition(ctx, id, `UPDATE callbacks SET due_at = $2, updated_at = $2
		WHERE id = $1 AND status = 'pending' RETURNING `+cbColumns, now, "only a pending callback can be dialed now")
}

func (s *Store) transition(ctx context.Context, id int64, q string, now time.Time, conflict string) (Callback, error) {
	c, err := scanCallback(s.pool.QueryRow(ctx, q, id, now))
	if errors.Is(err, pgx.ErrNoRows) {
		if _, gerr := s.Get(ctx, id); gerr != nil {
			return Callback{}, gerr
		}
		return Callback{}, errs.New(errs.Conflict, "%s", conflict).In("outbound")
	}
	return c, errs.Wrapf(err, "outbound", "callback %d", id)
}

// Claim takes up to n due callbacks for this instance: pending ones due by now, and
// dialing ones whose lease ran out (an instance that stopped mid-dial). Each is dialing,
// leased until now+lease, with one more attempt counted; no other instance gets it.
func (s *Store) Claim(ctx context.Context, now time.Time, n int, lease time.Duration) ([]Callback, error) {
	rows, err := s.pool.Query(ctx, `UPDATE callbacks SET status = 'dialing', lease_until = $2, attempts = attempts + 1,
			updated_at = $1, dial_call_sid = ''
		WHERE id IN (SELECT id FROM callbacks
			WHERE (status = 'pending' AND due_at <= $1) OR (status = 'dialing' AND lease_until < $1)
			ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+cbColumns, now, now.Add(lease), n)
	if err != nil {
		return nil, errs.Wrapf(err, "outbound", "claim callbacks")
	}
	defer rows.Close()
	var out []Callback
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			return nil, errs.Wrapf(err, "outbound", "claim callbacks")
		}
		out = append(out, c)
	}
	return out, errs.Wrapf(rows.Err(), "outbound", "claim callbacks")
}

// Postpone puts a claimed callback back to pending until at, the attempt not counted
// (dial_when does not hold, or the number is on the do-not-call list until it is not).
func (s *Store) Postpone(ctx context.Context, id int64, at, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE callbacks SET status = 'pending', due_at = $2, attempts = attempts - 1,
		lease_until = NULL, updated_at = $3 WHERE id = $1 AND status = 'dialing'`, id, at, now)
	return errs.Wrapf(err, "outbound", "postpone callback %d", id)
}

// Dialed records the outbound call of a claimed callback's try; its lease is extended to
// cover the call.
func (s *Store) Dialed(ctx context.Context, id int64, callSID string, leaseUntil, now time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE callbacks SET dial_call_sid = $2, lease_until = $3, updated_at = $4
		WHERE id = $1 AND status = 'dialing'`, id, callSID, leaseUntil, now)
	return errs.Wrapf(err, "outbound", "dialed callback %d", id)
}

// Finish ends a try: answered (done), or not (pending again after backoff while
// attempts are left, else failed). final true fails it at once (a number that cannot be
// called). It answers the callback as it now is; a try of a callback that moved on (a
// late status) changes nothing.
func (s *Store) Finish(ctx context.Context, id int64, try Try, answered, final bool, retryAt time.Time) (Callback, error) {
	tryJSON, _ := json.Marshal([]Try{try})
	var code *int
	if try.ErrorCode != 0 {
		code = &try.ErrorCode
	}
	c, err := scanCallback(s.pool.QueryRow(ctx, `UPDATE callbacks SET
			status = CASE WHEN $3 THEN 'done' WHEN $4 OR attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
			due_at = CASE WHEN $3 OR $4 OR attempts >= max_attempts THEN due_at ELSE $5 END,
			outcome = $6, error_code = COALESCE($7, error_code), tries = tries || $8::jsonb, lease_until = NULL,
			updated_at = $9
		WHERE id = $1 AND status = 'dialing' AND (dial_call_sid = $2 OR $2 = '')
		RETURNING `+cbColumns, id, try.CallSID, answered, final, retryAt, try.Outcome, code, tryJSON, try.At))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.Get(ctx, id)
	}
	return c, errs.Wrapf(err, "outbound", "finish callback %d", id)
}

// ByDialCall is the callback whose current try is call callSID.
func (s *Store) ByDialCall(ctx context.Context, callSID string) (Callback, error) {
	c, err := scanCallback(s.pool.QueryRow(ctx, `SELECT `+cbColumns+` FROM callbacks WHERE dial_call_sid = $1`, callSID))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, errs.New(errs.NotFound, "no callback dials %s", callSID)
	}
	return c, errs.Wrapf(err, "outbound", "callback dialing %s", callSID)
}

// DoNotCall reports whether number asked not to be called.
func (s *Store) DoNotCall(ctx context.Context, number string) (bool, error) {
	var yes bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM do_not_call WHERE number = $1)`, number).Scan(&yes)
	return yes, errs.Wrapf(err, "outbound", "do-not-call")
}

// AddDoNotCall puts number on the do-not-call list.
func (s *Store) AddDoNotCall(ctx context.Context, number string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO do_not_call (number) VALUES ($1) ON CONFLICT DO NOTHING`, number)
	return errs.Wrapf(err, "outbound", "do-not-call")
}

// Counts are the callbacks per status.
func (s *Store) Counts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM callbacks GROUP BY status`)
	if err != nil {
		return nil, errs.Wrapf(err, "outbound", "count callbacks")
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// RemoveDoNotCall takes number off the do-not-call list; found false when it was not on it.
func (s *Store) RemoveDoNotCall(ctx context.Context, number string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM do_not_call WHERE number = $1`, number)
	return tag.RowsAffected() == 1, errs.Wrapf(err, "outbound", "do-not-call")
}

// CancelPendingFor cancels the pending callbacks to number (it asked not to be called).
func (s *Store) CancelPendingFor(ctx context.Context, number string, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE callbacks SET status = 'cancelled', outcome = 'do_not_call', updated_at = $2
		WHERE number = $1 AND status = 'pending'`, number, now)
	return tag.RowsAffected(), errs.Wrapf(err, "outbound", "cancel callbacks")
}
