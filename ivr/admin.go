package ivr

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/lookup"
)

// Member directory API. Every write goes through lookup's cache wrapper, which invalidates
// the numbers it touched before it returns, so a call placed right after hears the change.

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// memberBody is the PUT body. id, created_at and updated_at are accepted so that a GET
// answer can be sent back as it is; id must match the URL, the timestamps are ignored.
type memberBody struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Tier      string    `json:"tier"`
	Language  string    `json:"language"`
	TimeZone  string    `json:"time_zone"`
	Phones    []string  `json:"phones"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type activityBody struct {
	ID        string `json:"id"`
	MemberID  string `json:"member_id"`
	Kind      string `json:"kind"`
	Summary   string `json:"summary"`
	Place     string `json:"place"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	Status    string `json:"status"`
	Reference string `json:"reference"`
	Relation  string `json:"relation"`
}

// pathID returns the named path variable or writes a 422 naming it.
func pathID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id := mux.Vars(r)[name]
	if !idPattern.MatchString(id) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", name,
			name+" must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
		return "", false
	}
	return id, true
}

// writeLookupError maps lookup's errors to statuses; only the edge knows HTTP.
func (s *server) writeLookupError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *lookup.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusUnprocessableEntity, "invalid", fe.Field, fe.Error())
	case errors.Is(err, lookup.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "", err.Error())
	case errors.Is(err, lookup.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid", "", err.Error())
	case errors.Is(err, lookup.ErrNotInvalidated):
		s.log.ErrorContext(r.Context(), "cache invalidation failed", "route", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "cache_unavailable", "",
			"the change was stored but the cache could not be invalidated; retrying the request is safe")
	default:
		s.log.ErrorContext(r.Context(), "admin request failed", "route", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "", "internal error")
	}
}

func (s *server) handlePutMember() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		var b memberBody
		if decodeJSON(w, r, &b) != nil {
			return
		}
		if b.ID != "" && b.ID != id {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "id", "id in the body must match the URL's member id")
			return
		}
		m, err := s.deps.Members.PutMember(r.Context(), lookup.Member{
			ID: id, FirstName: b.FirstName, LastName: b.LastName, Tier: b.Tier,
			Language: b.Language, TimeZone: b.TimeZone, Phones: b.Phones,
		})
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
}

func (s *server) handleGetMember() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		m, err := s.deps.Members.GetMember(r.Context(), id)
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
}

func (s *server) handleDeleteMember() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		if err := s.deps.Members.DeleteMember(r.Context(), id); err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// parseTime reads an RFC 3339 time, keeping its UTC offset; "" is the zero time.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, &lookup.FieldError{Field: field, Message: "must be an RFC 3339 time with a UTC offset, e.g. 2026-11-27T14:05:00-05:00"}
	}
	return t, nil
}

func (s *server) handlePutActivity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		memberID, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		activityID, ok := pathID(w, r, "activityID")
		if !ok {
			return
		}
		var b activityBody
		if decodeJSON(w, r, &b) != nil {
			return
		}
		if b.ID != "" && b.ID != activityID {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "id", "id in the body must match the URL's activity id")
			return
		}
		starts, err := parseTime("starts_at", b.StartsAt)
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		ends, err := parseTime("ends_at", b.EndsAt)
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		a, err := s.deps.Members.PutActivity(r.Context(), lookup.Activity{
			ID: activityID, MemberID: memberID, Kind: b.Kind, Summary: b.Summary, Place: b.Place,
			StartsAt: starts, EndsAt: ends, Status: b.Status, Reference: b.Reference,
		})
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, a)
	})
}

func (s *server) handleDeleteActivity() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		memberID, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		activityID, ok := pathID(w, r, "activityID")
		if !ok {
			return
		}
		if err := s.deps.Members.DeleteActivity(r.Context(), memberID, activityID); err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleLookup answers with exactly what the IVR sees for a number, through the same
// cache path a call takes.
func (s *server) handleLookup() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw := r.URL.Query().Get("phone")
		if raw == "" {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "phone", "phone is required, e.g. ?phone=%2B14045550123")
			return
		}
		phone, err := lookup.Normalize(raw, s.cfg.DefaultRegion)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "phone", "phone is not a valid phone number")
			return
		}
		caller, err := s.deps.Resolver.Resolve(r.Context(), phone, s.cfg.Now())
		if err != nil {
			s.writeLookupError(w, r, err)
			return
		}
		if caller.Members == nil {
			caller.Members = []lookup.CallerMember{}
		}
		writeJSON(w, http.StatusOK, caller)
	})
}
