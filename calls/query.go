package calls

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/memberline/memberline/internal/errs"
)

// errCursor is a cursor this package never made.
var errCursor = &errs.Error{Code: errs.Invalid, Field: "cursor", Message: "not a cursor this API returned", Op: "calls"}

// Call is one call's record.
type Call struct {
	CallSID      string    `json:"call_sid"`
	StartedAt    time.Time `json:"started_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	Called       string    `json:"called"`
	CallerHash   string    `json:"caller_hash,omitempty"`
	CallerMasked string    `json:"caller,omitempty"`
	Recognized   string    `json:"recognized"`
	MemberID     string    `json:"member_id,omitempty"`
	Flow         string    `json:"flow,omitempty"`
	FlowVersion  int       `json:"flow_version"`
	Nodes        []string  `json:"nodes"`
	Inputs       []string  `json:"inputs"`
	Outcome      string    `json:"outcome"`
	Trust        string    `json:"trust,omitempty"` // the caller's trust at the call's start
	// HadActivity: the member had an activity at the start; AskedActivity: the flow asked
	// about it; ActivityYes: the caller said yes.
	HadActivity   bool   `json:"had_activity"`
	AskedActivity bool   `json:"asked_activity"`
	ActivityYes   bool   `json:"activity_yes"`
	Status        string `json:"status,omitempty"`
	Duration      *int   `json:"duration_s,omitempty"`
	// Arms are the arms of the experiments the call went through, experiment → arm.
	Arms map[string]string `json:"arms,omitempty"`
	// Steps is the journey webhook by webhook; only Get fills it.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one webhook of a call's journey.
type Step struct {
	At      time.Time `json:"at"`
	Route   string    `json:"route"` // voice, gather, or fetch (the redirect after a fetch node's words)
	Nodes   []string  `json:"nodes"`
	Input   string    `json:"input,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Fetches []Fetch   `json:"fetches,omitempty"`
}

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	MemberID   string
	CallerHash string // Store.Hash of the caller's E.164
	Called     string
	From, To   time.Time // started at or after From, before To
	Outcome    string    // an Outcome*, or "none" for calls without one
	// Recognized is how the caller was recognized (member, household, unknown, anonymous,
	// error), or "yes" (member or household) or "no" (any other).
	Recognized string
	Flow       string
	Version    int    // with Flow
	Limit      int    // [50], at most 500
	Cursor     string // Page.Next of the previous page
}

// Page is one page of calls, newest first.
type Page struct {
	Calls []Call `json:"calls"`
	Next  string `json:"next,omitempty"` // pass as Filter.Cursor for the next page; "" on the last
}

const callColumns = `call_sid, started_at, updated_at, called, caller_hash, caller_masked, recognized,
	COALESCE(member_id, ''), flow, flow_version, nodes, inputs, outcome, trust, status, duration_s,
	had_activity, asked_activity, activity_yes, arms`

func scanCall(row pgx.Row, c *Call, extra ...any) error {
	return row.Scan(append([]any{&c.CallSID, &c.StartedAt, &c.UpdatedAt, &c.Called, &c.CallerHash, &c.CallerMasked,
		&c.Recognized, &c.MemberID, &c.Flow, &c.FlowVersion, &c.Nodes, &c.Inputs, &c.Outcome, &c.Trust, &c.Status, &c.Duration,
		&c.HadActivity, &c.AskedActivity, &c.ActivityYes, &c.Arms}, extra...)...)
}

