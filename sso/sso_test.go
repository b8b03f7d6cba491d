package sso

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/testsupport/oidcop"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// A real OpenID provider (zitadel's OP, internal/testsupport/oidcop) on loopback, and the service's
// sign-in in front of it; a browser is an http.Client with a cookie jar that fills in the
// provider's login form.

var users = []oidcop.User{
	{ID: "u-ana", Username: "ana", Password: "ana-password", Email: "ana@example.com", Name: "Ana Admin", Groups: []string{"cc-all", "cc-admins"}},
	{ID: "u-eli", Username: "eli", Password: "eli-password", Email: "eli@example.com", Name: "Eli Editor", Groups: []string{"cc-editors", "cc-all"}},
	{ID: "u-nog", Username: "nog", Password: "nog-password", Email: "nog@example.com", Name: "No Group", Groups: []string{"marketing"}},
}

type rp struct {
	t     *testing.T
	sso   *SSO
	srv   *httptest.Server
	rdb   *redis.Client
	clock *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newRP starts a provider and n service instances sharing one Redis, as a deployment does.
func newRP(t *testing.T, n int) []*rp {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	clk := &clock{t: time.Now()}
	var rps []*rp
	var urls []string
	for i := 0; i < n; i++ {
		srv := httptest.NewUnstartedServer(nil)
		urls = append(urls, "http://"+srv.Listener.Addr().String())
		rps = append(rps, &rp{t: t, srv: srv, rdb: rdb, clock: clk})
	}
	var redirects []string
	for _, u := range urls {
		redirects = append(redirects, u+CallbackPath)
	}
	op, err := oidcop.Start("127.0.0.1:0", oidcop.Config{ClientID: "memberline", ClientSecret: "client-secret-0123456789",
		RedirectURIs: redirects, PostLogoutURIs: []string{urls[0] + "/admin/"}, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Close() })
	for i, r := range rps {
		s, err := New(context.Background(), Config{
			Issuer: op.Issuer, ClientID: "memberline", ClientSecret: "client-secret-0123456789",
			RedirectURL: urls[i] + CallbackPath, ConsoleURL: urls[0] + "/admin/",
			RoleMap:     map[string]string{"cc-admins": "admin", "cc-publishers": "publisher", "cc-editors": "editor", "cc-all": "viewer"},
			IdleTimeout: 30 * time.Minute, MaxAge: 12 * time.Hour, Now: clk.Now,
		}, rdb, prefix)
		if err != nil {
			t.Fatal(err)
		}
		r.sso = s
		mux := http.NewServeMux()
		mux.Handle("/admin/auth/", s.Handler())
		mux.HandleFunc("/admin/", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "the console") })
		mux.HandleFunc("GET /api/v1/me", func(w http.ResponseWriter, r *http.Request) {
			sess, err := s.Session(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			_ = json.NewEncoder(w).Encode(sess)
		})
		r.srv.Config.Handler = mux
		r.srv.Start()
		t.Cleanup(r.srv.Close)
	}
	return rps
}

type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// signIn goes through the provider's login page as user; it answers the last response.
func (b *browser) signIn(base, user, password string) (*http.Response, string) {
	b.t.Helper()
	res, body, err := oidcop.SignIn(b.c, base+LoginPath, user, password)
	if err != nil {
		b.t.Fatal(err)
	}
	return res, body
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *browser) me(base string) (Session, int) {
	b.t.Helper()
	res, body := b.get(base + "/api/v1/me")
	var s Session
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			b.t.Fatal(err)
		}
	}
	return s, res.StatusCode
}

func TestSignInMapsGroupsToRoles(t *testing.T) {
	r := newRP(t, 1)[0]
	base := r.srv.URL
	for _, tc := range []struct{ user, password, role string }{{"ana", "ana-password", "admin"}, {"eli", "eli-password", "editor"}} {
		b := newBrowser(t)
		res, body := b.signIn(base, tc.user, tc.password)
		if res.StatusCode != http.StatusOK || body != "the console" {
			t.Fatalf("%s: sign-in ended at %s with %d %q", tc.user, res.Request.URL, res.StatusCode, body)
		}
		s, code := b.me(base)
		if code != http.StatusOK || s.Role != tc.role || s.Email != tc.user+"@example.com" || s.Subject != "u-"+tc.user || s.CSRF == "" {
			t.Errorf("%s: session %d %+v", tc.user, code, s)
		}
		// The cookie: HttpOnly, SameSite=Lax, sent to the API only.
		for _, c := range res.Request.Response.Cookies() {
			if c.Name == SessionCookie && (!c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != cookiePath) {
				t.Errorf("session cookie %+v", c)
			}
		}
	}
	// A user in no mapped group is refused, with a page that says why.
	b := newBrowser(t)
	res, body := b.signIn(base, "nog", "nog-password")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "nog@example.com") || !strings.Contains(body, "marketing") || !strings.Contains(body, "OIDC_ROLE_MAP") {
		t.Errorf("no mapped group: %d %s", res.StatusCode, body)
	}
	if _, code := b.me(base); code != http.StatusUnauthorized {
		t.Errorf("a refused user has a session: %d", code)
	}
}

