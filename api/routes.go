package api

import (
	"net/http"
	"path"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/auth"
)

// Prefix is where the admin API is mounted.
const Prefix = "/api/v1"

// route is one endpoint: its method and path under Prefix, the least role that may call
// it, and its handler. A route whose service is not configured is left out (off).
type route struct {
	method, path, role string
	handler            http.Handler
	off                bool
}

// Roles, from the least: viewer reads; editor also writes drafts, members, PINs and
// consents; publisher also publishes, rolls back and binds numbers; admin also manages
// tokens and reads the admin audit.
const (
	viewer    = auth.RoleViewer
	editor    = auth.RoleEditor
	publisher = auth.RolePublisher
	adminRole = auth.RoleAdmin
)

// table is the one table of the admin API: every URL, the role it needs, its handler.
func (s *Server) table() []route {
	noAdmin, noFlows, noCalls := s.deps.Admin == nil, s.deps.Flows == nil, s.deps.Calls == nil
	return []route{
		{http.MethodPost, "/tokens", adminRole, s.handleCreateToken(), noAdmin},
		{http.MethodGet, "/tokens", adminRole, s.handleListTokens(), noAdmin},
		{http.MethodDelete, "/tokens/{name}", adminRole, s.handleRevokeToken(), noAdmin},
		{http.MethodGet, "/actions", adminRole, s.handleActions(), noAdmin},
		{http.MethodGet, "/connections", adminRole, s.handleListConnections(), s.deps.Connections == nil},
		{http.MethodGet, "/connections/{connectionID}", adminRole, s.handleGetConnection(), s.deps.Connections == nil},
		{http.MethodPut, "/connections/{connectionID}", adminRole, s.handlePutConnection(), s.deps.Connections == nil},
		{http.MethodPost, "/connections/{connectionID}/test", adminRole, s.handleTestConnection(), s.deps.Connections == nil},
		{http.MethodDelete, "/connections/{connectionID}", adminRole, s.handleDeleteConnection(), s.deps.Connections == nil},
		{http.MethodGet, "/session", viewer, s.handleSession(), false},
		{http.MethodDelete, "/session", viewer, s.handleSignOut(), false},

		{http.MethodGet, "/members", viewer, s.handleSearchMembers(), s.searcher() == nil},
		{http.MethodPut, "/members/{memberID}", editor, s.handlePutMember(), false},
		{http.MethodGet, "/members/{memberID}", viewer, s.handleGetMember(), false},
		{http.MethodDelete, "/members/{memberID}", editor, s.handleDeleteMember(), false},
		{http.MethodPut, "/members/{memberID}/pin", editor, s.handlePutPIN(), false},
		{http.MethodGet, "/members/{memberID}/export", viewer, s.handleExportMember(), false},
		{http.MethodGet, "/members/{memberID}/consents", viewer, s.handleConsents(), false},
		{http.MethodDelete, "/members/{memberID}/consents/{phone}", editor, s.handleRevokeConsent(), false},
		{http.MethodPut, "/members/{memberID}/activities/{activityID}", editor, s.handlePutActivity(), false},
		{http.MethodDelete, "/members/{memberID}/activities/{activityID}", editor, s.handleDeleteActivity(), false},
		{http.MethodGet, "/lookup", viewer, s.handleLookup(), false},

		{http.MethodGet, "/flows", viewer, s.handleListFlows(), noFlows},
		{http.MethodPost, "/flows", editor, s.handleCreateFlow(), noFlows},
		{http.MethodGet, "/flows/{flowID}", viewer, s.handleGetDraft(), noFlows},
		{http.MethodPut, "/flows/{flowID}", editor, s.handlePutDraft(), noFlows},
		{http.MethodPost, "/flows/{flowID}/validate", editor, s.handleValidate(), noFlows},
		{http.MethodPost, "/flows/{flowID}/tests", editor, s.handleRunTests(), noFlows},
		{http.MethodPost, "/flows/{flowID}/publish", publisher, s.handlePublish(), noFlows},
		{http.MethodGet, "/flows/{flowID}/versions", viewer, s.handleVersions(), noFlows},
		{http.MethodGet, "/flows/{flowID}/versions/{version}", viewer, s.handleVersion(), noFlows},
		{http.MethodGet, "/flows/{flowID}/diff", viewer, s.handleDiff(), noFlows},
		{http.MethodPost, "/flows/{flowID}/rollback", publisher, s.handleRollback(), noFlows},
		{http.MethodPost, "/flows/{flowID}/simulate", editor, s.handleSimulate(), noFlows},
		{http.MethodPost, "/flows/{flowID}/replay", editor, s.handleReplay(), noFlows || noCalls},
		{http.MethodGet, "/bindings", viewer, s.handleGetBindings(), noFlows},
		{http.MethodPut, "/bindings", publisher, s.handlePutBindings(), noFlows},
		{http.MethodGet, "/audit", viewer, s.handleFlowHistory(), noFlows},

		{http.MethodGet, "/calls", viewer, s.handleListCalls(), noCalls},
		{http.MethodGet, "/calls/{callSID}", viewer, s.handleGetCall(), noCalls},
		{http.MethodGet, "/calls/{callSID}/journey", viewer, s.handleJourney(), noCalls || noFlows},
		{http.MethodGet, "/members/{memberID}/calls", viewer, s.handleMemberCalls(), noCalls},
		{http.MethodGet, "/reports/recognition", viewer, s.handleRecognitionReport(), noCalls},
		{http.MethodGet, "/reports/outcomes", viewer, s.handleOutcomesReport(), noCalls},
		{http.MethodGet, "/reports/members", viewer, s.handleMembersReport(), noCalls},
		{http.MethodGet, "/reports/repeat", viewer, s.handleRepeatReport(), noCalls},
		{http.MethodGet, "/reports/segments", viewer, s.handleSegmentsReport(), noCalls},
		{http.MethodGet, "/reports/experiments", viewer, s.handleListExperiments(), noFlows},
		{http.MethodGet, "/reports/experiments/{experimentID}", viewer, s.handleExperimentReport(), noCalls || noFlows},
		{http.MethodGet, "/flows/{flowID}/traffic", viewer, s.handleTraffic(), noCalls || noFlows},
		{http.MethodGet, "/callbacks", viewer, s.handleListCallbacks(), s.deps.Callbacks == nil},
		{http.MethodGet, "/reports/messages", viewer, s.handleMessagesReport(), s.deps.Messages == nil},
		{http.MethodPost, "/callbacks/{callbackID}/cancel", editor, s.handleCancelCallback(), s.deps.Callbacks == nil},
		{http.MethodPost, "/callbacks/{callbackID}/dial", editor, s.handleDialCallback(), s.deps.Callbacks == nil},
		{http.MethodPut, "/do-not-call/{phone}", editor, s.handlePutDoNotCall(), s.deps.Callbacks == nil},
		{http.MethodDelete, "/do-not-call/{phone}", editor, s.handleDeleteDoNotCall(), s.deps.Callbacks == nil},
	}
}

