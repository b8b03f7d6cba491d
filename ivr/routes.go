package ivr

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/ivr/console"
)

// routes is the one place that maps the service's URLs to handlers. Twilio's webhooks,
// the hot path, are dispatched by a standard ServeMux ahead of the router that serves the
// rest: it matches without regular expressions and without copying the request.
func (s *server) routes() http.Handler {
	tw := http.NewServeMux()
	webhook := func(h http.Handler) http.Handler {
		h = s.refuseReplays(h) // after the signature check: only genuine requests are remembered
		if s.validator != nil {
			h = s.validator.Middleware(s.cfg.PublicURL)(h)
		}
		return s.observe(h) // first, so the trace and the latency include the signature check
	}
	tw.Handle("POST /twilio/voice", webhook(s.handleVoice()))
	tw.Handle("POST /twilio/gather", webhook(s.handleGather()))
	tw.Handle("POST /twilio/status", webhook(s.handleStatus()))
	tw.Handle("POST /twilio/fallback", webhook(s.handleFallback()))

	r := mux.NewRouter()
	r.Handle("/healthz", handleHealthz()).Methods(http.MethodGet)
	r.Handle("/readyz", s.handleReadyz()).Methods(http.MethodGet)

	// The admin console: static files only; it calls /api/v1 with the admin's token.
	r.Handle("/admin", http.RedirectHandler(console.Prefix, http.StatusMovedPermanently))
	r.PathPrefix(console.Prefix).Handler(console.Handler())

	if s.deps.Metrics != nil {
		r.Handle("/metrics", s.deps.Metrics).Methods(http.MethodGet)
	}

	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(apiHeaders)
	api.Use(s.authorize)
	if s.deps.Admin != nil {
		api.Handle("/tokens", s.handleCreateToken()).Methods(http.MethodPost)
		api.Handle("/tokens", s.handleListTokens()).Methods(http.MethodGet)
		api.Handle("/tokens/{name}", s.handleRevokeToken()).Methods(http.MethodDelete)
		api.Handle("/actions", s.handleActions()).Methods(http.MethodGet)
	}
	if s.searcher() != nil {
		api.Handle("/members", s.handleSearchMembers()).Methods(http.MethodGet)
	}
	api.Handle("/members/{memberID}", s.handlePutMember()).Methods(http.MethodPut)
	api.Handle("/members/{memberID}", s.handleGetMember()).Methods(http.MethodGet)
	api.Handle("/members/{memberID}", s.handleDeleteMember()).Methods(http.MethodDelete)
	api.Handle("/members/{memberID}/pin", s.handlePutPIN()).Methods(http.MethodPut)
	api.Handle("/members/{memberID}/export", s.handleExportMember()).Methods(http.MethodGet)
	api.Handle("/members/{memberID}/consents", s.handleConsents()).Methods(http.MethodGet)
	api.Handle("/members/{memberID}/consents/{phone}", s.handleRevokeConsent()).Methods(http.MethodDelete)
	api.Handle("/members/{memberID}/activities/{activityID}", s.handlePutActivity()).Methods(http.MethodPut)
	api.Handle("/members/{memberID}/activities/{activityID}", s.handleDeleteActivity()).Methods(http.MethodDelete)
	api.Handle("/lookup", s.handleLookup()).Methods(http.MethodGet)
	if s.deps.Flows != nil {
		api.Handle("/flows", s.handleListFlows()).Methods(http.MethodGet)
		api.Handle("/flows", s.handleCreateFlow()).Methods(http.MethodPost)
		api.Handle("/flows/{flowID}", s.handleGetDraft()).Methods(http.MethodGet)
		api.Handle("/flows/{flowID}", s.handlePutDraft()).Methods(http.MethodPut)
		api.Handle("/flows/{flowID}/validate", s.handleValidate()).Methods(http.MethodPost)
		api.Handle("/flows/{flowID}/publish", s.handlePublish()).Methods(http.MethodPost)
		api.Handle("/flows/{flowID}/versions", s.handleVersions()).Methods(http.MethodGet)
		api.Handle("/flows/{flowID}/versions/{version}", s.handleVersion()).Methods(http.MethodGet)
		api.Handle("/flows/{flowID}/diff", s.handleDiff()).Methods(http.MethodGet)
		api.Handle("/flows/{flowID}/rollback", s.handleRollback()).Methods(http.MethodPost)
		api.Handle("/flows/{flowID}/simulate", s.handleSimulate()).Methods(http.MethodPost)
		api.Handle("/bindings", s.handleGetBindings()).Methods(http.MethodGet)
		api.Handle("/bindings", s.handlePutBindings()).Methods(http.MethodPut)
		api.Handle("/audit", s.handleAudit()).Methods(http.MethodGet)
	}
	if s.deps.Calls != nil {
		api.Handle("/calls", s.handleListCalls()).Methods(http.MethodGet)
		api.Handle("/calls/{callSID}", s.handleGetCall()).Methods(http.MethodGet)
		api.Handle("/members/{memberID}/calls", s.handleMemberCalls()).Methods(http.MethodGet)
		api.Handle("/reports/recognition", s.handleRecognitionReport()).Methods(http.MethodGet)
		api.Handle("/reports/outcomes", s.handleOutcomesReport()).Methods(http.MethodGet)
		api.Handle("/reports/members", s.handleMembersReport()).Methods(http.MethodGet)
	}
	api.NotFoundHandler = apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "", "no such endpoint")
	}))
	api.MethodNotAllowedHandler = apiHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "", r.Method+" is not allowed here")
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/twilio/") {
			tw.ServeHTTP(w, req)
			return
		}
		r.ServeHTTP(w, req)
	})
}
