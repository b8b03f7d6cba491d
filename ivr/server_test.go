package ivr

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testenv"
	"github.com/memberline/memberline/lookup"
)

// Integration tests of the whole edge against the real PostgreSQL and Redis of `make test`.

const (
	testToken      = "12345"
	testAdminToken = "test-admin-token-0123456789"
	testPublicURL  = "https://ivr.example.com"
)

// testNow is a Thursday morning in New York.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))

type harness struct {
	t       *testing.T
	handler http.Handler
	cache   *lookup.Cache
	rdb     redis.UniversalClient
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, rdb redis.UniversalClient, prefix string, opts ...harnessOpt) *harness {
	t.Helper()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	cfg := Config{
		PublicURL:       testPublicURL,
		TwilioAuthToken: testToken,
		AdminToken:      testAdminToken,
		Now:             func() time.Time { return testNow },
	}
	for _, o := range opts {
		o(&cfg)
	}
	pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})
	h := NewServer(cfg, Deps{Resolver: cache, Members: cache, Flow: flows.Default(), PINs: pins})
	return &harness{t: t, handler: h, cache: cache, rdb: rdb}
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

// twilio posts a signed webhook to rawURL (a path with optional query) as Twilio would.
func (h *harness) twilio(rawURL string, form url.Values) (int, string) {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(testToken, testPublicURL+rawURL, form))
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func incoming(from string) url.Values {
	return url.Values{
		"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "AccountSid": {"AC0123456789abcdef0123456789abcdef"},
		"From": {from}, "To": {"+18005550100"}, "CallStatus": {"ringing"}, "Direction": {"inbound"},
		"ApiVersion": {"2010-04-01"}, "StirVerstat": {"TN-Validation-Passed-A"}, "SomethingNew": {"ignored"},
	}
}

// call plays a call: the incoming webhook, then one gather answer per input (a string of
// digits, or words). It returns every TwiML answer.
func (h *harness) call(from string, inputs ...string) []string {
	h.t.Helper()
	code, body := h.twilio("/twilio/voice", incoming(from))
	if code != http.StatusOK {
		h.t.Fatalf("voice webhook = %d %s", code, body)
	}
	out := []string{body}
	for _, in := range inputs {
		action := gatherAction(h.t, body)
		form := incoming(from)
		if in != "" && strings.Trim(in, "0123456789*#") == "" {
			form.Set("Digits", in)
		} else if in != "" {
			form.Set("SpeechResult", in)
			form.Set("Confidence", "0.92")
		}
		code, body = h.twilio(strings.TrimPrefix(action, testPublicURL), form)
		if code != http.StatusOK {
			h.t.Fatalf("gather webhook = %d %s", code, body)
		}
		out = append(out, body)
	}
	return out
}

var actionRE = regexp.MustCompile(`<Gather[^>]* action="([^"]+)"`)

func gatherAction(t *testing.T, twiml string) string {
	t.Helper()
	m := actionRE.FindStringSubmatch(twiml)
	if m == nil {
		t.Fatalf("no <Gather action> in %s", twiml)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// spoken is the text of every <Say>, as a caller would hear it.
func spoken(t *testing.T, twiml string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(twiml))
	var b strings.Builder
	inSay := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("TwiML is not well-formed XML: %v\n%s", err, twiml)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "Say" {
				inSay++
			}
		case xml.EndElement:
			if tok.Name.Local == "Say" {
				inSay--
				b.WriteByte(' ')
			}
		case xml.CharData:
			if inSay > 0 {
				b.Write(tok)
			}
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "call_"+name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("TwiML differs from %s (run with -update to accept):\n got: %s\nwant: %s", path, got, want)
	}
}

