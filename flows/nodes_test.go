package flows

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// flowOf is a valid flow around the given nodes, starting at the first.
func flowOf(nodes ...Node) *Flow {
	f := testFlow()
	f.Nodes = nodes
	f.StartNode = nodes[0].ID
	return f
}

func en(s string) Text { return Text{"en-US": s} }

// openToAll gives f a policy under which every caller may hear every field, for tests of
// what nodes do with member data rather than of who may hear it (trust_test.go).
func openToAll(f *Flow) *Flow {
	f.Disclosure = map[string][]string{TrustSuspicious: {
		"member.first_name", "member.last_name", "member.tier", "member.attributes.*",
		"activity.kind", "activity.place", "activity.summary", "activity.reference",
		"activity.relation", "activity.status", "activity.starts_at", "activity.ends_at"}}
	return f
}

func TestPlayNode(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "music", Type: NodePlay, URL: "https://cdn.example.com/hold.mp3", Next: "bye"},
		Node{ID: "bye", Type: NodeHangup, Say: en("Bye.")},
	))
	turn, err := f.Start(callFrom())
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{
		{Kind: ActPlay, URL: "https://cdn.example.com/hold.mp3"},
		{Kind: ActSay, Language: "en-US", Voice: "Polly.Joanna-Neural", Speech: Speech{{Text: "Bye."}}},
		{Kind: ActHangup},
	}
	if !reflect.DeepEqual(turn.Actions, want) || turn.End != EndHangup {
		t.Errorf("actions = %+v, end %q", turn.Actions, turn.End)
	}
	if turn.Trace[0] != "play music → bye" {
		t.Errorf("trace = %q", turn.Trace)
	}
}

func TestSetNode(t *testing.T) {
	f := mustLoad(t, openToAll(flowOf(
		Node{ID: "remember", Type: NodeSet, Set: map[string]string{
			"code": "{{ activity.reference }}", "who": `{{ first_name_or "friend" }}`, "empty": "{{ activity.place }}"}, Next: "check"},
		Node{ID: "check", Type: NodeBranch, Cases: []Case{
			{When: []Condition{{Field: "vars.code", Op: "exists"}}, Next: "tell"},
		}, Default: "bye"},
		Node{ID: "tell", Type: NodeSay, Say: en("{{ vars.who }}, your code is {{ spell vars.code }}."), Next: "bye"},
		Node{ID: "bye", Type: NodeHangup},
	)))
	tests := []struct {
		name     string
		call     Call
		want     Speech
		wantVars map[string]string
	}{
		{
			name:     "values from the member",
			call:     callFrom(dana(&Activity{ID: "a", Reference: "HX7Q2P"})),
			want:     Speech{{Text: "Dana, your code is "}, {Text: "HX7Q2P", SayAs: "characters"}, {Text: "."}},
			wantVars: map[string]string{"code": "HX7Q2P", "who": "Dana"},
		},
		{
			name:     "an empty value is no variable",
			call:     callFrom(),
			wantVars: map[string]string{"who": "friend"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn, err := f.Start(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			var got Speech
			for _, a := range turn.Actions {
				if a.Kind == ActSay {
					got = append(got, a.Speech...)
				}
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(turn.State.Vars, tt.wantVars) {
				t.Errorf("said %#v, vars %v; want %#v, %v", got, turn.State.Vars, tt.want, tt.wantVars)
			}
			if turn.Trace[0] != "set remember: code, empty, who → check" {
				t.Errorf("trace = %q", turn.Trace)
			}
		})
	}
}

func TestSetKeepsTheCallersState(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "ask", Type: NodeGather, Prompt: en("Press 1."), Options: []Option{{Digits: "1", Next: "mark"}}, NoInput: "bye"},
		Node{ID: "mark", Type: NodeSet, Set: map[string]string{"choice": "one"}, Next: "bye"},
		Node{ID: "bye", Type: NodeHangup},
	))
	st := State{Flow: "test", Node: "ask", Vars: map[string]string{"before": "x"}}
	turn, err := f.Resume(callFrom(), st, Input{Digits: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Vars, map[string]string{"before": "x"}) {
		t.Errorf("the caller's state changed: %v", st.Vars)
	}
	if !reflect.DeepEqual(turn.State.Vars, map[string]string{"before": "x", "choice": "one"}) {
		t.Errorf("vars = %v", turn.State.Vars)
	}
}

