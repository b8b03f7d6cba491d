package ivr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// verifyPIN answers a verify node's request. Whatever fails (no PIN store, Redis or
// PostgreSQL down) the caller is not verified: the flow goes on as for a locked PIN. The
// PIN itself is never logged.
func (s *server) verifyPIN(ctx context.Context, req flows.VerifyRequest, phone string) *flows.Verified {
	v := &flows.Verified{MemberID: req.MemberID}
	if s.deps.PINs == nil {
		v.Locked = true
		return v
	}
	outcome, err := s.deps.PINs.Check(ctx, req.MemberID, req.PIN, phone)
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

// handlePutPIN sets a member's PIN: {"pin": "2580"}, 4 to 8 digits. The answer never
// carries the PIN or its hash.
func (s *server) handlePutPIN() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.deps.PINs == nil {
			writeError(w, http.StatusNotImplemented, "not_configured", "", "PINs are not configured")
			return
		}
		var body struct {
			PIN string `json:"pin"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		id := mux.Vars(r)["memberID"]
		err := s.deps.PINs.SetPIN(r.Context(), id, body.PIN)
		var fe *lookup.FieldError
		switch {
		case errors.As(err, &fe):
			writeError(w, http.StatusUnprocessableEntity, "invalid", fe.Field, fe.Message)
		case errors.Is(err, lookup.ErrNotFound):
			writeError(w, http.StatusNotFound, "not_found", "", "no member "+id)
		case err != nil:
			s.log.ErrorContext(r.Context(), "set pin failed", "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "", "could not store the PIN")
		default:
			writeJSON(w, http.StatusOK, map[string]any{"member_id": id, "pin_set": true})
		}
	})
}

// remember adds the calling number to the member the caller proved to be (with their
// PIN) and records the consent with the call SID. Through the Writer, so every cache tier
// forgets the old answer for the number. A failure is logged; the call goes on.
func (s *server) remember(ctx context.Context, req flows.RememberRequest, callSID string) {
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

// handleConsents lists a member's consents to remember numbers.
func (s *server) handleConsents() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		if _, err := s.deps.Members.GetMember(r.Context(), ids[0]); err != nil {
			return nil, err
		}
		if s.deps.PINs == nil {
			return map[string]any{"consents": []lookup.Consent{}}, nil
		}
		cs, err := s.deps.PINs.Consents(r.Context(), ids[0])
		if err != nil {
			return nil, err
		}
		return map[string]any{"consents": cs}, nil
	})
}

// handleRevokeConsent revokes a consent: the number is removed from the member (and so
// from every cache tier) and the consent deleted.
func (s *server) handleRevokeConsent() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		raw := mux.Vars(r)["phone"]
		phone, err := lookup.Normalize(raw, s.cfg.DefaultRegion)
		if err != nil {
			return nil, &lookup.FieldError{Field: "phone", Message: "is not a phone number"}
		}
		if s.deps.PINs == nil {
			return nil, fmt.Errorf("ivr: consent: %w", lookup.ErrNotFound)
		}
		ctx := r.Context()
		m, err := s.deps.Members.GetMember(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		if err := s.deps.PINs.DeleteConsent(ctx, m.ID, phone); err != nil {
			return nil, err
		}
		if i := slices.Index(m.Phones, phone); i >= 0 {
			m.Phones = slices.Delete(m.Phones, i, i+1)
			if _, err := s.deps.Members.PutMember(ctx, m); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}
