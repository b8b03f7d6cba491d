package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/lookup"
)

// principal is who makes an admin request: a named token and its role.
type principal struct {
	name, role string
	bootstrap  bool // ADMIN_TOKEN
}

type principalKey struct{}

func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// authorize admits a request with the bootstrap ADMIN_TOKEN (role admin) or a live token
// from the store, limits each token's rate (429 with Retry-After), checks that the token
// has the route's role, need (403), and audits every request that changes something, by
// token name and route.
func (s *Server) authorize(need, route string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var p principal
		got := sha256.Sum256([]byte(secret))
		switch {
		case !ok || secret == "":
		case s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1:
			p = principal{name: actorHeader(r), role: auth.RoleAdmin, bootstrap: true}
		case s.deps.Admin != nil:
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			t, err := s.deps.Admin.Authenticate(ctx, secret)
			cancel()
			switch {
			case errors.Is(err, auth.ErrUnauthorized):
			case err != nil:
				s.log.ErrorContext(r.Context(), "token check failed", "err", err)
				writeError(w, codeUnavailable, "", "tokens cannot be checked right now")
				return
			default:
				p = principal{name: t.Name, role: t.Role}
			}
		}
		if p.role == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="memberline"`)
			writeError(w, codeUnauthorized, "", "a valid admin token is required: Authorization: Bearer <token>")
			return
		}
		if ok, wait := s.limiter.Allow(p.name); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, codeRateLimited, "", "too many requests with this token; retry later")
			return
		}
		if !auth.Allows(p.role, need) {
			writeError(w, codeForbidden, "", "this token's role ("+p.role+") may not do this; it needs "+need)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if r.Method == http.MethodGet || r.Method == http.MethodHead || s.deps.Admin == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		// The target names what was acted on; a phone number only masked.
		vars := mux.Vars(r)
		var target []string
		for _, k := range []string{"memberID", "activityID", "flowID", "version", "name", "phone"} {
			if v, ok := vars[k]; ok {
				if k == "phone" {
					v = lookup.Mask(v)
				}
				target = append(target, k+"="+v)
			}
		}
		if err := s.deps.Admin.Audit(context.WithoutCancel(r.Context()), p.name, r.Method+" "+route, strings.Join(target, " "), rec.status); err != nil {
			s.log.ErrorContext(r.Context(), "admin action not audited", "err", err)
		}
	})
}

// actorHeader is the bootstrap token's actor: the ActorHeader when given, else "admin".
func actorHeader(r *http.Request) string {
	a := strings.TrimSpace(r.Header.Get(ActorHeader))
	if a == "" || len(a) > 128 {
		return defaultActor
	}
	return a
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *Server) handleCreateToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
			Role string `json:"role"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		p, _ := principalOf(r)
		t, secret, err := s.deps.Admin.Create(r.Context(), body.Name, body.Role, p.name)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret,
			"note": "the secret is shown only now: store it; only its hash is kept"})
	})
}

func (s *Server) handleListTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := s.deps.Admin.List(r.Context())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
	})
}

func (s *Server) handleRevokeToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.deps.Admin.Revoke(r.Context(), mux.Vars(r)["name"]); err != nil {
			s.fail(w, r, "name", err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) handleActions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es, err := s.deps.Admin.Entries(r.Context(), 500)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"actions": es})
	})
}
