package ivr

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testenv"
	"github.com/memberline/memberline/lookup"
)

// Two instances share one replay memory: a webhook played again is refused wherever it
// lands.
func TestReplayedWebhookRefused(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	newInstance := func() http.Handler {
		return NewServer(Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }},
			Deps{Resolver: cache, Members: cache, Flow: flows.Default(), Replay: RedisReplayGuard(rdb, prefix)})
	}
	a, b := newInstance(), newInstance()
	send := func(h http.Handler, path string, form map[string]string) *httptest.ResponseRecorder {
		vals := incoming("+12125550000")
		for k, v := range form {
			vals.Set(k, v)
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(SignatureHeader, Sign(testToken, testPublicURL+path, vals))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	steps := []struct {
		name   string
		via    http.Handler
		form   map[string]string
		status int
	}{
		{"first", a, nil, http.StatusOK},
		{"the same again, same instance", a, nil, http.StatusConflict},
		{"the same again, another instance", b, nil, http.StatusConflict},
		{"another call", b, map[string]string{"CallSid": "CAffffffffffffffffffffffffffffffff"}, http.StatusOK},
	}
	for _, s := range steps {
		rec := send(s.via, "/twilio/voice", s.form)
		if rec.Code != s.status {
			t.Errorf("%s: %d, want %d", s.name, rec.Code, s.status)
		}
		if s.status == http.StatusConflict && rec.Body.Len() != 0 {
			t.Errorf("%s: a refused replay carries %q", s.name, rec.Body)
		}
	}
}

func TestAPISecurityHeaders(t *testing.T) {
	h := NewServer(Config{AdminToken: testAdminToken}, Deps{Flow: flows.Default()})
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