// seedMembers writes the members the flow tests call.
func (h *harness) seedMembers() {
	h.t.Helper()
	for _, m := range []struct{ id, body string }{
		{"1001", `{"first_name":"Dana","last_name":"Whitfield","tier":"Diamond","language":"en-US","time_zone":"America/New_York","phones":["+14045550123","(404) 555-0199"]}`},
		{"1002", `{"first_name":"Marcus","last_name":"Lee","tier":"Gold","language":"en-US","time_zone":"America/Chicago","phones":["+13125550142"]}`},
		{"1003", `{"first_name":"Lucía","last_name":"Fernández","tier":"Platinum","language":"es-US","time_zone":"America/New_York","phones":["+13055550177"]}`},
		{"1004", `{"first_name":"Tom","last_name":"Becker","tier":"Member","language":"en-US","time_zone":"America/Los_Angeles","phones":["+12065550111"]}`},
		{"1005", `{"first_name":"Sam","last_name":"Ortiz","tier":"Silver","language":"en-US","time_zone":"America/New_York","phones":["+16175550100"]}`},
		{"1006", `{"first_name":"Alex","last_name":"Ortiz","tier":"Member","language":"en-US","time_zone":"America/New_York","phones":["+16175550100"]}`},
		{"1007", `{"first_name":"O'Brien & <Sons> \"Co\"","last_name":"Ltd","tier":"Gold","language":"en-US","time_zone":"America/St_Johns","phones":["+17095550144"]}`},
		{"1008", `{"first_name":"Rosa","last_name":"Diaz","tier":"Silver","language":"en-US","time_zone":"America/New_York","phones":["+19175550123"]}`},
	} {
		h.mustAPI(http.MethodPut, "/api/v1/members/"+m.id, m.body)
	}
	for _, a := range []struct{ member, body string }{
		// Tomorrow (Friday) in New York.
		{"1001", `{"kind":"trip","summary":"Flight DL1234 to Atlanta","place":"Atlanta","starts_at":"2026-11-27T14:05:00-05:00","ends_at":"2026-11-27T16:30:00-05:00","status":"confirmed","reference":"HX7Q2P"}`},
		// A weekday next week, in Chicago.
		{"1002", `{"kind":"trip","summary":"Flight DL88 to Denver","place":"Denver","starts_at":"2026-12-03T09:30:00-06:00","ends_at":"2026-12-03T11:30:00-07:00","status":"confirmed","reference":"K9MZ4T"}`},
		// Ended yesterday.
		{"1003", `{"kind":"trip","summary":"Vuelo DL110 a Madrid","place":"Madrid","starts_at":"2026-11-24T18:00:00-05:00","ends_at":"2026-11-25T08:00:00+01:00","status":"confirmed","reference":"QW3E8R"}`},
		{"1005", `{"kind":"trip","summary":"Flight DL402 to Boston","place":"Boston","starts_at":"2026-11-29T07:15:00-05:00","ends_at":"2026-11-29T09:15:00-05:00","status":"confirmed","reference":"BOS4ME"}`},
		{"1007", `{"kind":"trip","summary":"Charter","place":"St. John's & <Gander>","starts_at":"2026-11-28T11:00:00-03:30","ends_at":"2026-11-28T12:00:00-03:30","status":"confirmed","reference":"OB&S<1>"}`},
		// In progress right now.
		{"1008", `{"kind":"trip","summary":"Flight DL9 to Paris","place":"Paris","starts_at":"2026-11-26T08:00:00-05:00","ends_at":"2026-11-26T21:00:00+01:00","status":"confirmed","reference":"PAR123"}`},
	} {
		h.mustAPI(http.MethodPut, "/api/v1/members/"+a.member+"/activities/t1", a.body)
	}
}

