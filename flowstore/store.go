package flowstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/pgmigrate"
)

// Flow storage in PostgreSQL: each flow has one editable draft (any document that decodes,
// valid or not, so work in progress is never lost) and immutable numbered versions
// (validated at publish). Bindings say which called number runs which flow. Every
// publish, rollback and binding change bumps one change counter in the same transaction;
// Watch polls it so that every instance picks up the change within a poll interval.

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the flow store's schema migrations.
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the flow store's migrations are recorded under.
const Component = "flows"

// DefaultID is the id the built-in flow is seeded under.
const DefaultID = "default"

// SystemActor is the author of what the service does by itself (seeding).
const SystemActor = "system"

// The store's errors are coded (internal/errs): a flow or version that is not there is
// errs.NotFound, a flow created twice errs.Exists, a flow never published
// errs.Unpublished, a stale draft a *StaleError (errs.Stale). Invalid documents are
// flows.Problems (errs.Invalid).
var (
	errNotFound    = errs.New(errs.NotFound, "not found")
	errUnpublished = errs.New(errs.Unpublished, "flow has no published version")
	errStale       = errs.New(errs.Stale, "the draft changed since it was read")
)

// Migrate brings the flow tables up to date and seeds the built-in flow (published as
// version 1 and bound as the default) when no flow of that id exists. It is safe to call
// from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pgmigrate.Apply(ctx, pool, Component, Migrations); err != nil {
		return err
	}
	return seedDefault(ctx, pool)
}

func seedDefault(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		doc := string(flows.DefaultJSON())
		tag, err := tx.Exec(ctx, qSeedFlow, DefaultID, doc, SystemActor)
		if err != nil {
			return errs.Wrapf(err, "flowstore", "seed default")
		}
		if tag.RowsAffected() == 0 {
			return nil // already there, perhaps edited: never overwrite
		}
		if _, err := tx.Exec(ctx, qSeedVersion, DefaultID, doc, SystemActor); err != nil {
			return errs.Wrapf(err, "flowstore", "seed default")
		}
		if _, err := tx.Exec(ctx, qSeedBinding, DefaultID, SystemActor); err != nil {
			return errs.Wrapf(err, "flowstore", "seed default")
		}
		if err := addHistory(ctx, tx, SystemActor, "publish", DefaultID, 1, map[string]any{"message": "built-in flow", "seeded": true}); err != nil {
			return err
		}
		return bump(ctx, tx)
	})
}

// Draft is a flow's editable document.
type Draft struct {
	ID        string          `json:"id"`
	Document  json.RawMessage `json:"document"`
	Rev       int64           `json:"rev"` // changes with every save; the API's ETag
	UpdatedAt time.Time       `json:"updated_at"`
	UpdatedBy string          `json:"updated_by"`
}

// VersionInfo describes one published version.
type VersionInfo struct {
	Flow       string    `json:"flow"`
	Version    int       `json:"version"`
	Author     string    `json:"author"`
	Message    string    `json:"message"`
	CreatedAt  time.Time `json:"created_at"`
	RollbackOf int       `json:"rollback_of,omitempty"`
}

// Version is a published version with its document.
type Version struct {
	VersionInfo
	Document json.RawMessage `json:"document"`
}

// Summary is one flow in a listing.
type Summary struct {
	ID        string    `json:"id"`
	Name      string    `json:"name,omitempty"`
	Rev       int64     `json:"rev"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// DraftChanged: the draft differs from the latest published version (or nothing is
	// published yet).
	DraftChanged bool         `json:"draft_changed"`
	Latest       *VersionInfo `json:"latest,omitempty"`
	Numbers      []string     `json:"numbers"` // called numbers bound to it
	Default      bool         `json:"default"` // runs for numbers without a binding
}

// Bindings say which flow a called number runs: Numbers (E.164 → flow id), else Default.
type Bindings struct {
	Default string            `json:"default"`
	Numbers map[string]string `json:"numbers"`
}

// HistoryEntry is one change: who, when, what.
type HistoryEntry struct {
	ID      int64           `json:"id"`
	At      time.Time       `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	Flow    string          `json:"flow,omitempty"`
	Version int             `json:"version,omitempty"`
	Detail  json.RawMessage `json:"detail"`
}

// HistoryFilter narrows History: by flow, from a time on, at most Limit entries (default 100,
// at most 1000), oldest first.
type HistoryFilter struct {
	Flow  string
	Since time.Time
	Limit int
}

// Store keeps flows in PostgreSQL and hands live calls their compiled flow versions.
type Store struct {
	pool *pgxpool.Pool

	snap atomic.Pointer[snapshot]

	mu    sync.Mutex
	cache map[versionKey]*flows.Flow // published versions never change: cached until evicted
}

