package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memberline/memberline/calls"
)

// Known calls placed through the webhooks, then the insight routes read them: the calls
// list's new filters, a call's journey with what the caller heard, traffic per node and
// edge, outcomes by day, repeat callers, and every segment.
func TestInsightFromKnownCalls(t *testing.T) {
	h, records := newFullHarness(t)
	h.seedMembers()
	h.placeCall("CAdana1", "+14045550123", "1")      // Dana: yes to her trip → the activity agents
	h.placeCall("CAdana2", "+14045550123", "2", "0") // Dana: no → the menu → an agent
	h.placeCall("CAmarcus", "+13125550142")          // Marcus hangs up at the question about his trip
	for _, sid := range []string{"CAtom1", "CAtom2", "CAtom3"} {
		h.placeCall(sid, "+12065550111", "3") // Tom, no activity: his tier, goodbye
	}
	for _, sid := range []string{"CAstranger1", "CAstranger2", "CAstranger3"} {
		h.placeCall(sid, "+12125550199") // a number no member has, hangs up
	}
	if err := records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sids := func(path string) []string {
		t.Helper()
		var page calls.Page
		if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, path, "")), &page); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range page.Calls {
			out = append(out, c.CallSID)
		}
		return out
	}
	for path, want := range map[string]string{
		"/api/v1/calls?recognized=no":                      "CAstranger3 CAstranger2 CAstranger1",
		"/api/v1/calls?recognized=yes&outcome=handoff":     "CAdana2 CAdana1",
		"/api/v1/calls?flow=default&version=1&member=1002": "CAmarcus",
		"/api/v1/calls?flow=default&version=2":             "",
	} {
		if got := strings.Join(sids(path), " "); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}

	// The journey: each webhook with what the caller heard and how they answered.
	var j struct {
		Call  calls.Call
		Steps []struct {
			Nodes []string
			Input string
			Said  []string
		}
		Heard, Reason string
	}
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/calls/CAdana1/journey", "")), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Steps) != 2 || j.Reason != "" || !strings.Contains(j.Heard, "version 1") || j.Steps[1].Input != "1" ||
		!strings.Contains(strings.Join(j.Steps[0].Said, " "), "Welcome back, Dana.") ||
		strings.Join(j.Steps[1].Said, " ") != "One moment while I connect you with an agent." || !j.Call.ActivityYes || !j.Call.HadActivity {
		t.Errorf("journey = %+v", j)
	}

	// Traffic on version 1: per node and per edge.
	var tr struct {
		Version int
		Calls   int
		Nodes   []calls.NodeTraffic
		Edges   []calls.EdgeTraffic
	}
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/flows/default/traffic?from=2026-11-01", "")), &tr); err != nil {
		t.Fatal(err)
	}
	node := map[string]calls.NodeTraffic{}
	for _, n := range tr.Nodes {
		node[n.Node] = n
	}
	edge := map[string]int{}
	for _, e := range tr.Edges {
		edge[e.From+"→"+e.To] = e.Calls
	}
	if tr.Version != 1 || tr.Calls != 9 || node["start"].Entered != 9 || node["welcome_unknown"].Entered != 3 {
		t.Errorf("traffic: version %d, %d calls, start %+v, welcome_unknown %+v", tr.Version, tr.Calls, node["start"], node["welcome_unknown"])
	}
	if n := node["about_activity"]; n.Entered != 3 || n.HungUp != 1 || n.HandedOff != 0 {
		t.Errorf("about_activity: %+v", n)
	}
	if n := node["agent_activity"]; n.Entered != 1 || n.HandedOff != 1 {
		t.Errorf("agent_activity: %+v", n)
	}
	if n := node["goodbye"]; n.Entered != 3 || n.SelfService != 3 {
		t.Errorf("goodbye: %+v", n)
	}
	if edge["about_activity→agent_activity"] != 1 || edge["about_activity→menu"] != 1 || edge["menu→tell_tier"] != 3 || edge["about_activity→about_activity"] != 0 {
		t.Errorf("edges: %v", edge)
	}
	if rec := h.req(http.MethodGet, "/api/v1/flows/default/traffic?version=7", ""); rec.Code != http.StatusNotFound {
		t.Errorf("traffic of a version that does not exist = %d %s", rec.Code, rec.Body)
	}

	// Outcomes by day, and repeat callers: Dana's second call, Tom's and the stranger's
	// second and third.
	var out struct{ Days []calls.OutcomeDay }
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/reports/outcomes?from=2026-11-01&tz=America/New_York", "")), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Days) != 1 || out.Days[0] != (calls.OutcomeDay{Day: "2026-11-26", Flow: "default", Version: 1, Outcomes: calls.Outcomes{Calls: 9, SelfService: 3, Handoff: 2, HungUp: 4}}) {
		t.Errorf("outcomes by day: %+v", out.Days)
	}
	var rep struct{ Days []calls.RepeatDay }
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/reports/repeat?from=2026-11-01&tz=America/New_York", "")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Days) != 1 || rep.Days[0].Calls != 9 || rep.Days[0].Repeat != 5 {
		t.Errorf("repeat callers: %+v", rep.Days)
	}

	// Segments, each against what the calls above make of it.
	var seg struct{ Segments []calls.Segment }
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/reports/segments?from=2026-11-01", "")), &seg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		calls.SegmentActivityCallers:     "1001:2",
		calls.SegmentFrequentNoActivity:  "1004:3",
		calls.SegmentAlwaysHandedOff:     "1001:2",
		calls.SegmentUnrecognizedNumbers: "+1212***0199:3",
	}
	for _, s := range seg.Segments {
		var got []string
		for _, l := range s.Lines {
			got = append(got, l.MemberID+l.Caller+":"+itoa(l.Calls))
		}
		if strings.Join(got, " ") != want[s.Name] || s.Count != len(s.Lines) || s.Definition == "" {
			t.Errorf("segment %s: %v (count %d), want %s", s.Name, got, s.Count, want[s.Name])
		}
		// The definition is for people: the number "often" means, never a parameter's name.
		if strings.Contains(strings.ToLower(s.Definition), "min_calls") ||
			(s.Name == calls.SegmentFrequentNoActivity && !strings.Contains(s.Definition, "at least 3 calls")) {
			t.Errorf("segment %s is defined as %q", s.Name, s.Definition)
		}
		delete(want, s.Name)
	}
	if len(want) > 0 {
		t.Errorf("segments missing: %v", want)
	}
	rec := h.req(http.MethodGet, "/api/v1/reports/segments?from=2026-11-01&segment=unrecognized_numbers&format=csv", "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "member_id,caller,caller_hash,calls,") || !strings.Contains(rec.Body.String(), "+1212***0199") {
		t.Errorf("segment CSV = %d %s", rec.Code, rec.Body)
	}
	// A higher bar empties the frequency segments.
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodGet, "/api/v1/reports/segments?from=2026-11-01&min_calls=4", "")), &seg); err != nil {
		t.Fatal(err)
	}
	for _, s := range seg.Segments {
		if (s.Name == calls.SegmentFrequentNoActivity || s.Name == calls.SegmentUnrecognizedNumbers) && s.Count != 0 {
			t.Errorf("min_calls=4: %s has %d", s.Name, s.Count)
		}
	}
}
