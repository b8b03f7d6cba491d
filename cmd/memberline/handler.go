package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/console"
	"github.com/memberline/memberline/ivr"
)

// handler is the service's whole HTTP surface on one port: Twilio's webhooks (the edge,
// the hot path, dispatched first), the admin API, the console, and the operator routes.
func handler(edge *ivr.Edge, adminAPI *api.Server, ready func(context.Context) error, metrics http.Handler) http.Handler {
	r := mux.NewRouter()
	r.SkipClean(true) // a path that is not canonical is not found, never redirected (api.Canonical)
	r.Handle("/healthz", api.Healthz()).Methods(http.MethodGet)
	r.Handle("/readyz", api.Readyz(ready)).Methods(http.MethodGet)
	// The admin console: static files only; it calls the admin API with the admin's token.
	r.Handle("/admin", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
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