// NewStore returns a store on pool (migrated with Migrate).
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, cache: map[versionKey]*flows.Flow{}}
}

// Create stores a new flow with doc as its draft.
func (s *Store) Create(ctx context.Context, id string, doc []byte, actor string) (Draft, error) {
	if _, err := flows.CheckDocument(id, doc); err != nil {
		return Draft{}, err
	}
	var d Draft
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, qFlowCreate, id, string(doc), actor).
			Scan(&d.ID, &d.Document, &d.Rev, &d.UpdatedAt, &d.UpdatedBy)
		if isUniqueViolation(err) {
			return errs.New(errs.Exists, "flow already exists: %q", id)
		}
		if err != nil {
			return err
		}
		return addHistory(ctx, tx, actor, "create", id, 0, map[string]any{"rev": d.Rev})
	})
	if err != nil {
		return Draft{}, errs.Wrapf(err, "flowstore", "create %s", id)
	}
	return d, nil
}

// Draft returns a flow's draft.
func (s *Store) Draft(ctx context.Context, id string) (Draft, error) {
	d, err := scanDraft(s.pool.QueryRow(ctx, qDraftGet, id))
	if err != nil {
		return Draft{}, errs.Wrapf(err, "flowstore", "draft %s", id)
	}
	return d, nil
}

func scanDraft(row pgx.Row) (Draft, error) {
	var d Draft
	var doc string
	err := row.Scan(&d.ID, &doc, &d.Rev, &d.UpdatedAt, &d.UpdatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, errNotFound
	}
	d.Document = json.RawMessage(doc)
	return d, err
}

// BindingsETag is the entity tag of bindings as they are: any change changes it.
func BindingsETag(b Bindings) string {
	j, _ := json.Marshal(b) // map keys sorted: the same bindings, the same bytes
	sum := sha256.Sum256(j)
	return `"b-` + hex.EncodeToString(sum[:8]) + `"`
}

// StaleBindingsError is SetBindings's answer when the bindings changed since ifMatch:
// Current is what they are now. It is an errs.Stale error.
type StaleBindingsError struct{ Current Bindings }

func (e *StaleBindingsError) Error() string {
	return "flowstore: set bindings: they changed since they were read"
}
func (e *StaleBindingsError) Unwrap() error { return errStale }

// StaleError is SaveDraft's answer when the draft changed since ifRev: Current is the
// draft as it is now. It is an errs.Stale error.
type StaleError struct{ Current Draft }

func (e *StaleError) Error() string {
	return fmt.Sprintf("flowstore: %v: it is at revision %d", errStale, e.Current.Rev)
}
func (e *StaleError) Unwrap() error { return errStale }

// SaveDraft replaces a flow's draft if it is still at revision ifRev (optimistic
// locking: two editors never overwrite each other unknowingly). A stale revision saves
// nothing and answers a *StaleError holding the current draft.
func (s *Store) SaveDraft(ctx context.Context, id string, doc []byte, ifRev int64, actor string) (Draft, error) {
	if _, err := flows.CheckDocument(id, doc); err != nil {
		return Draft{}, err
	}
	var d Draft
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanDraft(tx.QueryRow(ctx, qDraftLock, id))
		if err != nil {
			return err
		}
		if cur.Rev != ifRev {
			return &StaleError{Current: cur}
		}
		d, err = scanDraft(tx.QueryRow(ctx, qDraftUpdate, id, string(doc), actor))
		if err != nil {
			return err
		}
		detail := map[string]any{"rev": d.Rev}
		if diff, err := flows.DiffDocuments(cur.Document, doc); err == nil {
			detail["changes"] = diff.Paths(20)
		}
		return addHistory(ctx, tx, actor, "save", id, 0, detail)
	})
	if err != nil {
		return Draft{}, errs.Wrapf(err, "flowstore", "save draft %s", id)
	}
	return d, nil
}

// Publish validates a flow's draft and, when it has no errors, stores it as the next
// version. An invalid draft answers flows.Problems (the errors only), and so does a draft
// whose tests fail when tests is set (see flows.ValidateOptions.Tests).
func (s *Store) Publish(ctx context.Context, id, actor, message string, tests *flows.TestEnv) (VersionInfo, error) {
	var v VersionInfo
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanDraft(tx.QueryRow(ctx, qDraftLock, id))
		if err != nil {
			return err
		}
		f, err := flows.CheckDocument(id, cur.Document)
		if err != nil {
			return err
		}
		known, err := publishedIDs(ctx, tx)
		if err != nil {
			return err
		}
		if rep := f.ValidateWith(flows.ValidateOptions{KnownFlow: known, Tests: tests}); !rep.Valid() {
			return flows.Problems(rep.Errors)
		}
		v, err = s.insertVersion(ctx, tx, id, cur.Document, actor, message, 0)
		if err != nil {
			return err
		}
		return addHistory(ctx, tx, actor, "publish", id, v.Version, map[string]any{"message": message, "rev": cur.Rev})
	})
	if err != nil {
		return VersionInfo{}, errs.Wrapf(err, "flowstore", "publish %s", id)
	}
	return v, nil
}

