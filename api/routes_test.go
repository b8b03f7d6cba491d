package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAPISecurityHeaders(t *testing.T) {
	h := New(Config{AdminToken: testAdminToken}, Deps{})
	for _, tc := range []struct{ name, path, token string }{
		{"answer", "/api/v1/nothing-here", testAdminToken},
		{"refusal", "/api/v1/members/1001", "wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for k, want := range map[string]string{
				"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
				"Cache-Control":           "no-store",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}
