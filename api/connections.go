package api

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/connections"
)

// connectionView is a connection as the API shows it: header names without their values
// (they often hold API keys), no secret.
type connectionView struct {
	ID           string    `json:"id"`
	BaseURL      string    `json:"base_url"`
	Headers      []string  `json:"headers"`
	TimeoutMS    int64     `json:"timeout_ms"`
	AllowPrivate bool      `json:"allow_private_addresses"`
	SecretSet    bool      `json:"secret_set"`
	Version      int       `json:"version"`
	UpdatedAt    time.Time `json:"updated_at"`
	UpdatedBy    string    `json:"updated_by"`
}

func viewConnection(c connections.Stored) connectionView {
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	return connectionView{ID: c.ID, BaseURL: c.BaseURL, Headers: names, TimeoutMS: c.Timeout.Milliseconds(),
		AllowPrivate: c.AllowPrivate, SecretSet: true, Version: c.Version, UpdatedAt: c.UpdatedAt, UpdatedBy: c.UpdatedBy}
}

func (s *Server) handleListConnections() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.deps.Connections.List(r.Context())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		out := make([]connectionView, 0, len(list))
		for _, c := range list {
			out = append(out, viewConnection(c))
		}
		writeJSON(w, http.StatusOK, map[string]any{"connections": out})
	})
}

// connectionID is the path's connection id, or false after an answer naming the field id.
func (s *Server) connectionID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := mux.Vars(r)["connectionID"]
	if err := connections.CheckID(id); err != nil {
		s.fail(w, r, "id", err)
		return "", false
	}
	return id, true
}

func (s *Server) handleGetConnection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.connectionID(w, r)
		if !ok {
			return
		}
		c, err := s.deps.Connections.Describe(r.Context(), id)
		if err != nil {
			s.fail(w, r, "id", err)
			return
		}
		w.Header().Set("ETag", etag(int64(c.Version)))
		writeJSON(w, http.StatusOK, viewConnection(c))
	})
}

// handlePutConnection creates or replaces a connection; with If-Match (the ETag of a GET
// or a previous PUT) it replaces only that version.
func (s *Server) handlePutConnection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ifVersion int64
		if m := r.Header.Get("If-Match"); m != "" {
			v, ok := parseETag(m)
			if !ok || v < 1 || v > 1<<31-1 {
				writeError(w, codeInvalid, "If-Match", "If-Match must be the ETag of the connection, such as \"3\"")
				return
			}
			ifVersion = v
		}
		var body connections.Spec
		if decodeJSON(w, r, &body) != nil {
			return
		}
		c, err := body.Connection(mux.Vars(r)["connectionID"])
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		version, err := s.deps.Connections.Put(r.Context(), c, int(ifVersion), actor(r))
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		w.Header().Set("ETag", etag(int64(version)))
		writeJSON(w, http.StatusOK, map[string]any{"id": c.ID, "version": version})
	})
}

func (s *Server) handleDeleteConnection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.connectionID(w, r)
		if !ok {
			return
		}
		if err := s.deps.Connections.Delete(r.Context(), id); err != nil {
			s.fail(w, r, "id", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// testRequest is what "Test connection" sends: one signed GET to a path of the
// connection.
type testRequest struct {
	Path string `json:"path"`
}

// handleTestConnection makes one signed GET to a path the admin types, through the same
// client (signing, address checks, breaker) a flow's fetch uses, and answers how it went:
// the outcome, status and duration, and the answer's top-level keys, never its values.
func (s *Server) handleTestConnection() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.connectionID(w, r)
		if !ok {
			return
		}
		var body testRequest
		if decodeJSON(w, r, &body) != nil {
			return
		}
		if !strings.HasPrefix(body.Path, "/") || len(body.Path) > 2048 || !utf8.ValidString(body.Path) {
			writeError(w, codeInvalid, "path", "path must start with / (such as /members/1001), at most 2048 characters")
			return
		}
		conn, err := s.deps.Connections.Get(r.Context(), id)
		if err != nil {
			s.fail(w, r, "id", err)
			return
		}
		res := s.deps.Fetcher.Fetch(r.Context(), conn, http.MethodGet, body.Path, nil)
		keys := []string{}
		if obj, ok := res.Answer.(map[string]any); ok {
			keys = slices.Sorted(maps.Keys(obj))
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"outcome":     res.Outcome,
			"status":      res.Status,
			"duration_ms": float64(res.Duration.Microseconds()) / 1000,
			"reason":      res.Reason,
			"keys":        keys,
		})
	})
}