// stopAtCallback makes b stop at the provider's redirect to the callback and answers it.
func stopAtCallback(b *browser, base, user, password string) *url.URL {
	b.t.Helper()
	var cb *url.URL
	b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), base+CallbackPath) {
			cb = req.URL
			return http.ErrUseLastResponse
		}
		return nil
	}
	b.signIn(base, user, password)
	b.c.CheckRedirect = nil
	if cb == nil {
		b.t.Fatal("the provider did not send the browser to the callback")
	}
	return cb
}

func TestCallbackRefusesWhatIsNotThisSignIn(t *testing.T) {
	r := newRP(t, 1)[0]
	base := r.srv.URL
	t.Run("tampered state", func(t *testing.T) {
		b := newBrowser(t)
		cb := stopAtCallback(b, base, "ana", "ana-password")
		q := cb.Query()
		q.Set("state", q.Get("state")+"x")
		cb.RawQuery = q.Encode()
		res, body := b.get(cb.String())
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not yours") {
			t.Errorf("%d %s", res.StatusCode, body)
		}
		if _, code := b.me(base); code != http.StatusUnauthorized {
			t.Errorf("signed in after a tampered state")
		}
	})
	t.Run("another browser's callback", func(t *testing.T) {
		cb := stopAtCallback(newBrowser(t), base, "ana", "ana-password")
		other := newBrowser(t)
		if res, body := other.get(cb.String()); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not yours") {
			t.Errorf("%d %s", res.StatusCode, body)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := newBrowser(t)
		cb := stopAtCallback(b, base, "ana", "ana-password")
		jarCookies := b.c.Jar.Cookies(cb) // the state cookie, to send again
		if res, _ := b.get(cb.String()); res.StatusCode != http.StatusOK {
			t.Fatalf("first use: %d", res.StatusCode)
		}
		b.c.Jar.SetCookies(cb, jarCookies)
		if res, body := b.get(cb.String()); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "used already") {
			t.Errorf("replayed: %d %s", res.StatusCode, body)
		}
	})
	t.Run("wrong nonce", func(t *testing.T) {
		b := newBrowser(t)
		cb := stopAtCallback(b, base, "ana", "ana-password")
		// The pending sign-in now expects another nonce than the one the provider signed.
		key := r.sso.key("signin", cb.Query().Get("state"))
		var p pending
		raw, err := r.rdb.Get(context.Background(), key).Bytes()
		if err != nil || json.Unmarshal(raw, &p) != nil {
			t.Fatal(err)
		}
		p.Nonce = "another-sign-ins-nonce"
		raw, _ = json.Marshal(p)
		r.rdb.Set(context.Background(), key, raw, time.Minute)
		if res, body := b.get(cb.String()); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "nonce") {
			t.Errorf("%d %s", res.StatusCode, body)
		}
		if _, code := b.me(base); code != http.StatusUnauthorized {
			t.Errorf("signed in with a wrong nonce")
		}
	})
	t.Run("expired sign-in", func(t *testing.T) {
		b := newBrowser(t)
		cb := stopAtCallback(b, base, "ana", "ana-password")
		r.rdb.Del(context.Background(), r.sso.key("signin", cb.Query().Get("state"))) // as Redis does after authTTL
		if res, body := b.get(cb.String()); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
			t.Errorf("%d %s", res.StatusCode, body)
		}
	})
}