func TestDefaultFlowGolden(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	for _, tc := range []struct {
		name   string
		from   string
		inputs []string
		hear   []string // phrases the last answer must speak
		ends   string   // an element the last answer must contain
	}{
		{"upcoming_tomorrow", "+14045550123", nil, []string{"Welcome back, Dana.", "Diamond", "trip to Atlanta tomorrow", "Press 1 or say yes"}, "<Gather"},
		{"second_number_same_member", "(404) 555-0199", nil, []string{"Welcome back, Dana."}, "<Gather"},
		{"upcoming_next_week", "+13125550142", nil, []string{"Welcome back, Marcus.", "December 3rd"}, "<Gather"},
		{"current_trip", "+19175550123", nil, []string{"Welcome back, Rosa.", "Paris"}, "<Gather"},
		{"recent_trip_spanish", "+13055550177", nil, []string{"Lucía", "Madrid"}, `language="es-US"`},
		{"no_activity_menu", "+12065550111", nil, []string{"Welcome back, Tom.", "For reservations, press 1."}, "<Gather"},
		{"yes_hands_off", "+14045550123", []string{"1"}, nil, "<Dial>"},
		{"yes_by_speech", "+14045550123", []string{"yes please"}, nil, "<Dial>"},
		{"no_goes_to_menu", "+14045550123", []string{"2"}, []string{"For reservations, press 1."}, "<Gather"},
		{"menu_tier", "+14045550123", []string{"2", "3"}, []string{"Diamond"}, "<Hangup/>"},
		{"household_asks_who", "+16175550100", nil, []string{"If this is Sam, press 1.", "If this is Alex, press 2."}, "<Gather"},
		{"household_then_member", "+16175550100", []string{"1"}, []string{"Sam", "Boston"}, "<Gather"},
		{"unknown_number", "+12125550000", nil, []string{"member number"}, "<Gather"},
		{"anonymous", "anonymous", nil, []string{"member number"}, "<Gather"},
		{"empty_from", "", nil, []string{"member number"}, "<Gather"},
		{"unknown_identifies", "+12125550000", []string{"1001"}, []string{"enter your PIN"}, "<Gather"},
		{"unknown_identifies_then_yes", "+12125550000", []string{"1001", "2580", "2", "1"}, nil, "<Dial>"},
		{"unknown_not_found", "+12125550000", []string{"9999"}, []string{"couldn't find"}, "<Gather"},
		{"no_input_reprompts", "+14045550123", []string{""}, []string{"Press 1"}, "<Gather"},
		{"no_input_thrice_hands_off", "+14045550123", []string{"", "", ""}, nil, "<Dial>"},
		{"no_match_reprompts", "+14045550123", []string{"7"}, []string{"Press 1"}, "<Gather"},
		{"escaped_name", "+17095550144", nil, []string{`Welcome back, O'Brien & <Sons> "Co".`}, "<Gather"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := h.call(tc.from, tc.inputs...)
			last := answers[len(answers)-1]
			said := spoken(t, last)
			for _, p := range tc.hear {
				if !strings.Contains(said, p) {
					t.Errorf("caller hears %q; want it to contain %q", said, p)
				}
			}
			if !strings.Contains(last, tc.ends) {
				t.Errorf("TwiML lacks %s:\n%s", tc.ends, last)
			}
			checkGolden(t, tc.name, strings.Join(answers, "\n")+"\n")
		})
	}
}

func TestHandoffCarriesContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  HandoffConfig
		want []string
	}{
		{"taskrouter", HandoffConfig{WorkflowSID: "WW0123456789abcdef0123456789abcdef"},
			[]string{`<Enqueue workflowSid="WW0123456789abcdef0123456789abcdef"><Task>`, `"member_id":"1001"`, `HX7Q2P`}},
		{"sip", HandoffConfig{SIPURI: "sip:agents@pbx.example.com"},
			[]string{`<Sip>sip:agents@pbx.example.com?X-Queue=agents&amp;X-Member-Id=1001`, `X-Activity-Reference=HX7Q2P`}},
		{"client", HandoffConfig{Client: "desk"},
			[]string{`<Client><Identity>desk</Identity>`, `<Parameter name="member_id" value="1001"/>`, `<Parameter name="tier" value="Diamond"/>`, `value="HX7Q2P"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newSharedRedisHarness(t, func(c *Config) { c.Handoff = tc.cfg })
			h.seedMembers()
			answers := h.call("+14045550123", "1")
			last := answers[len(answers)-1]
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("hand-off TwiML lacks %s:\n%s", w, last)
				}
			}
		})
	}
}

func TestSignatureRequired(t *testing.T) {
	h := newSharedRedisHarness(t)
	form := incoming("+14045550123")
	for _, tc := range []struct {
		name, path, sig string
	}{
		{"voice without signature", "/twilio/voice", ""},
		{"voice with a wrong signature", "/twilio/voice", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"signed for another URL", "/twilio/voice", Sign(testToken, testPublicURL+"/twilio/other", form)},
		{"status without signature", "/twilio/status", ""},
		{"fallback without signature", "/twilio/fallback", ""},
		{"gather without signature", "/twilio/gather?s=x", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.sig != "" {
				req.Header.Set("X-Twilio-Signature", tc.sig)
			}
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("status = %d, want 403", rec.Code)
			}
			if strings.Contains(rec.Body.String(), "<Response") {
				t.Fatalf("a refused webhook got TwiML: %s", rec.Body.String())
			}
		})
	}
}

func TestStatusAndFallback(t *testing.T) {
	h := newSharedRedisHarness(t)
	form := incoming("+14045550123")
	form.Set("CallStatus", "completed")
	form.Set("CallDuration", "42")
	if code, body := h.twilio("/twilio/status", form); code != http.StatusNoContent || body != "" {
		t.Fatalf("status callback = %d %q, want 204 and no body", code, body)
	}
	form = incoming("+14045550123")
	form.Set("ErrorCode", "11200")
	code, body := h.twilio("/twilio/fallback", form)
	if code != http.StatusOK {
		t.Fatalf("fallback = %d", code)
	}
	if said := spoken(t, body); !strings.Contains(said, "sorry") {
		t.Errorf("fallback says %q; want an apology", said)
	}
	if !strings.Contains(body, "<Dial>") {
		t.Errorf("fallback does not transfer to an agent:\n%s", body)
	}
	checkGolden(t, "fallback", body+"\n")
}

func TestTamperedStateGetsFallback(t *testing.T) {
	h := newSharedRedisHarness(t)
	code, body := h.twilio("/twilio/gather?s=eyJmIjoiZGVmYXVsdCJ9.forged", incoming("+14045550123"))
	if code != http.StatusOK || !strings.Contains(body, "<Dial>") || !strings.Contains(spoken(t, body), "sorry") {
		t.Fatalf("tampered state = %d %s; want the fallback TwiML", code, body)
	}
}

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
	if said := spoken(t, h.call("+14045550123")[0]); !strings.Contains(said, "Dana") {
		t.Fatalf("before the update: %q", said)
	}
	// The first call cached the number; the update must evict it before it returns.
	h.mustAPI(http.MethodPut, "/api/v1/members/1001", `{"first_name":"Danielle","tier":"Diamond","time_zone":"America/New_York","phones":["+14045550123"]}`)
	if said := spoken(t, h.call("+14045550123")[0]); !strings.Contains(said, "Welcome back, Danielle.") {
		t.Fatalf("after the update the caller hears %q", said)
	}
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/activities/t1", `{"kind":"trip","place":"Denver","starts_at":"2026-11-27T14:05:00-05:00","reference":"HX7Q2P"}`)
	if said := spoken(t, h.call("+14045550123")[0]); !strings.Contains(said, "Denver") {
		t.Fatalf("after the activity update the caller hears %q", said)
	}
	// A number moved to another member stops greeting the old one.
	h.mustAPI(http.MethodPut, "/api/v1/members/1001", `{"first_name":"Danielle","phones":["+14045550124"]}`)
	if said := spoken(t, h.call("+14045550123")[0]); strings.Contains(said, "Danielle") {
		t.Fatalf("a number no longer the member's still greets them: %q", said)
	}
	h.mustAPI(http.MethodDelete, "/api/v1/members/1001", "")
	if said := spoken(t, h.call("+14045550124")[0]); strings.Contains(said, "Danielle") {
		t.Fatalf("a deleted member is still greeted: %q", said)
	}
}

func TestRedisDownStillGreets(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	h := newHarness(t, rdb, "ml:", func(c *Config) { c.LookupTimeout = 2 * time.Second })
	h.seedMembers()
	srv.Stop()
	said := spoken(t, h.call("+14045550123")[0])
	if !strings.Contains(said, "Welcome back, Dana.") {
		t.Fatalf("with Redis down the caller hears %q; want the greeting from PostgreSQL", said)
	}
	// The lookup API answers too.
	if code, body := h.api(http.MethodGet, "/api/v1/lookup?phone=%2B14045550123", ""); code != 200 || !strings.Contains(body, "Dana") {
		t.Fatalf("lookup with Redis down = %d %s", code, body)
	}
}

func TestLookupTimeoutAnswersGenerically(t *testing.T) {
	h := newSharedRedisHarness(t, func(c *Config) { c.LookupTimeout = time.Nanosecond })
	h.seedMembers()
	answers := h.call("+14045550123")
	said := spoken(t, answers[0])
	if strings.Contains(said, "Dana") || !strings.Contains(said, "member number") {
		t.Fatalf("past the lookup budget the caller hears %q; want the generic greeting", said)
	}
}

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
			h := NewServer(Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, AdminToken: testAdminToken},
				Deps{Flow: flows.Default(), Ready: tc.ready})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s = %d, want %d", tc.path, rec.Code, tc.status)
			}
		})
	}
}