func TestRecordNode(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "voicemail", Type: NodeRecord, Say: en("Leave a message after the tone."), MaxSeconds: 90, Transcribe: true,
			Next: "thanks", NoInput: "nothing"},
		Node{ID: "thanks", Type: NodeHangup, Say: en("Thanks, we got it.")},
		Node{ID: "nothing", Type: NodeHangup, Say: en("We didn't hear anything.")},
	))
	first, err := f.Start(callFrom())
	if err != nil {
		t.Fatal(err)
	}
	last := first.Actions[len(first.Actions)-1]
	if !first.Awaiting || first.State.Node != "voicemail" || last.Kind != ActRecord ||
		!reflect.DeepEqual(last.Record, &Record{MaxSeconds: 90, TimeoutSeconds: 5, PlayBeep: true, Transcribe: true}) {
		t.Fatalf("first turn = %+v", first)
	}
	if got := spoken(first); got != "Leave a message after the tone." {
		t.Errorf("spoken = %q", got)
	}
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"recorded", Input{RecordingURL: "https://api.twilio.com/rec/RE1", RecordingSeconds: 34}, "Thanks, we got it."},
		{"nothing recorded", Input{}, "We didn't hear anything."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn, err := f.Resume(callFrom(), first.State, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn); got != tt.want || turn.End != EndHangup {
				t.Errorf("spoken %q, end %q; want %q", got, turn.End, tt.want)
			}
		})
	}
}

func TestHandoffTargets(t *testing.T) {
	tests := []struct {
		name  string
		node  Node
		want  Handoff
		trace string
	}{
		{"queue", Node{Queue: QueueNamed("vip")}, Handoff{Queue: "vip", Reason: "r"}, "handoff agent: queue vip, reason r"},
		{"workflow", Node{Workflow: "WW0123456789abcdef0123456789abcdef"}, Handoff{Workflow: "WW0123456789abcdef0123456789abcdef", Reason: "r"}, "handoff agent: workflow WW0123456789abcdef0123456789abcdef, reason r"},
		{"sip", Node{Queue: QueueNamed("pbx"), SIP: "sip:desk@pbx.example.com"}, Handoff{Queue: "pbx", SIP: "sip:desk@pbx.example.com", Reason: "r"}, "handoff agent: sip sip:desk@pbx.example.com, reason r"},
		{"client", Node{Client: "supervisor"}, Handoff{Client: "supervisor", Reason: "r"}, "handoff agent: client supervisor, reason r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.node
			n.ID, n.Type, n.Reason = "agent", NodeHandoff, "r"
			turn, err := mustLoad(t, flowOf(n)).Start(callFrom())
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Context = []KV{{"language", "en-US"}, {"reason", "r"}, {"trust", "verified"}}
			if got := handoffOf(turn); !reflect.DeepEqual(got, &tt.want) || turn.End != EndHandoff {
				t.Errorf("handoff = %+v, want %+v", got, tt.want)
			}
			if !reflect.DeepEqual(turn.Trace, []string{tt.trace}) {
				t.Errorf("trace = %q", turn.Trace)
			}
		})
	}
}

