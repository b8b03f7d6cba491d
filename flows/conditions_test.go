package flows

import (
	"strings"
	"testing"
)

// The clock: Thursday, November 26th 2026 (Thanksgiving), 10:00 in New York: 15:00 UTC,
// 07:00 in Los Angeles, 00:00 on Friday in Tokyo.
func TestBranchConditions(t *testing.T) {
	la := dana(trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0)))
	la.TimeZone = "America/Los_Angeles"
	la.Attributes = map[string]string{"seat": "Aisle", "segment": "family"}
	noZone := sam(nil)
	noZone.TimeZone = ""
	tests := []struct {
		name     string
		zone     string   // the flow's time zone
		holidays []string // the flow's holidays
		cond     Condition
		call     Call
		want     bool
	}{
		{"member tier", "", nil, Condition{Field: "member.tier", Op: "in", Values: []string{"gold", "diamond"}}, callFrom(la), true},
		{"member attribute", "", nil, Condition{Field: "member.attributes.seat", Op: "eq", Value: "aisle"}, callFrom(la), true},
		{"member attribute missing", "", nil, Condition{Field: "member.attributes.meal", Op: "missing"}, callFrom(la), true},
		{"activity and its relation", "", nil, Condition{Field: "activity.relation", Op: "eq", Value: "upcoming"}, callFrom(la), true},
		{"activity missing", "", nil, Condition{Field: "activity", Op: "missing"}, callFrom(sam(nil)), true},
		{"members sharing the number", "", nil, Condition{Field: "caller.members", Op: "in", Values: []string{"2", "3"}}, callFrom(la, noZone), true},
		{"members sharing the number, not", "", nil, Condition{Field: "caller.members", Op: "gte", Value: "2"}, callFrom(la), false},
		{"caller verified", "", nil, Condition{Field: "caller.trust", Op: "eq", Value: "verified"}, trusted(callFrom(la), TrustVerified), true},
		{"caller trust unset reads unverified", "", nil, Condition{Field: "caller.trust", Op: "eq", Value: "unverified"}, trusted(callFrom(la), ""), true},
		{"caller claiming a PIN reads unverified", "", nil, Condition{Field: "caller.trust", Op: "eq", Value: "unverified"}, trusted(callFrom(la), TrustVerifiedPIN), true},
		{"caller suspicious", "", nil, Condition{Field: "caller.trust", Op: "ne", Value: "suspicious"}, trusted(callFrom(la), TrustSuspicious), false},
		{"weekday in the flow's zone", "America/New_York", nil, Condition{Field: "call.weekday", Op: "eq", Value: "thu"}, callFrom(la), true},
		{"weekday in UTC by default", "", nil, Condition{Field: "call.weekday", Op: "in", Values: []string{"Thursday", "fri"}}, callFrom(la), true},
		{"weekday in a condition's zone", "America/New_York", nil, Condition{Field: "call.weekday", Op: "eq", Value: "fri", TimeZone: "Asia/Tokyo"}, callFrom(la), true},
		{"weekend", "America/New_York", nil, Condition{Field: "call.weekday", Op: "in", Values: []string{"sat", "sun"}}, callFrom(la), false},
		{"weekday not in", "America/New_York", nil, Condition{Field: "call.weekday", Op: "not_in", Values: []string{"sat", "sun"}}, callFrom(la), true},
		{"office hours in the flow's zone", "America/New_York", nil, Condition{Field: "call.time", Op: "between", Values: []string{"09:00", "17:00"}}, callFrom(la), true},
		{"office hours in the member's zone", "America/New_York", nil, Condition{Field: "call.time", Op: "between", Values: []string{"09:00", "17:00"}, TimeZone: "member"}, callFrom(la), false},
		{"member's zone unknown: the flow's", "America/New_York", nil, Condition{Field: "call.time", Op: "between", Values: []string{"09:00", "17:00"}, TimeZone: "member"}, callFrom(noZone), true},
		{"night wraps midnight", "America/New_York", nil, Condition{Field: "call.time", Op: "between", Values: []string{"22:00", "06:00"}}, callFrom(la), false},
		{"night wraps midnight in Tokyo", "Asia/Tokyo", nil, Condition{Field: "call.time", Op: "between", Values: []string{"22:00", "06:00"}}, callFrom(la), true},
		{"the end is not included", "America/New_York", nil, Condition{Field: "call.time", Op: "between", Values: []string{"08:00", "10:00"}}, callFrom(la), false},
		{"before nine in the member's zone", "", nil, Condition{Field: "call.time", Op: "lt", Value: "09:00", TimeZone: "member"}, callFrom(la), true},
		{"date", "America/New_York", nil, Condition{Field: "call.date", Op: "eq", Value: "2026-11-26"}, callFrom(la), true},
		{"date in Tokyo", "America/New_York", nil, Condition{Field: "call.date", Op: "eq", Value: "2026-11-27", TimeZone: "Asia/Tokyo"}, callFrom(la), true},
		{"holiday dates in the condition", "America/New_York", nil, Condition{Field: "call.date", Op: "in", Values: []string{"12-25", "11-26"}}, callFrom(la), true},
		{"after a date", "America/New_York", nil, Condition{Field: "call.date", Op: "gt", Value: "2026-11-25"}, callFrom(la), true},
		{"before a date", "America/New_York", nil, Condition{Field: "call.date", Op: "lt", Value: "2026-11-26"}, callFrom(la), false},
		{"a holiday every year", "America/New_York", []string{"12-25", "11-26"}, Condition{Field: "call.holiday", Op: "eq", Value: "true"}, callFrom(la), true},
		{"a holiday another year", "America/New_York", []string{"2025-11-26"}, Condition{Field: "call.holiday", Op: "eq", Value: "true"}, callFrom(la), false},
		{"not a holiday", "America/New_York", []string{"2026-12-25"}, Condition{Field: "call.holiday", Op: "eq", Value: "false"}, callFrom(la), true},
		{"a holiday in Tokyo is tomorrow's date", "America/New_York", []string{"2026-11-27"}, Condition{Field: "call.holiday", Op: "ne", Value: "false", TimeZone: "Asia/Tokyo"}, callFrom(la), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := flowOf(
				Node{ID: "check", Type: NodeBranch, Cases: []Case{{When: []Condition{tt.cond}, Next: "yes"}}, Default: "no"},
				Node{ID: "yes", Type: NodeHangup, Say: en("yes")},
				Node{ID: "no", Type: NodeHangup, Say: en("no")},
			)
			f.TimeZone, f.Holidays = tt.zone, tt.holidays
			loaded := mustLoad(t, f)
			if probs := loaded.Validate(); len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			turn, err := loaded.Start(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn) == "yes"; got != tt.want {
				t.Errorf("holds = %v, want %v; trace %q", got, tt.want, turn.Trace)
			}
		})
	}
}

