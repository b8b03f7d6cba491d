package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
)

func TestMemberAPI(t *testing.T) {
	h := newSharedRedisHarness(t)
	const dana = `{"first_name":"Dana","last_name":"Whitfield","tier":"Diamond","language":"en-US","time_zone":"America/New_York","phones":["+14045550123","(404) 555-0199"]}`
	for _, tc := range []struct {
		name, method, path, body string
		auth                     string
		status                   int
		field                    string // the field a 4xx must name
		contains                 string
	}{
		{name: "no token", method: "GET", path: "/api/v1/members/1001", auth: "-", status: 401},
		{name: "wrong token", method: "GET", path: "/api/v1/members/1001", auth: "Bearer nope", status: 401},
		{name: "not bearer", method: "GET", path: "/api/v1/members/1001", auth: "Basic " + testAdminToken, status: 401},
		{name: "create", method: "PUT", path: "/api/v1/members/1001", body: dana, status: 200, contains: `"+14045550199"`},
		{name: "get", method: "GET", path: "/api/v1/members/1001", status: 200, contains: `"first_name": "Dana"`},
		{name: "replace", method: "PUT", path: "/api/v1/members/1001", body: strings.Replace(dana, "Diamond", "Platinum", 1), status: 200, contains: `"tier": "Platinum"`},
		{name: "missing first name", method: "PUT", path: "/api/v1/members/1009", body: `{"phones":["+14045550123"]}`, status: 422, field: "first_name"},
		{name: "no phones", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":"X","phones":[]}`, status: 422, field: "phones"},
		{name: "bad phone", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":"X","phones":["+14045550123","not a phone"]}`, status: 422, field: "phones[1]"},
		{name: "bad language", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":"X","language":"xx-!!","phones":["+14045550123"]}`, status: 422, field: "language"},
		{name: "bad time zone", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":"X","time_zone":"Mars/Olympus","phones":["+14045550123"]}`, status: 422, field: "time_zone"},
		{name: "malformed json", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":`, status: 400},
		{name: "wrong type", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":7,"phones":["+14045550123"]}`, status: 422, field: "first_name"},
		{name: "unknown field", method: "PUT", path: "/api/v1/members/1009", body: `{"first_name":"X","phonez":[]}`, status: 400, field: "phonez"},
		{name: "id mismatch", method: "PUT", path: "/api/v1/members/1009", body: `{"id":"1010","first_name":"X","phones":["+14045550123"]}`, status: 422, field: "id"},
		{name: "bad member id", method: "PUT", path: "/api/v1/members/-x", body: dana, status: 422, field: "memberID"},
		{name: "get unknown", method: "GET", path: "/api/v1/members/4040", status: 404},
		{name: "activity", method: "PUT", path: "/api/v1/members/1001/activities/t1", body: `{"kind":"trip","summary":"Flight DL1234 to Atlanta","place":"Atlanta","starts_at":"2026-11-27T14:05:00-05:00","ends_at":"2026-11-27T16:30:00-05:00","status":"confirmed","reference":"HX7Q2P"}`, status: 200, contains: `"2026-11-27T14:05:00-05:00"`},
		{name: "activity bad time", method: "PUT", path: "/api/v1/members/1001/activities/t2", body: `{"kind":"trip","starts_at":"tomorrow"}`, status: 422, field: "starts_at"},
		{name: "activity unknown member", method: "PUT", path: "/api/v1/members/4040/activities/t1", body: `{"kind":"trip","starts_at":"2026-11-27T14:05:00-05:00"}`, status: 404},
		{name: "lookup", method: "GET", path: "/api/v1/lookup?phone=(404)%20555-0123", status: 200, contains: `"relation": "upcoming"`},
		{name: "lookup unknown", method: "GET", path: "/api/v1/lookup?phone=%2B12125550000", status: 200, contains: `"members": []`},
		{name: "lookup bad phone", method: "GET", path: "/api/v1/lookup?phone=abc", status: 422, field: "phone"},
		{name: "delete activity", method: "DELETE", path: "/api/v1/members/1001/activities/t1", status: 204},
		{name: "delete activity again", method: "DELETE", path: "/api/v1/members/1001/activities/t1", status: 404},
		{name: "delete", method: "DELETE", path: "/api/v1/members/1001", status: 204},
		{name: "get deleted", method: "GET", path: "/api/v1/members/1001", status: 404},
		{name: "delete deleted", method: "DELETE", path: "/api/v1/members/1001", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			switch tc.auth {
			case "":
				req.Header.Set("Authorization", "Bearer "+testAdminToken)
			case "-":
			default:
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, rec.Code, rec.Body, tc.status)
			}
			if tc.status >= 400 {
				var e struct {
					Error apiError `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
					t.Fatalf("error body %q is not a JSON error", rec.Body)
				}
				if e.Error.Field != tc.field {
					t.Fatalf("error names field %q, want %q (%s)", e.Error.Field, tc.field, e.Error.Message)
				}
			}
			if !strings.Contains(rec.Body.String(), tc.contains) {
				t.Fatalf("body %s lacks %s", rec.Body, tc.contains)
			}
		})
	}
}

func TestWriteThenCallHearsNewData(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	if said := twiliotest.Spoken(t, h.Call("+14045550123")[0]); !strings.Contains(said, "Dana") {
		t.Fatalf("before the update: %q", said)
	}
	// The first call cached the number; the update must evict it before it returns.
	h.mustAPI(http.MethodPut, "/api/v1/members/1001", `{"first_name":"Danielle","tier":"Diamond","time_zone":"America/New_York","phones":["+14045550123"]}`)
	if said := twiliotest.Spoken(t, h.Call("+14045550123")[0]); !strings.Contains(said, "Welcome back, Danielle.") {
		t.Fatalf("after the update the caller hears %q", said)
	}
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/activities/t1", `{"kind":"trip","place":"Denver","starts_at":"2026-11-27T14:05:00-05:00","reference":"HX7Q2P"}`)
	if said := twiliotest.Spoken(t, h.Call("+14045550123")[0]); !strings.Contains(said, "Denver") {
		t.Fatalf("after the activity update the caller hears %q", said)
	}
	// A number moved to another member stops greeting the old one.
	h.mustAPI(http.MethodPut, "/api/v1/members/1001", `{"first_name":"Danielle","phones":["+14045550124"]}`)
	if said := twiliotest.Spoken(t, h.Call("+14045550123")[0]); strings.Contains(said, "Danielle") {
		t.Fatalf("a number no longer the member's still greets them: %q", said)
	}
	h.mustAPI(http.MethodDelete, "/api/v1/members/1001", "")
	if said := twiliotest.Spoken(t, h.Call("+14045550124")[0]); strings.Contains(said, "Danielle") {
		t.Fatalf("a deleted member is still greeted: %q", said)
	}
}

func TestRedisDownStillGreets(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	h := newHarness(t, rdb, "ml:", func(st *stack) { st.edge.LookupTimeout = 2 * time.Second })
	h.seedMembers()
	srv.Stop()
	said := twiliotest.Spoken(t, h.Call("+14045550123")[0])
	if !strings.Contains(said, "Welcome back, Dana.") {
		t.Fatalf("with Redis down the caller hears %q; want the greeting from PostgreSQL", said)
	}
	// The lookup API answers too.
	if code, body := h.api(http.MethodGet, "/api/v1/lookup?phone=%2B14045550123", ""); code != 200 || !strings.Contains(body, "Dana") {
		t.Fatalf("lookup with Redis down = %d %s", code, body)
	}
}

// TestErrorsSpeakToUsers: error messages name the field and what was expected in JSON's
// words; never a Go type or the package that refused.
func TestErrorsSpeakToUsers(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field, says              string
	}{
		{"an array for a member", http.MethodPut, "/api/v1/members/1009", `[1]`, 422, "", "the body must be a JSON object, not a JSON array"},
		{"a number for a name", http.MethodPut, "/api/v1/members/1009", `{"first_name":7}`, 422, "first_name", "first_name must be a string, not a JSON number"},
		{"a string for the phones", http.MethodPut, "/api/v1/members/1009", `{"first_name":"X","phones":"+14045550123"}`, 422, "phones", "phones must be a JSON array, not a JSON string"},
		{"text for a PIN", http.MethodPut, "/api/v1/members/1001/pin", `{"pin":2580}`, 422, "pin", "pin must be a string, not a JSON number"},
		{"an unknown member", http.MethodGet, "/api/v1/members/4040", "", 404, "", `member "4040"`},
		{"an unknown activity", http.MethodDelete, "/api/v1/members/1001/activities/t9", "", 404, "", "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.api(tc.method, tc.path, tc.body)
			var e struct {
				Error apiError `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || code != tc.status {
				t.Fatalf("%s %s = %d %s, want %d and a JSON error", tc.method, tc.path, code, body, tc.status)
			}
			if e.Error.Field != tc.field || !strings.Contains(e.Error.Message, tc.says) {
				t.Errorf("error %+v, want field %q and a message saying %q", e.Error, tc.field, tc.says)
			}
			for _, goWord := range []string{"lookup", "ivr.", "api.", "struct {", "int64", "flows:", "json:"} {
				if strings.Contains(e.Error.Message, goWord) {
					t.Errorf("message %q names %q", e.Error.Message, goWord)
				}
			}
		})
	}
}
