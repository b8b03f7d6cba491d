package flows

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Replay runs a recorded call through a flow (a draft, usually) with the call's own
// inputs, caller and clock, and compares the path with the one the call took.

// RecordedCall is a call as its record keeps it.
type RecordedCall struct {
	Now    time.Time // when the call started
	Caller Caller    // the member as stored now (none: unknown), the call's trust
	// Steps are the webhooks of the call in order: the nodes each visited and what the
	// caller did before it ("" for the first), as the call record keeps it: digits, the
	// matched option word, "unmatched", "none" (silence); others (a member number, a PIN,
	// a name, a recording) are not kept and cannot be replayed.
	Steps []RecordedStep
	// Outcome is how the call ended: self_service, handoff, caller_hung_up, error, or ""
	// while it went on.
	Outcome string
	// Arms are the arms of experiments the call went to (experiment → arm): the replay
	// keeps them.
	Arms map[string]string
}

// RecordedStep is one webhook of a recorded call.
type RecordedStep struct {
	Nodes []string
	Input string
}

// ReplayResult compares the recorded path with the replayed one.
type ReplayResult struct {
	Same bool `json:"same"`
	// Turn is the first webhook (0: the call's start) where the paths differ; Before the
	// last node both reached on it ("" when they differ from its first node), Was and Now
	// the node each went to next ("" when that path's turn ended there).
	Turn   int    `json:"turn,omitempty"`
	Before string `json:"before,omitempty"`
	Was    string `json:"was,omitempty"`
	Now    string `json:"now,omitempty"`
	// WasEnd and NowEnd are how each call ended and at which node.
	WasEnd ReplayEnd `json:"was_end"`
	NowEnd ReplayEnd `json:"now_end"`
	// WasPath and NowPath are the nodes each call went through, every webhook's in turn.
	WasPath []string `json:"was_path"`
	NowPath []string `json:"now_path"`
	// Transcript is the replayed call.
	Transcript *Transcript `json:"transcript,omitempty"`
	// Notes say what the replay could not keep as the call had it: an experiment's
	// recorded arm the flow no longer has (the caller's hash chose again).
	Notes []string `json:"notes,omitempty"`
}

// ReplayEnd is how a call ended: an outcome in the call records' words and its last node.
type ReplayEnd struct {
	Outcome string `json:"outcome"`
	Node    string `json:"node"`
}

// NotReplayable is why a recorded call cannot be replayed.
type NotReplayable struct{ Reason string }

func (e NotReplayable) Error() string { return "cannot replay: " + e.Reason }

// replayInputs reads the recorded inputs as a simulation script.
func replayInputs(steps []RecordedStep) ([]Input, error) {
	var script []Input
	for i, s := range steps {
		if i == 0 {
			continue
		}
		switch s.Input {
		case "none":
			script = append(script, Input{})
		case "unmatched":
			// Words no option has: the call's no_match path.
			script = append(script, Input{Speech: "unmatched input", Confidence: 0.9})
		case "member_number", "name", "recording", "":
			what := map[string]string{"member_number": "a member number", "name": "a household member's name",
				"recording": "a recording", "": "a PIN or consent"}[s.Input]
			return nil, NotReplayable{fmt.Sprintf("at webhook %d the caller gave %s, which call records do not keep", i, what)}
		default:
			script = append(script, ScriptInput(s.Input))
		}
	}
	return script, nil
}

// Replay plays rc through f and compares it with the recorded path. A call it cannot
// replay answers NotReplayable.
func Replay(f *Flow, rc RecordedCall, env SimEnv) (ReplayResult, error) {
	var r ReplayResult
	if len(rc.Steps) == 0 {
		return r, NotReplayable{"the record has no webhooks"}
	}
	script, err := replayInputs(rc.Steps)
	if err != nil {
		return r, err
	}
	tr, err := Simulate(f, Call{Now: rc.Now, Caller: rc.Caller, Arms: rc.Arms}, script, env)
	if err != nil {
		return r, err
	}
	for _, p := range f.PinProblems("arms", rc.Arms) {
		if exp, ok := strings.CutPrefix(p.Path, "arms."); ok && tookSplit(tr, exp) {
			r.Notes = append(r.Notes, fmt.Sprintf("experiment %s: the call's arm %s is no longer in the flow; the replay went by the caller's hash", exp, rc.Arms[exp]))
		}
	}
	r.Transcript = &tr
	r.WasEnd = ReplayEnd{Outcome: rc.Outcome, Node: lastNode(rc.Steps[len(rc.Steps)-1].Nodes)}
	r.NowEnd.Outcome = recordOutcome(tr.End)
	if len(tr.Steps) > 0 {
		r.NowEnd.Node = lastNode(tr.Steps[len(tr.Steps)-1].Turn.Visited)
	}
	r.WasPath, r.NowPath = []string{}, []string{}
	for _, s := range rc.Steps {
		r.WasPath = appendPath(r.WasPath, s.Nodes)
	}
	for _, s := range tr.Steps {
		r.NowPath = appendPath(r.NowPath, s.Turn.Visited)
	}
	for i := 0; i < max(len(rc.Steps), len(tr.Steps)); i++ {
		var was, now []string
		if i < len(rc.Steps) {
			was = rc.Steps[i].Nodes
		}
		if i < len(tr.Steps) {
			now = tr.Steps[i].Turn.Visited
		}
		if slices.Equal(was, now) {
			continue
		}
		j := 0
		for j < len(was) && j < len(now) && was[j] == now[j] {
			j++
		}
		r.Turn = i
		if j > 0 {
			r.Before = was[j-1]
		}
		if j < len(was) {
			r.Was = was[j]
		}
		if j < len(now) {
			r.Now = now[j]
		}
		return r, nil
	}
	r.Same = r.WasEnd == r.NowEnd || rc.Outcome == ""
	return r, nil
}

// appendPath adds a webhook's nodes to a path; the gather a webhook resumes at, where the
// one before stopped, is counted once.
func appendPath(path, nodes []string) []string {
	if len(path) > 0 && len(nodes) > 0 && path[len(path)-1] == nodes[0] {
		nodes = nodes[1:]
	}
	return append(path, nodes...)
}

func lastNode(nodes []string) string {
	if len(nodes) == 0 {
		return ""
	}
	return nodes[len(nodes)-1]
}

// recordOutcome is a simulated call's end in the call records' words.
func recordOutcome(end string) string {
	switch end {
	case EndHandoff:
		return "handoff"
	case EndHangup:
		return "self_service"
	case SimAwaiting:
		return "caller_hung_up"
	}
	return ""
}

// tookSplit reports whether a transcript went through a split of the experiment.
func tookSplit(tr Transcript, experiment string) bool {
	for _, st := range tr.Steps {
		for _, a := range st.Turn.Arms {
			if a.Experiment == experiment {
				return true
			}
		}
	}
	return false
}
