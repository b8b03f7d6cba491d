package ivr

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// Integration tests of the edge against the real PostgreSQL and Redis of `make test`. The
// members are written through lookup, as the admin API would write them.

const (
	testToken     = "12345"
	testPublicURL = "https://ivr.example.com"
)

// testNow is a Thursday morning in New York.
var testNow = time.Date(2026, 11, 26, 10, 0, 0, 0, time.FixedZone("EST", -5*3600))

type harness struct {
	t       *testing.T
	handler http.Handler
	cache   *lookup.Cache
	pins    *lookup.PINs
	rdb     redis.UniversalClient
	twiliotest.Twilio
}

type harnessOpt func(*Config)

func sign(fullURL string, form url.Values) string { return Sign(testToken, fullURL, form) }

func newHarness(t *testing.T, rdb redis.UniversalClient, prefix string, opts ...harnessOpt) *harness {
	t.Helper()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	cfg := Config{
		PublicURL:       testPublicURL,
		TwilioAuthToken: testToken,
		Now:             func() time.Time { return testNow },
	}
	for _, o := range opts {
		o(&cfg)
	}
	pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})
	h := newEdgeHarness(t, New(cfg, Deps{Resolver: cache, Members: cache, Flow: flows.Default(), PINs: pins}), cache, rdb)
	h.pins = pins
	return h
}

// newEdgeHarness wraps an edge built by a test.
func newEdgeHarness(t *testing.T, edge *Edge, cache *lookup.Cache, rdb redis.UniversalClient) *harness {
	return &harness{t: t, handler: edge, cache: cache, rdb: rdb,
		Twilio: twiliotest.Twilio{T: t, Handler: edge, PublicURL: testPublicURL, Sign: sign}}
}

func newSharedRedisHarness(t *testing.T, opts ...harnessOpt) *harness {
	rdb, prefix := testenv.Redis(t)
	return newHarness(t, rdb, prefix, opts...)
}

// seedMembers writes the members the flow tests call, as the member API's bodies say.
func (h *harness) seedMembers() {
	h.t.Helper()
	ctx := context.Background()
	for _, s := range twiliotest.Members {
		var err error
		if s.Activity == "" {
			m := lookup.Member{ID: s.Member}
			if err = json.Unmarshal([]byte(s.Body), &m); err == nil {
				_, err = h.cache.PutMember(ctx, m)
			}
		} else {
			a := lookup.Activity{ID: s.Activity, MemberID: s.Member}
			if err = json.Unmarshal([]byte(s.Body), &a); err == nil {
				_, err = h.cache.PutActivity(ctx, a)
			}
		}
		if err != nil {
			h.t.Fatalf("seed %s: %v", s.Path(), err)
		}
	}
}

