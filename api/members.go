package api

import (
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
		var b memberBody
		if decodeJSON(w, r, &b) != nil {
			return nil, errAnswered
		}
		if b.ID != "" && b.ID != ids[0] {
			return nil, &lookup.FieldError{Field: "id", Message: "must match the URL's member id"}
		}
		return s.deps.Members.PutMember(r.Context(), lookup.Member{
			ID: ids[0], FirstName: b.FirstName, LastName: b.LastName, Tier: b.Tier,
			Language: b.Language, TimeZone: b.TimeZone, Phones: b.Phones,
		})
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
		return t, &lookup.FieldError{Field: field, Message: "must be an RFC 3339 time with a UTC offset, e.g. 2026-11-27T14:05:00-05:00"}
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
			return nil, &lookup.FieldError{Field: "id", Message: "must match the URL's activity id"}
		}
		starts, err := parseTime("starts_at", b.StartsAt)
		if err != nil {
			return nil, err
		}
		ends, err := parseTime("ends_at", b.EndsAt)
		if err != nil {
			return nil, err
		}
		return s.deps.Members.PutActivity(r.Context(), lookup.Activity{
			ID: ids[1], MemberID: ids[0], Kind: b.Kind, Summary: b.Summary, Place: b.Place,
			StartsAt: starts, EndsAt: ends, Status: b.Status, Reference: b.Reference,
		})
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
		writeJSON(w, http.StatusOK, caller)
	})
}