// List returns calls matching f, newest first, a page at a time.
func (s *Store) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.MemberID != "" {
		where = append(where, "member_id = "+arg(f.MemberID))
	}
	if f.CallerHash != "" {
		where = append(where, "caller_hash = "+arg(f.CallerHash))
	}
	if f.Called != "" {
		where = append(where, "called = "+arg(f.Called))
	}
	if !f.From.IsZero() {
		where = append(where, "started_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "started_at < "+arg(f.To))
	}
	switch f.Recognized {
	case "":
	case "yes":
		where = append(where, "recognized IN ('member', 'household')")
	case "no":
		where = append(where, "recognized NOT IN ('member', 'household')")
	default:
		where = append(where, "recognized = "+arg(f.Recognized))
	}
	if f.Flow != "" {
		where = append(where, "flow = "+arg(f.Flow))
		if f.Version > 0 {
			where = append(where, "flow_version = "+arg(f.Version))
		}
	}
	switch f.Outcome {
	case "":
	case "none":
		where = append(where, "outcome = ''")
	default:
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if f.Cursor != "" {
		at, sid, err := decodeCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(started_at, call_sid) < ("+arg(at)+", "+arg(sid)+")")
	}
	q := "SELECT " + callColumns + " FROM calls"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY started_at DESC, call_sid DESC LIMIT " + arg(limit+1)
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("calls: list: %w", err)
	}
	defer rows.Close()
	page := Page{Calls: []Call{}}
	for rows.Next() {
		var c Call
		if err := scanCall(rows, &c); err != nil {
			return Page{}, fmt.Errorf("calls: list: %w", err)
		}
		page.Calls = append(page.Calls, c)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("calls: list: %w", err)
	}
	if len(page.Calls) > limit {
		page.Calls = page.Calls[:limit]
		last := page.Calls[limit-1]
		page.Next = encodeCursor(last.StartedAt, last.CallSID)
	}
	return page, nil
}

func encodeCursor(at time.Time, sid string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "," + sid))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", errCursor
	}
	us, sid, ok := strings.Cut(string(raw), ",")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || sid == "" {
		return time.Time{}, "", errCursor
	}
	return time.UnixMicro(n), sid, nil
}

// Get returns one call with its journey.
func (s *Store) Get(ctx context.Context, callSID string) (Call, error) {
	var (
		c     Call
		steps []byte
	)
	err := scanCall(s.pool.QueryRow(ctx, "SELECT "+callColumns+", steps FROM calls WHERE call_sid = $1", callSID), &c, &steps)
	if errors.Is(err, pgx.ErrNoRows) {
		return Call{}, &errs.Error{Code: errs.NotFound, Field: "call_sid", Message: "no record of that call", Op: "calls: get " + callSID}
	}
	if err != nil {
		return Call{}, fmt.Errorf("calls: get %s: %w", callSID, err)
	}
	if err := json.Unmarshal(steps, &c.Steps); err != nil {
		return Call{}, fmt.Errorf("calls: get %s: steps: %w", callSID, err)
	}
	return c, nil
}

// Purge deletes the records of calls that started before cutoff and returns how many.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	if _, err := s.pool.Exec(ctx, "DELETE FROM forgotten WHERE forgotten_at < $1", cutoff); err != nil {
		return 0, fmt.Errorf("calls: purge: %w", err)
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM calls WHERE started_at < $1", cutoff)
	if err != nil {
		return 0, fmt.Errorf("calls: purge: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AnswerKeys are the retry cache's keys of the answers given to a member's calls active
// since then (ivr's settled answers, which may greet them by name), to forget them when
// the member is deleted.
func (s *Store) AnswerKeys(ctx context.Context, memberID string, since time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT k FROM calls, unnest(answer_keys) AS k
		WHERE member_id = $1 AND updated_at >= $2`, memberID, since)
	if err != nil {
		return nil, fmt.Errorf("calls: answer keys of member %s: %w", memberID, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("calls: answer keys of member %s: %w", memberID, err)
	}
	return keys, nil
}

// AnonymizeMember removes what ties a member's calls to them (the member id and the
// caller's hash and masked number) and returns how many calls it changed. The calls stay,
// so the reports still count them, as anonymous.
//
// A call of theirs still in progress stays anonymous: the member id and their calls'
// caller hashes are kept in forgotten (until the records purge), and an event of a call
// that started before then is written without its member or caller, whether its row is
// there already or not yet.
func (s *Store) AnonymizeMember(ctx context.Context, memberID string) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO forgotten (member_id, caller_hash)
			SELECT $1, NULL
			UNION SELECT NULL, caller_hash FROM calls WHERE member_id = $1 AND caller_hash <> ''`, memberID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE calls SET member_id = NULL, caller_hash = '', caller_masked = '', anonymized = true
			WHERE member_id = $1
			   OR (caller_hash <> '' AND caller_hash IN (SELECT caller_hash FROM calls WHERE member_id = $1))`, memberID)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("calls: anonymize member %s: %w", memberID, err)
	}
	return n, nil
}
