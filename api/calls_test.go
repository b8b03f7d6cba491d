package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/testsupport/twiliotest"
)

// placeCall plays a call with its own call SID, then Twilio's status callback.
func (h *harness) placeCall(sid, from string, inputs ...string) {
	h.t.Helper()
	form := twiliotest.Incoming(from)
	form.Set("CallSid", sid)
	code, body := h.Post("/twilio/voice", form)
	if code != http.StatusOK {
		h.t.Fatalf("voice = %d %s", code, body)
	}
	for _, in := range inputs {
		action := strings.TrimPrefix(twiliotest.GatherAction(h.t, body), testPublicURL)
		f := twiliotest.Incoming(from)
		f.Set("CallSid", sid)
		if strings.Trim(in, "0123456789*#") == "" {
			f.Set("Digits", in)
		} else {
			f.Set("SpeechResult", in)
		}
		if code, body = h.Post(action, f); code != http.StatusOK {
			h.t.Fatalf("gather = %d %s", code, body)
		}
	}
	st := url.Values{"CallSid": {sid}, "CallStatus": {"completed"}, "CallDuration": {"42"}, "From": {from}, "To": {"+18005550100"}}
	if code, body := h.Post("/twilio/status", st); code != http.StatusNoContent {
		h.t.Fatalf("status = %d %s", code, body)
	}
}

