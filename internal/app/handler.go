package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/console"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/sso"
)

// signInConfig tells the console which sign-ins to offer: the provider's button, the
// token form, or both. It holds no secret.
func signInConfig(signIn *sso.SSO, bootstrapToken bool) http.Handler {
	type provider struct {
		Name     string `json:"name"`
		LoginURL string `json:"login_url"`
	}
	answer := struct {
		OIDC  *provider `json:"oidc,omitempty"`
		Token bool      `json:"token"`
	}{Token: bootstrapToken || signIn == nil}
	if signIn != nil {
		answer.OIDC = &provider{Name: signIn.ProviderName(), LoginURL: sso.LoginPath}
	}
	body, _ := json.Marshal(answer)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// handler is the service's whole HTTP surface on one port: Twilio's webhooks (the edge,
// the hot path, dispatched first), the admin API, the console, and the operator routes.
//
// signIn, when set, serves the console's sign-in with the identity provider; the console
// reads which sign-ins it offers at /admin/auth/config (tokens: ADMIN_TOKEN is set, or no
// provider is).
func handler(edge *ivr.Edge, adminAPI *api.Server, signIn *sso.SSO, bootstrapToken bool, ready func(context.Context) error, metrics http.Handler) http.Handler {
	r := mux.NewRouter()
	r.SkipClean(true) // a path that is not canonical is not found, never redirected (api.Canonical)
	r.Handle("/healthz", api.Healthz()).Methods(http.MethodGet)
	r.Handle("/readyz", api.Readyz(ready)).Methods(http.MethodGet)
	// The admin console: static files only; it calls the admin API with the admin's token.
	r.Handle("/admin", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	r.Handle("/admin/auth/config", signInConfig(signIn, bootstrapToken)).Methods(http.MethodGet)
	if signIn != nil {
		h := signIn.Handler()
		r.Handle(sso.LoginPath, h).Methods(http.MethodGet)
		r.Handle(sso.CallbackPath, h).Methods(http.MethodGet)
	}
	r.PathPrefix(console.Prefix).Handler(console.Handler())
	if metrics != nil {
		r.Handle("/metrics", metrics).Methods(http.MethodGet)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch p := req.URL.Path; {
		case strings.HasPrefix(p, ivr.Prefix):
			edge.ServeHTTP(w, req)
		case p == api.Prefix || strings.HasPrefix(p, api.Prefix+"/"):
			adminAPI.ServeHTTP(w, req)
		case !api.Canonical(req):
			http.NotFound(w, req)
		default:
			r.ServeHTTP(w, req)
		}
	})
}

// hstsValue asks browsers to use https only for a year: the console and the admin API
// are served over https when PUBLIC_URL is.
const hstsValue = "max-age=31536000"

// strictTransport sends Strict-Transport-Security on everything but the webhooks, which
// no browser reads (and which answer on the hot path).
func strictTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, ivr.Prefix) {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}
