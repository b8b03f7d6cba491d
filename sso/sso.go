// Package sso signs admins in to the console with the company's OpenID Connect provider
// (Okta, Entra ID, Google Workspace, Keycloak…): the authorization code flow with PKCE,
// state and nonce, a role from the provider's groups claim, and server-side sessions in
// Redis (so every instance knows them) referenced by an HttpOnly cookie, with idle and
// absolute expiry and a per-session CSRF token. The admin API (api) admits a request by
// its session; the provider's discovery, tokens and keys are go-oidc's and x/oauth2's.
package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/memberline/memberline/auth"
)

// Paths the sign-in uses, under the console.
const (
	LoginPath    = "/admin/auth/login"
	CallbackPath = "/admin/auth/callback"
	// SessionCookie holds the session id; it is sent to the admin API only.
	SessionCookie = "memberline_session"
	// CSRFHeader carries the session's CSRF token on every request that changes anything.
	CSRFHeader  = "X-CSRF-Token"
	stateCookie = "memberline_signin"
	cookiePath  = "/api/v1"
	statePath   = "/admin/auth"
	authTTL     = 10 * time.Minute // a sign-in must come back from the provider within this
)

// Config is the provider and how its users become admins.
type Config struct {
	Issuer, ClientID, ClientSecret string // ClientSecret empty: a public client (PKCE only)
	Scopes                         []string
	RedirectURL                    string // where the provider returns: PUBLIC_URL + CallbackPath
	ConsoleURL                     string // where a signed-in or signed-out admin goes
	ProviderName                   string // "Sign in with <ProviderName>"
	RolesClaim                     string // the claim listing the user's groups
	RoleMap                        map[string]string
	IdleTimeout, MaxAge            time.Duration
	Secure                         bool             // cookies only over https
	Now                            func() time.Time // the sessions' clock
	HTTPClient                     *http.Client     // for the provider; nil: a client with a 10 s timeout
}

