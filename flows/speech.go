package flows

import "strings"

// String is the speech's text, as a transcript: say-as pieces as written, pauses as
// nothing.
func (s Speech) String() string {
	var b strings.Builder
	for _, seg := range s {
		b.WriteString(seg.Text)
	}
	return b.String()
}
