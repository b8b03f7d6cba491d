package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

// The admin API as an attacker or a careless client would use it, one test a finding.

// A tier and an activity reference written as formulas come out of the CSV as text.
func TestCSVNeutralizesFormulas(t *testing.T) {
	o := newObserved(t)
	o.mustAPI(http.MethodPut, "/api/v1/members/2001", `{"first_name":"Eve","tier":"=HYPERLINK(\"http://ev.il\",\"x\")","phones":["+14045550177"]}`)
	o.mustAPI(http.MethodPut, "/api/v1/members/2001/activities/t1", `{"kind":"trip","starts_at":"2026-11-28T10:00:00-05:00","reference":"=cmd|' /C calc'!A0"}`)
	o.placeCall("CAeve", "+14045550177")
	if err := o.records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	csv := o.mustAPI(http.MethodGet, "/api/v1/reports/members?format=csv&min_calls=1", "")
	for _, want := range []string{`"'=HYPERLINK(""http://ev.il"",""x"")"`, `'=cmd|' /C calc'!A0`} {
		if !strings.Contains(csv, want) {
			t.Errorf("CSV lacks the neutralized cell %s:\n%s", want, csv)
		}
	}
	for _, line := range strings.Split(csv, "\n") {
		for _, cell := range strings.Split(line, ",") {
			if c := strings.TrimPrefix(cell, `"`); c != "" && strings.ContainsRune("=+@\t\r", rune(c[0])) {
				t.Errorf("a cell starts a formula: %q", cell)
			}
		}
	}
	if got, want := safeCell("-5"), "'-5"; got != want {
		t.Errorf("safeCell(-5) = %q, want %q", got, want)
	}
}

