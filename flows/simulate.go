package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Simulation runs a whole call through a flow with a script of caller inputs, offline:
// what an admin uses to try a change as any caller on any date before publishing it. It
// drives the same Start, Resume and Follow as live calls and repeats what the IVR edge
// does between them (identify lookups, the identified member on later turns, gotos), so a
// transcript shows what a real call would hear.

// SimEnv answers what the edge would look up during a simulated call.
type SimEnv struct {
	// Identify answers an identify node: the member with that member number, or nil when
	// there is none. Nil: no member number is known.
	Identify func(number string) *Member
	// Verify answers a verify node: whether pin is the member's PIN. Nil: no PIN is
	// right. Simulations never count toward the live lockout.
	Verify func(memberID, pin string) bool
	// LoadFlow loads the flow a goto names, as a live call would get it (the published
	// version). Nil: a goto fails the simulation.
	LoadFlow func(id string) (*Flow, error)
	// Fetch answers a fetch node: a mock (FetchMock.Fetched), or the connection itself
	// when the simulation asks for live fetches; ok false when it has no answer, and the
	// node goes to its error way as unreachable, reported in Transcript.NotMocked.
	Fetch func(req FetchRequest) (res Fetched, ok bool)
	// Send answers a message node (a consent the simulation knows of); nil: every message
	// is queued. A simulation never sends one: the transcript shows it.
	Send func(req MessageRequest) Messaged
}

