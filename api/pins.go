package api

import (
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
)

// PINs and the consents to remember numbers (Deps.PINs).

// handlePutPIN sets a member's PIN: {"pin": "2580"}, 4 to 8 digits. The answer never
// carries the PIN or its hash.
func (s *Server) handlePutPIN() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.deps.PINs == nil {
			writeError(w, codeNotConfigured, "", "PINs are not configured")
			return
		}
		var body struct {
			PIN string `json:"pin"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		id := mux.Vars(r)["memberID"]
		if err := s.deps.PINs.SetPIN(r.Context(), id, body.PIN); err != nil {
			s.fail(w, r, "memberID", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"member_id": id, "pin_set": true})
	})
}

// handleConsents lists a member's consents to remember numbers.
func (s *Server) handleConsents() http.Handler {
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
func (s *Server) handleRevokeConsent() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		raw := mux.Vars(r)["phone"]
		phone, err := lookup.Normalize(raw, s.cfg.DefaultRegion)
		if err != nil {
			return nil, fieldErr("phone", "is not a phone number")
		}
		if s.deps.PINs == nil {
			return nil, errs.New(errs.NotFound, "consent: not found")
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
