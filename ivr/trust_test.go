package ivr

import (
	"net/http"
	"strings"
	"testing"
)

// callStir plays a call like harness.call, with the StirVerstat Twilio sends on every
// webhook of the call (stirLater on the gather webhooks, to try raising trust mid-call).
func (h *harness) callStir(from, stir, stirLater string, inputs ...string) []string {
	h.t.Helper()
	form := incoming(from)
	form.Set("StirVerstat", stir)
	code, body := h.twilio("/twilio/voice", form)
	if code != http.StatusOK {
		h.t.Fatalf("voice webhook = %d %s", code, body)
	}
	out := []string{body}
	for _, in := range inputs {
		action := gatherAction(h.t, body)
		form := incoming(from)
		form.Set("StirVerstat", stirLater)
		form.Set("Digits", in)
		code, body = h.twilio(strings.TrimPrefix(action, testPublicURL), form)
		if code != http.StatusOK {
			h.t.Fatalf("gather webhook = %d %s", code, body)
		}
		out = append(out, body)
	}
	return out
}

// The same member's number at each trust level: a spoofed-looking call never hears the
// trip; a verified one does; the confirmation code only after the PIN.
func TestTrustLevelsGolden(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	const dana = "+14045550123"
	for _, tc := range []struct {
		name, stir, later string
		inputs            []string
		hear, never       []string
	}{
		{"trust_suspicious", "TN-Validation-Failed-A", "", nil,
			[]string{"member number"}, []string{"Dana", "Atlanta", "Diamond", "HX7Q2P"}},
		{"trust_unverified_c", "TN-Validation-Passed-C", "", nil,
			[]string{"Welcome back, Dana.", "To enter your PIN, press 1"}, []string{"Atlanta", "Diamond", "HX7Q2P"}},
		{"trust_unverified_no_attestation", "", "", nil,
			[]string{"Welcome back, Dana.", "To enter your PIN, press 1"}, []string{"Atlanta", "Diamond", "HX7Q2P"}},
		{"trust_unverified_later_claims_a", "TN-Validation-Passed-C", "TN-Validation-Passed-A", []string{"2", "3"},
			[]string{"once I've made sure it's you"}, []string{"Atlanta", "Diamond", "HX7Q2P"}},
		{"trust_verified_a", "TN-Validation-Passed-A", "TN-Validation-Passed-A", nil,
			[]string{"Welcome back, Dana.", "trip to Atlanta tomorrow"}, []string{"HX7Q2P"}},
		{"trust_unverified_then_pin", "TN-Validation-Passed-C", "TN-Validation-Passed-C", []string{"1", "2580"},
			[]string{"Diamond", "trip to Atlanta tomorrow", "confirmation code is HX7Q2P"}, nil},
		{"trust_unverified_wrong_pin", "TN-Validation-Passed-C", "TN-Validation-Passed-C", []string{"1", "1111"},
			[]string{"that PIN doesn't match"}, []string{"Atlanta", "HX7Q2P"}},
		{"trust_suspicious_then_number_and_pin", "TN-Validation-Failed-B", "TN-Validation-Failed-B", []string{"1001", "2580"},
			[]string{"Welcome back, Dana.", "trip to Atlanta tomorrow", "confirmation code is HX7Q2P"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := h.callStir(dana, tc.stir, tc.later, tc.inputs...)
			var heard strings.Builder
			for _, a := range answers {
				heard.WriteString(spoken(t, a) + " ")
			}
			last := spoken(t, answers[len(answers)-1])
			for _, p := range tc.hear {
				if !strings.Contains(heard.String(), p) {
					t.Errorf("caller hears %q; want %q", heard.String(), p)
				}
			}
			for _, p := range tc.never {
				if strings.Contains(heard.String(), p) {
					t.Errorf("caller hears %q: it contains %q", heard.String(), p)
				}
			}
			_ = last
			checkGolden(t, tc.name, strings.Join(answers, "\n")+"\n")
		})
	}
}

