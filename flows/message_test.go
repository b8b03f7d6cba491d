package flows

import (
	"fmt"
	"strings"
	"testing"
)

func messageFlow(m Node) *Flow {
	m.ID, m.Type = "text", NodeMessage
	if m.Next == "" {
		m.Next = "bye"
	}
	return openToAll(flowOf(m, Node{ID: "bye", Type: NodeHangup, Say: en("Bye.")}, Node{ID: "sorry", Type: NodeHangup, Say: en("No text: {{ vars.message_status }}.")}))
}

func TestMessageValidation(t *testing.T) {
	long := strings.Repeat("Flight DL1234 leaves from gate B12. ", 5)    // ~180 GSM characters: 2 segments
	longer := strings.Repeat("Flight DL1234 leaves from gate B12. ", 15) // ~540: 4 segments
	huge := strings.Repeat("Flight DL1234 leaves from gate B12. ", 50)   // ~1800: 12 segments
	emoji := strings.Repeat("Your gate is B12 ✈. ", 8)                   // UCS-2: 160 units, 3 segments
	for _, tc := range []struct {
		name       string
		node       Node
		path, want string
		warning    bool
	}{
		{"no channel", Node{Body: map[string]any{"en-US": "Hi."}}, "nodes.text.channel", "required", false},
		{"bad channel", Node{Channel: "fax", Body: map[string]any{"en-US": "Hi."}}, "nodes.text.channel", "sms or whatsapp", false},
		{"no body", Node{Channel: "sms"}, "nodes.text.body.en-US", "missing", false},
		{"a body that is not text", Node{Channel: "sms", Body: map[string]any{"en-US": 3.0}}, "nodes.text.body.en-US", "must be text", false},
		{"too many segments", Node{Channel: "sms", Body: map[string]any{"en-US": huge}}, "nodes.text.body.en-US", "at most 10", false},
		{"many segments", Node{Channel: "sms", Body: map[string]any{"en-US": longer}}, "nodes.text.body.en-US", "4 SMS segments (GSM-7", true},
		{"a template on sms", Node{Channel: "sms", Body: map[string]any{"en-US": "Hi."}, Template: &MessageTemplate{SID: "HX0123456789abcdef0123456789abcdef"}}, "nodes.text.template", "for whatsapp", false},
		{"a bad template SID", Node{Channel: "whatsapp", Template: &MessageTemplate{SID: "nope"}}, "nodes.text.template.sid", "HX and 32", false},
		{"an unknown not_sent", Node{Channel: "sms", Body: map[string]any{"en-US": "Hi."}, NotSent: "nowhere"}, "nodes.text.not_sent", "unknown node", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := messageFlow(tc.node).ValidateWith(ValidateOptions{})
			if tc.warning {
				assertProblem(t, rep.Warnings, tc.path, tc.want)
			} else {
				assertProblem(t, rep.Errors, tc.path, tc.want)
			}
		})
	}
	for _, ok := range []string{long, emoji} {
		if rep := messageFlow(Node{Channel: "sms", Body: map[string]any{"en-US": ok}}).ValidateWith(ValidateOptions{}); !rep.Valid() ||
			strings.Contains(fmt.Sprint(rep.Warnings), "segments") {
			t.Errorf("%q: %+v", ok[:20], rep)
		}
	}
	if segs, ucs2 := smsSegments(emoji); segs != 3 || !ucs2 {
		t.Errorf("emoji body: %d segments, ucs2 %v", segs, ucs2)
	}
}

func TestMessageNodeThroughTheEngine(t *testing.T) {
	f := mustLoad(t, messageFlow(Node{Channel: "sms", Body: map[string]any{"en-US": "Hi {{ member.first_name }}, gate B12.", "es-US": "Hola {{ member.first_name }}, puerta B12."},
		Say: en("Sent."), NotSent: "sorry"}))
	m := dana(nil)
	m.Language = "es-US"
	call := callFrom(m)
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	req := turn.Message
	if req == nil || req.Body != "Hola Dana, puerta B12." || req.To != "+14045550123" || req.Channel != "sms" || req.Language != "es-US" {
		t.Fatalf("request %+v", req)
	}
	for status, want := range map[string]string{MessageQueued: "Sent. Bye.", MessageOptedOut: "No text: opted_out.", MessageNotMobile: "No text: not_mobile."} {
		c := call
		c.Messaged = &Messaged{Node: "text", Status: status}
		next, err := f.Resume(c, turn.State, Input{})
		if err != nil || spoken(next) != want || next.State.Vars[MessageStatusVar] != status {
			t.Errorf("%s: said %q, vars %v, %v", status, spoken(next), next.State.Vars, err)
		}
	}
	// Withheld: not sent, no request.
	anon := callFrom(dana(nil))
	anon.Caller.Phone = ""
	if turn, _ := f.Start(anon); turn.Message != nil || spoken(turn) != "No text: no_number." {
		t.Errorf("withheld: %+v", turn)
	}
	// A body that renders empty is never sent.
	g := mustLoad(t, messageFlow(Node{Channel: "sms", Body: map[string]any{"en-US": "{{ activity.place }}"}, NotSent: "sorry"}))
	if turn, _ := g.Start(callFrom(dana(nil))); turn.Message != nil || spoken(turn) != "No text: empty." {
		t.Errorf("empty: %+v %q", turn.Message, spoken(turn))
	}
}

func TestSimulationShowsMessagesAndTestsExpectThem(t *testing.T) {
	f := messageFlow(Node{Channel: "sms", Body: map[string]any{"en-US": "Hi {{ member.first_name }}, gate B12."}, Say: en("Sent."), NotSent: "sorry"})
	f.Tests = []Test{
		{Name: "texted", Caller: TestCaller{Profile: &TestProfile{ID: "1", FirstName: "Dana", Phone: "+14045550123"}}, Expect: TestExpect{Messages: []string{"gate B12"}, Says: []string{"Sent."}}},
		{Name: "wrong", Caller: TestCaller{Profile: &TestProfile{ID: "1", FirstName: "Dana", Phone: "+14045550123"}}, Expect: TestExpect{Messages: []string{"gate C3"}}},
	}
	g := mustLoad(t, f)
	tr, err := Simulate(g, callFrom(dana(nil)), nil, SimEnv{})
	if err != nil || len(tr.Steps[0].Messages) != 1 || tr.Steps[0].Messages[0] != "sms to +14045550123: Hi Dana, gate B12." {
		t.Fatalf("transcript %+v %v", tr.Steps, err)
	}
	res := g.RunTests(TestEnv{})
	if !res[0].Passed() || res[1].Passed() || !strings.Contains(res[1].Failures[0].Message, `no message holds "gate C3"`) {
		t.Errorf("tests: %+v", res)
	}
}
