package flows

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// record is what the call records keep of a simulated call: each webhook's nodes and the
// caller's input before it.
func record(t *testing.T, f *Flow, call Call, inputs ...string) RecordedCall {
	t.Helper()
	script := make([]Input, len(inputs))
	for i, s := range inputs {
		script[i] = ScriptInput(s)
	}
	tr, err := Simulate(f, call, script, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	rc := RecordedCall{Now: call.Now, Caller: call.Caller}
	for i, s := range tr.Steps {
		st := RecordedStep{Nodes: s.Turn.Visited}
		if i > 0 {
			st.Input = inputs[i-1]
		}
		rc.Steps = append(rc.Steps, st)
	}
	rc.Outcome = recordOutcome(tr.End)
	return rc
}

func TestReplayFindsWhereThePathChanges(t *testing.T) {
	live := Default()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("", -5*3600))
	starts := now.Add(29 * time.Hour)
	dana := Caller{Phone: "+14045550123", Trust: TrustVerified, Members: []Member{{ID: "1001", FirstName: "Dana", Tier: "Diamond",
		Activity: &Activity{ID: "t1", Kind: "trip", Place: "Atlanta", StartsAt: starts, EndsAt: starts.Add(2 * time.Hour), Relation: "upcoming"}}}}
	call := Call{Now: now, Caller: dana}
	pressed1 := record(t, live, call, "1")
	pressed2 := record(t, live, call, "2", "3")

	// The draft: "1" at about_activity goes to reservations instead.
	draft := mustLoad(t, Default())
	for i := range draft.Nodes {
		if draft.Nodes[i].ID == "about_activity" {
			draft.Nodes[i].Options[0].Next = "agent_reservations"
		}
	}
	draft = mustLoad(t, draft)

	r, err := Replay(draft, pressed1, SimEnv{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Same || r.Turn != 1 || r.Before != "about_activity" || r.Was != "agent_activity" || r.Now != "agent_reservations" {
		t.Errorf("pressed 1: %+v", r)
	}
	if r.WasEnd != (ReplayEnd{"handoff", "agent_activity"}) || r.NowEnd != (ReplayEnd{"handoff", "agent_reservations"}) {
		t.Errorf("pressed 1 endings: %+v, %+v", r.WasEnd, r.NowEnd)
	}
	// Both paths in full, for drawing them: the same up to about_activity, then apart.
	i := slices.Index(r.WasPath, "about_activity")
	if i < 0 || !slices.Equal(r.WasPath[:i+1], r.NowPath[:i+1]) || r.WasPath[0] != live.StartNode ||
		!slices.Equal(r.WasPath[i+1:], []string{"agent_activity"}) || !slices.Equal(r.NowPath[i+1:], []string{"agent_reservations"}) {
		t.Errorf("pressed 1 paths: was %v, now %v", r.WasPath, r.NowPath)
	}
	r, err = Replay(draft, pressed2, SimEnv{})
	if err != nil || !r.Same || r.NowEnd != (ReplayEnd{"self_service", "goodbye"}) {
		t.Errorf("pressed 2 then 3: %+v, %v", r, err)
	}
	// The live flow replays every call the same.
	for _, rc := range []RecordedCall{pressed1, pressed2} {
		if r, err := Replay(live, rc, SimEnv{}); err != nil || !r.Same {
			t.Errorf("the live flow: %+v, %v", r, err)
		}
	}
	// What the records do not keep cannot be replayed.
	pin := pressed1
	pin.Steps = append([]RecordedStep{}, pin.Steps...)
	pin.Steps[1].Input = ""
	var nr NotReplayable
	if _, err := Replay(draft, pin, SimEnv{}); !errors.As(err, &nr) {
		t.Errorf("a PIN step: %v", err)
	}
}
