package flows

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadFetchFlow(t *testing.T) *Flow {
	const name = "fetch_flow.json"
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if ps := f.Validate(); len(ps) > 0 {
		t.Fatalf("%s does not validate: %v", name, ps)
	}
	return f
}

// answer decodes a JSON answer as the fetch client does.
func answer(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func fetchFlow(fetch Node, more ...Node) *Flow {
	fetch.ID, fetch.Type = "booking", NodeFetch
	if fetch.Connection == "" {
		fetch.Connection = "crm"
	}
	if fetch.Next == "" {
		fetch.Next = "tell"
	}
	if fetch.Error == "" {
		fetch.Error = "sorry"
	}
	nodes := append([]Node{fetch,
		{ID: "tell", Type: NodeSay, Say: en("Gate {{ vars.gate }}."), Next: "bye"},
		{ID: "sorry", Type: NodeSay, Say: en("No luck: {{ vars.fetch_error }}."), Next: "bye"},
		{ID: "bye", Type: NodeHangup}}, more...)
	return openToAll(flowOf(nodes...))
}

func TestFetchValidation(t *testing.T) {
	known := func(id string) bool { return id == "crm" }
	cases := []struct {
		name string
		node Node
		path string
		want string
	}{
		{"unknown connection", Node{Connection: "billing", Path: "/x", Save: map[string]string{"gate": "gate"}}, "nodes.booking.connection", `unknown connection "billing"`},
		{"bad method", Node{Method: "DELETE", Path: "/x", Save: map[string]string{"gate": "gate"}}, "nodes.booking.method", "GET or POST"},
		{"no error way", Node{Path: "/x", Save: map[string]string{"gate": "gate"}, Error: "-"}, "nodes.booking.error", "required"},
		{"timeout too long", Node{Path: "/x", TimeoutMS: 6000, Save: map[string]string{"gate": "gate"}}, "nodes.booking.timeout_ms", "between 1 and 5000"},
		{"no path", Node{Save: map[string]string{"gate": "gate"}}, "nodes.booking.path", "required"},
		{"relative path", Node{Path: "members", Save: map[string]string{"gate": "gate"}}, "nodes.booking.path", "must start with /"},
		{"a space in the path", Node{Path: "/a b", Save: map[string]string{"gate": "gate"}}, "nodes.booking.path", "spaces"},
		{"unknown template field", Node{Path: "/m/{{ member.secret }}", Save: map[string]string{"gate": "gate"}}, "nodes.booking.path", "unknown field"},
		{"required not saved", Node{Path: "/x", Save: map[string]string{"gate": "gate"}, Required: []string{"flight"}}, "nodes.booking.required.0", `"flight" is not a variable this node saves`},
		{"a body on a GET", Node{Path: "/x", Body: map[string]any{"a": "b"}, Save: map[string]string{"gate": "gate"}}, "nodes.booking.body", "only a POST"},
		{"bad save path", Node{Path: "/x", Save: map[string]string{"gate": "a..b"}}, "nodes.booking.save.gate", "names and indexes"},
		{"saving fetch_error", Node{Path: "/x", Save: map[string]string{"gate": "g", "fetch_error": "e"}}, "nodes.booking.save.fetch_error", "set by the fetch node"},
		{"a variable never set", Node{Path: "/m/{{ vars.who }}", Save: map[string]string{"gate": "gate"}}, "nodes.booking.path", "unknown variable vars.who"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.node.Error == "-" {
				tc.node.Error = ""
				f := fetchFlow(tc.node)
				f.Nodes[0].Error = ""
				assertProblem(t, f.ValidateWith(ValidateOptions{KnownConnection: known}).Errors, tc.path, tc.want)
				return
			}
			f := fetchFlow(tc.node)
			assertProblem(t, f.ValidateWith(ValidateOptions{KnownConnection: known}).Errors, tc.path, tc.want)
		})
	}
	// The same node with a known connection and a variable that is saved is fine.
	ok := fetchFlow(Node{Path: "/m/{{ member.id }}?q={{ vars.gate }}", Method: "POST", Body: map[string]any{"who": "{{ member.first_name }}", "n": 3.0},
		TimeoutMS: 5000, Save: map[string]string{"gate": "bookings.0.gate"}, Required: []string{"gate"}})
	if ps := ok.ValidateWith(ValidateOptions{KnownConnection: known}).Errors; len(ps) > 0 {
		t.Errorf("a good fetch node: %v", ps)
	}
}

