package ivr

import (
	"context"
	"errors"
	"net/http"

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