// A path a router would clean is refused, never redirected to another resource: a client
// that follows redirects would delete the member.
func TestCleanedPathsNeverRedirect(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	for _, path := range []string{
		"/api/v1/members/1001/activities/%2e%2e",
		"/api/v1/members/1001/activities/..%2F",
		"/api/v1/members/1001/activities/..",
		"/api/v1/members%2F1001",
		"/api/v1/members/1001/activities/t1/../..",
		"/api/v1//members/1001",
	} {
		rec := h.send(http.MethodDelete, path, "", "")
		if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
			t.Errorf("DELETE %s = %d (Location %q), want 404 and no redirect", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	if code, body := h.api(http.MethodGet, "/api/v1/members/1001", ""); code != http.StatusOK {
		t.Fatalf("the member is gone: %d %s", code, body)
	}
	if code, _ := h.api(http.MethodGet, "/api/v1/members/1001/activities/t1", ""); code == http.StatusOK {
		t.Fatal("no GET route for an activity was expected") // the table has none; keeps the test honest
	}
}

// The per-token rate limit is keyed by the token: a client cannot spread its requests over
// made-up actor names, nor spend another token's budget by using its name.
func TestRateLimitKeyedByToken(t *testing.T) {
	h, store := tokenServer(t, Config{AdminRate: 0.001, AdminBurst: 3})
	_, secret, err := store.Create(context.Background(), "editor-bot", auth.RoleEditor, "test")
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for i := range 5 {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/members/1001", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		req.Header.Set(ActorHeader, "actor-"+strings.Repeat("x", i)) // a new name each time
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[3] != http.StatusTooManyRequests || codes[4] != http.StatusTooManyRequests {
		t.Errorf("five requests under five actor names: %v, want the 4th and 5th refused", codes)
	}
	// The bootstrap token sent as "editor-bot" spent its own budget, not the editor's.
	if rec := send(h, secret, http.MethodGet, "/api/v1/members/1001", ""); rec.Code == http.StatusTooManyRequests {
		t.Errorf("editor-bot's first request = 429: another token's requests spent its budget")
	}
	// The audit names the token, with the display name beside it.
	req := httptest.NewRequest(http.MethodPut, "/api/v1/members/1001", strings.NewReader(`{"first_name":"Dana","phones":["+14045550123"]}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set(ActorHeader, "Mallory")
	h.ServeHTTP(httptest.NewRecorder(), req)
	entries, err := store.Entries(context.Background(), 10)
	if err != nil || len(entries) == 0 || entries[0].Actor != "editor-bot (Mallory)" {
		t.Errorf("audit = %+v, %v; want the token's name with the display name beside it", entries, err)
	}
}

func randomSecret(t *testing.T, prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)[:n]
}

// Failed sign-ins are limited per address and cost no database round trip when the
// secret cannot be a token or was refused a moment ago.
func TestFailedSignInsAreCheapAndLimited(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("lookup+admin", lookup.Migrations, auth.Migrations), testenv.All(lookup.Migrate, auth.Migrate))
	store := auth.NewStore(pool)
	h := New(Config{AdminToken: testAdminToken}, Deps{Admin: store})
	try := func(secret, addr string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/calls", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.RemoteAddr = addr + ":40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	wellFormed := "mlt_" + strings.Repeat("A", 43)
	if code := try(wellFormed, "192.0.2.1"); code != http.StatusUnauthorized {
		t.Fatalf("an unknown token = %d, want 401", code)
	}
	pool.Close() // from now on, a look-up would fail (503)
	for _, secret := range []string{wellFormed, "not-a-token", randomSecret(t, "mlt_", 10)} {
		if code := try(secret, "192.0.2.2"); code != http.StatusUnauthorized {
			t.Errorf("secret %q = %d, want 401 without a database round trip", secret, code)
		}
	}
	// One address making many attempts is refused before it gets to try them all.
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				code := try(randomSecret(t, "", 20), "192.0.2.3")
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusUnauthorized] > failureBurst+2 {
		t.Errorf("60 failed sign-ins from one address: %v, want most refused with 429", codes)
	}
	if code := try(testAdminToken, "192.0.2.4"); code != http.StatusOK && code != http.StatusNotImplemented && code != http.StatusNotFound {
		t.Errorf("another address with the right token = %d", code)
	}
}

// The admin API serves at most MaxInFlight requests at once; the others wait, then 503.
// Slow writes (a body sent slowly) take at most MaxInFlight-1 places: a read still gets in.
func TestAdminRequestsInFlightAreCapped(t *testing.T) {
	h := newSharedRedisHarness(t, func(st *stack) { st.api.MaxInFlight, st.api.QueueTimeout = 2, 50*time.Millisecond }).handler
	send := func(method string, body io.Reader) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "/api/v1/members/1001", body)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	body, hold := io.Pipe()
	done := make(chan struct{})
	go func() { defer close(done); send(http.MethodPut, body) }()
	time.Sleep(50 * time.Millisecond) // the slow write holds the one place writes may take
	second := send(http.MethodPut, strings.NewReader(`{}`))
	read := send(http.MethodGet, nil)
	hold.Close()
	<-done
	if second.Code != http.StatusServiceUnavailable || second.Header().Get("Retry-After") != "1" {
		t.Errorf("a second write past the cap = %d (Retry-After %q) %s, want 503 and Retry-After 1",
			second.Code, second.Header().Get("Retry-After"), second.Body)
	}
	if read.Code == http.StatusServiceUnavailable {
		t.Errorf("a read while a slow write holds its place = %d %s, want it served", read.Code, read.Body)
	}
	// With both places held, a read waits, then 503 too.
	b1, h1 := io.Pipe()
	b2, h2 := io.Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); send(http.MethodPut, b1) }()
	time.Sleep(20 * time.Millisecond)
	go func() { defer wg.Done(); send(http.MethodPost, b2) }() // waits for a write place, holding none
	time.Sleep(20 * time.Millisecond)
	if rec := send(http.MethodGet, nil); rec.Code == http.StatusServiceUnavailable {
		t.Errorf("a read with writes queued = %d, want served", rec.Code)
	}
	h1.Close()
	h2.Close()
	wg.Wait()
}

// Wrong tokens from an address never lock out a valid one from it: behind an ingress every
// admin shares the address. Only failures count, and a valid credential is never refused.
func TestWrongTokensDoNotLockOutTheRightOne(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("lookup+admin", lookup.Migrations, auth.Migrations), testenv.All(lookup.Migrate, auth.Migrate))
	store := auth.NewStore(pool)
	_, stored, err := store.Create(context.Background(), "ci", auth.RoleViewer, "test")
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{AdminToken: testAdminToken}, Deps{Admin: store})
	try := func(secret string) int {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/tokens", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		req.RemoteAddr = "198.51.100.7:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	for range failureBurst + 10 {
		try(randomSecret(t, "", 20))
	}
	if code := try(randomSecret(t, "", 20)); code != http.StatusTooManyRequests {
		t.Fatalf("one more wrong token = %d, want 429: the failures are limited", code)
	}
	if code := try(testAdminToken); code != http.StatusOK {
		t.Errorf("the admin token from the same address = %d, want 200", code)
	}
	if code := try(stored); code != http.StatusForbidden {
		t.Errorf("a viewer's token from the same address = %d, want 403 (known, not an admin)", code)
	}
}

// The member API reads JSON as strictly as the flow API.
func TestMemberAPIStrictJSON(t *testing.T) {
	h := newSharedRedisHarness(t)
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		field                   string
	}{
		{"repeated key", "application/json", `{"first_name":"A","first_name":"B","phones":["+14045550123"]}`, 400, "first_name"},
		{"invalid UTF-8", "application/json", "{\"first_name\":\"Zo\xe9\",\"phones\":[\"+14045550123\"]}", 400, "first_name"},
		{"text/plain", "text/plain", `{"first_name":"A","phones":["+14045550123"]}`, 415, "Content-Type"},
		{"form", "application/x-www-form-urlencoded", `{"first_name":"A","phones":["+14045550123"]}`, 415, "Content-Type"},
		{"JSON with a charset", "application/json; charset=utf-8", `{"first_name":"A","phones":["+14045550123"]}`, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.send(http.MethodPut, "/api/v1/members/3001", tc.contentType, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("= %d %s, want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.field != "" {
				var e struct {
					Error apiError `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Field != tc.field {
					t.Errorf("error %s, want it to name %s", rec.Body, tc.field)
				}
			}
		})
	}
	if body := h.mustAPI(http.MethodGet, "/api/v1/members/3001", ""); !strings.Contains(body, `"first_name": "A"`) {
		t.Errorf("member = %s", body)
	}
}

// Without a token, an unknown path is 401 like a real one: the routes cannot be listed.
func TestUnknownRoutesNeedATokenToo(t *testing.T) {
	h := New(Config{AdminToken: testAdminToken}, Deps{})
	for _, path := range []string{"/api/v1/members/1001", "/api/v1/no-such-route", "/api/v1/flows/x/secret", "/api/v1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token = %d, want 401", path, rec.Code)
		}
	}
}