func trusted(c Call, trust string) Call {
	c.Caller.Trust = trust
	return c
}

func TestBranchTraceShowsTheClock(t *testing.T) {
	f := flowOf(
		Node{ID: "hours", Type: NodeBranch, Cases: []Case{{When: []Condition{
			{Field: "call.weekday", Op: "not_in", Values: []string{"sat", "sun"}},
			{Field: "call.time", Op: "between", Values: []string{"09:00", "17:00"}, TimeZone: "member"},
		}, Next: "open"}}, Default: "closed"},
		Node{ID: "open", Type: NodeHangup},
		Node{ID: "closed", Type: NodeHangup},
	)
	f.TimeZone = "America/New_York"
	m := sam(nil)
	m.TimeZone = "America/Los_Angeles"
	turn, err := mustLoad(t, f).Start(callFrom(m))
	if err != nil {
		t.Fatal(err)
	}
	want := "branch hours: call.weekday not_in sat|sun [Thu 2026-11-26 10:00 America/New_York] and " +
		"call.time between 09:00–17:00 (member's zone) [Thu 2026-11-26 07:00 America/Los_Angeles] → false; default → closed"
	if turn.Trace[0] != want {
		t.Errorf("trace:\n got %q\nwant %q", turn.Trace[0], want)
	}
}

