package ivr

import (
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/testsupport/twiliotest"
)

// The same member's number at each trust level: a spoofed-looking call never hears the
// trip; a verified one does; the confirmation code only after the PIN.
func TestTrustLevelsGolden(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.setPIN("1001", "2580")
	const dana = "+14045550123"
	for _, tc := range []struct {
		name, stir, later string
		inputs            []string
		hear, never       []string
	}{
		{"trust_suspicious", "TN-Validation-Failed-A", "", nil,
			[]string{"member number"}, []string{"Dana", "Atlanta", "Diamond", "HX7Q2P"}},
		// Most calls are unattested: the member hears their first name and is asked about
		// "your upcoming trip", without place, date or code; yes reaches an agent.
		{"trust_unverified_c", "TN-Validation-Passed-C", "", nil,
			[]string{"Welcome back, Dana.", "Are you calling about your upcoming trip?"}, []string{"Atlanta", "tomorrow", "Diamond", "HX7Q2P"}},
		{"trust_unverified_no_attestation", "", "", nil,
			[]string{"Welcome back, Dana.", "Are you calling about your upcoming trip?"}, []string{"Atlanta", "tomorrow", "Diamond", "HX7Q2P"}},
		{"trust_unverified_yes_hands_off", "", "", []string{"1"},
			[]string{"Are you calling about your upcoming trip?", "connect you with an agent"}, []string{"Atlanta", "tomorrow", "HX7Q2P"}},
		{"trust_unverified_no_offers_the_pin", "", "", []string{"2"},
			[]string{"To enter your PIN, press 1"}, []string{"Atlanta", "tomorrow", "HX7Q2P"}},
		{"trust_unverified_later_claims_a", "TN-Validation-Passed-C", "TN-Validation-Passed-A", []string{"2", "2", "3"},
			[]string{"once I've made sure it's you"}, []string{"Atlanta", "Diamond", "HX7Q2P"}},
		{"trust_verified_a", "TN-Validation-Passed-A", "TN-Validation-Passed-A", nil,
			[]string{"Welcome back, Dana.", "trip to Atlanta tomorrow"}, []string{"HX7Q2P"}},
		{"trust_unverified_then_pin", "TN-Validation-Passed-C", "TN-Validation-Passed-C", []string{"2", "1", "2580"},
			[]string{"Diamond", "trip to Atlanta tomorrow", "confirmation code is HX7Q2P"}, nil},
		{"trust_unverified_wrong_pin", "TN-Validation-Passed-C", "TN-Validation-Passed-C", []string{"2", "1", "1111"},
			[]string{"that PIN doesn't match"}, []string{"Atlanta", "HX7Q2P"}},
		{"trust_suspicious_then_number_and_pin", "TN-Validation-Failed-B", "TN-Validation-Failed-B", []string{"1001", "2580"},
			[]string{"Welcome back, Dana.", "trip to Atlanta tomorrow", "confirmation code is HX7Q2P"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answers := h.CallStir(dana, tc.stir, tc.later, tc.inputs...)
			var heard strings.Builder
			for _, a := range answers {
				heard.WriteString(twiliotest.Spoken(t, a) + " ")
			}
			last := twiliotest.Spoken(t, answers[len(answers)-1])
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
