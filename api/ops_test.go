package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthAndReady(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ready  func(context.Context) error
		path   string
		status int
	}{
		{"healthz", nil, "/healthz", 200},
		{"ready", func(context.Context) error { return nil }, "/readyz", 200},
		{"not ready", func(context.Context) error { return io.ErrUnexpectedEOF }, "/readyz", 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Readyz(tc.ready)
			if tc.path == "/healthz" {
				h = Healthz()
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s = %d, want %d", tc.path, rec.Code, tc.status)
			}
		})
	}
}