func assertProblem(t *testing.T, ps []Problem, path, want string) {
	t.Helper()
	for _, p := range ps {
		if p.Path == path && strings.Contains(p.Message, want) {
			return
		}
	}
	t.Errorf("no problem at %s containing %q; got %v", path, want, ps)
}

func TestFetchStopsTheTurnAndResumesWithTheAnswer(t *testing.T) {
	f := mustLoad(t, fetchFlow(Node{Path: "/members/{{ member.id }}/bookings?upcoming=1&who={{ member.first_name }}", TimeoutMS: 1200,
		Save: map[string]string{"gate": "bookings.0.gate", "delay": "bookings.0.delay_minutes", "flight": "bookings.0.flight"}, Required: []string{"gate"}}))
	call := callFrom(dana(nil))
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	req := turn.Fetch
	if req == nil || turn.Awaiting || turn.End != "" || turn.State.Node != "booking" {
		t.Fatalf("turn = %+v", turn)
	}
	want := FetchRequest{Node: "booking", Connection: "crm", Method: "GET", Path: "/members/1001/bookings?upcoming=1&who=Dana",
		PathTemplate: "/members/{{ member.id }}/bookings?upcoming=1&who={{ member.first_name }}", Timeout: 1200 * time.Millisecond}
	if req.Path != want.Path || req.PathTemplate != want.PathTemplate || req.Timeout != want.Timeout || req.Method != "GET" || req.Wait || req.Body != nil {
		t.Errorf("request = %+v, want %+v", *req, want)
	}

	call.Fetched = &Fetched{Node: "booking", Outcome: FetchOK, Status: 200, Duration: 42 * time.Millisecond,
		Answer: answer(t, `{"bookings": [{"gate": "B12", "delay_minutes": 20, "flight": "DL1234"}]}`)}
	next, err := f.Resume(call, turn.State, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if got := spoken(next); got != "Gate B12." {
		t.Errorf("said %q", got)
	}
	if v := next.State.Vars; v["gate"] != "B12" || v["delay"] != "20" || v["flight"] != "DL1234" {
		t.Errorf("vars = %v", v)
	}
	wantRec := FetchRecord{Node: "booking", Connection: "crm", Path: want.PathTemplate, Status: 200, Outcome: FetchOK, DurationMS: 42,
		Saved: []string{"delay", "flight", "gate"}}
	if len(next.Fetches) != 1 || !equalRecord(next.Fetches[0], wantRec) {
		t.Errorf("fetches = %+v", next.Fetches)
	}
	if !slices.Equal(next.Visited, []string{"booking", "tell", "bye"}) {
		t.Errorf("visited = %v", next.Visited)
	}
}

func equalRecord(a, b FetchRecord) bool {
	return a.Node == b.Node && a.Connection == b.Connection && a.Path == b.Path && a.Status == b.Status &&
		a.Outcome == b.Outcome && a.DurationMS == b.DurationMS && slices.Equal(a.Saved, b.Saved)
}

func TestFetchFailuresTakeTheErrorWay(t *testing.T) {
	f := mustLoad(t, fetchFlow(Node{Path: "/b", Save: map[string]string{"gate": "gate"}, Required: []string{"gate"}}))
	cases := []struct {
		name string
		res  Fetched
		want string
	}{
		{"timeout", Fetched{Outcome: FetchTimeout}, "timeout"},
		{"unreachable", Fetched{Outcome: FetchUnreachable}, "unreachable"},
		{"circuit open", Fetched{Outcome: FetchCircuitOpen}, "circuit_open"},
		{"a 500", Fetched{Outcome: FetchStatus, Status: 500}, "status"},
		{"a 404 said to be ok", Fetched{Outcome: FetchOK, Status: 404}, "status"},
		{"not JSON", Fetched{Outcome: FetchInvalid, Status: 200}, "invalid"},
		{"a required value missing", Fetched{Outcome: FetchOK, Status: 200, Answer: answer(t, `{"other": 1}`)}, "invalid"},
		{"a required value null", Fetched{Outcome: FetchOK, Status: 200, Answer: answer(t, `{"gate": null}`)}, "invalid"},
		{"a required value an object", Fetched{Outcome: FetchOK, Status: 200, Answer: answer(t, `{"gate": {"a": 1}}`)}, "invalid"},
		{"an unknown outcome", Fetched{Outcome: "weird"}, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := callFrom(dana(nil))
			st := State{Flow: f.ID, Node: "booking", Trust: TrustVerified, Vars: map[string]string{"gate": "stale"}}
			res := tc.res
			res.Node = "booking"
			call.Fetched = &res
			turn, err := f.Resume(call, st, Input{})
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn); got != "No luck: "+tc.want+"." {
				t.Errorf("said %q", got)
			}
			if turn.State.Vars[FetchErrorVar] != tc.want || turn.State.Vars["gate"] != "" {
				t.Errorf("vars = %v: fetch_error %s and no stale gate", turn.State.Vars, tc.want)
			}
			if len(turn.Fetches) != 1 || turn.Fetches[0].Outcome != tc.want || turn.Fetches[0].Saved != nil {
				t.Errorf("fetches = %+v", turn.Fetches)
			}
		})
	}
}

