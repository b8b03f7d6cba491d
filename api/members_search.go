package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/memberline/memberline/lookup"
)

// memberMatch is a member as a name search shows it: enough to pick one and call as them.
type memberMatch struct {
	ID        string   `json:"id"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Tier      string   `json:"tier"`
	Phones    []string `json:"phones"`
}

// searcher is the member store's name search, when it has one.
func (s *Server) searcher() lookup.Searcher {
	if sr, ok := s.deps.Members.(lookup.Searcher); ok {
		return sr
	}
	return nil
}

// handleSearchMembers answers GET /api/v1/members?q=…&limit=…: members whose first name,
// last name or full name starts with q, for the console's caller picker.
func (s *Server) handleSearchMembers() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := queryInt(r, "limit", 0, 1, lookup.MaxSearchLimit)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if query := q.Get("q"); !utf8.ValidString(query) || strings.ContainsRune(query, 0) {
			writeError(w, codeInvalid, "q", "q must be text (valid UTF-8, without NUL characters)")
			return
		}
		ms, err := s.searcher().Search(r.Context(), q.Get("q"), limit)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		out := make([]memberMatch, len(ms))
		for i, m := range ms {
			out[i] = memberMatch{ID: m.ID, FirstName: m.FirstName, LastName: m.LastName, Tier: m.Tier, Phones: m.Phones}
			if out[i].Phones == nil {
				out[i].Phones = []string{}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"members": out})
	})
}
