package ivr

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/memberline/memberline/flows"
)

// FuzzEncode builds the TwiML a handoff turn produces from outside strings (a member's
// name, a place, keys pressed) and checks that the document is well formed, rooted at
// <Response>, and gives every string back, after the documented replacement of what XML
// cannot carry.
func FuzzEncode(f *testing.F) {
	seeds := []struct{ name, place, digits string }{
		{"Dana", "Lisbon", "1234"},
		{`O'Brien & <Sons> "Co"`, `<>&"'`, "#"},
		{"", "", ""},
		{"]]>", "<![CDATA[x]]>", "<!--"},
		{"&amp;", "&#0;", "&#x1F600;"},
		{"a\x00b", "\x1b[31m", "\x7f\x80\x9f"},
		{"\xff\xfe", "\xc3", "\xed\xa0\x80"},
		{"\uFFFE\uFFFF", "\uFFFD", "\U0010FFFF"},
		{"tab\there", "line\nbreak", "cr\rlf\r\n"},
		{"Zoë 東京", "\U0001F600", "١٢٣"},
		{"<?xml version='1.0'?>", "<Response>", "</Response>"},
		{`\u003c`, `"},"x":{"`, "%00+%2B"},
	}
	for _, s := range seeds {
		f.Add(s.name, s.place, s.digits)
	}
	f.Fuzz(func(t *testing.T, name, place, digits string) {
		task, err := json.Marshal(map[string]string{"name": name, "place": place, "digits": digits})
		if err != nil {
			t.Fatal(err)
		}
		// A hand-made JSON too, so raw markup reaches the encoder unescaped by encoding/json.
		rawTask := `{"name":"` + name + `","place":"` + place + `"}`
		r := Response{Verbs: []Node{
			Say("en-US", "Polly.Joanna-Neural", flows.Speech{
				{Text: "Hello "}, {Text: name}, {BreakMS: 300}, {Text: place}, {Text: digits, SayAs: "characters"},
			}),
			Gather(GatherAttrs{
				Input:       "dtmf",
				Action:      "https://ivr.example.com/twilio/gather?d=" + url.QueryEscape(digits),
				FinishOnKey: digits,
				Hints:       []string{name, place},
			}, Say("", "", flows.Speech{{Text: place}})),
			Enqueue("WW123", string(task), 1, 60),
			Enqueue("WW123", rawTask, 0, 0),
			Dial(DialAttrs{}, DialClient("agents", []flows.KV{{Key: "digits", Value: digits}, {Key: name, Value: place}})),
		}}
		b := r.Bytes()
		doc := parseTwiML(t, b)

		n, p, d := xmlClean(name), xmlClean(place), xmlClean(digits)
		check := func(what, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s = %q, want %q\n%q", what, got, want, b)
			}
		}
		say := doc.child("Say")
		check("Say", say.text(), "Hello "+n+p+d)
		check("say-as", say.child("say-as").text(), d)
		check("break", say.child("break").attr("time"), "300ms")
		g := doc.child("Gather")
		check("finishOnKey", g.attr("finishOnKey"), d)
		check("hints", g.attr("hints"), n+", "+p)
		check("action", g.attr("action"), "https://ivr.example.com/twilio/gather?d="+url.QueryEscape(digits))
		check("Gather/Say", g.child("Say").text(), p)
		enq := doc.all("Enqueue")
		if len(enq) != 2 {
			t.Fatalf("got %d <Enqueue>", len(enq))
		}
		check("Task", enq[0].child("Task").text(), xmlClean(string(task)))
		check("raw Task", enq[1].child("Task").text(), xmlClean(rawTask))
		var back map[string]string
		if err := json.Unmarshal([]byte(enq[0].child("Task").text()), &back); err != nil {
			t.Errorf("Task JSON no longer parses: %v", err)
		}
		params := doc.child("Dial").child("Client").all("Parameter")
		if len(params) != 2 {
			t.Fatalf("got %d <Parameter>", len(params))
		}
		check("Parameter value", params[0].attr("value"), d)
		check("Parameter name", params[1].attr("name"), n)
		check("Parameter value", params[1].attr("value"), p)
	})
}
