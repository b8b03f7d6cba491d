package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/sso"
)

// principal is who makes an admin request: a token (named, or the bootstrap ADMIN_TOKEN)
// with its role, and the display name the client sent (ActorHeader), which is shown
// beside the token's name and never stands in for it.
type principal struct {
	name, role string
	bootstrap  bool   // ADMIN_TOKEN
	display    string // ActorHeader, when given; a session's email
	// session is the console session the request came with, for sign-in with the identity
	// provider; nil for a token.
	session *sso.Session
}

// bootstrapName is the ADMIN_TOKEN's name in the audit and for its rate limit.
const bootstrapName = "ADMIN_TOKEN"

// auditName is who the admin audit says acted: the token, and the display name beside it.
func (p principal) auditName() string {
	if p.display == "" || p.display == p.name {
		return p.name
	}
	return p.name + " (" + p.display + ")"
}

type principalKey struct{}

func principalOf(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// Failed sign-ins are limited per client address: a burst of a few, then one a second.
const (
	failureRate  = 1
	failureBurst = 10
)

// authenticate runs before routing, so that without a token every path under the API is
// 401 alike (the routes cannot be listed). It admits the bootstrap ADMIN_TOKEN (role
// admin) or a live stored token and limits each token's rate (429 with Retry-After), by
// the token, whatever the request says of itself. Failed attempts are limited per client
// address, and only failures count: a valid credential is never refused for the failures
// of others behind the same address (an ingress). A secret that cannot be a stored token,
// or one refused a moment ago, costs no database round trip; and the admin API's requests
// in flight are capped (Config.MaxInFlight) so that it cannot take the connections the
// webhooks need, with a place kept for reads so that slow writes cannot block them.
func (s *Server) authenticate(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	console := origin(s.cfg.PublicURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientAddr(r)
		// A place among the requests in flight; a request with a body (which a slow client
		// may send slowly) takes one of the places writes may have, so reads always find one.
		queued := time.NewTimer(s.cfg.QueueTimeout)
		defer queued.Stop()
		places := []chan struct{}{s.inFlight}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			places = []chan struct{}{s.writes, s.inFlight}
		}
		for _, place := range places {
			select {
			case place <- struct{}{}:
				defer func() { <-place }()
			case <-queued.C:
				w.Header().Set("Retry-After", "1")
				writeError(w, codeUnavailable, "", "the admin API is busy; retry in a moment")
				return
			case <-r.Context().Done():
				return
			}
		}
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		var p principal
		got := sha256.Sum256([]byte(secret))
		switch {
		case !ok || secret == "":
		case s.cfg.AdminToken != "" && subtle.ConstantTimeCompare(got[:], want[:]) == 1:
			p = principal{name: bootstrapName, role: auth.RoleAdmin, bootstrap: true}
		case s.deps.Admin != nil && auth.LooksLikeToken(secret) && !s.refused.has(got):
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			t, err := s.deps.Admin.Authenticate(ctx, secret)
			cancel()
			switch {
			case errors.Is(err, errs.ErrUnauthorized):
				s.refused.add(got)
			case err != nil:
				s.log.ErrorContext(r.Context(), "token check failed", "err", err)
				writeError(w, codeUnavailable, "", "tokens cannot be checked right now")
				return
			default:
				p = principal{name: t.Name, role: t.Role}
			}
		}
		if p.role == "" && !ok && s.deps.SSO != nil {
			sess, err := s.deps.SSO.Session(r)
			switch {
			case errors.Is(err, sso.ErrNoSession):
			case err != nil:
				s.log.ErrorContext(r.Context(), "session check failed", "err", err)
				writeError(w, codeUnavailable, "", "sessions cannot be checked right now")
				return
			default:
				if reason := crossSite(r, console, sess); reason != "" {
					writeError(w, codeForbidden, sso.CSRFHeader, reason)
					return
				}
				p = principal{name: "oidc:" + sess.Subject, role: sess.Role, display: sess.Email, session: &sess}
			}
		}
		if p.role == "" {
			if ok, wait := s.failures.Allow(client); !ok {
				tooMany(w, wait, "too many failed sign-ins from this address; retry later")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="memberline"`)
			msg := "a valid admin token is required: Authorization: Bearer <token>"
			if s.deps.SSO != nil {
				msg = "sign in to the console, or send a valid admin token: Authorization: Bearer <token>"
			}
			writeError(w, codeUnauthorized, "", msg)
			return
		}
		if ok, wait := s.limiter.Allow(p.name); !ok {
			tooMany(w, wait, "too many requests with this token; retry later")
			return
		}
		if p.session == nil {
			p.display = actorHeader(r)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// crossSite says why a request made with a console session may not go on: one that
// changes something needs the session's CSRF token in the X-CSRF-Token header, and none
// may come from another origin than console's (PUBLIC_URL's). "" when it may.
func crossSite(r *http.Request, console string, sess sso.Session) string {
	if o := r.Header.Get("Origin"); o != "" && console != "" && origin(o) != console {
		return "this request comes from another site (Origin " + o + "); console sessions work from the console only"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return ""
	}
	if !sess.CSRFMatches(r) {
		return "a change made with a console session needs its CSRF token in the X-CSRF-Token header (GET /api/v1/session gives it)"
	}
	return ""
}

// origin is a URL's scheme and host, lower-case: https://ivr.example.com; "" for no URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return strings.ToLower(raw)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func tooMany(w http.ResponseWriter, wait time.Duration, message string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	writeError(w, codeRateLimited, "", message)
}

// clientAddr is the address a request came from (the connection's: a header the client
// writes would let it choose its own budget).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// auditedReads are the reads the admin audit records, as it records every change: a
// member's export is all that is stored about them.
var auditedReads = map[string]bool{Prefix + "/members/{memberID}/export": true}

// authorize lets through a request whose token has the route's role, need (403
// otherwise), and audits every request that changes something, every audited read and
// every refusal: the token (with the display name beside it), the route and what it
// acted on.
func (s *Server) authorize(need, route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := principalOf(r)
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		if !auth.Allows(p.role, need) {
			writeError(w, codeForbidden, "", "this token's role ("+p.role+") may not do this; it needs "+need)
			s.audit(r, p, route, nil, http.StatusForbidden)
			return
		}
		if (read && !auditedReads[route]) || s.deps.Admin == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		note := &auditNote{}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note)))
		s.audit(r, p, route, note.target, rec.status)
	})
}

// audit records one admin request: who, the route, what it acted on (the path's ids, a
// phone number only masked, and what the handler added) and the status it got.
func (s *Server) audit(r *http.Request, p principal, route string, more []string, status int) {
	if s.deps.Admin == nil {
		return
	}
	vars := mux.Vars(r)
	var target []string
	for _, k := range []string{"memberID", "activityID", "flowID", "version", "name", "phone", "connectionID"} {
		if v, ok := vars[k]; ok {
			if k == "phone" {
				v = lookup.Mask(v)
			}
			target = append(target, k+"="+v)
		}
	}
	target = append(target, more...)
	if err := s.deps.Admin.Audit(context.WithoutCancel(r.Context()), p.auditName(), r.Method+" "+route, strings.Join(target, " "), status); err != nil {
		s.log.ErrorContext(r.Context(), "admin action not audited", "err", err)
	}
}

// auditNote is what a handler adds to its request's audit entry: what it made, when the
// path does not name it (a new token's name and role).
type auditNote struct{ target []string }

type auditNoteKey struct{}

// noteTarget adds to the audit entry of the request r (when it has one).
func noteTarget(r *http.Request, target ...string) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.target = append(n.target, target...)
	}
}

// actorHeader is the display name the client gives (ActorHeader), "" when none or too long.
func actorHeader(r *http.Request) string {
	a := strings.TrimSpace(r.Header.Get(ActorHeader))
	if len(a) > 128 || !utf8.ValidString(a) {
		return ""
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
		noteTarget(r, "name="+body.Name, "role="+body.Role)
		t, secret, err := s.deps.Admin.Create(r.Context(), body.Name, body.Role, p.auditName())
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
		name := mux.Vars(r)["name"]
		if !auth.ValidName(name) {
			writeError(w, codeInvalid, "name", "name must be a token's name: letters, digits, _ . @ or -, at most 64")
			return
		}
		if err := s.deps.Admin.Revoke(r.Context(), name); err != nil {
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
