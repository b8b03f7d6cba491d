package softphone

import (
	"net/url"
	"testing"
)

func TestSayText(t *testing.T) {
	tests := []struct {
		name, say, want string
	}{
		{"plain", `<Say>Welcome back, Dana.</Say>`, "Welcome back, Dana."},
		{"say-as characters", `<Say>Code <say-as interpret-as="characters">HX7Q2P</say-as>.</Say>`, "Code HX7Q2P."},
		{"break is a space", `<Say>One.<break time="1s"/>Two.</Say>`, "One. Two."},
		{"sub speaks its alias", `<Say>Visit the <sub alias="front desk">FD</sub> today.</Say>`, "Visit the front desk today."},
		{"nested prosody", `<Say><prosody rate="slow"><emphasis>Hello</emphasis> there</prosody>!</Say>`, "Hello there!"},
		{"sentences apart", `<Say><s>One</s><s>Two</s></Say>`, "One Two"},
		{"whitespace collapsed", "<Say>\n  Hello\n\t  Dana  </Say>", "Hello Dana"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parseTwiML([]byte("<Response>" + tt.say + "</Response>"))
			if err != nil {
				t.Fatal(err)
			}
			if got := sayText(doc.elems()[0]); got != tt.want {
				t.Errorf("sayText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGatherParams(t *testing.T) {
	tests := []struct {
		name, gather, answer string
		want                 url.Values
		wantNote             string
	}{
		{"digits", `<Gather/>`, "12", url.Values{"Digits": {"12"}}, ""},
		{"star and hash kept without finish key", `<Gather finishOnKey=""/>`, "*1#", url.Values{"Digits": {"*1#"}}, ""},
		{"finish key dropped", `<Gather/>`, "42#9", url.Values{"Digits": {"42"}}, ""},
		{"empty is silence", `<Gather input="dtmf speech"/>`, "  ", nil, ""},
		{"words as speech", `<Gather input="dtmf speech"/>`, "yes please", url.Values{"SpeechResult": {"yes please"}, "Confidence": {"0.9"}}, ""},
		{"words ignored by dtmf gather", `<Gather/>`, "yes", nil, `<Gather input="dtmf"> ignores speech`},
		{"keys ignored by speech gather are spoken", `<Gather input="speech"/>`, "2", url.Values{"SpeechResult": {"2"}, "Confidence": {"0.9"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parseTwiML([]byte("<Response>" + tt.gather + "</Response>"))
			if err != nil {
				t.Fatal(err)
			}
			got, note := gatherParams(tt.answer, doc.elems()[0])
			if got.Encode() != tt.want.Encode() || note != tt.wantNote {
				t.Errorf("gatherParams(%q) = %v, %q; want %v, %q", tt.answer, got, note, tt.want, tt.wantNote)
			}
		})
	}
}
