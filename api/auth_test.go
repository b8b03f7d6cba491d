package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

func tokenServer(t *testing.T, cfg Config) (http.Handler, *auth.Store) {
	t.Helper()
	pool := testenv.Postgres(t, testenv.Key("lookup+admin", lookup.Migrations, auth.Migrations), testenv.All(lookup.Migrate, auth.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	store := auth.NewStore(pool)
	cfg.AdminToken, cfg.Now = testAdminToken, func() time.Time { return testNow }
	return New(cfg, Deps{Resolver: cache, Members: cache, Admin: store,
		PINs: lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})}), store
}

func send(h http.Handler, token, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestTokenRoles(t *testing.T) {
	h, store := tokenServer(t, Config{AdminRate: -1})
	secrets := map[string]string{}
	for _, role := range []string{"viewer", "editor", "publisher", "admin"} {
		rec := send(h, testAdminToken, http.MethodPost, "/api/v1/tokens", `{"name":"`+role+`-bot","role":"`+role+`"}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("create %s = %d %s", role, rec.Code, rec.Body)
		}
		var out struct {
			Secret string `json:"secret"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		secrets[role] = out.Secret
	}
	member := `{"first_name":"Dana","language":"en-US","time_zone":"UTC","phones":["+14045550123"]}`
	for _, tc := range []struct {
		role, method, path, body string
		want                     int
	}{
		{"viewer", http.MethodGet, "/api/v1/members/1001", "", http.StatusNotFound}, // allowed, no such member yet
		{"viewer", http.MethodPut, "/api/v1/members/1001", member, http.StatusForbidden},
		{"editor", http.MethodPut, "/api/v1/members/1001", member, http.StatusOK},
		{"editor", http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`, http.StatusOK},
		{"viewer", http.MethodGet, "/api/v1/members?q=Dana", "", http.StatusOK}, // a name search only reads
		{"viewer", http.MethodDelete, "/api/v1/members/1001", "", http.StatusForbidden},
		{"editor", http.MethodGet, "/api/v1/tokens", "", http.StatusForbidden},
		{"publisher", http.MethodGet, "/api/v1/tokens", "", http.StatusForbidden},
		{"publisher", http.MethodPost, "/api/v1/tokens", `{"name":"x","role":"admin"}`, http.StatusForbidden},
		{"admin", http.MethodGet, "/api/v1/tokens", "", http.StatusOK},
		{"admin", http.MethodPost, "/api/v1/tokens", `{"name":"bad","role":"owner"}`, http.StatusUnprocessableEntity},
		{"admin", http.MethodDelete, "/api/v1/tokens/viewer-bot", "", http.StatusNoContent},
		{"viewer", http.MethodGet, "/api/v1/members/1001", "", http.StatusUnauthorized}, // revoked
	} {
		rec := send(h, secrets[tc.role], tc.method, tc.path, tc.body)
		if rec.Code != tc.want {
			t.Errorf("%s %s %s = %d %s, want %d", tc.role, tc.method, tc.path, rec.Code, rec.Body, tc.want)
		}
	}
	// Listed without secrets or hashes; the store keeps only SHA-256.
	list := send(h, testAdminToken, http.MethodGet, "/api/v1/tokens", "").Body.String()
	for _, s := range secrets {
		if strings.Contains(list, s) {
			t.Errorf("a token list shows a secret: %s", list)
		}
	}
	// Every change is audited by the token's name.
	entries, err := store.Entries(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Actor == "editor-bot" && e.Action == "PUT /api/v1/members/{memberID}/pin" && e.Target == "memberID=1001" && e.Status == http.StatusOK {
			found = true
		}
		if strings.Contains(e.Target, "2580") {
			t.Errorf("audit carries a PIN: %+v", e)
		}
	}
	if !found {
		t.Errorf("the editor's PIN change is not audited: %+v", entries)
	}
}

func TestAdminRateLimit(t *testing.T) {
	h, _ := tokenServer(t, Config{AdminRate: 0.001, AdminBurst: 3})
	codes := []int{}
	for range 5 {
		rec := send(h, testAdminToken, http.MethodGet, "/api/v1/tokens", "")
		codes = append(codes, rec.Code)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	want := []int{200, 200, 200, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes = %v, want %v", codes, want)
		}
	}
}

func TestRequiredRole(t *testing.T) {
	roles := map[string]string{}
	for _, rt := range New(Config{}, Deps{}).table() {
		roles[rt.method+" "+Prefix+rt.path] = rt.role
	}
	for _, tc := range []struct{ method, route, want string }{
		{http.MethodGet, "/api/v1/flows/{flowID}", auth.RoleViewer},
		{http.MethodGet, "/api/v1/members", auth.RoleViewer},
		{http.MethodPut, "/api/v1/flows/{flowID}", auth.RoleEditor},
		{http.MethodPost, "/api/v1/flows/{flowID}/simulate", auth.RoleEditor},
		{http.MethodDelete, "/api/v1/members/{memberID}/consents/{phone}", auth.RoleEditor},
		{http.MethodPost, "/api/v1/flows/{flowID}/publish", auth.RolePublisher},
		{http.MethodPost, "/api/v1/flows/{flowID}/rollback", auth.RolePublisher},
		{http.MethodPut, "/api/v1/bindings", auth.RolePublisher},
		{http.MethodGet, "/api/v1/tokens", auth.RoleAdmin},
		{http.MethodGet, "/api/v1/actions", auth.RoleAdmin},
		{http.MethodGet, "/api/v1/connections", auth.RoleAdmin},
		{http.MethodPut, "/api/v1/connections/{connectionID}", auth.RoleAdmin},
		{http.MethodGet, "/api/v1/connections/{connectionID}", auth.RoleAdmin},
	} {
		if got := roles[tc.method+" "+tc.route]; got != tc.want {
			t.Errorf("%s %s needs %s, want %s", tc.method, tc.route, got, tc.want)
		}
	}
}

// The audit records what the probe found missing: a new token's name and role, a
// member's export (a read of everything about them), and refused attempts.
func TestAuditRecordsTokensExportsAndRefusals(t *testing.T) {
	h, store := tokenServer(t, Config{})
	send(h, testAdminToken, http.MethodPut, "/api/v1/members/1001",
		`{"first_name":"Dana","last_name":"Whitfield","phones":["+14045550123"]}`)
	rec := send(h, testAdminToken, http.MethodPost, "/api/v1/tokens", `{"name":"viewer-bot","role":"viewer"}`)
	var made struct{ Secret string }
	if err := json.Unmarshal(rec.Body.Bytes(), &made); err != nil || made.Secret == "" {
		t.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	if rec := send(h, testAdminToken, http.MethodGet, "/api/v1/members/1001/export", ""); rec.Code != http.StatusOK {
		t.Fatalf("export = %d", rec.Code)
	}
	if rec := send(h, made.Secret, http.MethodDelete, "/api/v1/members/1001", ""); rec.Code != http.StatusForbidden {
		t.Fatalf("a viewer deleting a member = %d", rec.Code)
	}
	if rec := send(h, made.Secret, http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`); rec.Code != http.StatusForbidden {
		t.Fatalf("a viewer setting a PIN = %d", rec.Code)
	}
	entries, err := store.Entries(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s [%s] %d", e.Actor, e.Action, e.Target, e.Status))
	}
	for _, want := range []string{
		"ADMIN_TOKEN POST /api/v1/tokens [name=viewer-bot role=viewer] 201",
		"ADMIN_TOKEN GET /api/v1/members/{memberID}/export [memberID=1001] 200",
		"viewer-bot DELETE /api/v1/members/{memberID} [memberID=1001] 403",
		"viewer-bot PUT /api/v1/members/{memberID}/pin [memberID=1001] 403",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no audit entry %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}
