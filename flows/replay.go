package flows

import (
	"fmt"
	"slices"
	"strconv"
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
	// Fetches are the fetches the webhook's fetch nodes made (their outcomes; never their
	// values, which records do not keep).
	Fetches []FetchRecord
	// Continued: the webhook carried on the turn before it without input (the redirect
	// after a fetch node said something while it waited). Replay counts the two as one,
	// as a simulation does.
	Continued bool
}

// joinContinued folds each continued step into the one before it.
func joinContinued(steps []RecordedStep) []RecordedStep {
	out := make([]RecordedStep, 0, len(steps))
	for _, s := range steps {
		if s.Continued && len(out) > 0 {
			last := &out[len(out)-1]
			last.Nodes = appendPath(slices.Clone(last.Nodes), s.Nodes)
			last.Fetches = append(slices.Clone(last.Fetches), s.Fetches...)
			continue
		}
		out = append(out, s)
	}
	return out
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
	rc.Steps = joinContinued(rc.Steps)
	script, err := replayInputs(rc.Steps)
	if err != nil {
		return r, err
	}
	env.Fetch = replayFetches(f, rc, &r.Notes)
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

// replayFetches answers a replay's fetch nodes without calling anyone: each takes the way
// the recorded call took there (next or error, with the recorded outcome), next with the
// values of the flow's first test that mocks the node, else with stand-ins ("[gate]").
// What it did is noted once per node.
func replayFetches(f *Flow, rc RecordedCall, notes *[]string) func(FetchRequest) (Fetched, bool) {
	var was []string
	var records []FetchRecord
	for _, s := range rc.Steps {
		was = appendPath(was, s.Nodes)
		records = append(records, s.Fetches...)
	}
	seen := map[string]int{}
	noted := map[string]bool{}
	note := func(node, format string, args ...any) {
		if !noted[node] {
			noted[node] = true
			*notes = append(*notes, fmt.Sprintf("fetch %s: ", node)+fmt.Sprintf(format, args...))
		}
	}
	return func(req FetchRequest) (Fetched, bool) {
		n := f.prog.nodes[req.Node]
		k := seen[req.Node]
		seen[req.Node]++
		took, outcome := nthAfter(was, req.Node, k), ""
		if rec := nthRecord(records, req.Node, k); rec != nil {
			outcome = rec.Outcome
		}
		if took == "" && outcome == "" {
			note(req.Node, "the call did not reach it; replayed as unreachable")
			return Fetched{Outcome: FetchUnreachable, Note: "replay"}, true
		}
		// The recorded outcome says which way the call went; without one, its path does.
		if ok := outcome == FetchOK || (outcome == "" && took == n.next); !ok {
			if outcome == "" {
				outcome = FetchUnreachable
			}
			note(req.Node, "took its error way as the call did (%s)", outcome)
			return Fetched{Outcome: outcome, Note: "replay"}, true
		}
		for _, t := range f.Tests {
			if m, ok := t.Fetch[req.Node]; ok && m.Error == "" && (m.Status == 0 || m.Status/100 == 2) {
				note(req.Node, "took next as the call did, with the values of test %s's mock", t.Name)
				res := m.Fetched(req.Node)
				res.Note = "replay: test " + t.Name
				return res, true
			}
		}
		note(req.Node, "took next as the call did; no test mocks it, so its values are stand-ins like [%s]", first(saveNames(n.fetch)...))
		return Fetched{Outcome: FetchOK, Status: 200, Answer: standIns(n.fetch.save), Note: "replay: stand-ins"}, true
	}
}

// nthAfter is the node after the k-th (from 0) occurrence of id in path; "" when there is
// none.
func nthAfter(path []string, id string, k int) string {
	for i, n := range path {
		if n != id {
			continue
		}
		if k == 0 {
			if i+1 < len(path) {
				return path[i+1]
			}
			return ""
		}
		k--
	}
	return ""
}

func nthRecord(recs []FetchRecord, node string, k int) *FetchRecord {
	for i := range recs {
		if recs[i].Node == node {
			if k == 0 {
				return &recs[i]
			}
			k--
		}
	}
	return nil
}

func saveNames(f *cfetch) []string {
	var names []string
	for _, s := range f.save {
		names = append(names, s.name)
	}
	return names
}

// standIns is an answer that holds "[name]" at each saved path.
func standIns(save []csave) any {
	var root any
	for _, s := range save {
		root = place(root, s.path, "["+s.name+"]")
	}
	return root
}

// place puts v at path in the JSON value root (made of maps and lists) and returns it.
func place(root any, path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	seg := path[0]
	if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < 100 && seg == strconv.Itoa(i) {
		list, _ := root.([]any)
		for len(list) <= i {
			list = append(list, nil)
		}
		list[i] = place(list[i], path[1:], v)
		return list
	}
	obj, ok := root.(map[string]any)
	if !ok {
		obj = map[string]any{}
	}
	obj[seg] = place(obj[seg], path[1:], v)
	return obj
}
