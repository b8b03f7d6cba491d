package flows

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// loopingFlow is the document of the second probe that made validation explode: chain
// say nodes, then a branch whose cases all loop back to the first (484 KB with 2,000
// nodes and 5,000 cases).
func loopingFlow(chain, cases int) []byte {
	var b strings.Builder
	b.WriteString(`{"schema":"memberline.flow/v1","id":"loops","name":"Loops","default_language":"en-US",` +
		`"languages":{"en-US":{"voice":"Polly.Joanna-Neural"}},"start":"s0","nodes":[`)
	for i := range chain {
		fmt.Fprintf(&b, `{"id":"s%d","type":"say","say":{"en-US":"Step %d."},"next":"s%d"},`, i, i, i+1)
	}
	fmt.Fprintf(&b, `{"id":"s%d","type":"branch","cases":[`, chain)
	for i := range cases {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"when":[{"field":"caller.members","op":"eq","value":"%d"}],"next":"s0"}`, i)
	}
	b.WriteString(`],"default":"s0"}]}`)
	return []byte(b.String())
}

// BenchmarkValidateLoops validates the probe's document as the API does (load, validate,
// answer), and one twice its size, to show the cost grows with the document, not faster;
// it reports the answer's size.
func BenchmarkValidateLoops(b *testing.B) {
	for _, size := range []struct {
		name         string
		chain, cases int
	}{{"probe", 2000, 5000}, {"double", 4000, 10000}} {
		doc := loopingFlow(size.chain, size.cases)
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := Load(doc)
				if err != nil {
					b.Fatal(err)
				}
				answer, err := json.Marshal(f.ValidateWith(ValidateOptions{}))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(len(answer)), "answer-bytes")
			}
		})
	}
}

// The probe's document gets a short answer: its loop once, its path cut to its ends,
// however many cases loop back; and a document with thousands of problems lists the
// first maxProblems and counts the rest.
func TestValidationAnswersLoopsOnce(t *testing.T) {
	f, err := Load(loopingFlow(2000, 5000))
	if err != nil {
		t.Fatal(err)
	}
	ps := f.ValidateWith(ValidateOptions{}).Errors
	loops := 0
	for _, p := range ps {
		if strings.HasPrefix(p.Message, "loop without input: ") {
			loops++
			if !strings.Contains(p.Message, "s0 → s1 → s2 → s3 → s4 → … (1992 more) → s1997 → s1998 → s1999 → s2000 → s0") {
				t.Errorf("loop said as %q", p.Message)
			}
		}
	}
	if loops != 1 {
		t.Errorf("%d loops reported, want 1: %v", loops, ps)
	}
	if b, _ := json.Marshal(ps); len(b) > 4096 {
		t.Errorf("the answer is %d bytes", len(b))
	}

	var many strings.Builder
	many.WriteString(`{"schema":"memberline.flow/v1","id":"many","name":"Many","default_language":"en-US","languages":{"en-US":{}},"start":"n0","nodes":[`)
	for i := range 1000 {
		if i > 0 {
			many.WriteByte(',')
		}
		fmt.Fprintf(&many, `{"id":"n%d","type":"say","say":{"en-US":"{{ nope }}"},"next":"missing%d"}`, i, i)
	}
	many.WriteString(`]}`)
	if f, err = Load([]byte(many.String())); err != nil {
		t.Fatal(err)
	}
	if ps = f.ValidateWith(ValidateOptions{}).Errors; len(ps) != maxProblems+1 || !strings.HasPrefix(ps[maxProblems].Message, "and ") {
		t.Fatalf("%d problems (last %q), want %d and a count of the rest", len(ps), ps[len(ps)-1].Message, maxProblems+1)
	}
}
