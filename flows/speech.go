package flows

import (
	"cmp"
	"strings"
)

// String is the speech's text, as a transcript: say-as pieces as written, pauses as
// nothing.
func (s Speech) String() string {
	var b strings.Builder
	for _, seg := range s {
		b.WriteString(seg.Text)
	}
	return b.String()
}

// turnText holds a turn's text, spoken and traced, in one buffer that becomes one string
// when the turn is done: a turn allocates its text once instead of once per segment and
// trace line, which is most of what a first turn used to allocate. The buffer is a
// strings.Builder, so that string is the buffer itself, not a copy.
type turnText struct {
	b     strings.Builder
	spans []textSpan
	size  int // the buffer's first size; 0 is laterTurnText
}

// textSpan is a piece of the text: a speech segment's (dst), or a trace line (dst nil).
type textSpan struct {
	dst      *string
	from, to int
}

// The buffer's first size, so that it does not grow on the common path: a recognized
// member's first turn says about 250 bytes and traces 800 (branches name their
// conditions); a later turn says a prompt and traces a line or three.
const (
	firstTurnText = 1024
	laterTurnText = 512
)

// grow makes room before the first write.
func (t *turnText) grow() {
	if t.spans == nil {
		t.b.Grow(cmp.Or(t.size, laterTurnText))
		t.spans = make([]textSpan, 0, 16)
	}
}

func (t *turnText) len() int { return t.b.Len() }

func (t *turnText) write(ss ...string) {
	for _, s := range ss {
		t.b.WriteString(s)
	}
}

func (t *turnText) writeBytes(p []byte) { t.b.Write(p) }

// fill has *dst become the text from from to to when the turn is done.
func (t *turnText) fill(dst *string, from, to int) {
	t.spans = append(t.spans, textSpan{dst: dst, from: from, to: to})
}

// line ends a trace line that began at from.
func (t *turnText) line(from int) {
	t.spans = append(t.spans, textSpan{from: from, to: t.b.Len()})
}

// finish fills in the segments and returns the trace lines (nil when there are none).
func (t *turnText) finish() []string {
	if len(t.spans) == 0 {
		return nil
	}
	s := t.b.String()
	n := 0
	for _, sp := range t.spans {
		if sp.dst == nil {
			n++
		}
	}
	var trace []string
	if n > 0 {
		trace = make([]string, 0, n)
	}
	for _, sp := range t.spans {
		if sp.dst != nil {
			*sp.dst = s[sp.from:sp.to]
		} else {
			trace = append(trace, s[sp.from:sp.to])
		}
	}
	return trace
}
