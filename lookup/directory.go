package lookup

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/memberline/memberline/internal/errs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed queries/*.sql
var queryFiles embed.FS

func query(name string) string {
	b, err := queryFiles.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic(err)
	}
	return string(b)
}

var (
	qCandidatesByPhone  = query("candidates_by_phone")
	qCandidatesByMember = query("candidates_by_member")
	qMemberGet          = query("member_get")
	qMemberUpsert       = query("member_upsert")
	qMemberLockShare    = query("member_lock_share")
	qMemberLockUpdate   = query("member_lock_update")
	qMemberDelete       = query("member_delete")
	qPhonesOf           = query("phones_of")
	qPhonesDelete       = query("phones_delete")
	qPhonesInsert       = query("phones_insert")
	qActivityUpsert     = query("activity_upsert")
	qActivityDelete     = query("activity_delete")
)

// Directory is the member directory in PostgreSQL (tables from Migrate). It is the source
// of truth behind any cache; it implements Resolver and Writer.
type Directory struct {
	pool     *pgxpool.Pool
	w        Windows
	region   string // of numbers written without a country code
	watchers *watchers
}

var _ Tier = (*Directory)(nil)

// NewDirectory returns the directory in pool's database. Zero fields of w take their
// DefaultWindows values.
func NewDirectory(pool *pgxpool.Pool, w Windows) *Directory {
	return &Directory{pool: pool, w: w.WithDefaults(), region: DefaultRegion, watchers: &watchers{}}
}

// InRegion returns the directory reading numbers written without a country code as
// numbers of region (an ISO 3166 code; "" keeps DefaultRegion): in member writes and in
// look-ups, here and in every tier over it.
func (d *Directory) InRegion(region string) *Directory {
	if region == "" {
		region = DefaultRegion
	}
	c := *d
	c.region = region
	return &c
}

// Region is the region of numbers written without a country code.
func (d *Directory) Region() string { return d.region }

// Windows returns the windows the directory answers with.
func (d *Directory) Windows() Windows { return d.w }

// Resolve answers for the number phone (any form Normalize accepts; an error wrapping
// errs.ErrInvalid for a withheld or malformed one) at now. A number nobody has gives a Caller
// without members and no error.
func (d *Directory) Resolve(ctx context.Context, phone string, now time.Time) (Caller, error) {
	e, err := d.Candidates(ctx, phone, now)
	if err != nil {
		return Caller{}, err
	}
	return e.Caller(now, d.w), nil
}

// Entry is Candidates for an E.164 number.
func (d *Directory) Entry(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	return d.candidates(ctx, e164, now)
}

// Watch calls forget after every write through the directory with the numbers whose
// answers it changed: the tiers over it forget them before the write returns.
func (d *Directory) Watch(forget func(ctx context.Context, phones []string) error) (stop func()) {
	return d.watchers.add(forget)
}

// written finishes a write: the watchers forget the touched numbers (even after an
// error, when the write may have been stored), and a stored write that they could not
// forget is errs.CacheUnavailable.
func (d *Directory) written(ctx context.Context, op string, touched []string, err error) error {
	if len(touched) == 0 {
		return err
	}
	ierr := d.watchers.notify(ctx, touched)
	if err == nil && ierr != nil {
		return notInvalidated(op, ierr)
	}
	return err
}

// Candidates reads, in one query, the members behind phone with every activity that can
// be relevant to a call from now to now+CandidateHorizon. Entry.Caller then picks.
func (d *Directory) Candidates(ctx context.Context, phone string, now time.Time) (Entry, error) {
	e164, err := Normalize(phone, d.region)
	if err != nil {
		return Entry{}, fmt.Errorf("lookup: resolve: %w", err)
	}
	e, err := d.candidates(ctx, e164, now)
	if err != nil {
		return Entry{}, fmt.Errorf("lookup: resolve %s: %w", Mask(e164), err)
	}
	return e, nil
}

func (d *Directory) candidates(ctx context.Context, e164 string, now time.Time) (Entry, error) {
	e := Entry{Phone: e164, From: now.Add(-candidateSkew), Until: now.Add(CandidateHorizon)}
	lo, hi := d.bounds(now)
	rows, err := d.pool.Query(ctx, qCandidatesByPhone, e164, lo, hi)
	if err != nil {
		return Entry{}, err
	}
	e.Members, err = scanCandidates(rows)
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

// bounds are the activity times Candidates reads: ends_at >= lo, starts_at <= hi.
func (d *Directory) bounds(now time.Time) (lo, hi time.Time) {
	return now.Add(-candidateSkew - d.w.Recent), now.Add(CandidateHorizon + d.w.Upcoming)
}

// ResolveMember answers for one member at now, errs.ErrNotFound if there is no such member.
func (d *Directory) ResolveMember(ctx context.Context, memberID string, now time.Time) (CallerMember, error) {
	lo, hi := d.bounds(now)
	rows, err := d.pool.Query(ctx, qCandidatesByMember, memberID, lo, hi)
	if err != nil {
		return CallerMember{}, fmt.Errorf("lookup: resolve member %q: %w", memberID, err)
	}
	ms, err := scanCandidates(rows)
	if err != nil {
		return CallerMember{}, fmt.Errorf("lookup: resolve member %q: %w", memberID, err)
	}
	if len(ms) == 0 {
		return CallerMember{}, notFound("member %q", memberID)
	}
	return ms[0].CallerMember(now, d.w), nil
}

// scanCandidates groups candidate rows (ordered by member) into members.
func scanCandidates(rows pgx.Rows) ([]EntryMember, error) {
	defer rows.Close()
	members := []EntryMember{}
	for rows.Next() {
		var (
			m                                      Member
			aID, kind, summary, place, status, ref *string
			startsAt, endsAt                       *time.Time
			startsOff, endsOff                     *int32
		)
		err := rows.Scan(&m.ID, &m.FirstName, &m.LastName, &m.Tier, &m.Language, &m.TimeZone,
			&m.CreatedAt, &m.UpdatedAt, &m.Phones,
			&aID, &kind, &summary, &place, &startsAt, &startsOff, &endsAt, &endsOff, &status, &ref)
		if err != nil {
			return nil, err
		}
		if n := len(members); n == 0 || members[n-1].ID != m.ID {
			m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
			members = append(members, EntryMember{Member: m, Activities: []Activity{}})
		}
		if aID == nil {
			continue
		}
		cur := &members[len(members)-1]
		cur.Activities = append(cur.Activities, Activity{
			ID:        *aID,
			MemberID:  m.ID,
			Kind:      *kind,
			Summary:   *summary,
			Place:     *place,
			StartsAt:  inOffset(*startsAt, int(*startsOff)),
			EndsAt:    inOffset(*endsAt, int(*endsOff)),
			Status:    *status,
			Reference: *ref,
		})
	}
	return members, rows.Err()
}

// GetMember returns the member with that id, or errs.ErrNotFound. Phones come sorted.
func (d *Directory) GetMember(ctx context.Context, id string) (Member, error) {
	var m Member
	err := d.pool.QueryRow(ctx, qMemberGet, id).Scan(&m.ID, &m.FirstName, &m.LastName, &m.Tier,
		&m.Language, &m.TimeZone, &m.CreatedAt, &m.UpdatedAt, &m.Phones)
	if errors.Is(err, pgx.ErrNoRows) {
		return Member{}, notFound("member %q", id)
	}
	if err != nil {
		return Member{}, fmt.Errorf("lookup: get member %q: %w", id, err)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

// PhonesOf returns the member's phones, sorted; none for an unknown member.
func (d *Directory) PhonesOf(ctx context.Context, memberID string) ([]string, error) {
	rows, err := d.pool.Query(ctx, qPhonesOf, memberID)
	if err != nil {
		return nil, fmt.Errorf("lookup: phones of %q: %w", memberID, err)
	}
	phones, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("lookup: phones of %q: %w", memberID, err)
	}
	return phones, nil
}

// PutMember creates the member or replaces their profile and their whole set of phones,
// in one transaction. An invalid member is an errs.Invalid error naming its field. The answer is what was
// stored: normalized, with created_at kept from the first write.
func (d *Directory) PutMember(ctx context.Context, m Member) (Member, error) {
	out, touched, err := d.putMember(ctx, m)
	return out, d.written(ctx, fmt.Sprintf("put member %q", out.ID), touched, err)
}

// putMember is PutMember, also returning the phones whose answers changed: the member's
// phones before and after. It returns them even with an error when the write may have
// been committed.
func (d *Directory) putMember(ctx context.Context, m Member) (Member, []string, error) {
	m, err := cleanMember(m, d.region)
	if err != nil {
		return Member{}, nil, err
	}
	var old []string
	err = d.inTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, qMemberUpsert, m.ID, m.FirstName, m.LastName, m.Tier,
			m.Language, m.TimeZone).Scan(&m.CreatedAt, &m.UpdatedAt); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, qPhonesDelete, m.ID)
		if err != nil {
			return err
		}
		if old, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qPhonesInsert, m.ID, m.Phones)
		return err
	})
	touched := union(old, m.Phones)
	if err != nil {
		return Member{}, touched, fmt.Errorf("lookup: put member %q: %w", m.ID, err)
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, touched, nil
}

// DeleteMember deletes the member with their phones and activities, or returns
// errs.ErrNotFound.
func (d *Directory) DeleteMember(ctx context.Context, id string) error {
	touched, err := d.deleteMember(ctx, id)
	return d.written(ctx, fmt.Sprintf("delete member %q", id), touched, err)
}

func (d *Directory) deleteMember(ctx context.Context, id string) ([]string, error) {
	var phones []string
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if phones, err = lockMember(ctx, tx, qMemberLockUpdate, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qMemberDelete, id)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, notFound("member %q", id)
	}
	if err != nil {
		return phones, fmt.Errorf("lookup: delete member %q: %w", id, err)
	}
	return phones, nil
}

// PutActivity creates or replaces the activity (member_id, id). An invalid activity
// is an errs.Invalid error naming its field, an unknown member errs.NotFound. The answer is what was stored:
// ends_at defaults to starts_at, status to "confirmed", times are cut to microseconds and
// keep their UTC offsets.
func (d *Directory) PutActivity(ctx context.Context, a Activity) (Activity, error) {
	out, touched, err := d.putActivity(ctx, a)
	return out, d.written(ctx, fmt.Sprintf("put activity %q of %q", out.ID, out.MemberID), touched, err)
}

func (d *Directory) putActivity(ctx context.Context, a Activity) (Activity, []string, error) {
	a, err := cleanActivity(a)
	if err != nil {
		return Activity{}, nil, err
	}
	_, startsOff := a.StartsAt.Zone()
	_, endsOff := a.EndsAt.Zone()
	var phones []string
	err = d.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if phones, err = lockMember(ctx, tx, qMemberLockShare, a.MemberID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, qActivityUpsert, a.MemberID, a.ID, a.Kind, a.Summary, a.Place,
			a.StartsAt, startsOff, a.EndsAt, endsOff, a.Status, a.Reference)
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return Activity{}, nil, notFound("member %q", a.MemberID)
	}
	if err != nil {
		return Activity{}, phones, fmt.Errorf("lookup: put activity %q of %q: %w", a.ID, a.MemberID, err)
	}
	return a, phones, nil
}

// DeleteActivity deletes one activity; errs.ErrNotFound if the member or the activity is
// missing.
func (d *Directory) DeleteActivity(ctx context.Context, memberID, activityID string) error {
	touched, err := d.deleteActivity(ctx, memberID, activityID)
	return d.written(ctx, fmt.Sprintf("delete activity %q of %q", activityID, memberID), touched, err)
}

func (d *Directory) deleteActivity(ctx context.Context, memberID, activityID string) ([]string, error) {
	var phones []string
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if phones, err = lockMember(ctx, tx, qMemberLockShare, memberID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, qActivityDelete, memberID, activityID)
		if err == nil && tag.RowsAffected() == 0 {
			phones = nil // nothing changed
			return errs.ErrNotFound
		}
		return err
	})
	if errors.Is(err, errs.ErrNotFound) {
		return nil, notFound("activity %q of %q", activityID, memberID)
	}
	if err != nil {
		return phones, fmt.Errorf("lookup: delete activity %q of %q: %w", activityID, memberID, err)
	}
	return phones, nil
}

// lockMember locks the member row with lockQuery and returns the member's phones, read
// after the lock so no concurrent write can change them; errs.ErrNotFound if there is no
// such member.
func lockMember(ctx context.Context, tx pgx.Tx, lockQuery, id string) ([]string, error) {
	var one int
	if err := tx.QueryRow(ctx, lockQuery, id).Scan(&one); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.ErrNotFound
		}
		return nil, err
	}
	rows, err := tx.Query(ctx, qPhonesOf, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (d *Directory) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, fn)
}

func union(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	seen := make(map[string]bool, len(a)+len(b))
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