func TestSessionsExpireAndAreShared(t *testing.T) {
	rps := newRP(t, 2)
	one, two := rps[0].srv.URL, rps[1].srv.URL
	b := newBrowser(t)
	b.signIn(one, "eli", "eli-password")
	s1, code := b.me(one)
	if code != http.StatusOK {
		t.Fatalf("signed in: %d", code)
	}
	// The other instance knows the session: the cookie is the same on its host.
	u1, _ := url.Parse(one)
	u2, _ := url.Parse(two + cookiePath)
	b.c.Jar.SetCookies(u2, b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: u1.Host, Path: cookiePath + "/"}))
	if s2, code := b.me(two); code != http.StatusOK || s2.Subject != s1.Subject || s2.CSRF != s1.CSRF {
		t.Errorf("the second instance: %d %+v", code, s2)
	}
	// Idle: used within 30 minutes it lives on; 31 minutes unused ends it.
	rps[0].clock.add(29 * time.Minute)
	if _, code := b.me(one); code != http.StatusOK {
		t.Errorf("after 29 idle minutes: %d", code)
	}
	rps[0].clock.add(31 * time.Minute)
	if _, code := b.me(one); code != http.StatusUnauthorized {
		t.Errorf("after 31 idle minutes: %d", code)
	}
	// Absolute: a session used every 20 minutes still ends after 12 hours.
	b = newBrowser(t)
	b.signIn(one, "ana", "ana-password")
	for i := 0; i < 35; i++ {
		rps[0].clock.add(20 * time.Minute)
		if _, code := b.me(one); code != http.StatusOK {
			t.Fatalf("after %v: %d", time.Duration(i+1)*20*time.Minute, code)
		}
	}
	rps[0].clock.add(20 * time.Minute) // 12 h 0 min
	if _, code := b.me(one); code != http.StatusUnauthorized {
		t.Errorf("after 12 hours: %d", code)
	}
}

func TestLogoutEndsTheSessionAndTheProvider(t *testing.T) {
	r := newRP(t, 1)[0]
	b := newBrowser(t)
	b.signIn(r.srv.URL, "ana", "ana-password")
	req := httptest.NewRequest(http.MethodGet, r.srv.URL+"/api/v1/me", nil)
	for _, c := range b.c.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(r.srv.URL, "http://"), Path: cookiePath + "/"}) {
		req.AddCookie(c)
	}
	sess, err := r.sso.Session(req)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	next, err := r.sso.Logout(w, req, sess)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(next, "/end_session?") || !strings.Contains(next, "id_token_hint=") || !strings.Contains(next, "post_logout_redirect_uri="+url.QueryEscape(r.srv.URL+"/admin/")) {
		t.Errorf("logout goes to %s", next)
	}
	if _, err := r.sso.Session(req); !errors.Is(err, ErrNoSession) {
		t.Errorf("the session lives on: %v", err)
	}
	// The provider ends its own session and sends the browser back to the console.
	res, body := b.get(next)
	if res.StatusCode != http.StatusOK || body != "the console" {
		t.Errorf("the provider's logout: %d at %s %q", res.StatusCode, res.Request.URL, body)
	}
}

func TestUnreachableIssuerIsAClearError(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there now
	// An issuer that takes the connection and never answers: the client's timeout ends
	// the wait (were it to hang, so would this test).
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	for _, issuer := range []string{closed.URL, "http://" + silent.Addr().String()} {
		_, err := New(context.Background(), Config{Issuer: issuer, ClientID: "x", HTTPClient: &http.Client{Timeout: time.Second}}, rdb, prefix)
		if err == nil || !strings.Contains(err.Error(), "OIDC_ISSUER "+issuer) || !strings.Contains(err.Error(), "discovery document") {
			t.Errorf("%s: err = %v", issuer, err)
		}
	}
}

// Anonymous sign-in starts cannot grow Redis without bound: past the limits (per client
// address, and in all) a start is refused with 429 and keeps nothing.
func TestSignInStartsAreLimited(t *testing.T) {
	r := newRP(t, 1)[0]
	codes := map[int]int{}
	for range 300 {
		req := httptest.NewRequest(http.MethodGet, LoginPath, nil)
		req.RemoteAddr = "203.0.113.9:50000"
		rec := httptest.NewRecorder()
		r.sso.Handler().ServeHTTP(rec, req)
		codes[rec.Code]++
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Fatal("a refused start has no Retry-After")
		}
	}
	if codes[http.StatusFound] > loginBurstPerAddr+5 || codes[http.StatusTooManyRequests] == 0 {
		t.Errorf("300 starts from one address: %v, want at most about %d let through", codes, loginBurstPerAddr)
	}
	keys, err := r.rdb.Keys(context.Background(), r.sso.prefix+"sso:signin:*").Result()
	if err != nil || len(keys) != codes[http.StatusFound] {
		t.Errorf("%d pending sign-ins kept in Redis (%v) for %d starts let through", len(keys), err, codes[http.StatusFound])
	}
	// Another address is not refused for that one's starts.
	req := httptest.NewRequest(http.MethodGet, LoginPath, nil)
	req.RemoteAddr = "203.0.113.10:50000"
	rec := httptest.NewRecorder()
	r.sso.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusFound {
		t.Errorf("another address = %d, want a redirect to the provider", rec.Code)
	}
}
