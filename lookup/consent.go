package lookup

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Consent is a caller's consent, given on a call after verifying with their PIN, to have
// Phone recognized as the member's number.
type Consent struct {
	Phone       string    `json:"phone"`
	CallSID     string    `json:"call_sid"`
	ConsentedAt time.Time `json:"consented_at"`
}

// RecordConsent records (or renews) a consent. The number itself is added to the member
// through the Writer, which invalidates the caches.
func (p *PINs) RecordConsent(ctx context.Context, memberID, phone, callSID string, at time.Time) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO member_consents (member_id, phone, call_sid, consented_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (member_id, phone) DO UPDATE SET call_sid = EXCLUDED.call_sid, consented_at = EXCLUDED.consented_at`,
		memberID, phone, callSID, at)
	if err != nil {
		return fmt.Errorf("lookup: record consent: %w", err)
	}
	return nil
}

// Consents lists a member's consents, oldest first.
func (p *PINs) Consents(ctx context.Context, memberID string) ([]Consent, error) {
	rows, err := p.pool.Query(ctx, `SELECT phone, call_sid, consented_at FROM member_consents
		WHERE member_id = $1 ORDER BY consented_at, phone`, memberID)
	if err != nil {
		return nil, fmt.Errorf("lookup: consents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Consent, error) {
		var c Consent
		err := r.Scan(&c.Phone, &c.CallSID, &c.ConsentedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("lookup: consents: %w", err)
	}
	if out == nil {
		out = []Consent{}
	}
	return out, nil
}

// DeleteConsent removes a consent; not found when there is none for that number.
func (p *PINs) DeleteConsent(ctx context.Context, memberID, phone string) error {
	tag, err := p.pool.Exec(ctx, `DELETE FROM member_consents WHERE member_id = $1 AND phone = $2`, memberID, phone)
	if err != nil {
		return fmt.Errorf("lookup: delete consent: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("consent of member %q for %s", memberID, Mask(phone))
	}
	return nil
}