// Rollback publishes version n's document again as the newest version: history stays
// linear and nothing is rewritten. The draft is left as it is.
func (s *Store) Rollback(ctx context.Context, id string, n int, actor, message string) (VersionInfo, error) {
	var v VersionInfo
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := scanDraft(tx.QueryRow(ctx, qDraftLock, id)); err != nil {
			return err
		}
		var doc string
		err := tx.QueryRow(ctx, qVersionDocument, id, n).Scan(&doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.New(errs.NotFound, "not found: version %d", n)
		}
		if err != nil {
			return err
		}
		if message == "" {
			message = "rollback to version " + strconv.Itoa(n)
		}
		v, err = s.insertVersion(ctx, tx, id, []byte(doc), actor, message, n)
		if err != nil {
			return err
		}
		return addHistory(ctx, tx, actor, "rollback", id, v.Version, map[string]any{"message": message, "rollback_of": n})
	})
	if err != nil {
		return VersionInfo{}, errs.Wrapf(err, "flowstore", "rollback %s to %d", id, n)
	}
	return v, nil
}

func (s *Store) insertVersion(ctx context.Context, tx pgx.Tx, id string, doc []byte, actor, message string, rollbackOf int) (VersionInfo, error) {
	v := VersionInfo{Flow: id, Author: actor, Message: message, RollbackOf: rollbackOf}
	var rb *int
	if rollbackOf > 0 {
		rb = &rollbackOf
	}
	err := tx.QueryRow(ctx, qVersionInsert, id, string(doc), actor, message, rb).Scan(&v.Version, &v.CreatedAt)
	if err != nil {
		return v, err
	}
	return v, bump(ctx, tx)
}

// Versions lists a flow's versions, oldest first.
func (s *Store) Versions(ctx context.Context, id string) ([]VersionInfo, error) {
	if err := s.exists(ctx, id); err != nil {
		return nil, errs.Wrapf(err, "flowstore", "versions of %s", id)
	}
	rows, err := s.pool.Query(ctx, qVersionsList, id)
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "versions of %s", id)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (VersionInfo, error) {
		var v VersionInfo
		return v, r.Scan(&v.Flow, &v.Version, &v.Author, &v.Message, &v.CreatedAt, &v.RollbackOf)
	})
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "versions of %s", id)
	}
	return out, nil
}

// Version returns one published version with its document.
func (s *Store) Version(ctx context.Context, id string, n int) (Version, error) {
	var v Version
	var doc string
	err := s.pool.QueryRow(ctx, qVersionGet, id, n).
		Scan(&v.Flow, &v.Version, &v.Author, &v.Message, &v.CreatedAt, &v.RollbackOf, &doc)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := s.exists(ctx, id); err != nil {
			return v, errs.Wrapf(err, "flowstore", "%s version %d", id, n)
		}
		return v, errs.Wrapf(errNotFound, "flowstore", "%s version %d", id, n)
	}
	if err != nil {
		return v, errs.Wrapf(err, "flowstore", "%s version %d", id, n)
	}
	v.Document = json.RawMessage(doc)
	return v, nil
}

// Latest returns a flow's newest version.
func (s *Store) Latest(ctx context.Context, id string) (Version, error) {
	var n int
	err := s.pool.QueryRow(ctx, qVersionLatestNumber, id).Scan(&n)
	if err != nil {
		return Version{}, errs.Wrapf(err, "flowstore", "latest of %s", id)
	}
	if n == 0 {
		if err := s.exists(ctx, id); err != nil {
			return Version{}, errs.Wrapf(err, "flowstore", "latest of %s", id)
		}
		return Version{}, errs.Wrapf(errUnpublished, "flowstore", "latest of %s", id)
	}
	return s.Version(ctx, id, n)
}

func (s *Store) exists(ctx context.Context, id string) error {
	var ok bool
	if err := s.pool.QueryRow(ctx, qFlowExists, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errNotFound
	}
	return nil
}

