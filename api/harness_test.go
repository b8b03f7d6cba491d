package api

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// Integration tests of the admin API with the Twilio edge beside it, as `memberline serve`
// mounts them, against the real PostgreSQL and Redis of `make test`.

const (
	testToken      = "12345"
	testAdminToken = "test-admin-token-0123456789"
	testPublicURL  = "https://ivr.example.com"
)

// testNow is a Thursday morning in New York.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))

// stack is what a harness is built from; options change it first.
type stack struct {
	edge     ivr.Config
	edgeDeps ivr.Deps
	api      Config
	apiDeps  Deps
}

type harnessOpt func(*stack)

type harness struct {
	t       *testing.T
	handler http.Handler
	cache   *lookup.Cache
	rdb     redis.UniversalClient
	twiliotest.Twilio
	callbacks *outbound.Store // newFullHarness's
}

// front is the tier calls and writes go through: the cache, or a local tier over it.
type front interface {
	lookup.Resolver
	lookup.Writer
}

// newStack is the usual configuration: the default flow, front as resolver and writer.
func newStack(f front) stack {
	return stack{
		edge:     ivr.Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }},
		edgeDeps: ivr.Deps{Resolver: f, Members: f, Flow: flows.Default()},
		api:      Config{AdminToken: testAdminToken, Now: func() time.Time { return testNow }},
		apiDeps:  Deps{Resolver: f, Members: f},
	}
}

// build mounts the edge under /twilio/ and the admin API beside it.
func (st stack) build(t *testing.T, cache *lookup.Cache, rdb redis.UniversalClient, opts ...harnessOpt) *harness {
	for _, o := range opts {
		o(&st)
	}
	edge := ivr.New(st.edge, st.edgeDeps)
	st.apiDeps.Edge = edge
	adminAPI := New(st.api, st.apiDeps)
	h := &harness{t: t, cache: cache, rdb: rdb}
	h.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, ivr.Prefix) {
			edge.ServeHTTP(w, r)
		} else {
			adminAPI.ServeHTTP(w, r)
		}
	})
	h.Twilio = twiliotest.Twilio{T: t, Handler: h.handler, PublicURL: testPublicURL,
		Sign: func(u string, form url.Values) string { return ivr.Sign(testToken, u, form) }}
	return h
}

func newHarness(t *testing.T, rdb redis.UniversalClient, prefix string, opts ...harnessOpt) *harness {
	t.Helper()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	st := newStack(cache)
	pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})
	st.edgeDeps.PINs, st.apiDeps.PINs = pins, pins
	return st.build(t, cache, rdb, opts...)
}

func newSharedRedisHarness(t *testing.T, opts ...harnessOpt) *harness {
	rdb, prefix := testenv.Redis(t)
	return newHarness(t, rdb, prefix, opts...)
}

// api sends an admin request with the admin token and returns status and body.
func (h *harness) api(method, path, body string) (int, string) {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func (h *harness) mustAPI(method, path, body string) string {
	h.t.Helper()
	code, out := h.api(method, path, body)
	if code != http.StatusOK && code != http.StatusNoContent {
		h.t.Fatalf("%s %s = %d %s", method, path, code, out)
	}
	return out
}

// seedMembers writes the members the call tests call, through the member API.
func (h *harness) seedMembers() {
	h.t.Helper()
	for _, s := range twiliotest.Members {
		h.mustAPI(http.MethodPut, s.Path(), s.Body)
	}
}
