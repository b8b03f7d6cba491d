// Package twiliotest is Twilio's side of a call, for tests of the webhooks: the forms
// Twilio posts, a signed post to a handler, a whole call played input by input, and what
// a caller hears of an answer. It also holds the members the call tests seed. It signs
// with the function it is given, so the edge's own tests can use it.
package twiliotest

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// CallSID and AccountSID are the SIDs of every webhook Incoming makes.
const (
	CallSID    = "CA0123456789abcdef0123456789abcdef"
	AccountSID = "AC0123456789abcdef0123456789abcdef"
)

// Incoming is the form of an incoming call from a number to +18005550100, attested (A),
// with a parameter Twilio might add one day.
func Incoming(from string) url.Values {
	return url.Values{
		"CallSid": {CallSID}, "AccountSid": {AccountSID},
		"From": {from}, "To": {"+18005550100"}, "CallStatus": {"ringing"}, "Direction": {"inbound"},
		"ApiVersion": {"2010-04-01"}, "StirVerstat": {"TN-Validation-Passed-A"}, "SomethingNew": {"ignored"},
	}
}

// Signer computes X-Twilio-Signature for a form posted to a full URL.
type Signer func(fullURL string, form url.Values) string

// Twilio posts webhooks to a handler as Twilio would: signed for PublicURL + the path.
type Twilio struct {
	T         testing.TB
	Handler   http.Handler
	PublicURL string
	Sign      Signer
}

