package softphone

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// A scripted call takes milliseconds, but its status callback reports how long a person
// would have been on the line: what was said at a speaking pace, the time to answer, a
// silent gather's timeout.
func TestStatusReportsTimeOnTheLine(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string
		want    string
	}{
		// 9 words (3.6 s), "Press 1" (1 s at least), an answer (2 s), "Goodbye." (1 s): 7.6 s.
		{"answered", []string{"1"}, "8"},
		// The same with the gather's 6 s timeout instead of an answer, then the goodbye: 11.6 s.
		{"silent", []string{""}, "12"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status := make(chan url.Values, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				w.Header().Set("Content-Type", "text/xml")
				switch r.URL.Path {
				case "/twilio/voice":
					fmt.Fprint(w, `<Response><Say>Welcome back, Dana. Are you calling about your trip?</Say>`+
						`<Gather action="/twilio/gather" timeout="6" actionOnEmptyResult="true"><Say>Press 1</Say></Gather></Response>`)
				case "/twilio/gather":
					fmt.Fprint(w, `<Response><Say>Goodbye.</Say><Hangup/></Response>`)
				case "/twilio/status":
					status <- r.PostForm
					w.WriteHeader(http.StatusNoContent)
				}
			}))
			defer srv.Close()
			call := Call{BaseURL: srv.URL, Sign: func(string, url.Values) string { return "sig" }, From: "+14045550123", To: "+18005550100",
				Answers: Script(tc.answers), Out: io.Discard, Log: io.Discard}
			if err := call.Play(t.Context()); err != nil {
				t.Fatal(err)
			}
			select {
			case form := <-status:
				if got := form.Get("CallDuration"); got != tc.want {
					t.Errorf("CallDuration = %s, want %s", got, tc.want)
				}
			default:
				t.Fatal("no status callback")
			}
		})
	}
}

// A hand-off's trust is said in words: "verified" is the carrier's attestation of the
// number, not an identified caller.
func TestTrustIsExplained(t *testing.T) {
	var out strings.Builder
	c := &caller{out: &out}
	doc, err := parseTwiML([]byte(`<Response><Dial><Client><Identity>agents</Identity>` +
		`<Parameter name="trust" value="verified"/><Parameter name="reason" value="menu"/></Client></Dial></Response>`))
	if err != nil {
		t.Fatal(err)
	}
	c.showDial(doc.elems()[0])
	if !strings.Contains(out.String(), "PARAM trust=verified  (the carrier attested the calling number; it does not say who is calling)") ||
		!strings.Contains(out.String(), "PARAM reason=menu\n") {
		t.Errorf("shown:\n%s", out.String())
	}
}

// A call in a queue with a wait URL hears it round after round, with the queue's
// figures as Twilio sends them, until it leaves (the Enqueue's action, QueueResult leave)
// or hangs up; an outbound call starts at its own URL and reports to its own status URL.
func TestQueueAndOutboundCalls(t *testing.T) {
	var mu sync.Mutex
	var waits []url.Values
	var left, status url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/twilio/voice", "/cb/answer":
			fmt.Fprint(w, `<Response><Enqueue action="/q/done" waitUrl="/q/wait">agents</Enqueue></Response>`)
		case "/q/wait":
			waits = append(waits, r.PostForm)
			if len(waits) < 3 {
				fmt.Fprint(w, `<Response><Say>Please wait.</Say><Redirect>/q/wait?again=1</Redirect></Response>`)
				return
			}
			fmt.Fprint(w, `<Response><Gather numDigits="1" action="/q/key"><Say>Press 1.</Say></Gather></Response>`)
		case "/q/key":
			fmt.Fprint(w, `<Response><Leave/></Response>`)
		case "/q/done":
			left = r.PostForm
			fmt.Fprint(w, `<Response><Say>We will call you back.</Say><Hangup/></Response>`)
		case "/cb/status":
			status = r.PostForm
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	var out strings.Builder
	call := Call{BaseURL: srv.URL, Sign: func(string, url.Values) string { return "sig" }, From: "+14045550123", To: "+18005550100",
		Answers: Script([]string{"1"}), Out: &out, Log: io.Discard}
	if err := call.Play(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 3 || waits[0].Get("QueuePosition") != "3" || waits[1].Get("QueueTime") != "30" || waits[2].Get("QueuePosition") != "1" {
		t.Errorf("wait requests: %v", waits)
	}
	if left.Get("QueueResult") != "leave" || !strings.Contains(out.String(), "We will call you back.") {
		t.Errorf("left with %v:\n%s", left, out.String())
	}
	// An outbound call at its own URL: silent in the queue, it hangs up after six rounds.
	waits, left = nil, nil
	call = Call{BaseURL: srv.URL, Sign: func(string, url.Values) string { return "sig" }, From: "+18005550100", To: "+14045550123",
		Start: srv.URL + "/cb/answer", StatusURL: srv.URL + "/cb/status", First: url.Values{"AnsweredBy": {"human"}},
		Answers: Script(nil), Out: io.Discard, Log: io.Discard}
	if err := call.Play(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left.Get("QueueResult") != "hangup" || status.Get("CallStatus") != "completed" {
		t.Errorf("outbound: left %v, status %v", left, status)
	}
}
