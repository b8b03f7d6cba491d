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
	r.Handle("/healthz", api.Healthz()).Methods(http.MethodGet)
	r.Handle("/readyz", api.Readyz(ready)).Methods(http.MethodGet)
	// The admin console: static files only; it calls the admin API with the admin's token.
	r.Handle("/admin", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	r.PathPrefix(console.Prefix).Handler(console.Handler())
	if metrics != nil {
		r.Handle("/metrics", metrics).Methods(http.MethodGet)
	}
	r.PathPrefix(api.Prefix).Handler(adminAPI)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, ivr.Prefix) {
			edge.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}