// Post sends form to rawURL (a path with an optional query) and returns status and body.
func (tw Twilio) Post(rawURL string, form url.Values) (int, string) {
	tw.T.Helper()
	req := httptest.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", tw.Sign(tw.PublicURL+rawURL, form))
	rec := httptest.NewRecorder()
	tw.Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// Call plays a call from a number: the incoming webhook, then one gather answer per input
// (a string of digits, or words; "" is no input). It returns every TwiML answer.
func (tw Twilio) Call(from string, inputs ...string) []string {
	tw.T.Helper()
	return tw.CallStir(from, "TN-Validation-Passed-A", "TN-Validation-Passed-A", inputs...)
}

// CallStir plays a call like Call, with the StirVerstat Twilio sends on the incoming
// webhook (stir) and on every gather webhook (stirLater, to try raising trust mid-call).
func (tw Twilio) CallStir(from, stir, stirLater string, inputs ...string) []string {
	tw.T.Helper()
	form := Incoming(from)
	form.Set("StirVerstat", stir)
	code, body := tw.Post("/twilio/voice", form)
	if code != http.StatusOK {
		tw.T.Fatalf("voice webhook = %d %s", code, body)
	}
	out := []string{body}
	for _, in := range inputs {
		action := GatherAction(tw.T, body)
		form := Incoming(from)
		form.Set("StirVerstat", stirLater)
		if in != "" && strings.Trim(in, "0123456789*#") == "" {
			form.Set("Digits", in)
		} else if in != "" {
			form.Set("SpeechResult", in)
			form.Set("Confidence", "0.92")
		}
		code, body = tw.Post(strings.TrimPrefix(action, tw.PublicURL), form)
		if code != http.StatusOK {
			tw.T.Fatalf("gather webhook = %d %s", code, body)
		}
		out = append(out, body)
	}
	return out
}

var actionRE = regexp.MustCompile(`<Gather[^>]* action="([^"]+)"`)

// GatherAction is the action URL of the answer's <Gather>, unescaped.
func GatherAction(t testing.TB, twiml string) string {
	t.Helper()
	m := actionRE.FindStringSubmatch(twiml)
	if m == nil {
		t.Fatalf("no <Gather action> in %s", twiml)
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// Spoken is the text of every <Say>, as a caller would hear it.
func Spoken(t testing.TB, twiml string) string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(twiml))
	var b strings.Builder
	inSay := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("TwiML is not well-formed XML: %v\n%s", err, twiml)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if tok.Name.Local == "Say" {
				inSay++
			}
		case xml.EndElement:
			if tok.Name.Local == "Say" {
				inSay--
				b.WriteByte(' ')
			}
		case xml.CharData:
			if inSay > 0 {
				b.Write(tok)
			}
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// Seed is a member or an activity the call tests write, as the member API's JSON body.
type Seed struct{ Member, Activity, Body string }

// Members are the call tests' members (Thursday 2026-11-26, 10:00 in New York, is their
// now), then their activities (each with id t1). Dana (1001) has two numbers; Sam and
// Alex share one; 1007's name needs escaping.
var Members = []Seed{
	{"1001", "", `{"first_name":"Dana","last_name":"Whitfield","tier":"Diamond","language":"en-US","time_zone":"America/New_York","phones":["+14045550123","(404) 555-0199"]}`},
	{"1002", "", `{"first_name":"Marcus","last_name":"Lee","tier":"Gold","language":"en-US","time_zone":"America/Chicago","phones":["+13125550142"]}`},
	{"1003", "", `{"first_name":"Lucía","last_name":"Fernández","tier":"Platinum","language":"es-US","time_zone":"America/New_York","phones":["+13055550177"]}`},
	{"1004", "", `{"first_name":"Tom","last_name":"Becker","tier":"Member","language":"en-US","time_zone":"America/Los_Angeles","phones":["+12065550111"]}`},
	{"1005", "", `{"first_name":"Sam","last_name":"Ortiz","tier":"Silver","language":"en-US","time_zone":"America/New_York","phones":["+16175550100"]}`},
	{"1006", "", `{"first_name":"Alex","last_name":"Ortiz","tier":"Member","language":"en-US","time_zone":"America/New_York","phones":["+16175550100"]}`},
	{"1007", "", `{"first_name":"O'Brien & <Sons> \"Co\"","last_name":"Ltd","tier":"Gold","language":"en-US","time_zone":"America/St_Johns","phones":["+17095550144"]}`},
	{"1008", "", `{"first_name":"Rosa","last_name":"Diaz","tier":"Silver","language":"en-US","time_zone":"America/New_York","phones":["+19175550123"]}`},
	// Tomorrow (Friday) in New York.
	{"1001", "t1", `{"kind":"trip","summary":"Flight DL1234 to Atlanta","place":"Atlanta","starts_at":"2026-11-27T14:05:00-05:00","ends_at":"2026-11-27T16:30:00-05:00","status":"confirmed","reference":"HX7Q2P"}`},
	// A weekday next week, in Chicago.
	{"1002", "t1", `{"kind":"trip","summary":"Flight DL88 to Denver","place":"Denver","starts_at":"2026-12-03T09:30:00-06:00","ends_at":"2026-12-03T11:30:00-07:00","status":"confirmed","reference":"K9MZ4T"}`},
	// Ended yesterday.
	{"1003", "t1", `{"kind":"trip","summary":"Vuelo DL110 a Madrid","place":"Madrid","starts_at":"2026-11-24T18:00:00-05:00","ends_at":"2026-11-25T08:00:00+01:00","status":"confirmed","reference":"QW3E8R"}`},
	{"1005", "t1", `{"kind":"trip","summary":"Flight DL402 to Boston","place":"Boston","starts_at":"2026-11-29T07:15:00-05:00","ends_at":"2026-11-29T09:15:00-05:00","status":"confirmed","reference":"BOS4ME"}`},
	{"1007", "t1", `{"kind":"trip","summary":"Charter","place":"St. John's & <Gander>","starts_at":"2026-11-28T11:00:00-03:30","ends_at":"2026-11-28T12:00:00-03:30","status":"confirmed","reference":"OB&S<1>"}`},
	// In progress right now.
	{"1008", "t1", `{"kind":"trip","summary":"Flight DL9 to Paris","place":"Paris","starts_at":"2026-11-26T08:00:00-05:00","ends_at":"2026-11-26T21:00:00+01:00","status":"confirmed","reference":"PAR123"}`},
}

// Path is the member API path that writes the seed.
func (s Seed) Path() string {
	if s.Activity != "" {
		return "/api/v1/members/" + s.Member + "/activities/" + s.Activity
	}
	return "/api/v1/members/" + s.Member
}
