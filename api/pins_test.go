package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/testsupport/twiliotest"
)

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
	first := func() string { return twiliotest.Spoken(t, h.CallStir(stranger, "TN-Validation-Passed-A", "")[0]) }
	if said := first(); strings.Contains(said, "Dana") {
		t.Fatalf("an unknown number hears %q", said)
	}
	answers := h.CallStir(stranger, "TN-Validation-Passed-A", "TN-Validation-Passed-A", "1001", "2580", "1")
	if said := twiliotest.Spoken(t, answers[2]); !strings.Contains(said, "recognize this phone number") {
		t.Fatalf("no offer to remember: %q", said)
	}
	if said := twiliotest.Spoken(t, answers[3]); !strings.Contains(said, "Welcome back, Dana.") {
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