// Session is one signed-in admin.
type Session struct {
	Subject string    `json:"sub"`
	Email   string    `json:"email,omitempty"`
	Name    string    `json:"name,omitempty"`
	Role    string    `json:"role"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Seen    time.Time `json:"seen"`
	IDToken string    `json:"id_token,omitempty"` // the logout hint
	id      string
}

// Expires is when the session ends unless used: idle, or its absolute end, whichever first.
func (s Session) Expires(c Config) time.Time {
	idle, abs := s.Seen.Add(c.IdleTimeout), s.Created.Add(c.MaxAge)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// ErrNoSession means the request has no live session.
var ErrNoSession = errors.New("sso: no session")

// SSO is the sign-in with one provider.
type SSO struct {
	cfg        Config
	provider   *oidc.Provider
	verifier   *oidc.IDTokenVerifier
	oauth      oauth2.Config
	endSession string
	rdb        redis.UniversalClient
	prefix     string
	client     *http.Client
	// Each sign-in started keeps its state in Redis for authTTL, before anyone signs in:
	// starts are limited per client address and in all, which bounds what anonymous
	// requests can make Redis hold (LoginBurst + LoginRate × authTTL entries of about
	// 300 bytes, some 4 MB).
	perAddr, all *auth.Limiter
}

// Limits on sign-ins started: per client address (an ingress puts a whole company
// behind one), and in all, per instance.
const (
	loginRatePerAddr  = 1 // a second
	loginBurstPerAddr = 60
	loginRate         = 20
	loginBurst        = 200
)

// New reads the provider's discovery document (an issuer that does not answer within the
// client's timeout is an error that says so).
func New(ctx context.Context, cfg Config, rdb redis.UniversalClient, prefix string) (*SSO, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "groups"
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "email", "profile"}
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, client), client.Timeout+time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC_ISSUER %s: its discovery document (%s/.well-known/openid-configuration) cannot be read: %w",
			cfg.Issuer, strings.TrimRight(cfg.Issuer, "/"), err)
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = p.Claims(&extra)
	if cfg.ProviderName == "" {
		if u, err := url.Parse(cfg.Issuer); err == nil {
			cfg.ProviderName = u.Hostname()
		}
	}
	s := &SSO{
		cfg: cfg, provider: p, client: client, rdb: rdb, prefix: prefix, endSession: extra.EndSession,
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID}), // the provider's clock is the real one
		perAddr:  auth.NewLimiter(loginRatePerAddr, loginBurstPerAddr),
		all:      auth.NewLimiter(loginRate, loginBurst),
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: p.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes},
	}
	return s, nil
}

// Config is the sign-in's configuration, with its defaults.
func (s *SSO) Config() Config { return s.cfg }

// ProviderName is the provider's name for the sign-in button.
func (s *SSO) ProviderName() string { return s.cfg.ProviderName }

// Handler serves LoginPath and CallbackPath.
func (s *SSO) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+LoginPath, s.login)
	mux.HandleFunc("GET "+CallbackPath, s.callback)
	return mux
}

// pending is a sign-in on its way through the provider, kept under its state.
type pending struct {
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	At       time.Time `json:"at"`
}

func (s *SSO) key(kind, id string) string {
	sum := sha256.Sum256([]byte(id))
	return s.prefix + "sso:" + kind + ":" + hex.EncodeToString(sum[:])
}

// login starts a sign-in: state, nonce and PKCE verifier kept in Redis for authTTL, the
// state also in a cookie that binds the sign-in to this browser.
func (s *SSO) login(w http.ResponseWriter, r *http.Request) {
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	ok, wait := s.perAddr.Allow(addr)
	if ok {
		ok, wait = s.all.Allow("")
	}
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		s.page(w, http.StatusTooManyRequests, "Too many sign-ins started", "Too many sign-ins were started from here just now. Wait a moment and try again.")
		return
	}
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	b, _ := json.Marshal(pending{Nonce: nonce, Verifier: verifier, At: s.cfg.Now()})
	if err := s.rdb.Set(r.Context(), s.key("signin", state), b, authTTL).Err(); err != nil {
		s.page(w, http.StatusServiceUnavailable, "Sign-in is not available right now", "The session store cannot be reached. Try again in a moment.")
		return
	}
	s.setCookie(w, stateCookie, state, statePath, authTTL)
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback finishes a sign-in: the state must be this browser's and not used before, the
// code is exchanged with the PKCE verifier, the ID token verified (issuer, audience,
// expiry, signature) with its nonce, and the role read from the groups claim.
func (s *SSO) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.page(w, http.StatusForbidden, "The sign-in was not completed", "The identity provider answered: "+e+" "+q.Get("error_description"))
		return
	}
	state := q.Get("state")
	c, err := r.Cookie(stateCookie)
	if state == "" || err != nil || c.Value != state {
		s.page(w, http.StatusBadRequest, "This sign-in link is not yours", "It does not belong to a sign-in started in this browser. Start again from the console.")
		return
	}
	s.setCookie(w, stateCookie, "", statePath, -1)
	ctx := oidc.ClientContext(r.Context(), s.client)
	raw, err := s.rdb.GetDel(ctx, s.key("signin", state)).Bytes()
	var p pending
	if err != nil || json.Unmarshal(raw, &p) != nil {
		s.page(w, http.StatusBadRequest, "This sign-in has expired or was used already", "Each sign-in link works once, for ten minutes. Start again from the console.")
		return
	}
	tok, err := s.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		s.page(w, http.StatusBadRequest, "The identity provider refused the sign-in", "Exchanging the sign-in code failed: "+err.Error())
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := s.verifier.Verify(ctx, rawID)
	if err != nil {
		s.page(w, http.StatusBadRequest, "The identity provider's answer is not valid", "Its ID token was refused: "+err.Error())
		return
	}
	if idt.Nonce != p.Nonce {
		s.page(w, http.StatusBadRequest, "The identity provider's answer is not for this sign-in", "Its ID token carries another sign-in's nonce. Start again from the console.")
		return
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		s.page(w, http.StatusBadRequest, "The identity provider's answer is not valid", "Its ID token's claims cannot be read.")
		return
	}
	if claims[s.cfg.RolesClaim] == nil || claims["email"] == nil {
		// Not in the ID token: the userinfo endpoint has them, for providers that keep the
		// ID token small. The ID token's own claims stand.
		if ui, err := s.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			more := map[string]any{}
			if ui.Claims(&more) == nil {
				for k, v := range more {
					if _, ok := claims[k]; !ok {
						claims[k] = v
					}
				}
			}
		}
	}
	email, _ := claims["email"].(string)
	name, _ := claims["name"].(string)
	groups := stringsOf(claims[s.cfg.RolesClaim])
	role := s.role(groups)
	if role == "" {
		who := email
		if who == "" {
			who = idt.Subject
		}
		s.page(w, http.StatusForbidden, "Your account has no role here",
			fmt.Sprintf("You signed in as %s, but none of your groups (%s) is given a role in Memberline (OIDC_ROLE_MAP). Ask an administrator to add your group.",
				who, orNone(groups)))
		return
	}
	now := s.cfg.Now()
	sess := Session{Subject: idt.Subject, Email: email, Name: name, Role: role, CSRF: random(), Created: now, Seen: now, IDToken: rawID}
	id := random()
	if err := s.save(r.Context(), s.key("session", id), sess); err != nil {
		s.page(w, http.StatusServiceUnavailable, "Sign-in is not available right now", "The session store cannot be reached. Try again in a moment.")
		return
	}
	s.setCookie(w, SessionCookie, id, cookiePath, s.cfg.MaxAge)
	http.Redirect(w, r, s.cfg.ConsoleURL, http.StatusFound)
}

// role is the highest role any of the groups maps to; "" when none does.
func (s *SSO) role(groups []string) string {
	best := ""
	for _, g := range groups {
		if r, ok := s.cfg.RoleMap[g]; ok && (best == "" || auth.Allows(r, best)) {
			best = r
		}
	}
	return best
}

// save stores sess under its key until it expires.
func (s *SSO) save(ctx context.Context, key string, sess Session) error {
	b, _ := json.Marshal(sess)
	ttl := sess.Expires(s.cfg).Sub(s.cfg.Now())
	if ttl <= 0 {
		return s.rdb.Del(ctx, key).Err()
	}
	return s.rdb.Set(ctx, key, b, ttl).Err()
}

// Session is the request's live session, its last use moved to now; ErrNoSession when it
// has none (no cookie, unknown, idle too long or past its absolute end).
func (s *SSO) Session(r *http.Request) (Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return Session{}, ErrNoSession
	}
	key := s.key("session", c.Value)
	raw, err := s.rdb.Get(r.Context(), key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("sso: session store: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(raw, &sess); err != nil {
		return Session{}, ErrNoSession
	}
	now := s.cfg.Now()
	if !now.Before(sess.Expires(s.cfg)) {
		_ = s.rdb.Del(r.Context(), key).Err()
		return Session{}, ErrNoSession
	}
	sess.id = c.Value
	if now.Sub(sess.Seen) > time.Second {
		sess.Seen = now
		if err := s.save(r.Context(), key, sess); err != nil {
			return Session{}, fmt.Errorf("sso: session store: %w", err)
		}
	}
	return sess, nil
}

// Logout ends sess and clears its cookie; it answers where the browser goes next: the
// provider's end-session endpoint (RP-initiated logout) when it offers one, else the
// console.
func (s *SSO) Logout(w http.ResponseWriter, r *http.Request, sess Session) (string, error) {
	if err := s.rdb.Del(r.Context(), s.key("session", sess.id)).Err(); err != nil {
		return "", fmt.Errorf("sso: session store: %w", err)
	}
	s.setCookie(w, SessionCookie, "", cookiePath, -1)
	if s.endSession == "" {
		return s.cfg.ConsoleURL, nil
	}
	v := url.Values{"post_logout_redirect_uri": {s.cfg.ConsoleURL}, "client_id": {s.cfg.ClientID}}
	if sess.IDToken != "" {
		v.Set("id_token_hint", sess.IDToken)
	}
	return s.endSession + "?" + v.Encode(), nil
}

// setCookie sets one of the sign-in's cookies for maxAge (negative: deletes it): never
// readable by scripts, sent over https only when the service is served so, and not on
// requests from other sites.
func (s *SSO) setCookie(w http.ResponseWriter, name, value, path string, maxAge time.Duration) {
	age := int(maxAge.Seconds())
	if maxAge < 0 {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: age,
		HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// page answers a sign-in that cannot go on with a page that says why.
func (s *SSO) page(w http.ResponseWriter, status int, title, why string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>%s</title><link rel="stylesheet" href="/admin/app.css"></head>`+
		`<body><main><section class="signin panel" id="signin-refused"><h1>%s</h1><p>%s</p><p><a href="%s">Back to the console</a></p></section></main></body></html>`,
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(why), html.EscapeString(s.cfg.ConsoleURL))
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stringsOf reads a claim that lists groups: an array of strings, or one string.
func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func orNone(groups []string) string {
	if len(groups) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(slices.Values(groups)), ", ")
}

// CSRFMatches reports whether a request that changes something carries sess's CSRF token.
func (sess Session) CSRFMatches(r *http.Request) bool {
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}
