package ivr

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/memberline/memberline/flows"
)

// What Twilio would refuse, the edge answers safely: a long text in several <Say>s, hints
// cut to Twilio's limits, SIP headers that fit, and the fallback for an answer past 64 kB.

func TestLongSayIsSaidInParts(t *testing.T) {
	words := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 160) // 7,200 characters
	for _, voice := range []string{"Polly.Joanna-Neural", "Google.en-US-Standard-A", "alice"} {
		a := flows.Action{Kind: flows.ActSay, Language: "en-US", Voice: voice,
			Speech: flows.Speech{{Text: "Hello. "}, {Text: "H1", SayAs: "characters"}, {Text: words}}}
		nodes := prompt(a)
		var said strings.Builder
		for _, n := range nodes {
			var text strings.Builder
			if n.Text != "" {
				text.WriteString(n.Text)
			}
			for _, c := range n.Children {
				text.WriteString(c.Text)
			}
			if l := utf8.RuneCountInString(text.String()); l > flows.MaxSay(voice) {
				t.Errorf("%s: a <Say> of %d characters, past %d", voice, l, flows.MaxSay(voice))
			}
			said.WriteString(text.String())
		}
		if want := "Hello. H1" + words; said.String() != want {
			t.Errorf("%s: the parts say %d characters, want the %d of the text", voice, said.Len(), len(want))
		}
		if want := (7200 + 9 + flows.MaxSay(voice) - 1) / flows.MaxSay(voice); len(nodes) < want {
			t.Errorf("%s: %d parts, want at least %d", voice, len(nodes), want)
		}
	}
	short := prompt(flows.Action{Kind: flows.ActSay, Language: "en-US", Voice: "Polly.Joanna", Speech: flows.Speech{{Text: "Hi."}}})
	if len(short) != 1 || short[0].Text != "Hi." {
		t.Errorf("a short text = %+v", short)
	}
}

func TestHintsFitTwilio(t *testing.T) {
	hints := make([]string, 0, 600)
	hints = append(hints, strings.Repeat("x", 101))
	for i := range 599 {
		hints = append(hints, "w"+strings.Repeat("o", i%50))
	}
	got := fitHints(hints)
	if len(got) != flows.MaxHints {
		t.Errorf("%d hints, want %d", len(got), flows.MaxHints)
	}
	for _, h := range got {
		if utf8.RuneCountInString(h) > flows.MaxHintLength {
			t.Errorf("a hint of %d characters kept", utf8.RuneCountInString(h))
		}
	}
	if few := []string{"yes", "no"}; len(fitHints(few)) != 2 {
		t.Error("hints within the limits were cut")
	}
}

func TestSIPHeadersFit(t *testing.T) {
	ctx := []flows.KV{{Key: "member_id", Value: "1001"}, {Key: "note", Value: strings.Repeat("n", 900)}, {Key: "summary", Value: strings.Repeat("s", 300)}, {Key: "tier", Value: "Gold"}}
	uri := sipWithHeaders("sip:agents@pbx.example.com?X-Team=a", ctx)
	_, headers, _ := strings.Cut(uri, "?")
	if len(headers) >= flows.MaxSIPHeaders {
		t.Errorf("header part of %d characters", len(headers))
	}
	for _, want := range []string{"X-Team=a", "X-Member-Id=1001", "X-Note=", "X-Tier=Gold"} {
		if !strings.Contains(uri, want) {
			t.Errorf("%s lacks %s", uri, want)
		}
	}
	if strings.Contains(uri, "X-Summary") {
		t.Errorf("a header past the limit was kept: %d characters", len(headers))
	}
}

func TestTooLargeAnswerIsNotWritten(t *testing.T) {
	var resp Response
	for range 30 {
		resp.Add(Say("en-US", "Polly.Joanna", flows.Speech{{Text: strings.Repeat("a", 2900)}}))
	}
	var buf bytes.Buffer
	if err := resp.Encode(&buf); !errors.Is(err, ErrTooLarge) || buf.Len() != 0 {
		t.Fatalf("Encode of %d kB = %v, wrote %d bytes; want ErrTooLarge and nothing written", 30*2900/1024, err, buf.Len())
	}
}