func TestValidateNodes(t *testing.T) {
	tests := []struct {
		name      string
		nodes     []Node
		change    func(f *Flow)
		opts      ValidateOptions
		wantPaths []string
		wantMsg   string // in the first problem
	}{
		{"play without url", []Node{{ID: "p", Type: NodePlay, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.p.url"}, "required"},
		{"play with a file path", []Node{{ID: "p", Type: NodePlay, URL: "/audio/hold.mp3", Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.p.url"}, "http or https"},
		{"play over ftp", []Node{{ID: "p", Type: NodePlay, URL: "ftp://example.com/a.mp3", Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.p.url"}, "http or https"},
		{"play without a host", []Node{{ID: "p", Type: NodePlay, URL: "https:///a.mp3", Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.p.url"}, "needs a host"},
		{"play with a password", []Node{{ID: "p", Type: NodePlay, URL: "https://u:pw@example.com/a.mp3", Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.p.url"}, "password"},
		{"play without next", []Node{{ID: "p", Type: NodePlay, URL: "https://example.com/a.mp3"}}, nil, ValidateOptions{}, []string{"nodes.p.next"}, "required"},
		{"set nothing", []Node{{ID: "s", Type: NodeSet, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.set"}, "at least one variable"},
		{"record just too long", []Node{{ID: "r", Type: NodeRecord, Say: en("Speak."), MaxSeconds: 3601, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.r.max_seconds"}, "must be between 1 and 3600"},
		{"record silence too long", []Node{{ID: "r", Type: NodeRecord, Say: en("Speak."), Timeout: 61, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.r.timeout"}, "must be between 1 and 60 seconds"},
		{"a negative gather timeout", []Node{{ID: "g", Type: NodeGather, Prompt: en("Press 1."), Timeout: -1, Options: []Option{{Digits: "1", Next: "bye"}}}}, nil, ValidateOptions{}, []string{"nodes.g.timeout"}, "must be between 1 and 60 seconds"},
		{"set a bad name", []Node{{ID: "s", Type: NodeSet, Set: map[string]string{"Seat-Pref": "x"}, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.set.Seat-Pref"}, "bad variable name"},
		{"set a bad template", []Node{{ID: "s", Type: NodeSet, Set: map[string]string{"code": "{{ activity.ref }}"}, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.set.code"}, `unknown field "activity.ref"`},
		{"read a variable nobody sets", []Node{{ID: "s", Type: NodeSay, Say: en("{{ vars.code }}"), Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.say.en-US"}, "unknown variable vars.code"},
		{"test a variable nobody sets", []Node{{ID: "b", Type: NodeBranch, Cases: []Case{{When: []Condition{{Field: "vars.code", Op: "exists"}}, Next: "bye"}}, Default: "bye"}}, nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.field"}, "unknown variable"},
		{"a bad variable name in a template", []Node{{ID: "s", Type: NodeSay, Say: en("{{ vars.Code }}"), Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.say.en-US"}, `bad name in "vars.Code"`},
		{"too many variables", []Node{{ID: "s", Type: NodeSet, Set: func() map[string]string {
			m := map[string]string{}
			for _, c := range "abcdefghijklmnopq" {
				m[string(c)] = "x"
			}
			return m
		}(), Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes"}, "17 variables; at most 16"},
		{"declared variables", []Node{{ID: "s", Type: NodeSay, Say: en("{{ vars.topic }}"), Next: "bye"}}, func(f *Flow) { f.Vars = []string{"topic"} }, ValidateOptions{}, []string{}, ""},
		{"a bad declared variable", nil, func(f *Flow) { f.Vars = []string{"topic", "Topic"} }, ValidateOptions{}, []string{"vars.1"}, "bad variable name"},
		{"record too long", []Node{{ID: "r", Type: NodeRecord, MaxSeconds: 7200, Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.r.max_seconds"}, "between 1 and 3600"},
		{"record without next", []Node{{ID: "r", Type: NodeRecord}}, nil, ValidateOptions{}, []string{"nodes.r.next"}, "required"},
		{"record with options", []Node{{ID: "r", Type: NodeRecord, Next: "bye", Options: []Option{{Digits: "1", Next: "bye"}}}}, nil, ValidateOptions{}, []string{"nodes.r.options"}, "not used by a record node"},
		{"goto without a flow", []Node{{ID: "g", Type: NodeGoto}}, nil, ValidateOptions{}, []string{"nodes.g.flow"}, "required"},
		{"goto a bad id", []Node{{ID: "g", Type: NodeGoto, Flow: "sales team"}}, nil, ValidateOptions{}, []string{"nodes.g.flow"}, "must be a flow id"},
		{"goto an unknown flow", []Node{{ID: "g", Type: NodeGoto, Flow: "sales"}}, nil, ValidateOptions{KnownFlow: func(id string) bool { return id == "billing" }}, []string{"nodes.g.flow"}, `unknown flow "sales"`},
		{"goto a known flow", []Node{{ID: "g", Type: NodeGoto, Flow: "billing"}}, nil, ValidateOptions{KnownFlow: func(id string) bool { return id == "billing" }}, []string{}, ""},
		{"goto itself without input", []Node{{ID: "g", Type: NodeGoto, Flow: "test"}}, nil, ValidateOptions{}, []string{"nodes.g"}, "loop without input: g → g"},
		{"handoff without a target", []Node{{ID: "h", Type: NodeHandoff, Reason: "x"}}, nil, ValidateOptions{}, []string{"nodes.h.queue"}, "needs a target"},
		{"handoff with two overrides", []Node{{ID: "h", Type: NodeHandoff, SIP: "sip:a@b.example", Client: "desk"}}, nil, ValidateOptions{}, []string{"nodes.h"}, "at most one"},
		{"handoff bad workflow", []Node{{ID: "h", Type: NodeHandoff, Workflow: "WW123"}}, nil, ValidateOptions{}, []string{"nodes.h.workflow"}, "workflow SID"},
		{"handoff bad sip", []Node{{ID: "h", Type: NodeHandoff, SIP: "https://pbx.example.com"}}, nil, ValidateOptions{}, []string{"nodes.h.sip"}, "sip: URI"},
		{"handoff bad client", []Node{{ID: "h", Type: NodeHandoff, Client: "front desk"}}, nil, ValidateOptions{}, []string{"nodes.h.client"}, "Client identity"},
		{"a clock field in a template", []Node{{ID: "s", Type: NodeSay, Say: en("Today is {{ call.weekday }}."), Next: "bye"}}, nil, ValidateOptions{}, []string{"nodes.s.say.en-US"}, "only be tested in a branch"},
		{"bad weekday", branchOn(Condition{Field: "call.weekday", Op: "eq", Value: "funday"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.value"}, "must be a weekday"},
		{"bad time", branchOn(Condition{Field: "call.time", Op: "lt", Value: "9am"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.value"}, "HH:MM"},
		{"between one time", branchOn(Condition{Field: "call.time", Op: "between", Values: []string{"09:00"}}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.values"}, "two times"},
		{"between on a weekday", branchOn(Condition{Field: "call.weekday", Op: "between", Values: []string{"mon", "fri"}}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.op"}, "times of day"},
		{"in on a time", branchOn(Condition{Field: "call.time", Op: "in", Values: []string{"09:00"}}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.op"}, "use eq or between"},
		{"bad date", branchOn(Condition{Field: "call.date", Op: "in", Values: []string{"2026-02-30"}}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.values.0"}, "YYYY-MM-DD"},
		{"an every-year date ordered", branchOn(Condition{Field: "call.date", Op: "gt", Value: "12-24"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.value"}, "need a full date"},
		{"holiday not a bool", branchOn(Condition{Field: "call.holiday", Op: "eq", Value: "yes"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.value"}, "true or false"},
		{"bad trust", branchOn(Condition{Field: "caller.trust", Op: "eq", Value: "trusted"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.value"}, "suspicious, unverified, verified, verified_pin"},
		{"time zone on a member field", branchOn(Condition{Field: "member.tier", Op: "eq", Value: "Gold", TimeZone: "member"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.time_zone"}, "only for call."},
		{"unknown condition zone", branchOn(Condition{Field: "call.time", Op: "lt", Value: "09:00", TimeZone: "Mars/Olympus"}), nil, ValidateOptions{}, []string{"nodes.b.cases.0.when.0.time_zone"}, `unknown time zone "Mars/Olympus"`},
		{"unknown flow zone", nil, func(f *Flow) { f.TimeZone = "Eastern" }, ValidateOptions{}, []string{"time_zone"}, `unknown time zone "Eastern"`},
		{"bad holiday", nil, func(f *Flow) { f.Holidays = []string{"2026-12-25", "Christmas"} }, ValidateOptions{}, []string{"holidays.1"}, "YYYY-MM-DD"},
		{"step limit out of range", nil, func(f *Flow) { f.MaxStepsWithoutInput = 500 }, ValidateOptions{}, []string{"max_steps_without_input"}, "between 1 and 100"},
		{"too many steps without input", nil, func(f *Flow) { f.MaxStepsWithoutInput = 2 }, ValidateOptions{}, []string{"nodes.greet"}, "3 steps without caller input (max_steps_without_input is 2): greet → route → menu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlow()
			if tt.nodes != nil {
				f = flowOf(append(tt.nodes, Node{ID: "bye", Type: NodeHangup})...)
			}
			if tt.change != nil {
				tt.change(f)
			}
			r := f.ValidateWith(tt.opts)
			if got := paths(r.Errors); strings.Join(got, ",") != strings.Join(tt.wantPaths, ",") {
				t.Fatalf("paths = %q, want %q\nproblems: %v", got, tt.wantPaths, r.Errors)
			}
			if len(r.Errors) > 0 && !strings.Contains(r.Errors[0].Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", r.Errors[0].Message, tt.wantMsg)
			}
			if r.Valid() != (len(tt.wantPaths) == 0) {
				t.Errorf("Valid = %v", r.Valid())
			}
		})
	}
}

func branchOn(c Condition) []Node {
	return []Node{{ID: "b", Type: NodeBranch, Cases: []Case{{When: []Condition{c}, Next: "bye"}}, Default: "bye"}}
}

func TestValidateWarnings(t *testing.T) {
	tests := []struct {
		name   string
		change func(f *Flow)
		want   []Problem
	}{
		{"the test flow", func(f *Flow) {}, []Problem{
			{"nodes.menu.prompt.es-US", "no es-US text: es-US callers hear the en-US text"},
			{"nodes.menu.options.0.words", "no es-US words: es-US callers are matched with the en-US words"},
			{"nodes.bye", "unreachable: no path from the start node leads here"},
		}},
		{"the default flow has none", func(f *Flow) { *f = *Default() }, []Problem{}},
		{"a gather that hangs up at the end", func(f *Flow) {
			f.Nodes[2].NoInput, f.Nodes[2].NoMatch = "", ""
			f.Nodes[2].Prompt["es-US"] = "Marque 1."
			f.Nodes[2].Options[0].Words["es-US"] = []string{"sí"}
			f.Nodes = f.Nodes[:4]
		}, []Problem{{"nodes.menu", "no no_input or no_match: the call hangs up after the last retry"}}},
		{"a duplicate holiday", func(f *Flow) {
			f.Holidays = []string{"12-25", "12-25"}
			f.Nodes[2].Prompt["es-US"] = "Marque 1."
			f.Nodes[2].Options[0].Words["es-US"] = []string{"sí"}
			f.Nodes = f.Nodes[:4]
		}, []Problem{{"holidays.1", "duplicate of holidays.0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlow()
			tt.change(f)
			r := f.ValidateWith(ValidateOptions{})
			if len(r.Errors) > 0 {
				t.Fatalf("errors: %v", r.Errors)
			}
			if strings.Join(problemStrings(r.Warnings), "\n") != strings.Join(problemStrings(tt.want), "\n") {
				t.Errorf("warnings:\n got %q\nwant %q", r.Warnings, tt.want)
			}
			if len(f.Validate()) != 0 {
				t.Errorf("Validate reports warnings: %v", f.Validate())
			}
		})
	}
}

func problemStrings(ps []Problem) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Error())
	}
	return out
}