// FetchMock is a fetch node's answer in a simulation or a flow test: an HTTP status
// (200 when 0) and a JSON body, or an Error (one of FetchErrors).
type FetchMock struct {
	Status int    `json:"status,omitempty"`
	Body   any    `json:"body,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Fetched is the answer the mock makes for a fetch node.
func (m FetchMock) Fetched(node string) Fetched {
	if m.Error != "" {
		return Fetched{Node: node, Outcome: m.Error, Note: "mock"}
	}
	status := m.Status
	if status == 0 {
		status = 200
	}
	// The body is read as the fetch client reads an answer: decoded from JSON.
	var body any
	if b, err := json.Marshal(m.Body); err == nil {
		_ = json.Unmarshal(b, &body)
	}
	return Fetched{Node: node, Outcome: FetchOK, Status: status, Answer: body, Note: "mock"}
}

// Problems reports what is wrong with the mock, at path.
func (m FetchMock) Problems(path string) []Problem {
	var ps []Problem
	if m.Error != "" && !slices.Contains(FetchErrors, m.Error) {
		ps = append(ps, Problem{Path: join(path, "error"), Message: "must be one of " + strings.Join(FetchErrors, ", ")})
	}
	if m.Error != "" && (m.Status != 0 || m.Body != nil) {
		ps = append(ps, Problem{Path: join(path, "error"), Message: "an error mock has no status or body"})
	}
	if m.Status != 0 && (m.Status < 100 || m.Status > 599) {
		ps = append(ps, Problem{Path: join(path, "status"), Message: "must be an HTTP status, 100 to 599"})
	}
	return ps
}

// Simulation outcomes beyond the engine's EndHandoff and EndHangup (Transcript.End).
const (
	// SimAwaiting: the script ran out while the call waits for input.
	SimAwaiting = "awaiting"
)

// Transcript is a simulated call, turn by turn.
type Transcript struct {
	Steps []SimStep `json:"steps"`
	// End is how the call ended: EndHandoff, EndHangup, or SimAwaiting.
	End string `json:"end"`
	// Flow and Version are the flow the call was in at the end (another one after a goto).
	Flow    string      `json:"flow"`
	Version int         `json:"version"`
	Handoff *SimHandoff `json:"handoff,omitempty"`
	// UnusedInputs counts script inputs left over when the call ended before using them.
	UnusedInputs int `json:"unused_inputs,omitempty"`
	// NotMocked are the fetch nodes the call reached without an answer to give them (no
	// mock, no live fetch): they went to their error way.
	NotMocked []string `json:"not_mocked,omitempty"`
}

// SimStep is one webhook turn of a simulated call.
type SimStep struct {
	// Input is what the caller did before this turn; nil for the call's first turn.
	Input *Input `json:"input,omitempty"`
	// Said is what the caller hears, in order: one entry per say action (gather prompts
	// included), a play as "[play URL]", a recording as "[record]".
	Said []string `json:"said"`
	// Trace is the path taken and why, one line per node (branches name their conditions).
	Trace []string `json:"trace"`
	// Awaiting names the node waiting for the next input; "" when the call ended.
	Awaiting string `json:"awaiting,omitempty"`
	Flow     string `json:"flow"`
	Version  int    `json:"version"`
	End      string `json:"end,omitempty"`
	// Messages are the messages the turn would queue (never sent by a simulation), as
	// "sms to +14045550123: Flight DL1 leaves from gate B12."
	Messages []string `json:"messages,omitempty"`
	// Turn is the engine's answer exactly as the edge would render it to TwiML.
	Turn Turn `json:"-"`
}

// SimHandoff is where a simulated call was handed off, with its context.
type SimHandoff struct {
	Queue    string  `json:"queue,omitempty"`
	Reason   string  `json:"reason,omitempty"`
	Workflow string  `json:"workflow,omitempty"`
	SIP      string  `json:"sip,omitempty"`
	Client   string  `json:"client,omitempty"`
	Priority *int    `json:"priority,omitempty"`
	Context  []SimKV `json:"context"`
}

// SimKV is one context pair, in order.
type SimKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// maxSimTurns bounds a simulation however long its script.
const maxSimTurns = 200

// Simulate plays call through f: Start, then one Resume per script input while the call
// waits for input. call.Now is the simulated clock; call.Caller the simulated caller (a
// directory member or an inline profile). It stops when the call ends or the script runs
// out, and returns the transcript so far with any error (an invalid flow, a failed
// LoadFlow, too many gotos).
func Simulate(f *Flow, call Call, script []Input, env SimEnv) (Transcript, error) {
	var tr Transcript
	if f == nil {
		return tr, invalidFlow("no flow")
	}
	tr.Flow, tr.Version = f.ID, f.Version
	load := env.LoadFlow
	if load == nil {
		load = func(id string) (*Flow, error) {
			return nil, errors.New("flows: simulate: no flows to go to")
		}
	}
	fetch := func(req FetchRequest) (Fetched, bool) {
		if env.Fetch != nil {
			if res, ok := env.Fetch(req); ok {
				return res, true
			}
		}
		if !slices.Contains(tr.NotMocked, req.Node) {
			tr.NotMocked = append(tr.NotMocked, req.Node)
		}
		return Fetched{Outcome: FetchUnreachable, Note: "not mocked"}, true
	}
	cur := f
	turn, err := cur.Start(call)
	if err == nil {
		turn, cur, err = Complete(cur, turn, call, Effects{Load: load, Fetch: fetch, Send: env.Send})
	}
	if err != nil {
		return tr, fmt.Errorf("flows: simulate: start: %w", err)
	}
	tr.add(nil, turn)
	used := 0
	for turn.Awaiting && used < len(script) && len(tr.Steps) < maxSimTurns {
		in := script[used]
		used++
		c := call
		st := turn.State
		if st.Member != "" && !hasCallerMember(c.Caller, st.Member) {
			// Identified by number earlier in the call, as the edge does.
			c.Identified = env.identify(st.Member)
		}
		turn, err = cur.Resume(c, st, in)
		if err == nil && turn.Identify != "" {
			c.Identified = env.identify(turn.Identify)
			turn, err = cur.Resume(c, st, in)
		}
		if err == nil && turn.Verify != nil {
			v := Verified{MemberID: turn.Verify.MemberID}
			v.OK = env.Verify != nil && env.Verify(turn.Verify.MemberID, turn.Verify.PIN)
			c.Verified = &v
			turn, err = cur.Resume(c, st, in)
		}
		if err == nil {
			turn, cur, err = Complete(cur, turn, c, Effects{Load: load, Fetch: fetch, Send: env.Send})
		}
		if err != nil {
			return tr, fmt.Errorf("flows: simulate: input %d: %w", used, err)
		}
		tr.add(&in, turn)
	}
	tr.UnusedInputs = len(script) - used
	return tr, nil
}

func (env SimEnv) identify(number string) *Identified {
	id := &Identified{Number: number}
	if env.Identify != nil {
		id.Member = env.Identify(number)
	}
	return id
}

func hasCallerMember(c Caller, id string) bool {
	for _, m := range c.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

func (tr *Transcript) add(in *Input, turn Turn) {
	s := SimStep{Input: in, Said: said(turn.Actions), Trace: turn.Trace, Flow: turn.State.Flow,
		Version: turn.State.Version, End: turn.End, Turn: turn}
	if s.Said == nil {
		s.Said = []string{}
	}
	if s.Trace == nil {
		s.Trace = []string{}
	}
	for _, m := range turn.Messages {
		line := m.Channel + " to " + m.To + ": " + m.Body
		if m.Template != nil {
			line += " [template " + m.Template.SID + "]"
		}
		s.Messages = append(s.Messages, line)
	}
	if turn.Awaiting {
		s.Awaiting = turn.State.Node
	}
	tr.Steps = append(tr.Steps, s)
	tr.Flow, tr.Version = turn.State.Flow, turn.State.Version
	switch {
	case turn.Awaiting:
		tr.End = SimAwaiting
	default:
		tr.End = turn.End
	}
	for _, a := range turn.Actions {
		if a.Kind == ActHandoff && a.Handoff != nil {
			h := a.Handoff
			sh := &SimHandoff{Queue: h.Queue, Reason: h.Reason, Workflow: h.Workflow, SIP: h.SIP, Client: h.Client, Context: []SimKV{}}
			if h.HasPriority {
				sh.Priority = &h.Priority
			}
			for _, kv := range h.Context {
				sh.Context = append(sh.Context, SimKV(kv))
			}
			tr.Handoff = sh
		}
	}
}

// said lists what actions make the caller hear.
func said(actions []Action) []string {
	var out []string
	for _, a := range actions {
		switch a.Kind {
		case ActSay:
			out = append(out, a.Speech.String())
		case ActPlay:
			out = append(out, "[play "+a.URL+"]")
		case ActRecord:
			out = append(out, "[record]")
		case ActGather:
			if a.Gather != nil {
				out = append(out, said(a.Gather.Prompts)...)
			}
		}
	}
	return out
}
