package lookup

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MemberRecords is what the directory keeps about a member beyond the profile: every
// activity (not only the one worth asking about) and their verification records. The
// PIN itself is never part of it, only whether one is set.
type MemberRecords struct {
	Activities           []Activity `json:"activities"`
	PINSet               bool       `json:"pin_set"`
	VerificationAttempts []Attempt  `json:"verification_attempts"`
	Consents             []Consent  `json:"consents"`
}

// Records returns a member's records for an export.
func (p *PINs) Records(ctx context.Context, memberID string) (MemberRecords, error) {
	var r MemberRecords
	rows, err := p.pool.Query(ctx, `SELECT id, kind, summary, place, starts_at, starts_offset, ends_at, ends_offset, status, reference
		FROM activities WHERE member_id = $1 ORDER BY starts_at, id`, memberID)
	if err != nil {
		return r, fmt.Errorf("lookup: records: %w", err)
	}
	r.Activities, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Activity, error) {
		a := Activity{MemberID: memberID}
		var so, eo int
		err := row.Scan(&a.ID, &a.Kind, &a.Summary, &a.Place, &a.StartsAt, &so, &a.EndsAt, &eo, &a.Status, &a.Reference)
		a.StartsAt, a.EndsAt = inOffset(a.StartsAt, so), inOffset(a.EndsAt, eo)
		return a, err
	})
	if err != nil {
		return r, fmt.Errorf("lookup: records: %w", err)
	}
	if r.Activities == nil {
		r.Activities = []Activity{}
	}
	if r.PINSet, err = p.HasPIN(ctx, memberID); err != nil {
		return r, err
	}
	if r.VerificationAttempts, err = p.Attempts(ctx, memberID); err != nil {
		return r, err
	}
	r.Consents, err = p.Consents(ctx, memberID)
	return r, err
}
