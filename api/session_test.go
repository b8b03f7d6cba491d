package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/internal/testsupport/oidcop"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/sso"
)

// The admin API with sign-in through a real OpenID provider (internal/testsupport/oidcop): a console
// session admits requests with its role, needs its CSRF token to change anything and may
// not come from another site; bearer tokens work as before; the audit names the person.
func TestConsoleSessions(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("lookup+admin", lookup.Migrations, auth.Migrations), testenv.All(lookup.Migrate, auth.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	op, err := oidcop.Start("127.0.0.1:0", oidcop.Config{ClientID: "memberline", ClientSecret: "client-secret-0123456789",
		RedirectURIs: []string{base + sso.CallbackPath}, PostLogoutURIs: []string{base + "/admin/"},
		Users: []oidcop.User{{ID: "u-eli", Username: "eli", Password: "eli-password", Email: "eli@example.com", Name: "Eli Editor", Groups: []string{"cc-editors"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Close() })
	signIn, err := sso.New(context.Background(), sso.Config{Issuer: op.Issuer, ClientID: "memberline", ClientSecret: "client-secret-0123456789",
		RedirectURL: base + sso.CallbackPath, ConsoleURL: base + "/admin/", RoleMap: map[string]string{"cc-editors": auth.RoleEditor},
		IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour}, rdb, prefix)
	if err != nil {
		t.Fatal(err)
	}
	adminAPI := New(Config{AdminToken: testAdminToken, PublicURL: base, Now: func() time.Time { return testNow }},
		Deps{Resolver: cache, Members: cache, Admin: auth.NewStore(pool), SSO: signIn})
	mux := http.NewServeMux()
	mux.Handle("/admin/auth/", signIn.Handler())
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the console") })
	mux.Handle("/api/v1/", adminAPI)
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	if res, body, err := oidcop.SignIn(browser, base+sso.LoginPath, "eli", "eli-password"); err != nil || body != "the console" {
		t.Fatalf("sign-in: %v %v %q", res, err, body)
	}
	do := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	var me sessionAnswer
	code, body := do(http.MethodGet, "/api/v1/session", "")
	if err := json.Unmarshal([]byte(body), &me); code != http.StatusOK || err != nil || me.Via != "oidc" || me.Role != "editor" || me.Email != "eli@example.com" || me.CSRF == "" || me.Expires == nil {
		t.Fatalf("session = %d %s", code, body)
	}
	member := `{"first_name":"Ivy","last_name":"Stone","tier":"Gold","language":"en-US","time_zone":"America/New_York","phones":["+14045550188"]}`
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
		field  string
	}{
		{"without the CSRF token", nil, http.StatusForbidden, "X-CSRF-Token"},
		{"with another token", []string{"X-CSRF-Token", me.CSRF + "x"}, http.StatusForbidden, "X-CSRF-Token"},
		{"from another site", []string{"X-CSRF-Token", me.CSRF, "Origin", "https://evil.example"}, http.StatusForbidden, "X-CSRF-Token"},
		{"with its token, from the console", []string{"X-CSRF-Token", me.CSRF, "Origin", base}, http.StatusOK, ""},
	} {
		code, body := do(http.MethodPut, "/api/v1/members/2001", member, tc.hdr...)
		if code != tc.status || (tc.field != "" && !strings.Contains(body, `"field": "`+tc.field+`"`)) {
			t.Errorf("%s: %d %s", tc.name, code, body)
		}
	}
	// The role holds: an editor may not manage tokens.
	if code, body := do(http.MethodPost, "/api/v1/tokens", `{"name":"bot","role":"viewer"}`, "X-CSRF-Token", me.CSRF); code != http.StatusForbidden || !strings.Contains(body, "needs admin") {
		t.Errorf("an editor creating a token: %d %s", code, body)
	}
	// A bearer token needs no CSRF token (automation has no session to forge).
	if rec := send(adminAPI, testAdminToken, http.MethodPut, "/api/v1/members/2002", strings.Replace(member, "0188", "0189", 1)); rec.Code != http.StatusOK {
		t.Errorf("a bearer token's change = %d %s", rec.Code, rec.Body)
	}
	// The audit names the person: the provider's subject and the email.
	rec := send(adminAPI, testAdminToken, http.MethodGet, "/api/v1/actions", "")
	if !strings.Contains(rec.Body.String(), `"actor": "oidc:u-eli (eli@example.com)"`) || !strings.Contains(rec.Body.String(), `"actor": "ADMIN_TOKEN"`) {
		t.Errorf("audit: %s", rec.Body)
	}
	// Sign-out ends the session and sends the browser on to the provider's sign-out.
	code, body = do(http.MethodDelete, "/api/v1/session", "", "X-CSRF-Token", me.CSRF)
	var out struct{ Next string }
	if err := json.Unmarshal([]byte(body), &out); code != http.StatusOK || err != nil || !strings.HasPrefix(out.Next, op.Issuer) || !strings.Contains(out.Next, "id_token_hint=") {
		t.Errorf("sign-out = %d %s", code, body)
	}
	if code, body := do(http.MethodGet, "/api/v1/session", ""); code != http.StatusUnauthorized || !strings.Contains(body, "sign in to the console") {
		t.Errorf("after sign-out: %d %s", code, body)
	}
}