func TestPutPIN(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	for _, tc := range []struct {
		name, path, body string
		status           int
		field            string
	}{
		{"four digits", "/api/v1/members/1001/pin", `{"pin":"2580"}`, http.StatusOK, ""},
		{"eight digits", "/api/v1/members/1001/pin", `{"pin":"25802580"}`, http.StatusOK, ""},
		{"too short", "/api/v1/members/1001/pin", `{"pin":"258"}`, http.StatusUnprocessableEntity, "pin"},
		{"letters", "/api/v1/members/1001/pin", `{"pin":"25a0"}`, http.StatusUnprocessableEntity, "pin"},
		{"a number, not text", "/api/v1/members/1001/pin", `{"pin":2580}`, http.StatusUnprocessableEntity, "pin"},
		{"unknown member", "/api/v1/members/9999/pin", `{"pin":"2580"}`, http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.api(http.MethodPut, tc.path, tc.body)
			if code != tc.status {
				t.Fatalf("= %d %s, want %d", code, body, tc.status)
			}
			if tc.field != "" && !strings.Contains(body, `"field": "`+tc.field+`"`) {
				t.Errorf("body %s does not name %s", body, tc.field)
			}
			if strings.Contains(body, "2580") || strings.Contains(body, "argon2") {
				t.Errorf("the PIN or its hash came back: %s", body)
			}
		})
	}
	// The member's own answer never carries it either.
	if _, body := h.api(http.MethodGet, "/api/v1/members/1001", ""); strings.Contains(body, "2580") || strings.Contains(body, "argon2") || strings.Contains(body, "pin") {
		t.Errorf("member answer carries the PIN: %s", body)
	}
}

// An unknown number that identifies and verifies can be remembered, with consent; the
// member API shows the consent and revoking it forgets the number in every tier.
func TestRememberThisNumber(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	const stranger = "+12125550000"
	first := func() string { return spoken(t, h.callStir(stranger, "TN-Validation-Passed-A", "")[0]) }
	if said := first(); strings.Contains(said, "Dana") {
		t.Fatalf("an unknown number hears %q", said)
	}
	answers := h.callStir(stranger, "TN-Validation-Passed-A", "TN-Validation-Passed-A", "1001", "2580", "1")
	if said := spoken(t, answers[2]); !strings.Contains(said, "recognize this phone number") {
		t.Fatalf("no offer to remember: %q", said)
	}
	if said := spoken(t, answers[3]); !strings.Contains(said, "Welcome back, Dana.") {
		t.Fatalf("after consenting: %q", said)
	}
	if said := first(); !strings.Contains(said, "Welcome back, Dana.") || !strings.Contains(said, "Atlanta") {
		t.Errorf("the remembered number is not recognized (caches?): %q", said)
	}
	body := h.mustAPI(http.MethodGet, "/api/v1/members/1001/consents", "")
	if !strings.Contains(body, `"phone": "`+stranger+`"`) || !strings.Contains(body, `"call_sid": "CA0123456789abcdef0123456789abcdef"`) || !strings.Contains(body, "consented_at") {
		t.Errorf("consents = %s", body)
	}
	if code, _ := h.api(http.MethodDelete, "/api/v1/members/1001/consents/+14045550188", ""); code != http.StatusNotFound {
		t.Errorf("revoking a consent never given: %d, want 404", code)
	}
	if code, out := h.api(http.MethodDelete, "/api/v1/members/1001/consents/"+stranger, ""); code != http.StatusNoContent {
		t.Fatalf("revoke = %d %s", code, out)
	}
	if said := first(); strings.Contains(said, "Dana") {
		t.Errorf("after revoking, the number still hears %q", said)
	}
	if body := h.mustAPI(http.MethodGet, "/api/v1/members/1001", ""); strings.Contains(body, stranger) {
		t.Errorf("the member still has the number: %s", body)
	}
}