// routes serves the table under Prefix: security headers; then authentication, for every
// path alike; then a path that is not in its canonical form is refused (never redirected:
// a client following a redirect would send its method and body to another resource);
// then the route's role, then its handler. Unknown paths and methods get JSON errors.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.SkipClean(true) // canonical() answers such paths
	api := r.PathPrefix(Prefix).Subrouter()
	for _, rt := range s.table() {
		if !rt.off {
			api.Handle(rt.path, s.authorize(rt.role, Prefix+rt.path, rt.handler)).Methods(rt.method)
		}
	}
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, codeNotFound, "path", "no such endpoint")
	})
	notCanonical := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, codeNotFound, "path", "no such endpoint: the path has dot segments, or encoded or repeated slashes")
	})
	api.NotFoundHandler, r.NotFoundHandler = notFound, notFound
	api.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, codeMethodNotAllowed, "", r.Method+" is not allowed here")
	})
	return apiHeaders(s.authenticate(canonical(r, notCanonical)))
}

// canonical refuses, with notFound, a path that is not in its canonical form: dot
// segments, repeated slashes, or an encoded slash or dot anywhere.
func canonical(next, notFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !Canonical(r) {
			notFound.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Canonical reports whether r's path is in its canonical form: what a router would clean
// or redirect is not.
func Canonical(r *http.Request) bool {
	p := r.URL.Path
	if p == "" || p[0] != '/' || strings.Contains(p, "//") {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return false
	}
	raw := strings.ToLower(r.URL.EscapedPath())
	return !strings.Contains(raw, "%2f") && !strings.Contains(raw, "%2e") && !strings.Contains(raw, "%5c")
}

// apiHeaders are the security headers of every admin API answer (the console's own
// files set theirs, see console.Handler): nothing is framed, sniffed, referred or cached.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
