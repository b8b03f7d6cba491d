package ivr

import (
	"context"
	"slices"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// verifyPIN answers a verify node's request. Whatever fails (no PIN store, Redis or
// PostgreSQL down) the caller is not verified: the flow goes on as for a locked PIN. The
// PIN itself is never logged.
func (s *Edge) verifyPIN(ctx context.Context, req flows.VerifyRequest, phone, callSID string) *flows.Verified {
	v := &flows.Verified{MemberID: req.MemberID}
	if s.deps.PINs == nil {
		v.Locked = true
		return v
	}
	outcome, err := s.deps.PINs.Check(ctx, req.MemberID, req.PIN, phone, callSID)
	if err != nil {
		s.log.WarnContext(ctx, "pin check failed; caller not verified", "from", lookup.Mask(phone), "err", err)
		v.Locked = true
		return v
	}
	s.log.InfoContext(ctx, "pin check", "from", lookup.Mask(phone), "outcome", outcome)
	v.OK = outcome == lookup.PINOK
	v.Locked = outcome == lookup.PINLocked
	return v
}

// remember adds the calling number to the member the caller proved to be (with their
// PIN) and records the consent with the call SID. Through the Writer, so every cache tier
// forgets the old answer for the number. A failure is logged; the call goes on.
func (s *Edge) remember(ctx context.Context, req flows.RememberRequest, callSID string) {
	if s.deps.PINs == nil {
		return
	}
	err := func() error {
		m, err := s.deps.Members.GetMember(ctx, req.MemberID)
		if err != nil {
			return err
		}
		if !slices.Contains(m.Phones, req.Phone) {
			m.Phones = append(m.Phones, req.Phone)
			if _, err := s.deps.Members.PutMember(ctx, m); err != nil {
				return err
			}
		}
		return s.deps.PINs.RecordConsent(ctx, req.MemberID, req.Phone, callSID, s.cfg.Now())
	}()
	if err != nil {
		s.log.WarnContext(ctx, "number not remembered", "from", lookup.Mask(req.Phone), "err", err)
		return
	}
	s.log.InfoContext(ctx, "number remembered with consent", "from", lookup.Mask(req.Phone), "call_sid", callSID)
}
