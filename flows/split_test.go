package flows

import (
	"fmt"
	"strings"
	"testing"
)

func splitFlow(arms ...SplitArm) *Flow {
	f := flowOf(
		Node{ID: "test", Type: NodeSplit, Experiment: "warm-greeting-2026-12", Arms: arms},
		Node{ID: "greet", Type: NodeHangup, Say: en("Hello.")},
		Node{ID: "greet_warm", Type: NodeHangup, Say: en("Lovely to hear from you.")},
	)
	f.Experiments = map[string]Experiment{"warm-greeting-2026-12": {Goal: Goal{Outcome: "self_service"}, MinCallsPerArm: 200}}
	return f
}

var evenArms = []SplitArm{{ID: "control", Weight: 50, Next: "greet"}, {ID: "warm", Weight: 50, Next: "greet_warm"}}

// A split sends each caller to one arm, the same every time; the turn names the arm for
// the call records; a pinned arm wins; a member is their own subject, whatever number
// they call from.
func TestSplitNode(t *testing.T) {
	f := mustLoad(t, splitFlow(evenArms...))
	key := []byte("test key")
	arms := map[string]int{}
	for i := range 2000 {
		call := Call{Now: now, CallSID: fmt.Sprintf("CA%d", i), ExperimentKey: key,
			Caller: Caller{Phone: fmt.Sprintf("+1404555%04d", i), Trust: TrustVerified}}
		turn, err := f.Start(call)
		if err != nil {
			t.Fatal(err)
		}
		if len(turn.Arms) != 1 || turn.Arms[0].Experiment != "warm-greeting-2026-12" {
			t.Fatalf("turn arms %+v", turn.Arms)
		}
		arm := turn.Arms[0].Arm
		arms[arm]++
		if want := map[string]string{"control": "Hello.", "warm": "Lovely to hear from you."}[arm]; spoken(turn) != want {
			t.Fatalf("arm %s said %q", arm, spoken(turn))
		}
		call.CallSID = "CAanother"
		if again, _ := f.Start(call); again.Arms[0].Arm != arm {
			t.Fatalf("the same caller went to %s, then %s", arm, again.Arms[0].Arm)
		}
	}
	for arm, n := range arms {
		if n < 900 || n > 1100 {
			t.Errorf("arm %s got %d of 2000 callers", arm, n)
		}
	}
	// 50/50 → 80/20: 30% ± 3 of the callers move, every one from warm to control.
	skewed := mustLoad(t, splitFlow(SplitArm{ID: "control", Weight: 80, Next: "greet"}, SplitArm{ID: "warm", Weight: 20, Next: "greet_warm"}))
	moved := 0
	for i := range 2000 {
		call := Call{Now: now, ExperimentKey: key, Caller: Caller{Phone: fmt.Sprintf("+1404555%04d", i), Trust: TrustVerified}}
		before, _ := f.Start(call)
		after, _ := skewed.Start(call)
		if b, a := before.Arms[0].Arm, after.Arms[0].Arm; b != a {
			moved++
			if b != "warm" || a != "control" {
				t.Fatalf("a caller moved from %s to %s", b, a)
			}
		}
	}
	if moved < 540 || moved > 660 {
		t.Errorf("50/50 → 80/20 moved %d of 2000 callers, want 30%% ± 3", moved)
	}
	// A member is the subject, from any number.
	m := dana(nil)
	first, _ := f.Start(Call{Now: now, ExperimentKey: key, Caller: Caller{Phone: "+14045550123", Members: []Member{m}, Trust: TrustVerified}})
	for _, phone := range []string{"+14045550199", "+13125550142", ""} {
		turn, _ := f.Start(Call{Now: now, CallSID: "CAx", ExperimentKey: key, Caller: Caller{Phone: phone, Members: []Member{m}, Trust: TrustVerified}})
		if turn.Arms[0].Arm != first.Arms[0].Arm {
			t.Errorf("Dana from %q: %s, from her number %s", phone, turn.Arms[0].Arm, first.Arms[0].Arm)
		}
	}
	// A pin wins; a pin of an arm the experiment lacks is ignored.
	for _, pin := range []string{"control", "warm"} {
		turn, _ := f.Start(Call{Now: now, ExperimentKey: key, Caller: Caller{Phone: "+14045550123"},
			Arms: map[string]string{"warm-greeting-2026-12": pin}})
		if turn.Arms[0].Arm != pin || !strings.Contains(strings.Join(turn.Trace, "\n"), "(pinned)") {
			t.Errorf("pinned %s: %+v %q", pin, turn.Arms, turn.Trace)
		}
	}
}

func TestSplitValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *Flow)
		path   string
	}{
		{"weights not summing to 100", func(f *Flow) { f.Nodes[0].Arms[1].Weight = 40 }, "nodes.test.arms"},
		{"duplicate arm ids", func(f *Flow) { f.Nodes[0].Arms[1].ID = "control" }, "nodes.test.arms"},
		{"one arm", func(f *Flow) { f.Nodes[0].Arms = f.Nodes[0].Arms[:1]; f.Nodes[0].Arms[0].Weight = 100 }, "nodes.test.arms"},
		{"an arm going nowhere", func(f *Flow) { f.Nodes[0].Arms[1].Next = "nowhere" }, "nodes.test.arms.1.next"},
		{"no experiment", func(f *Flow) { f.Nodes[0].Experiment = "" }, "nodes.test.experiment"},
		{"two splits, other arms", func(f *Flow) {
			f.Nodes[1] = Node{ID: "greet", Type: NodeSplit, Experiment: "warm-greeting-2026-12",
				Arms: []SplitArm{{ID: "control", Weight: 70, Next: "greet_warm"}, {ID: "warm", Weight: 30, Next: "greet_warm"}}}
		}, "nodes.greet.arms"},
		{"a goal at no node", func(f *Flow) {
			f.Experiments["warm-greeting-2026-12"] = Experiment{Goal: Goal{Reached: "nowhere"}}
		}, "experiments.warm-greeting-2026-12.goal.reached"},
		{"a goal with two kinds", func(f *Flow) {
			f.Experiments["warm-greeting-2026-12"] = Experiment{Goal: Goal{Reached: "greet", Outcome: "handoff"}}
		}, "experiments.warm-greeting-2026-12.goal"},
		{"an unknown outcome", func(f *Flow) {
			f.Experiments["warm-greeting-2026-12"] = Experiment{Goal: Goal{NotOutcome: "happy"}}
		}, "experiments.warm-greeting-2026-12.goal"},
		{"an experiment no split runs", func(f *Flow) {
			f.Experiments["other"] = Experiment{Goal: Goal{Outcome: "handoff"}}
		}, "experiments.other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := splitFlow(append([]SplitArm(nil), evenArms...)...)
			tc.change(f)
			var paths []string
			for _, p := range f.Validate() {
				paths = append(paths, p.Path)
			}
			if !strings.Contains(strings.Join(paths, " "), tc.path) {
				t.Errorf("problems at %v, want one at %s", paths, tc.path)
			}
		})
	}
	if ps := splitFlow(evenArms...).Validate(); len(ps) != 0 {
		t.Errorf("a good split: %v", ps)
	}
}

// Flow tests pin arms, and a pin of an arm (or experiment) the flow lacks is an error at
// its path.
func TestSplitPinsInFlowTests(t *testing.T) {
	f := splitFlow(evenArms...)
	f.Tests = []Test{
		{Name: "warm", Arms: map[string]string{"warm-greeting-2026-12": "warm"}, Expect: TestExpect{End: EndHangup, Says: []string{"Lovely to hear from you."}}},
		{Name: "control", Arms: map[string]string{"warm-greeting-2026-12": "control"}, Expect: TestExpect{End: EndHangup, Says: []string{"Hello."}}},
	}
	loaded := mustLoad(t, f)
	for _, r := range loaded.RunTests(TestEnv{}) {
		if !r.Passed() {
			t.Errorf("%s: %v %s", r.Name, r.Failures, r.Skipped)
		}
	}
	f.Tests = []Test{{Name: "bad", Arms: map[string]string{"warm-greeting-2026-12": "hot", "nope": "x"}}}
	var got []string
	for _, p := range f.Validate() {
		got = append(got, p.Path+": "+p.Message)
	}
	joined := strings.Join(got, "\n")
	if !strings.Contains(joined, `tests.bad.arms.warm-greeting-2026-12: experiment "warm-greeting-2026-12" has no arm "hot"`) ||
		!strings.Contains(joined, `tests.bad.arms.nope: no split node runs experiment "nope"`) {
		t.Errorf("problems:\n%s", joined)
	}
}

// Replay keeps each recorded call's arm, and says so when the flow no longer has it.
func TestReplayKeepsTheArm(t *testing.T) {
	f := mustLoad(t, splitFlow(evenArms...))
	rc := RecordedCall{Now: now, Caller: Caller{Phone: "+14045550123", Trust: TrustVerified},
		Steps: []RecordedStep{{Nodes: []string{"test", "greet_warm"}}}, Outcome: "self_service",
		Arms: map[string]string{"warm-greeting-2026-12": "warm"}}
	res, err := Replay(f, rc, SimEnv{})
	if err != nil || !res.Same || len(res.Notes) != 0 {
		t.Fatalf("replay of a warm call: %+v, %v", res, err)
	}
	rc.Arms = map[string]string{"warm-greeting-2026-12": "hot"}
	res, err = Replay(f, rc, SimEnv{})
	if err != nil || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "arm hot is no longer in the flow") {
		t.Fatalf("replay of an arm since removed: %+v, %v", res.Notes, err)
	}
}

// A goto into a flow with its own split keeps both flows' arms in the turn (and so in the
// call's record).
func TestGotoKeepsBothArms(t *testing.T) {
	first := splitFlow(evenArms...)
	first.Nodes[1] = Node{ID: "greet", Type: NodeGoto, Flow: "other"}
	first.Nodes[2] = Node{ID: "greet_warm", Type: NodeGoto, Flow: "other"}
	second := splitFlow(SplitArm{ID: "short", Weight: 50, Next: "greet"}, SplitArm{ID: "long", Weight: 50, Next: "greet_warm"})
	second.ID, second.Nodes[0].Experiment = "other", "menu-length"
	second.Experiments = map[string]Experiment{"menu-length": {Goal: Goal{Outcome: "self_service"}}}
	f, other := mustLoad(t, first), mustLoad(t, second)
	call := Call{Now: now, ExperimentKey: []byte("k"), Caller: Caller{Phone: "+14045550123", Trust: TrustVerified}}
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	turn, err = Follow(turn, call, func(string) (*Flow, error) { return other, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(turn.Arms) != 2 || turn.Arms[0].Experiment != "warm-greeting-2026-12" || turn.Arms[1].Experiment != "menu-length" {
		t.Errorf("arms after a goto: %+v", turn.Arms)
	}
}