func TestRetryPrompts(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "ask", Type: NodeGather, Prompt: en("Say yes or press 1."), Reprompt: en("Once more: say yes or press 1."),
			NoInputPrompt: en("I didn't hear you. Say yes or press 1."), NoMatchPrompt: en("I didn't understand. Say yes or press 1."),
			Options: []Option{{Digits: "1", Words: map[string][]string{"en-US": {"yes", "sure thing", "absolutely"}}, Next: "ok"}},
			NoInput: "bye", NoMatch: "bye"},
		Node{ID: "ok", Type: NodeHangup, Say: en("Great.")},
		Node{ID: "bye", Type: NodeHangup, Say: en("Goodbye.")},
	))
	converse(t, f, callFrom(), nil, []step{
		{in: Input{}, want: "I didn't hear you. Say yes or press 1.", wantNode: "ask", wantTry: 1},
		{in: Input{Speech: "purple"}, want: "I didn't understand. Say yes or press 1.", wantNode: "ask", wantTry: 2},
		{in: Input{Speech: "Sure thing!"}, want: "Great.", wantEnd: EndHangup},
	})
	converse(t, f, callFrom(), nil, []step{
		{in: Input{Digits: "7"}, want: "I didn't understand. Say yes or press 1.", wantNode: "ask", wantTry: 1},
		{in: Input{Digits: "7"}, want: "I didn't understand. Say yes or press 1.", wantNode: "ask", wantTry: 2},
		{in: Input{Digits: "7"}, want: "Goodbye.", wantEnd: EndHangup},
	})
	// Without the specific prompts, a retry says the reprompt.
	g := flowOf(Node{ID: "ask", Type: NodeGather, Prompt: en("Press 1."), Reprompt: en("Again: press 1."),
		Options: []Option{{Digits: "1", Next: "bye"}}, NoInput: "bye"}, Node{ID: "bye", Type: NodeHangup})
	converse(t, mustLoad(t, g), callFrom(), nil, []step{{in: Input{}, want: "Again: press 1.", wantNode: "ask", wantTry: 1}})
}