// List returns every flow with its status, by id.
func (s *Store) List(ctx context.Context) ([]Summary, error) {
	rows, err := s.pool.Query(ctx, qFlowsList)
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "list")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Summary, error) {
		var (
			sm                Summary
			draft             string
			version, rollback *int
			author, message   *string
			created           *time.Time
			numbers           []string
		)
		err := r.Scan(&sm.ID, &draft, &sm.Rev, &sm.UpdatedAt, &sm.UpdatedBy,
			&version, &author, &message, &created, &rollback, &sm.DraftChanged, &numbers)
		if err != nil {
			return sm, err
		}
		var head struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal([]byte(draft), &head)
		sm.Name = head.Name
		if version != nil {
			sm.Latest = &VersionInfo{Flow: sm.ID, Version: *version, Author: *author, Message: *message, CreatedAt: *created, RollbackOf: *rollback}
		}
		sm.Numbers = []string{}
		for _, n := range numbers {
			if n == "" {
				sm.Default = true
			} else {
				sm.Numbers = append(sm.Numbers, n)
			}
		}
		return sm, nil
	})
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "list")
	}
	return out, nil
}

// Bindings returns which flow each called number runs.
func (s *Store) Bindings(ctx context.Context) (Bindings, error) {
	b, err := readBindings(ctx, s.pool)
	if err != nil {
		return b, errs.Wrapf(err, "flowstore", "bindings")
	}
	return b, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func readBindings(ctx context.Context, q querier) (Bindings, error) {
	b := Bindings{Numbers: map[string]string{}}
	rows, err := q.Query(ctx, qBindingsList)
	if err != nil {
		return b, err
	}
	var number, flow string
	_, err = pgx.ForEachRow(rows, []any{&number, &flow}, func() error {
		if number == "" {
			b.Default = flow
		} else {
			b.Numbers[number] = flow
		}
		return nil
	})
	return b, err
}

// SetBindings replaces every binding. Numbers must already be normalized (E.164) by the
// caller; every flow named must exist and have a published version, and a default is
// required. flows.Problems name the offending entry ("default", "numbers.+14045550123").
//
// ifMatch, when not empty, is the entity tag (BindingsETag) of the bindings the change was
// made from: when they have changed since, nothing is saved and the answer is a
// *StaleBindingsError holding them as they are, so that two admins binding numbers at
// once never lose one's number without a word.
func (s *Store) SetBindings(ctx context.Context, b Bindings, ifMatch, actor string) (Bindings, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Serialize binding changes so the audit's old/new pairs chain.
		if _, err := tx.Exec(ctx, qChangesLock); err != nil {
			return err
		}
		if ifMatch != "" {
			current, err := readBindings(ctx, tx)
			if err != nil {
				return err
			}
			if BindingsETag(current) != ifMatch {
				return &StaleBindingsError{Current: current}
			}
		}
		var probs flows.Problems
		check := func(path, id string) {
			if id == "" {
				probs = append(probs, flows.Problem{Path: path, Message: "required: a flow id"})
				return
			}
			var published bool
			err := tx.QueryRow(ctx, qFlowPublished, id).Scan(&published)
			if err == nil && !published {
				probs = append(probs, flows.Problem{Path: path, Message: fmt.Sprintf("flow %q does not exist or has no published version", id)})
			}
		}
		check("default", b.Default)
		for _, n := range slices.Sorted(maps.Keys(b.Numbers)) {
			check("numbers."+n, b.Numbers[n])
		}
		if len(probs) > 0 {
			return probs
		}
		old, err := readBindings(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, qBindingsDeleteAll); err != nil {
			return err
		}
		all := maps.Clone(b.Numbers)
		if all == nil {
			all = map[string]string{}
		}
		all[""] = b.Default
		for _, n := range slices.Sorted(maps.Keys(all)) {
			if _, err := tx.Exec(ctx, qBindingInsert, n, all[n], actor); err != nil {
				return err
			}
		}
		if err := addHistory(ctx, tx, actor, "bindings", "", 0, map[string]any{"old": old, "new": b}); err != nil {
			return err
		}
		return bump(ctx, tx)
	})
	if err != nil {
		return Bindings{}, errs.Wrapf(err, "flowstore", "set bindings")
	}
	return s.Bindings(ctx)
}

// History returns the flow history (creates, saves, publishes, rollbacks and binding
// changes), oldest first.
func (s *Store) History(ctx context.Context, f HistoryFilter) ([]HistoryEntry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, 1000)
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	rows, err := s.pool.Query(ctx, qHistoryList, f.Flow, since, f.Limit)
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "audit")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryEntry, error) {
		var e HistoryEntry
		var detail []byte
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Flow, &e.Version, &detail)
		e.Detail = json.RawMessage(detail)
		return e, err
	})
	if err != nil {
		return nil, errs.Wrapf(err, "flowstore", "audit")
	}
	return out, nil
}

func addHistory(ctx context.Context, tx pgx.Tx, actor, action, flow string, version int, detail any) error {
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var f *string
	if flow != "" {
		f = &flow
	}
	var v *int
	if version > 0 {
		v = &version
	}
	_, err = tx.Exec(ctx, qHistoryInsert,
		actor, action, f, v, raw)
	return err
}

func bump(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, qChangesBump)
	return err
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
