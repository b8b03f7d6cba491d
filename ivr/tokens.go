package ivr

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

	"github.com/memberline/memberline/admin"
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

// requiredRole is the least role a route needs: token management needs admin; reading
// needs viewer; publishing, rolling back and binding numbers need publisher; every other
// write (drafts, members, PINs, consents) needs editor.
func requiredRole(method, route string) string {
	switch {
	case strings.HasPrefix(route, "/api/v1/tokens"), route == "/api/v1/actions":
		return admin.RoleAdmin
	case method == http.MethodGet || method == http.MethodHead:
		return admin.RoleViewer
	case route == "/api/v1/flows/{flowID}/publish", route == "/api/v1/flows/{flowID}/rollback", route == "/api/v1/bindings":
		return admin.RolePublisher
	}
	return admin.RoleEditor
}

// authorize admits a request with the bootstrap ADMIN_TOKEN (role admin) or a live token
// from the store, limits each token's rate (429 with Retry-After), checks the route's
// role (403), and audits every request that changes something, by token name.
func (s *server) authorize(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var p principal
		got := sha256.Sum256([]byte(secret))
		switch {
		case !ok || secret == "":
		case s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1:
			p = principal{name: actorHeader(r), role: admin.RoleAdmin, bootstrap: true}
		case s.deps.Admin != nil:
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			t, err := s.deps.Admin.Authenticate(ctx, secret)
			cancel()
			switch {
			case errors.Is(err, admin.ErrUnauthorized):
			case err != nil:
				s.log.ErrorContext(r.Context(), "token check failed", "err", err)
				writeError(w, http.StatusServiceUnavailable, "unavailable", "", "tokens cannot be checked right now")
				return
			default:
				p = principal{name: t.Name, role: t.Role}
			}
		}
		if p.role == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="memberline"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "", "a valid admin token is required: Authorization: Bearer <token>")
			return
		}
		if ok, wait := s.limiter.Allow(p.name); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "", "too many requests with this token; retry later")
			return
		}
		route := r.URL.Path
		if cr := mux.CurrentRoute(r); cr != nil {
			if tpl, err := cr.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		if need := requiredRole(r.Method, route); !admin.Allows(p.role, need) {
			writeError(w, http.StatusForbidden, "forbidden", "", "this token's role ("+p.role+") may not do this; it needs "+need)
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

func (s *server) handleCreateToken() http.Handler {
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
		if s.adminError(w, r, err) {
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"token": t, "secret": secret,
			"note": "the secret is shown only now: store it; only its hash is kept"})
	})
}

func (s *server) handleListTokens() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts, err := s.deps.Admin.List(r.Context())
		if !s.adminError(w, r, err) {
			writeJSON(w, http.StatusOK, map[string]any{"tokens": ts})
		}
	})
}

func (s *server) handleRevokeToken() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.adminError(w, r, s.deps.Admin.Revoke(r.Context(), mux.Vars(r)["name"])) {
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

func (s *server) handleActions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		es, err := s.deps.Admin.Entries(r.Context(), 500)
		if !s.adminError(w, r, err) {
			writeJSON(w, http.StatusOK, map[string]any{"actions": es})
		}
	})
}

// adminError writes err's answer and reports whether there was one.
func (s *server) adminError(w http.ResponseWriter, r *http.Request, err error) bool {
	var fe *admin.FieldError
	switch {
	case err == nil:
		return false
	case errors.As(err, &fe):
		writeError(w, http.StatusUnprocessableEntity, "invalid", fe.Field, fe.Message)
	case errors.Is(err, admin.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "name", "no such token")
	default:
		s.log.ErrorContext(r.Context(), "admin tokens", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "", "tokens cannot be managed right now")
	}
	return true
}
