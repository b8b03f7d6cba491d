package flows

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// withTests is the default flow carrying the given tests, loaded from its JSON.
func withTests(t *testing.T, tests string) *Flow {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(defaultFlowJSON, &doc); err != nil {
		t.Fatal(err)
	}
	doc["tests"] = json.RawMessage(tests)
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const danaProfile = `{"id": "1001", "first_name": "Dana", "tier": "Diamond", "time_zone": "America/New_York",
	"activity": {"id": "t1", "place": "Atlanta", "starts_at": "2026-11-27T14:05:00-05:00", "reference": "HX7Q2P"}}`

func TestFlowTestsPassAndFail(t *testing.T) {
	f := withTests(t, `[
		{"name": "dana-verified-says-yes", "caller": {"profile": `+danaProfile+`}, "now": "2026-11-26T09:00:00-05:00",
		 "trust": "verified", "inputs": ["yes please"],
		 "expect": {"end": "handoff", "says": ["Atlanta"], "never_says": ["HX7Q2P"],
		            "handoff": {"queue": "agents", "context": ["member_id"]}, "visits": ["about_activity"]}},
		{"name": "dana-unverified-hears-no-place", "caller": {"profile": `+danaProfile+`}, "now": "2026-11-26T09:00:00-05:00",
		 "expect": {"end": "awaiting", "says": ["your upcoming trip"], "never_says": ["Atlanta", "HX7Q2P"]}},
		{"name": "wrong-expectations", "caller": {"profile": `+danaProfile+`}, "now": "2026-11-26T09:00:00-05:00",
		 "trust": "verified", "inputs": ["yes"],
		 "expect": {"end": "hangup", "says": ["Paris"], "never_says": ["Atlanta"],
		            "handoff": {"queue": "billing", "context": ["favourite_colour"]}, "visits": ["tell_tier"]}},
		{"name": "by-number", "caller": {"phone": "+14045550123"}, "expect": {"end": "handoff"}},
		{"name": "unknown-caller", "caller": {}, "now": "2026-11-26T09:00:00-05:00", "expect": {"never_says": ["Welcome back"]}}
	]`)
	if probs := f.Validate(); len(probs) > 0 {
		t.Fatalf("the tests' shape is refused: %v", probs)
	}
	results := f.RunTests(TestEnv{})
	if len(results) != 5 {
		t.Fatalf("%d results, want 5", len(results))
	}
	for _, i := range []int{0, 1, 4} {
		if r := results[i]; !r.Passed() {
			t.Errorf("%s: skipped %q, failures %v", r.Name, r.Skipped, r.Failures)
		}
	}
	wrong := results[2]
	want := []string{
		"tests.wrong-expectations.expect.end",
		"tests.wrong-expectations.expect.says.0",
		"tests.wrong-expectations.expect.never_says.0",
		"tests.wrong-expectations.expect.visits.0",
		"tests.wrong-expectations.expect.handoff.queue",
		"tests.wrong-expectations.expect.handoff.context.0",
	}
	if got := paths(wrong.Failures); !reflect.DeepEqual(got, want) {
		t.Errorf("failures at %v, want %v\n%v", got, want, wrong.Failures)
	}
	if msg := wrong.Failures[0].Message; msg != `the call ended with handoff, not hangup` {
		t.Errorf("end failure says %q", msg)
	}
	if r := results[3]; r.Skipped == "" || r.Passed() {
		t.Errorf("a directory caller offline ran: %+v", r)
	}
	// With a directory, the same case runs.
	results = f.RunTests(TestEnv{Members: func(phone string, _ time.Time) ([]Member, error) {
		if phone != "+14045550123" {
			return nil, nil
		}
		return []Member{{ID: "1001", FirstName: "Dana", Tier: "Diamond"}}, nil
	}})
	if r := results[3]; r.Skipped != "" || r.Transcript == nil || !strings.Contains(strings.Join(r.Transcript.Steps[0].Said, " "), "Dana") {
		t.Errorf("a directory caller with a directory: %+v", r)
	}
}

func TestFlowTestsShapeIsValidated(t *testing.T) {
	f := withTests(t, `[
		{"name": "", "expect": {}},
		{"name": "twice", "expect": {}},
		{"name": "twice", "now": "tomorrow", "trust": "verified_pin", "caller": {"phone": "+14045550123", "profile": {}},
		 "expect": {"end": "transfer", "says": [" "], "visits": ["nowhere"]}},
		{"name": "bad-activity", "caller": {"profile": {"activity": {"starts_at": "soon", "relation": "next"}}}, "expect": {}}
	]`)
	want := []string{
		"tests.0.name",
		"tests.2.name", "tests.2.now", "tests.2.trust", "tests.2.caller", "tests.2.expect.end", "tests.2.expect.says.0", "tests.2.expect.visits.0",
		"tests.bad-activity.caller.profile.activity.starts_at", "tests.bad-activity.caller.profile.activity.relation",
	}
	if got := paths(f.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("problems at %v, want %v\n%v", got, want, f.Validate())
	}
	for _, r := range f.RunTests(TestEnv{}) {
		if r.Skipped != "the flow has validation errors" {
			t.Errorf("%s ran on an invalid flow: %+v", r.Name, r)
		}
	}
	// A test's fields are checked like the rest of the document.
	_, err := CheckDocument("default", []byte(strings.Replace(string(defaultFlowJSON), `"tests": [`, `"tests": [{"name": "x", "expect": {"end": "handoff", "ends": 1}}, `, 1)))
	var probs Problems
	if !errors.As(err, &probs) || !strings.Contains(probs.Error(), "tests.x.expect.ends") {
		t.Errorf("an unknown field in a test: %v", err)
	}
}

// The default flow ships with a test for each of its main branches, and they pass.
func TestDefaultFlowTestsPass(t *testing.T) {
	f := Default()
	if len(f.Tests) < 7 {
		t.Fatalf("the default flow has %d tests", len(f.Tests))
	}
	for _, r := range f.RunTests(TestEnv{}) {
		if !r.Passed() {
			t.Errorf("%s: skipped %q, failures %v", r.Name, r.Skipped, r.Failures)
		}
	}
}