// A value in the path is one segment (or one query value) however it is made: it cannot
// change the path, the query or the host.
func TestFetchPathValuesAreEscaped(t *testing.T) {
	f := mustLoad(t, fetchFlow(Node{Path: "/members/{{ member.id }}/b?x={{ member.attributes.code }}", Save: map[string]string{"gate": "gate"}}))
	for _, tc := range []struct{ id, code, want string }{
		{"a/b", "1", "/members/a%2Fb/b?x=1"},
		{"a?admin=1", "x&y=2", "/members/a%3Fadmin=1/b?x=x%26y%3D2"},
		{"a#frag", "#", "/members/a%23frag/b?x=%23"},
		{"..%2F..", "..", "/members/..%252F../b?x=.."},
		{"@evil.example", "/", "/members/@evil.example/b?x=%2F"},
	} {
		m := dana(nil)
		m.ID, m.Attributes = tc.id, map[string]string{"code": tc.code}
		turn, err := f.Start(callFrom(m))
		if err != nil {
			t.Fatal(err)
		}
		if turn.Fetch == nil || turn.Fetch.Path != tc.want {
			t.Errorf("id %q: request %+v, want path %s", tc.id, turn.Fetch, tc.want)
		}
	}
	// A value that is a dot segment, or nothing, cannot be one: the node fails at once.
	for _, id := range []string{"..", "."} {
		m := dana(nil)
		m.ID = id
		turn, err := f.Start(callFrom(m))
		if err != nil {
			t.Fatal(err)
		}
		if turn.Fetch != nil || turn.State.Vars[FetchErrorVar] != FetchInvalid || !strings.Contains(spoken(turn), "invalid") {
			t.Errorf("id %q: turn %+v", id, turn)
		}
	}
}