// setPIN gives a member a PIN, as PUT /api/v1/members/{id}/pin would.
func (h *harness) setPIN(id, pin string) {
	h.t.Helper()
	if err := h.pins.SetPIN(context.Background(), id, pin); err != nil {
		h.t.Fatal(err)
	}
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

func TestDefaultFlowGolden(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.setPIN("1001", "2580")
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
		// A number no member has is asked for a PIN like a member's: the caller does not
		// learn which member numbers exist.
		{"unknown_not_found", "+12125550000", []string{"9999"}, []string{"enter your PIN"}, "<Gather"},
		{"unknown_not_found_never_verifies", "+12125550000", []string{"9999", "2580"}, []string{"PIN doesn't match"}, "<Gather"},
		{"no_input_reprompts", "+14045550123", []string{""}, []string{"Press 1"}, "<Gather"},
		{"no_input_thrice_hands_off", "+14045550123", []string{"", "", ""}, nil, "<Dial>"},
		{"no_match_reprompts", "+14045550123", []string{"7"}, []string{"Press 1"}, "<Gather"},
		{"escaped_name", "+17095550144", nil, []string{`Welcome back, O'Brien & <Sons> "Co".`}, "<Gather"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := h.Call(tc.from, tc.inputs...)
			last := answers[len(answers)-1]
			said := twiliotest.Spoken(t, last)
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
			answers := h.Call("+14045550123", "1")
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
	form := twiliotest.Incoming("+14045550123")
	for _, tc := range []struct {
		name, path, sig string
	}{
		{"voice without signature", "/twilio/voice", ""},
		{"voice with a wrong signature", "/twilio/voice", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"signed for another URL", "/twilio/voice", Sign(testToken, testPublicURL+"/twilio/other", form)},
		{"status without signature", "/twilio/status", ""},
		{"fallback without signature", "/twilio/fallback", ""},
		{"gather without signature", "/twilio/gather?s=x", ""},
		{"fetch without signature", "/twilio/fetch?s=x&k=y", ""},
		{"queue wait without signature", "/twilio/queue/wait?s=x", ""},
		{"queue key without signature", "/twilio/queue/key?s=x", ""},
		{"queue number without signature", "/twilio/queue/number?s=x", ""},
		{"queue done without signature", "/twilio/queue/done?s=x", ""},
		{"callback answer without signature", "/twilio/callback/answer?c=x", ""},
		{"callback connect without signature", "/twilio/callback/connect?c=x", ""},
		{"callback status without signature", "/twilio/callback/status?c=x", ""},
		{"sms without signature", "/twilio/sms", ""},
		{"sms with a wrong signature", "/twilio/sms", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"message status without signature", "/twilio/message/status", ""},
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
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallStatus", "completed")
	form.Set("CallDuration", "42")
	if code, body := h.Post("/twilio/status", form); code != http.StatusNoContent || body != "" {
		t.Fatalf("status callback = %d %q, want 204 and no body", code, body)
	}
	form = twiliotest.Incoming("+14045550123")
	form.Set("ErrorCode", "11200")
	code, body := h.Post("/twilio/fallback", form)
	if code != http.StatusOK {
		t.Fatalf("fallback = %d", code)
	}
	if said := twiliotest.Spoken(t, body); !strings.Contains(said, "sorry") {
		t.Errorf("fallback says %q; want an apology", said)
	}
	if !strings.Contains(body, "<Dial>") {
		t.Errorf("fallback does not transfer to an agent:\n%s", body)
	}
	checkGolden(t, "fallback", body+"\n")
}

func TestTamperedStateGetsFallback(t *testing.T) {
	h := newSharedRedisHarness(t)
	for _, path := range []string{"/twilio/gather?s=eyJmIjoiZGVmYXVsdCJ9.forged", "/twilio/fetch?s=eyJmIjoiZGVmYXVsdCJ9.forged&k=x",
		"/twilio/fetch", "/twilio/fetch?k=%00"} {
		code, body := h.Post(path, twiliotest.Incoming("+14045550123"))
		if code != http.StatusOK || !strings.Contains(body, "<Dial>") || !strings.Contains(twiliotest.Spoken(t, body), "sorry") {
			t.Errorf("%s = %d %s; want the fallback TwiML", path, code, body)
		}
	}
}

func TestLookupTimeoutAnswersGenerically(t *testing.T) {
	h := newSharedRedisHarness(t, func(c *Config) { c.LookupTimeout = time.Nanosecond })
	h.seedMembers()
	answers := h.Call("+14045550123")
	said := twiliotest.Spoken(t, answers[0])
	if strings.Contains(said, "Dana") || !strings.Contains(said, "member number") {
		t.Fatalf("past the lookup budget the caller hears %q; want the generic greeting", said)
	}
}

// TestStateBoundToItsCall: the signed state in an action URL continues only the call it
// was issued to, and not past its expiry: a verified_pin state taken from one call and
// sent with another CallSid and From, or too late, gets the fallback, not the member.
func TestStateBoundToItsCall(t *testing.T) {
	clock := testNow
	h := newSharedRedisHarness(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	h.seedMembers()
	h.setPIN("1001", "2580")
	answers := h.Call("+12125550000", "1001", "2580")
	verified := strings.TrimPrefix(twiliotest.GatherAction(t, answers[2]), testPublicURL)
	continueWith := func(callSID, from string) string {
		form := twiliotest.Incoming(from)
		form.Set("CallSid", callSID)
		form.Set("Digits", "1")
		code, body := h.Post(verified, form)
		if code != http.StatusOK {
			t.Fatalf("gather = %d %s", code, body)
		}
		return body
	}
	for name, body := range map[string]string{
		"another call":    continueWith("CAffffffffffffffffffffffffffffffff", "+13125550142"),
		"another CallSid": continueWith("CAffffffffffffffffffffffffffffffff", "+12125550000"),
	} {
		if said := twiliotest.Spoken(t, body); !strings.Contains(said, "sorry") || strings.Contains(body, "1001") || strings.Contains(body, "verified_pin") {
			t.Errorf("%s continued with the stolen state: %s", name, body)
		}
	}
	clock = testNow.Add(DefaultStateTTL + time.Minute)
	if said := twiliotest.Spoken(t, continueWith(twiliotest.CallSID, "+12125550000")); !strings.Contains(said, "sorry") {
		t.Errorf("an expired state continued the call: %q", said)
	}
	clock = testNow.Add(time.Minute)
	if body := continueWith(twiliotest.CallSID, "+12125550000"); strings.Contains(twiliotest.Spoken(t, body), "sorry") {
		t.Errorf("the call's own state was refused: %s", body)
	}
}