func TestCallRecordsAPIAndReports(t *testing.T) {
	o := newObserved(t)
	o.placeCall("CAdana", "+14045550123", "1")       // member, yes to the trip
	o.placeCall("CAdana2", "+14045550123", "2", "0") // member, then on to an agent
	o.placeCall("CAmarcus", "+13125550142")          // member, hangs up at the first question
	o.placeCall("CAunknown", "+12125550199")         // unknown number, hangs up
	o.placeCall("CAanon", "anonymous")               // caller id withheld
	if err := o.records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, path string
		want       []string
		not        []string
	}{
		{"all", "/api/v1/calls", []string{"CAdana", "CAdana2", "CAmarcus", "CAunknown", "CAanon"}, nil},
		{"by member", "/api/v1/calls?member=1001", []string{"CAdana", "CAdana2"}, []string{"CAmarcus"}},
		{"member route", "/api/v1/members/1002/calls", []string{"CAmarcus"}, []string{"CAdana"}},
		{"by number", "/api/v1/calls?number=%2B13125550142", []string{"CAmarcus"}, []string{"CAdana"}},
		{"hung up", "/api/v1/calls?outcome=caller_hung_up", []string{"CAmarcus", "CAunknown"}, []string{"CAdana\""}},
		{"time range", "/api/v1/calls?from=2026-11-26&to=2026-11-27", []string{"CAdana"}, nil},
		{"empty range", "/api/v1/calls?from=2026-11-27", nil, []string{"CA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := o.mustAPI(http.MethodGet, tc.path, "")
			for _, w := range tc.want {
				if !strings.Contains(body, `"`+w+`"`) {
					t.Errorf("no %s in %s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, `"call_sid": "`+strings.Trim(n, `"`)+`"`) && n != "CA" || (n == "CA" && strings.Contains(body, `"call_sid"`)) {
					t.Errorf("%s in %s", n, body)
				}
			}
		})
	}

	for _, tc := range []struct{ name, path, field string }{
		{"bad number", "/api/v1/calls?number=abc", "number"},
		{"bad outcome", "/api/v1/calls?outcome=maybe", "outcome"},
		{"bad time", "/api/v1/calls?from=yesterday", "from"},
		{"bad limit", "/api/v1/calls?limit=0", "limit"},
		{"bad cursor", "/api/v1/calls?cursor=zz", "cursor"},
		{"bad zone", "/api/v1/reports/recognition?tz=Mars/Base", "tz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := o.api(http.MethodGet, tc.path, "")
			if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"field": "`+tc.field+`"`) {
				t.Errorf("%s = %d %s, want 422 naming %s", tc.path, code, body, tc.field)
			}
		})
	}
	if code, _ := o.api(http.MethodGet, "/api/v1/calls/CAnothing", ""); code != http.StatusNotFound {
		t.Errorf("unknown call = %d, want 404", code)
	}

	var rec struct {
		Calls      int     `json:"calls"`
		Recognized int     `json:"recognized"`
		Share      float64 `json:"recognized_share"`
		Days       []struct {
			Day                                        string
			Member, Household, Unknown, Anonymous, All int
		} `json:"days"`
	}
	if err := json.Unmarshal([]byte(o.mustAPI(http.MethodGet, "/api/v1/reports/recognition?tz=America/New_York", "")), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Calls != 5 || rec.Recognized != 3 || rec.Share != 0.6 || len(rec.Days) != 1 || rec.Days[0].Day != "2026-11-26" ||
		rec.Days[0].Unknown != 1 || rec.Days[0].Anonymous != 1 {
		t.Errorf("recognition report = %+v", rec)
	}
	t.Logf("recognition report:\n%s", o.mustAPI(http.MethodGet, "/api/v1/reports/recognition?tz=America/New_York", ""))

	out := o.mustAPI(http.MethodGet, "/api/v1/reports/outcomes", "")
	for _, w := range []string{`"flow": "default"`, `"caller_hung_up": 3`, `"exits"`} {
		if !strings.Contains(out, w) {
			t.Errorf("outcomes report lacks %s:\n%s", w, out)
		}
	}
	t.Logf("outcomes report:\n%s", out)

	members := o.mustAPI(http.MethodGet, "/api/v1/reports/members?min_calls=1", "")
	var mr struct {
		Upcoming []struct {
			MemberID string `json:"member_id"`
			Calls    int    `json:"calls"`
		} `json:"upcoming_activity"`
	}
	if err := json.Unmarshal([]byte(members), &mr); err != nil {
		t.Fatal(err)
	}
	if len(mr.Upcoming) != 2 || mr.Upcoming[0].MemberID != "1001" || mr.Upcoming[0].Calls != 2 || mr.Upcoming[1].MemberID != "1002" {
		t.Errorf("members report = %s", members)
	}
	for _, pii := range []string{"Dana", "Whitfield", "Marcus", "4045550123"} {
		if strings.Contains(members+out, pii) {
			t.Errorf("reports contain %q", pii)
		}
	}

	t.Run("csv", func(t *testing.T) {
		for _, tc := range []struct{ path, accept, header string }{
			{"/api/v1/reports/recognition?format=csv", "", "day,calls,member,household,unknown,anonymous,error,identified,recognized_share"},
			{"/api/v1/reports/outcomes", "text/csv", "flow,version,exit_node,outcome,calls"},
			{"/api/v1/reports/members?format=csv&min_calls=1", "", "list,member_id,tier,calls"},
		} {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.Header.Set("Authorization", "Bearer "+testAdminToken)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			w := httptest.NewRecorder()
			o.handler.ServeHTTP(w, req)
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
				!strings.HasPrefix(w.Body.String(), tc.header) || strings.Count(w.Body.String(), "\n") < 2 {
				t.Errorf("%s = %d %s %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.String())
			}
		}
	})
}

// TestRecognitionByTrust: the recognition report says, for each trust level, how many
// recognized callers the flow asked about their activity.
func TestRecognitionByTrust(t *testing.T) {
	o := newObserved(t)
	o.placeCall("CAdanaA", "+14045550123")  // attested: asked about the trip to Atlanta
	o.placeCall("CAtomA", "+12065550111")   // attested, no activity: the menu
	o.placeCall("CAnobody", "+12125550199") // not recognized
	unattested := twiliotest.Incoming("+14045550123")
	unattested.Set("CallSid", "CAdanaU")
	unattested.Del("StirVerstat") // most calls: asked about "your upcoming trip"
	if code, body := o.Post("/twilio/voice", unattested); code != http.StatusOK || !strings.Contains(body, "your upcoming trip") {
		t.Fatalf("unattested call = %d %s", code, body)
	}
	if err := o.records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		ByTrust []struct {
			Trust         string  `json:"trust"`
			Recognized    int     `json:"recognized"`
			AskedActivity int     `json:"asked_activity"`
			Share         float64 `json:"asked_share"`
		} `json:"by_trust"`
	}
	if err := json.Unmarshal([]byte(o.mustAPI(http.MethodGet, "/api/v1/reports/recognition", "")), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string][3]float64{}
	for _, l := range rep.ByTrust {
		got[l.Trust] = [3]float64{float64(l.Recognized), float64(l.AskedActivity), l.Share}
	}
	want := map[string][3]float64{"verified": {2, 1, 0.5}, "unverified": {1, 1, 1}}
	if len(got) != len(want) || got["verified"] != want["verified"] || got["unverified"] != want["unverified"] {
		t.Errorf("by trust = %v, want %v", got, want)
	}
}
