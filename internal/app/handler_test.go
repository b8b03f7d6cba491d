package app

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/ivr"
)

// The console's files are public (it signs in against the API); the API behind it is not.
func TestConsoleIsServedAtAdmin(t *testing.T) {
	h := handler(ivr.New(ivr.Config{}, ivr.Deps{}), api.New(api.Config{AdminToken: "console-route-test-token"}, api.Deps{}), nil, true, nil, nil)
	tests := []struct {
		name     string
		path     string
		status   int
		location string
		body     string
	}{
		{"index", "/admin/", http.StatusOK, "", `<script type="module" src="js/app.js">`},
		{"module", "/admin/js/app.js", http.StatusOK, "", "import"},
		{"without the slash", "/admin", http.StatusMovedPermanently, "/admin/", ""},
		{"the API still needs the token", "/api/v1/lookup?phone=%2B14045550123", http.StatusUnauthorized, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("GET %s: status %d, want %d", tc.path, rec.Code, tc.status)
			}
			if tc.location != "" && rec.Header().Get("Location") != tc.location {
				t.Errorf("Location %q, want %q", rec.Header().Get("Location"), tc.location)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
			if tc.status == http.StatusOK && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("no CSP with frame-ancestors 'none': %q", rec.Header().Get("Content-Security-Policy"))
			}
		})
	}
}

// Twilio's webhooks have a dispatcher of their own: a wrong method or an unknown webhook
// is refused before the signature check runs, and never gets TwiML.
func TestWebhookRoutes(t *testing.T) {
	h := handler(ivr.New(ivr.Config{TwilioAuthToken: "webhook-route-test-token"}, ivr.Deps{}), api.New(api.Config{}, api.Deps{}), nil, true, nil, nil)
	tests := []struct {
		name, method, path string
		status             int
	}{
		{"unsigned webhook", http.MethodPost, "/twilio/voice", http.StatusForbidden},
		{"wrong method", http.MethodGet, "/twilio/voice", http.StatusMethodNotAllowed},
		{"unknown webhook", http.MethodPost, "/twilio/nope", http.StatusNotFound},
		{"prefix alone", http.MethodPost, "/twilio", http.StatusNotFound},
		{"health beside it", http.MethodGet, "/healthz", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			}
			if strings.Contains(rec.Body.String(), "<Response") {
				t.Errorf("%s %s answered TwiML: %s", tc.method, tc.path, rec.Body.String())
			}
		})
	}
}

// Over https, the console and the API ask browsers to stay on https; the webhooks, which
// no browser reads, do without the header.
func TestStrictTransportSecurity(t *testing.T) {
	h := strictTransport(handler(ivr.New(ivr.Config{}, ivr.Deps{}), api.New(api.Config{AdminToken: "console-route-test-token"}, api.Deps{}), nil, true, nil, nil))
	for path, want := range map[string]string{
		"/admin/":                hstsValue,
		"/api/v1/lookup?phone=1": hstsValue,
		"/twilio/voice":          "",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != want {
			t.Errorf("%s: Strict-Transport-Security %q, want %q", path, got, want)
		}
	}
}
