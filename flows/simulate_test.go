package flows

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// leeEnv is a directory with one member number, Lee's 2002, whose PIN is testPIN.
func leeEnv() SimEnv {
	lee := lee()
	return SimEnv{Identify: func(number string) *Member {
		if number == "2002" {
			return &lee
		}
		return nil
	}, Verify: func(memberID, pin string) bool { return memberID == "2002" && pin == testPIN }}
}

func TestSimulateDefaultFlow(t *testing.T) {
	env := leeEnv()
	tests := []struct {
		name       string
		call       Call
		script     []Input
		wantSaid   [][]string
		wantEnd    string
		wantUnused int
		wantQueue  string
	}{
		{
			name:      "known member asks for reservations",
			call:      callFrom(sam(nil)),
			script:    []Input{{Digits: "1"}},
			wantSaid:  [][]string{{"Welcome back, Sam.", menuText}, {"One moment while I connect you with reservations."}},
			wantEnd:   EndHandoff,
			wantQueue: "reservations",
		},
		{
			name:   "unknown caller identified by number, then tier",
			call:   callFrom(),
			script: []Input{{Digits: "2002"}, {Digits: testPIN}, {Digits: "2"}, {Digits: "3"}, {Digits: "9"}},
			wantSaid: [][]string{
				{"Welcome to the Memberline member line.", idText, "Para español, marque 8.", "Pour le français, appuyez sur 9.", "Para português, digite 7."},
				{"For your security, please enter your PIN, followed by the pound key. If you don't have a PIN, stay on the line for an agent."},
				{"Thank you. To have us recognize this phone number next time you call, press 1. Otherwise, press 2."},
				{"Welcome back, Lee.", "As a Gold member, thank you for your loyalty.", menuText},
				{"You are a Gold member.", "Thank you for calling Memberline. Goodbye."},
			},
			wantEnd:    EndHangup,
			wantUnused: 1,
		},
		{
			name:   "shared number: choose a member by name",
			call:   callFrom(dana(nil), sam(nil)),
			script: []Input{{Speech: "it's Sam"}, {Speech: "baggage"}},
			wantSaid: [][]string{
				{"Welcome back.", "If this is Dana, press 1. If this is Sam, press 2."},
				{"Welcome back, Sam.", menuText},
				{"One moment while I connect you with baggage services."},
			},
			wantEnd:   EndHandoff,
			wantQueue: "baggage",
		},
		{
			name:     "script runs out",
			call:     callFrom(sam(nil)),
			wantSaid: [][]string{{"Welcome back, Sam.", menuText}},
			wantEnd:  SimAwaiting,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Simulate(Default(), tt.call, tt.script, env)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]string
			for _, s := range tr.Steps {
				got = append(got, s.Said)
			}
			if !reflect.DeepEqual(got, tt.wantSaid) {
				t.Errorf("said:\n got %q\nwant %q", got, tt.wantSaid)
			}
			if tr.End != tt.wantEnd || tr.UnusedInputs != tt.wantUnused || tr.Flow != "default" {
				t.Errorf("end %q, unused %d, flow %q; want %q, %d", tr.End, tr.UnusedInputs, tr.Flow, tt.wantEnd, tt.wantUnused)
			}
			if tt.wantQueue != "" && (tr.Handoff == nil || tr.Handoff.Queue != tt.wantQueue) {
				t.Errorf("handoff = %+v, want queue %q", tr.Handoff, tt.wantQueue)
			}
			// The same engine as live calls: the first step is exactly Start's turn.
			first, _ := Default().Start(tt.call)
			if !reflect.DeepEqual(tr.Steps[0].Turn, first) {
				t.Errorf("first step differs from Start")
			}
			if _, err := json.Marshal(tr); err != nil {
				t.Fatal(err)
			}
			if len(tr.Steps[0].Trace) == 0 || !strings.HasPrefix(tr.Steps[0].Trace[0], "branch start:") {
				t.Errorf("trace = %q", tr.Steps[0].Trace)
			}
		})
	}
}

func TestTranscriptJSON(t *testing.T) {
	tr, err := Simulate(Default(), callFrom(sam(nil)), []Input{{Digits: "0"}}, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"steps":[{"said":["Welcome back, Sam.","` + menuText + `"],"trace":["branch start: caller.trust eq suspicious → false; caller.members eq 0 → false; caller.members gt 5 → false; caller.members gt 1 → false; default → greet","say greet (en-US) → trust","branch trust: caller.trust eq suspicious → false; caller.trust eq unverified → false; default → tier","branch tier: member.tier in Gold|Platinum|Diamond → false; default → activity","branch activity: activity missing → true → menu","gather menu: asking (dtmf speech)"],"awaiting":"menu","flow":"default","version":0},` +
		`{"input":{"digits":"0"},"said":["One moment while I connect you with an agent."],"trace":["gather menu: digits 0 → option 4 → agent_menu","handoff agent_menu: queue agents, reason agent-request"],"flow":"default","version":0,"end":"handoff"}],` +
		`"end":"handoff","flow":"default","version":0,"handoff":{"queue":"agents","reason":"agent-request","context":[{"key":"member_id","value":"1002"},{"key":"tier","value":"Silver"},{"key":"language","value":"en-US"},{"key":"reason","value":"agent-request"},{"key":"trust","value":"verified"}]}}`
	if string(b) != want {
		t.Errorf("JSON:\n got %s\nwant %s", b, want)
	}
}
