package api

import (
	"net/http"
	"regexp"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// Member directory API. Every write goes through lookup's cache wrapper, which invalidates
// the numbers it touched before it returns, so a call placed right after hears the change.

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// A member is written as lookup.Member reads: a GET answer can be sent back as it is (id
// must match the URL; created_at and updated_at are the directory's and ignored).

// activityBody is an activity as the API writes it: lookup.Activity, with its times as
// text, so that a malformed time is an error naming its field. member_id and relation
// are accepted (a GET answer sent back) and ignored.
type activityBody struct {
	lookup.Activity
	StartsAt string `json:"starts_at"`
	EndsAt   string `json:"ends_at"`
}

// activity is the body's activity with its times read; a bad one names prefix+field.
func (b activityBody) activity(prefix string) (lookup.Activity, error) {
	a := b.Activity
	var err error
	if a.StartsAt, err = parseTime(prefix+"starts_at", b.StartsAt); err != nil {
		return a, err
	}
	if a.EndsAt, err = parseTime(prefix+"ends_at", b.EndsAt); err != nil {
		return a, err
	}
	return a, nil
}

// pathID returns the named path variable or writes a 422 naming it.
func pathID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id := mux.Vars(r)[name]
	if !idPattern.MatchString(id) {
		writeError(w, codeInvalid, name,
			name+" must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		return "", false
	}
	return id, true
}

// memberOp reads the path ids named (a malformed one is a 422 naming it), runs op and
// writes its answer: JSON with 200, or 204 when op answers nil.
func (s *Server) memberOp(names []string, op func(w http.ResponseWriter, r *http.Request, ids []string) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := make([]string, len(names))
		for i, name := range names {
			id, ok := pathID(w, r, name)
			if !ok {
				return
			}
			ids[i] = id
		}
		v, err := op(w, r, ids)
		switch {
		case err != nil:
			s.fail(w, r, "", err)
		case v == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	})
}

var (
	memberPath   = []string{"memberID"}
	activityPath = []string{"memberID", "activityID"}
)

func (s *Server) handlePutMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		var m lookup.Member
		if decodeJSON(w, r, &m) != nil {
			return nil, errAnswered
		}
		if m.ID != "" && m.ID != ids[0] {
			return nil, fieldErr("id", "must match the URL's member id")
		}
		m.ID = ids[0]
		return s.deps.Members.PutMember(r.Context(), m)
	})
}

func (s *Server) handleGetMember() http.Handler {
	return s.memberOp(memberPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		return s.deps.Members.GetMember(r.Context(), ids[0])
	})
}

// parseTime reads an RFC 3339 time, keeping its UTC offset; "" is the zero time.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, fieldErr(field, "must be an RFC 3339 time with a UTC offset, e.g. 2026-11-27T14:05:00-05:00")
	}
	return t, nil
}

func (s *Server) handlePutActivity() http.Handler {
	return s.memberOp(activityPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		var b activityBody
		if decodeJSON(w, r, &b) != nil {
			return nil, errAnswered
		}
		if b.ID != "" && b.ID != ids[1] {
			return nil, fieldErr("id", "must match the URL's activity id")
		}
		a, err := b.activity("")
		if err != nil {
			return nil, err
		}
		a.ID, a.MemberID, a.Relation = ids[1], ids[0], ""
		return s.deps.Members.PutActivity(r.Context(), a)
	})
}

func (s *Server) handleDeleteActivity() http.Handler {
	return s.memberOp(activityPath, func(w http.ResponseWriter, r *http.Request, ids []string) (any, error) {
		return nil, s.deps.Members.DeleteActivity(r.Context(), ids[0], ids[1])
	})
}

// handleLookup answers with exactly what the IVR sees for a number, through the same
// cache path a call takes.
func (s *Server) handleLookup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("phone")
		if raw == "" {
			writeError(w, codeInvalid, "phone", "phone is required, e.g. ?phone=%2B14045550123")
			return
		}
		phone, err := lookup.Normalize(raw, s.cfg.DefaultRegion)
		if err != nil {
			writeError(w, codeInvalid, "phone", "phone is not a valid phone number")
			return
		}
		caller, err := s.deps.Resolver.Resolve(r.Context(), phone, s.cfg.Now())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if caller.Members == nil {
			caller.Members = []lookup.CallerMember{}
		}
		answer := struct {
			lookup.Caller
			// MessageConsent is what the number said about messages (STOP, START).
			MessageConsent *outbound.Consent `json:"message_consent,omitempty"`
		}{Caller: caller}
		if s.deps.Messages != nil {
			if c, err := s.deps.Messages.ConsentOf(r.Context(), phone); err == nil && c.Status != "" {
				answer.MessageConsent = &c
			}
		}
		writeJSON(w, http.StatusOK, answer)
	})
}