func TestFetchPostBodyIsJSONWithTemplates(t *testing.T) {
	f := mustLoad(t, fetchFlow(Node{Method: "POST", Path: "/lookups", Body: map[string]any{
		"member": "{{ member.id }}", "name": `He said "{{ member.first_name }}"`, "n": 3.0, "flags": []any{true, nil, "{{ member.tier }}"},
		"nested": map[string]any{"k": "v"}}, Save: map[string]string{"gate": "gate"}}))
	turn, err := f.Start(callFrom(dana(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"flags":[true,null,"Diamond"],"member":"1001","n":3,"name":"He said \"Dana\"","nested":{"k":"v"}}`
	if turn.Fetch == nil || string(turn.Fetch.Body) != want || turn.Fetch.Method != "POST" {
		t.Errorf("request = %+v\nbody %s\nwant %s", turn.Fetch, turn.Fetch.Body, want)
	}
}

func TestSayWhileWaiting(t *testing.T) {
	f := mustLoad(t, openToAll(flowOf(
		Node{ID: "hi", Type: NodeSay, Say: en("Hello {{ member.first_name }}."), Next: "booking"},
		Node{ID: "booking", Type: NodeFetch, Connection: "crm", Path: "/b", Save: map[string]string{"gate": "gate"},
			SayWhileWaiting: en("One moment while I look that up."), Next: "tell", Error: "bye"},
		Node{ID: "tell", Type: NodeSay, Say: en("Gate {{ vars.gate }}."), Next: "bye"},
		Node{ID: "bye", Type: NodeHangup},
	)))
	call := callFrom(dana(nil))
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	if turn.Fetch == nil || !turn.Fetch.Wait || spoken(turn) != "Hello Dana. One moment while I look that up." {
		t.Fatalf("first turn: %q, %+v", spoken(turn), turn.Fetch)
	}
	// The redirected webhook resumes with the answer and says only what follows.
	call.Fetched = &Fetched{Node: "booking", Outcome: FetchOK, Status: 200, Answer: answer(t, `{"gate": "B12"}`)}
	next, err := f.Resume(call, turn.State, Input{})
	if err != nil || spoken(next) != "Gate B12." || next.End != EndHangup {
		t.Errorf("second turn: %q, %v", spoken(next), err)
	}
	// Resumed without an answer, the node asks again, without the words said already.
	call.Fetched = nil
	again, err := f.Resume(call, turn.State, Input{})
	if err != nil || again.Fetch == nil || again.Fetch.Wait || len(again.Actions) != 0 {
		t.Errorf("resumed without an answer: %+v, %v", again, err)
	}
}

func TestBranchComparesNumbersInVariables(t *testing.T) {
	f := mustLoad(t, loadFetchFlow(t))
	for _, tc := range []struct {
		delay any
		want  string
	}{{20, "20 minutes late"}, {0, "on time"}, {"-5", "on time"}, {"soon", "on time"}, {2.5, "2.5 minutes late"}} {
		tr, err := Simulate(f, callFrom(dana(nil)), nil, SimEnv{Fetch: MockFetches(map[string]FetchMock{
			"booking": {Body: map[string]any{"bookings": []any{map[string]any{"flight": "DL1", "gate": "B12", "delay_minutes": tc.delay}}}}})})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(tr.Steps[0].Said, " "); !strings.Contains(got, tc.want) {
			t.Errorf("delay %v: said %q, want %q", tc.delay, got, tc.want)
		}
	}
}

func TestCompleteFetchesAndStopsForAWait(t *testing.T) {
	f := loadFetchFlow(t)
	call := callFrom(dana(nil))
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	// An edge that leaves a waiting request pending.
	pending, cur, err := Complete(f, turn, call, Effects{Fetch: func(req FetchRequest) (Fetched, bool) { return Fetched{}, !req.Wait }})
	if err != nil || pending.Fetch == nil || cur != f {
		t.Fatalf("pending: %+v, %v", pending.Fetch, err)
	}
	// An edge that answers.
	var asked []FetchRequest
	done, _, err := Complete(f, turn, call, Effects{Fetch: func(req FetchRequest) (Fetched, bool) {
		asked = append(asked, req)
		return Fetched{Outcome: FetchOK, Status: 200, Answer: answer(t, `{"bookings": [{"flight": "DL9", "gate": "C3"}]}`)}, true
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0].Path != "/members/1001/bookings?upcoming=1" || done.Fetch != nil || done.End != EndHandoff {
		t.Errorf("asked %+v; turn %+v", asked, done)
	}
	said := spoken(done)
	if !strings.Contains(said, "Welcome back, Dana. One moment while I look that up.") || !strings.Contains(said, "Flight DL9 leaves from gate C3, on time.") {
		t.Errorf("said %q", said)
	}
	if !slices.Equal(done.Visited, []string{"greet", "known", "booking", "late", "say_gate", "agent"}) {
		t.Errorf("visited %v", done.Visited)
	}
}

func TestSimulationReportsFetchNodesWithoutAMock(t *testing.T) {
	f := loadFetchFlow(t)
	tr, err := Simulate(f, callFrom(dana(nil)), nil, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tr.NotMocked, []string{"booking"}) || !strings.Contains(strings.Join(tr.Steps[0].Trace, "\n"), "not mocked") {
		t.Errorf("not mocked %v; trace %q", tr.NotMocked, tr.Steps[0].Trace)
	}
	if got := strings.Join(tr.Steps[0].Said, " "); !strings.Contains(got, "can't see your booking") {
		t.Errorf("said %q", got)
	}
}

func TestFlowTestMocks(t *testing.T) {
	f := loadFetchFlow(t)
	for _, r := range f.RunTests(TestEnv{}) {
		if !r.Passed() {
			t.Errorf("%s: %v %s", r.Name, r.Failures, r.Skipped)
		}
	}
	// A test without its mock fails, and so does a mock that is wrong.
	doc := *f
	doc.Tests = []Test{{Name: "unmocked", Caller: TestCaller{Profile: &TestProfile{ID: "1"}}, Expect: TestExpect{End: EndHandoff}}}
	res := doc.RunTests(TestEnv{})
	if len(res) != 1 || res[0].Passed() || !strings.Contains(res[0].Failures[0].Message, `fetch node "booking", which has no mock`) {
		t.Errorf("unmocked: %+v", res)
	}
	doc.Tests = []Test{{Name: "bad", Fetch: map[string]FetchMock{"greet": {}, "booking": {Error: "boom"}}, Expect: TestExpect{}}}
	ps := doc.Validate()
	assertProblem(t, ps, "tests.bad.fetch.greet", "no fetch node")
	assertProblem(t, ps, "tests.bad.fetch.booking.error", "must be one of timeout")
}

func TestReplayFollowsTheRecordedWayAtAFetch(t *testing.T) {
	f := loadFetchFlow(t)
	caller := Caller{Phone: "+14045550123", Members: []Member{dana(nil)}, Trust: TrustVerified}
	// The call went to next: the replay takes the first test that mocks the node.
	ok := RecordedCall{Now: now, Caller: caller, Outcome: "handoff", Steps: []RecordedStep{
		{Nodes: []string{"greet", "known", "booking"}},
		{Nodes: []string{"booking", "late", "say_delay", "agent"}, Continued: true, Fetches: []FetchRecord{{Node: "booking", Outcome: FetchOK, Status: 200}}},
	}}
	r, err := Replay(f, ok, SimEnv{Fetch: func(FetchRequest) (Fetched, bool) { t.Error("replay asked the edge"); return Fetched{}, false }})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Same || !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "test late_flight's mock") }) {
		t.Errorf("replay of a call that went to next: %+v", r)
	}
	if said := strings.Join(r.Transcript.Steps[0].Said, " "); !strings.Contains(said, "gate B12, 20 minutes late") {
		t.Errorf("said %q", said)
	}
	// The call went to error: so does the replay, with the recorded outcome.
	bad := RecordedCall{Now: now, Caller: caller, Outcome: "handoff", Steps: []RecordedStep{
		{Nodes: []string{"greet", "known", "booking", "sorry", "agent"}, Fetches: []FetchRecord{{Node: "booking", Outcome: FetchCircuitOpen}}},
	}}
	r, err = Replay(f, bad, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Same || r.Transcript.Steps[0].Turn.State.Vars[FetchErrorVar] != FetchCircuitOpen {
		t.Errorf("replay of a call that went to error: %+v", r)
	}
	// Without a mock, the values are stand-ins, and the note says so.
	g := *f
	g.Tests = nil
	r, err = Replay(&g, ok, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if said := strings.Join(r.Transcript.Steps[0].Said, " "); !strings.Contains(said, "gate [gate]") || !strings.Contains(strings.Join(r.Notes, " "), "stand-ins") {
		t.Errorf("said %q, notes %q", said, r.Notes)
	}
}