func TestGotoNode(t *testing.T) {
	main := mustLoad(t, flowOf(
		Node{ID: "mark", Type: NodeSet, Set: map[string]string{"origin": "main"}, Next: "leave"},
		Node{ID: "leave", Type: NodeGoto, Say: en("Transferring you to sales."), Flow: "sales"},
	))
	salesFlow := flowOf(
		Node{ID: "hello", Type: NodeSay, Say: en("Sales here, {{ first_name_or \"friend\" }}, from {{ vars.origin }}."), Next: "ask"},
		Node{ID: "ask", Type: NodeGather, Prompt: en("Press 1."), Options: []Option{{Digits: "1", Next: "bye"}}, NoInput: "bye"},
		Node{ID: "bye", Type: NodeHangup},
		Node{ID: "origin", Type: NodeSet, Set: map[string]string{"origin": "sales"}, Next: "hello"},
	)
	salesFlow.ID, salesFlow.Version = "sales", 4
	sales := mustLoad(t, salesFlow)
	// Two flows that go to each other: each is valid alone.
	pings, pongs := flowOf(Node{ID: "go", Type: NodeGoto, Flow: "pong"}), flowOf(Node{ID: "go", Type: NodeGoto, Flow: "ping"})
	pings.ID, pongs.ID = "ping", "pong"
	ping, pong := mustLoad(t, pings), mustLoad(t, pongs)
	load := func(id string) (*Flow, error) {
		switch id {
		case "sales":
			return sales, nil
		case "ping":
			return ping, nil
		case "pong":
			return pong, nil
		}
		return nil, errors.New("no such flow")
	}

	turn, err := main.Start(callFrom(sam(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if turn.GotoFlow != "sales" || turn.End != EndGoto || turn.Awaiting || turn.State.Node != "" {
		t.Fatalf("goto turn = %+v", turn)
	}
	followed, err := Follow(turn, callFrom(sam(nil)), load)
	if err != nil {
		t.Fatal(err)
	}
	if got := spoken(followed); got != "Transferring you to sales. Sales here, Sam, from main. Press 1." {
		t.Errorf("spoken = %q", got)
	}
	wantState := State{Flow: "sales", Version: 4, Node: "ask", Member: "", Vars: map[string]string{"origin": "main"}, Trust: TrustVerified}
	if !reflect.DeepEqual(followed.State, wantState) || !followed.Awaiting || followed.GotoFlow != "" || followed.End != "" {
		t.Errorf("followed state = %+v, want %+v", followed.State, wantState)
	}
	wantTrace := []string{"set mark: origin → leave", "goto leave: flow sales", "say hello (en-US) → ask", "gather ask: asking (dtmf)"}
	if !reflect.DeepEqual(followed.Trace, wantTrace) {
		t.Errorf("trace = %q", followed.Trace)
	}
	// The call then continues, pinned, in the flow it went to.
	next, err := sales.Resume(callFrom(sam(nil)), followed.State, Input{Digits: "1"})
	if err != nil || next.End != EndHangup {
		t.Errorf("resume in sales: %+v, %v", next, err)
	}
	if _, err := main.Resume(callFrom(), followed.State, Input{Digits: "1"}); !errors.Is(err, ErrState) {
		t.Errorf("resume in the old flow: err = %v, want ErrState", err)
	}

	// A turn without a goto passes through; loops and unknown flows are errors.
	plain, _ := sales.Start(callFrom())
	if same, err := Follow(plain, callFrom(), load); err != nil || !reflect.DeepEqual(same, plain) {
		t.Errorf("follow without a goto changed the turn: %v", err)
	}
	lt, _ := ping.Start(callFrom())
	if _, err := Follow(lt, callFrom(), load); !errors.Is(err, ErrLoop) {
		t.Errorf("goto loop: err = %v, want ErrLoop", err)
	}
	bad := flowOf(Node{ID: "away", Type: NodeGoto, Flow: "nowhere"})
	bt, _ := mustLoad(t, bad).Start(callFrom())
	if _, err := Follow(bt, callFrom(), load); err == nil || !strings.Contains(err.Error(), `goto "nowhere"`) {
		t.Errorf("goto an unknown flow: err = %v", err)
	}
}

func TestGotoCarriesTheIdentifiedMember(t *testing.T) {
	main := mustLoad(t, flowOf(
		Node{ID: "number", Type: NodeIdentify, Prompt: en("Your number?"), Next: "leave", NotFound: "bye"},
		Node{ID: "leave", Type: NodeGoto, Flow: "other"},
		Node{ID: "bye", Type: NodeHangup},
	))
	otherFlow := flowOf(Node{ID: "hi", Type: NodeHangup, Say: en("Hi {{ first_name_or \"there\" }}.")})
	otherFlow.ID = "other"
	other := mustLoad(t, otherFlow)
	first, _ := main.Start(callFrom())
	lee := lee()
	call := callFrom()
	call.Identified = &Identified{Number: "2002", Member: &lee}
	turn, err := main.Resume(call, first.State, Input{Digits: "2002"})
	if err != nil {
		t.Fatal(err)
	}
	turn, err = Follow(turn, call, func(string) (*Flow, error) { return other, nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := spoken(turn); got != "Hi Lee." || turn.State.Member != "2002" {
		t.Errorf("spoken %q, member %q", got, turn.State.Member)
	}
}

func TestHandoffCarriesVariables(t *testing.T) {
	f := mustLoad(t, openToAll(flowOf(
		Node{ID: "mark", Type: NodeSet, Set: map[string]string{"topic": "refund", "code": "{{ activity.reference }}"}, Next: "agent"},
		Node{ID: "agent", Type: NodeHandoff, Queue: QueueNamed("billing"), Reason: "refund"},
	)))
	turn, err := f.Start(callFrom(sam(&Activity{ID: "a1", Reference: "HX7Q2P"})))
	if err != nil {
		t.Fatal(err)
	}
	want := []KV{{"member_id", "1002"}, {"tier", "Silver"}, {"activity_id", "a1"}, {"activity_reference", "HX7Q2P"},
		{"language", "en-US"}, {"reason", "refund"}, {"trust", "verified"}, {"var_code", "HX7Q2P"}, {"var_topic", "refund"}}
	if got := handoffOf(turn); got == nil || !reflect.DeepEqual(got.Context, want) {
		t.Errorf("context = %+v", got)
	}
}

func TestTrustFromStirVerstat(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TN-Validation-Passed-A", TrustVerified},
		{"TN-Validation-Passed-B", TrustUnverified},
		{"TN-Validation-Passed-C", TrustUnverified},
		{"TN-Validation-Failed-A", TrustSuspicious},
		{"TN-Validation-Failed", TrustSuspicious},
		{"No-TN-Validation", TrustUnverified},
		{"", TrustUnverified},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := TrustFromStirVerstat(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
