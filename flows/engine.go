package flows

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/memberline/memberline/experiments"
	"github.com/memberline/memberline/internal/errs"
)

// invalidFlow is the engine refusing a flow that is not loaded or not valid.
func invalidFlow(why string) error {
	return errs.New(errs.Invalid, "invalid flow: %s", why).In("flows")
}

// maxVarLen bounds a variable's value: the state travels in a URL.
const maxVarLen = 100

// Start runs a call's first turn in this flow from its start node. When the call comes
// from another flow (Call.From, see Turn.GotoFlow), its member and variables carry over.
func (f *Flow) Start(call Call) (Turn, error) {
	p, err := f.program()
	if err != nil {
		return Turn{}, err
	}
	// The call's trust is fixed here, once; only a verify node raises it later.
	st := State{Flow: f.ID, Version: f.Version, Trust: normalTrust(call.Caller.Trust)}
	if from := call.From; from != nil {
		st.Member = from.Member
		if from.Trust != "" {
			st.Trust = from.Trust
		}
		if len(from.Vars) > 0 {
			st.Vars = make(map[string]string, len(from.Vars))
			for k, v := range from.Vars {
				st.Vars[k] = v
			}
		}
	}
	var r run
	r.init(p, call, st)
	r.text.size = firstTurnText
	r.turn.Visited = make([]string, 0, 16) // a first turn passes many nodes before it asks
	if err := r.walk(p.start); err != nil {
		return Turn{}, err
	}
	return r.done(), nil
}

// Resume continues a call at the node st waits on (a gather, choose_member, identify or
// record) with what the caller did.
//
// At an identify node, keys with no matching Call.Identified yield a Turn with only
// Identify (and the unchanged State) set: the edge looks the number up and calls Resume
// again with the same state and input and Call.Identified filled in. Once a member is
// identified, State.Member holds their id; on later turns, when that member is not among
// Call.Caller.Members, the edge passes them as Call.Identified (Member set).
func (f *Flow) Resume(call Call, st State, in Input) (Turn, error) {
	p, err := f.program()
	if err != nil {
		return Turn{}, err
	}
	if st.Flow != f.ID || st.Version != f.Version {
		return Turn{}, fmt.Errorf("%w: state is for flow %q version %d, not %q version %d", ErrState, st.Flow, st.Version, f.ID, f.Version)
	}
	n := p.nodes[st.Node]
	if n == nil || (n.typ != string(NodeGather) && n.typ != string(NodeChooseMember) && n.typ != string(NodeIdentify) && n.typ != string(NodeRecord) && n.typ != string(NodeVerify) && n.typ != string(NodeRemember) && n.typ != string(NodeFetch) && n.typ != string(NodeMessage)) {
		return Turn{}, fmt.Errorf("%w: node %q does not wait for input", ErrState, st.Node)
	}
	if st.Attempts < 0 {
		st.Attempts = 0
	}
	if st.Trust == "" {
		st.Trust = normalTrust(call.Caller.Trust)
	}
	var r run
	r.init(p, call, st)
	r.visit(n.id)
	switch NodeType(n.typ) {
	case NodeGather:
		err = r.resumeGather(n, in)
	case NodeChooseMember:
		err = r.resumeChoose(n, in)
	case NodeRecord:
		err = r.resumeRecord(n, in)
	case NodeVerify:
		err = r.resumeVerify(n, in)
	case NodeRemember:
		err = r.resumeRemember(n, in)
	case NodeFetch:
		err = r.resumeFetch(n)
	case NodeMessage:
		err = r.resumeMessage(n)
	default:
		err = r.resumeIdentify(n, in)
	}
	if err != nil {
		return Turn{}, err
	}
	return r.done(), nil
}

// MaxGotos bounds how many times one turn may go to another flow, so flows that go to
// each other cannot loop.
const MaxGotos = 8

// Follow completes a turn that goes to another flow (Turn.GotoFlow): it loads each flow
// named with load and starts it with the call's state carried over, at most MaxGotos
// times, and returns one turn with every flow's actions and trace in order. A turn
// without a goto is returned as it is. The edge and Simulate both call it.
func Follow(turn Turn, call Call, load func(id string) (*Flow, error)) (Turn, error) {
	return follow(turn, call, load)
}

func follow(turn Turn, call Call, load func(id string) (*Flow, error)) (Turn, error) {
	for hops := 0; turn.GotoFlow != ""; hops++ {
		if hops >= MaxGotos {
			return Turn{}, fmt.Errorf("%w: more than %d gotos in one turn (at flow %q)", ErrLoop, MaxGotos, turn.GotoFlow)
		}
		var err error
		if turn, _, err = gotoOnce(turn, call, load); err != nil {
			return Turn{}, err
		}
	}
	return turn, nil
}

// gotoOnce starts the flow turn goes to, and returns the two turns joined and that flow.
func gotoOnce(turn Turn, call Call, load func(id string) (*Flow, error)) (Turn, *Flow, error) {
	next, err := load(turn.GotoFlow)
	if err != nil {
		return Turn{}, nil, fmt.Errorf("flows: goto %q: %w", turn.GotoFlow, err)
	}
	c := call
	st := turn.State
	c.From = &st
	c.Fetched = nil
	nt, err := next.Start(c)
	if err != nil {
		return Turn{}, nil, fmt.Errorf("flows: goto %q: %w", turn.GotoFlow, err)
	}
	return joinTurns(turn, nt), next, nil
}

// joinTurns is turn followed by next, which continues it in the same webhook (after a
// goto or a fetch): the actions, trace, nodes, arms and fetches of both, in order; the
// input as the first understood it; next's state and ending.
func joinTurns(turn, next Turn) Turn {
	next.Actions = append(turn.Actions[:len(turn.Actions):len(turn.Actions)], next.Actions...)
	next.Trace = append(turn.Trace[:len(turn.Trace):len(turn.Trace)], next.Trace...)
	next.Visited = append(turn.Visited[:len(turn.Visited):len(turn.Visited)], next.Visited...)
	next.Heard = turn.Heard
	next.AskedActivity = next.AskedActivity || turn.AskedActivity
	next.ActivityYes = next.ActivityYes || turn.ActivityYes
	next.Arms = append(turn.Arms[:len(turn.Arms):len(turn.Arms)], next.Arms...) // both flows' splits
	next.Fetches = append(turn.Fetches[:len(turn.Fetches):len(turn.Fetches)], next.Fetches...)
	next.Messages = append(turn.Messages[:len(turn.Messages):len(turn.Messages)], next.Messages...)
	if next.Remember == nil {
		next.Remember = turn.Remember
	}
	return next
}

// Effects perform what a turn asks of the edge within the same webhook (Complete).
type Effects struct {
	// Load loads the flow a goto names.
	Load func(id string) (*Flow, error)
	// Fetch performs a fetch node's request; ok false leaves it pending (Turn.Fetch stays
	// set: the edge answers with the turn's words and a redirect, see FetchRequest.Wait).
	Fetch func(FetchRequest) (res Fetched, ok bool)
	// Send queues a message node's message (or says why not). Nil: every message is
	// queued without being sent anywhere (simulation).
	Send func(MessageRequest) Messaged
}

// Complete carries a turn through what it asks of the edge within the same webhook: a
// goto (the next flow loaded, as Follow does), fetches and messages (whose answers resume
// the flow the call is in). It returns the completed turn and the flow the call is in
// afterwards. The edge, Simulate and flow tests all call it, so an effect is answered the
// same way whoever answers it.
func Complete(cur *Flow, turn Turn, call Call, fx Effects) (Turn, *Flow, error) {
	gotos, effects := 0, 0
	for {
		switch {
		case turn.GotoFlow != "":
			if gotos >= MaxGotos {
				return Turn{}, cur, fmt.Errorf("%w: more than %d gotos in one turn (at flow %q)", ErrLoop, MaxGotos, turn.GotoFlow)
			}
			gotos++
			t, next, err := gotoOnce(turn, call, fx.Load)
			if err != nil {
				return Turn{}, cur, err
			}
			turn, cur = t, next
		case turn.Fetch != nil || turn.Message != nil:
			// A fetch or a message: the effect's answer resumes the flow at its node.
			if effects >= MaxFetchesPerTurn {
				return Turn{}, cur, fmt.Errorf("%w: more than %d fetches and messages in one turn (at node %q)", ErrLoop, MaxFetchesPerTurn, turn.State.Node)
			}
			effects++
			c := call
			c.From = nil
			if req := turn.Fetch; req != nil {
				res, ok := fx.Fetch(*req)
				if !ok {
					return turn, cur, nil
				}
				res.Node = req.Node
				c.Fetched = &res
			} else {
				req := *turn.Message
				res := Messaged{Status: MessageQueued}
				if fx.Send != nil {
					res = fx.Send(req)
				}
				res.Node = req.Node
				c.Messaged = &res
				if res.Status == MessageQueued {
					turn.Messages = append(turn.Messages, req)
				}
				turn.Message = nil
			}
			nt, err := cur.Resume(c, turn.State, Input{})
			if err != nil {
				return Turn{}, cur, err
			}
			if len(nt.Visited) > 0 && nt.Visited[0] == turn.State.Node {
				nt.Visited = nt.Visited[1:] // the node, listed once
			}
			turn = joinTurns(turn, nt)
		default:
			return turn, cur, nil
		}
	}
}

func (f *Flow) program() (*program, error) {
	if f == nil || f.prog == nil {
		return nil, invalidFlow("not loaded (use Load)")
	}
	if len(f.problems) > 0 {
		return nil, invalidFlow(fmt.Sprintf("%s (and %d more problems)", f.problems[0].Error(), len(f.problems)-1))
	}
	return f.prog, nil
}

// run is one turn in progress. Its text (speech and trace) gathers in one buffer that
// done() makes one string; Start and Resume keep the run itself on the stack.
type run struct {
	p      *program
	call   Call
	st     State
	member *Member
	lang   string
	turn   Turn
	steps  int
	b      speechBuilder
	text   turnText
	segs   Speech     // room for the turn's speech segments, handed out by segments
	queue  *QueueInfo // a waiting caller's place (Flow.Wait, Flow.Callback)
}

func (r *run) init(p *program, call Call, st State) {
	*r = run{p: p, call: call, st: st}
	r.setMember(r.currentMember())
}

// currentMember is the member the call is about: the one State names (among the caller's
// members, or the one identified by number), else the caller's only member.
func (r *run) currentMember() *Member {
	ms := r.call.Caller.Members
	if id := r.st.Member; id != "" {
		for i := range ms {
			if ms[i].ID == id {
				return &ms[i]
			}
		}
		if idf := r.call.Identified; idf != nil && idf.Member != nil && (idf.Member.ID == id || idf.Number == id) {
			return idf.Member
		}
		return nil
	}
	if len(ms) == 1 {
		return &ms[0]
	}
	return nil
}

func (r *run) setMember(m *Member) {
	r.member = m
	if l := r.st.Language; l != "" && r.p.declares(l) {
		r.lang = l // the caller chose it
		return
	}
	who := m
	if ms := r.call.Caller.Members; who == nil && len(ms) > 1 && sameLanguage(ms) {
		who = &ms[0] // a household that speaks one language is asked who is calling in it
	}
	r.lang = r.p.language(who)
	if who != nil && who.Language != "" && !strings.EqualFold(who.Language, r.lang) {
		r.trace("language: the member's %s is not in the flow; speaking %s", who.Language, r.lang)
	}
}

// sameLanguage reports whether every member has the same language.
func sameLanguage(ms []Member) bool {
	for _, m := range ms[1:] {
		if !strings.EqualFold(m.Language, ms[0].Language) {
			return false
		}
	}
	return true
}

// declares reports whether lang is one of the flow's languages.
func (p *program) declares(lang string) bool {
	_, ok := p.voices[lang]
	return ok
}

// chooseLanguage switches the rest of the call to an option's language.
func (r *run) chooseLanguage(o *coption) {
	if o.language == "" || o.language == r.lang {
		return
	}
	r.trace("language: the caller chose %s", o.language)
	r.st.Language, r.lang = o.language, o.language
}

// language picks the declared language for a member: exact, then ignoring case, then the
// same primary language (the default first), else the flow's default.
func (p *program) language(m *Member) string {
	if m == nil || m.Language == "" {
		return p.defaultLang
	}
	want := m.Language
	if _, ok := p.voices[want]; ok {
		return want
	}
	for _, l := range p.langs {
		if strings.EqualFold(l, want) {
			return l
		}
	}
	prim := primaryLanguage(want)
	if primaryLanguage(p.defaultLang) == prim {
		return p.defaultLang
	}
	for _, l := range p.langs {
		if primaryLanguage(l) == prim {
			return l
		}
	}
	return p.defaultLang
}

// visit records that the turn is at node id.
func (r *run) visit(id string) {
	if v := r.turn.Visited; len(v) == 0 || v[len(v)-1] != id {
		if v == nil {
			r.turn.Visited = make([]string, 0, 4)
		}
		r.turn.Visited = append(r.turn.Visited, id)
	}
}

// heard records how the caller's input was understood; the first understanding stands.
func (r *run) heard(kind, value string) {
	if r.turn.Heard.Kind == "" {
		r.turn.Heard = Heard{Kind: kind, Value: value}
	}
}

func (r *run) done() Turn {
	r.turn.State = r.st
	r.turn.Trace = r.text.finish()
	return r.turn
}

// trace adds a line to the turn's trace, formatted like fmt.Sprintf with the verbs %s
// and %q (strings) and %d (ints) only: written straight into the turn's text, so a line
// costs no allocation (fmt would box every argument and make a string per line).
func (r *run) trace(format string, args ...any) {
	t := &r.text
	t.grow()
	from := t.len()
	var tmp [64]byte
	for _, arg := range args {
		i := strings.IndexByte(format, '%')
		if i < 0 || i+1 == len(format) {
			break
		}
		t.write(format[:i])
		switch v := arg.(type) {
		case string:
			if format[i+1] == 'q' {
				t.writeBytes(strconv.AppendQuote(tmp[:0], v))
			} else {
				t.write(v)
			}
		case int:
			t.writeBytes(strconv.AppendInt(tmp[:0], int64(v), 10))
		default:
			t.write("%!") // an argument of another type: a mistake, shown as fmt shows one
		}
		format = format[i+2:]
	}
	t.write(format)
	t.line(from)
}

// actions makes room in the turn for a typical turn's actions before the first.
func (r *run) actions() {
	if r.turn.Actions == nil {
		r.turn.Actions = make([]Action, 0, 4)
	}
}

// walk visits nodes from id until one waits for input or ends the call.
func (r *run) walk(id string) error {
	r.actions()
	for {
		// Validate bounds every path by max_steps_without_input; this guards the engine
		// against a flow that escaped validation.
		r.steps++
		if r.steps > r.p.maxSteps {
			return fmt.Errorf("%w: stopped at node %q after %d nodes", ErrLoop, id, r.p.maxSteps)
		}
		n := r.p.nodes[id]
		if n == nil {
			return invalidFlow(fmt.Sprintf("unknown node %q", id)) // Validate prevents this
		}
		r.visit(n.id)
		switch NodeType(n.typ) {
		case NodeSay:
			lang := r.say(n, n.say, &r.turn.Actions)
			r.trace("say %s (%s) → %s", n.id, lang, n.next)
			id = n.next
		case NodePlay:
			r.turn.Actions = append(r.turn.Actions, Action{Kind: ActPlay, URL: n.url})
			r.trace("play %s → %s", n.id, n.next)
			id = n.next
		case NodeSet:
			r.set(n)
			id = n.next
		case NodeRecord:
			r.say(n, n.say, &r.turn.Actions)
			r.st.Node, r.st.Attempts = n.id, 0
			r.turn.Actions = append(r.turn.Actions, Action{Kind: ActRecord, Record: &Record{
				MaxSeconds: n.maxSeconds, TimeoutSeconds: n.timeout, PlayBeep: n.beep, Transcribe: n.transcribe}})
			r.turn.Awaiting = true
			r.trace("record %s: recording (at most %d s)", n.id, n.maxSeconds)
			return nil
		case NodeGoto:
			r.say(n, n.say, &r.turn.Actions)
			r.trace("goto %s: flow %s", n.id, n.gotoFlow)
			r.turn.GotoFlow = n.gotoFlow
			r.turn.End = EndGoto
			r.st.Node, r.st.Attempts = "", 0
			return nil
		case NodeBranch:
			id = r.branch(n)
		case NodeSplit:
			id = r.split(n)
		case NodeFetch:
			if id = r.enterFetch(n); id == "" {
				return nil
			}
		case NodeMessage:
			if id = r.enterMessage(n); id == "" {
				return nil
			}
		case NodeGather:
			r.trace("gather %s: asking (%s)", n.id, n.input)
			r.ask(n, "")
			return nil
		case NodeChooseMember:
			next, wait := r.enterChoose(n)
			if wait {
				return nil
			}
			if next == "" {
				r.endWithoutWayForward(n)
				return nil
			}
			id = next
		case NodeIdentify:
			r.trace("identify %s: asking for a member number", n.id)
			r.ask(n, "")
			return nil
		case NodeVerify:
			switch {
			case r.st.Trust == TrustVerifiedPIN:
				r.trace("verify %s: already verified → %s", n.id, n.next)
				id = n.next
				continue
			case r.verifyingID() == "":
				r.trace("verify %s: no member to verify → %s", n.id, n.notFound)
				id = n.notFound
				continue
			}
			r.trace("verify %s: asking for a PIN", n.id)
			r.ask(n, "")
			return nil
		case NodeRemember:
			if why := r.cannotRemember(); why != "" {
				r.trace("remember %s: %s → %s", n.id, why, n.next)
				id = n.next
				continue
			}
			r.trace("remember %s: offering", n.id)
			r.ask(n, "")
			return nil
		case NodeHandoff:
			r.handoff(n)
			return nil
		case NodeHangup:
			r.say(n, n.say, &r.turn.Actions)
			r.trace("hangup %s", n.id)
			r.end(Action{Kind: ActHangup}, EndHangup)
			return nil
		}
	}
}

// scope is what the call's conditions and templates read; a render sets the language it
// speaks (and so its terms) itself.
func (r *run) scope() *scope {
	return &scope{
		now:      r.call.Now,
		members:  len(r.call.Caller.Members),
		member:   r.member,
		phone:    r.call.Caller.Phone,
		trust:    r.st.Trust,
		vars:     r.st.Vars,
		zone:     r.p.zone,
		holidays: r.p.holidays,
		lang:     r.lang,
		queue:    r.queue,
	}
}

// set renders a set node's values as plain text into the call's variables; an empty
// value removes the variable. Values read the variables as they were before the node.
func (r *run) set(n *cnode) {
	s := r.scope()
	var withheld []string
	s.lang, s.terms = r.p.defaultLang, r.p.terms[r.p.defaultLang]
	vars := maps.Clone(r.st.Vars) // the State the caller passed in keeps its map
	if vars == nil {
		vars = map[string]string{}
	}
	names := make([]string, 0, len(n.set))
	for _, v := range n.set {
		if !r.hears(v.tpl) {
			// A variable must not carry what the caller may not hear into a prompt.
			delete(vars, v.name)
			withheld = append(withheld, v.name)
			continue
		}
		v.tpl.render(&r.b, s)
		val := r.b.speech().String()
		if utf8.RuneCountInString(val) > maxVarLen {
			val = string([]rune(val)[:maxVarLen])
		}
		if val == "" {
			delete(vars, v.name)
		} else {
			vars[v.name] = val
		}
		names = append(names, v.name)
	}
	if len(vars) == 0 {
		vars = nil
	}
	r.st.Vars = vars
	if len(withheld) > 0 {
		r.trace("set %s: %s withheld at trust %s", n.id, strings.Join(withheld, ", "), r.st.Trust)
	}
	r.trace("set %s: %s → %s", n.id, strings.Join(names, ", "), n.next)
}

func (r *run) end(a Action, outcome string) {
	r.turn.Actions = append(r.turn.Actions, a)
	r.turn.End = outcome
	r.st.Node, r.st.Attempts = "", 0
}

func (r *run) branch(n *cnode) string {
	s := r.scope()
	t := &r.text
	t.grow()
	from := t.len()
	t.write("branch ", n.id, ": ")
	for _, k := range n.cases {
		ok := true
		for i, c := range k.when {
			if i > 0 {
				t.write(" and ")
			}
			t.write(c.desc)
			if callClock(c.field) {
				var tmp [32]byte
				clock := c.clock(s)
				t.write(" [")
				t.writeBytes(clock.AppendFormat(tmp[:0], "Mon 2006-01-02 15:04"))
				t.write(" ", clock.Location().String(), "]")
			}
			if ok && !c.holds(s) {
				ok = false
			}
		}
		if ok {
			t.write(" → true → ", k.next)
			t.line(from)
			return k.next
		}
		t.write(" → false; ")
	}
	t.write("default → ", n.dflt)
	t.line(from)
	return n.dflt
}

// fail handles no input or no match at n: a retry while any are left, else the way out.
func (r *run) fail(n *cnode, what string) error {
	switch what {
	case "no input":
		r.heard(HeardSilence, "")
	case "no match":
		r.heard(HeardNoMatch, "")
	}
	if r.st.Attempts < n.retries {
		r.st.Attempts++
		r.trace("%s %s: %s → retry %d of %d", n.typ, n.id, what, r.st.Attempts, n.retries)
		r.ask(n, what)
		return nil
	}
	var next string
	switch what {
	case "no input":
		next = first(n.noInput, n.noMatch, n.notFound)
	case "no match":
		next = first(n.noMatch, n.noInput)
	default:
		next = n.notFound
	}
	r.st.Attempts = 0
	if next == "" {
		r.trace("%s %s: %s, no retries left", n.typ, n.id, what)
		r.endWithoutWayForward(n)
		return nil
	}
	r.trace("%s %s: %s, no retries left → %s", n.typ, n.id, what, next)
	return r.walk(next)
}

// endWithoutWayForward hangs up where a flow gives no way on (a gather without no_input
// or no_match): Validate accepts that as a choice.
func (r *run) endWithoutWayForward(n *cnode) {
	r.trace("%s %s: no way forward → hang up", n.typ, n.id)
	r.end(Action{Kind: ActHangup}, EndHangup)
}

func first(ids ...string) string {
	for _, id := range ids {
		if id != "" {
			return id
		}
	}
	return ""
}

func (r *run) handoff(n *cnode) {
	r.say(n, n.say, &r.turn.Actions)
	h := r.handoffOf(n)
	prio := ""
	if h.HasPriority {
		prio = ", priority " + strconv.Itoa(h.Priority)
	}
	switch {
	case n.workflow != "":
		r.trace("handoff %s: workflow %s, reason %s%s", n.id, n.workflow, first(n.reason, "-"), prio)
	case n.sip != "":
		r.trace("handoff %s: sip %s, reason %s%s", n.id, n.sip, first(n.reason, "-"), prio)
	case n.client != "":
		r.trace("handoff %s: client %s, reason %s%s", n.id, n.client, first(n.reason, "-"), prio)
	default:
		r.trace("handoff %s: queue %s, reason %s%s", n.id, h.Queue, first(n.reason, "-"), prio)
	}
	r.end(Action{Kind: ActHandoff, Handoff: h}, EndHandoff)
}

// handoffOf is the handoff node n makes of the call: its target, priority and context.
func (r *run) handoffOf(n *cnode) *Handoff {
	h := &Handoff{Queue: r.chooseQueue(n), Reason: n.reason, Workflow: n.workflow, SIP: n.sip, Client: n.client,
		Context: make([]KV, 0, 7+len(r.st.Vars))}
	h.Priority, h.HasPriority = r.choosePriority(n.queueing)
	if q := n.queueing; q != nil && q.wait != nil {
		h.Node, h.Wait, h.Callback = n.id, true, q.callback != nil
	}
	add := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			h.Context = append(h.Context, KV{Key: k, Value: v})
		}
	}
	memberID := r.st.Member
	if m := r.member; m != nil {
		memberID = first(m.ID, memberID)
		add("member_id", memberID)
		add("tier", m.Tier)
		if a := m.Activity; a != nil {
			add("activity_id", a.ID)
			add("activity_reference", a.Reference)
		}
	} else {
		add("member_id", memberID)
	}
	add("language", r.lang)
	add("reason", n.reason)
	// The person taking the call sees how far the caller was verified before reading out
	// the context (a confirmation code to an unverified caller would undo the policy).
	add("trust", r.st.Trust)
	// The call's variables go along for the person taking the call, as var_<name>.
	if len(r.st.Vars) > 0 {
		for _, k := range slices.Sorted(maps.Keys(r.st.Vars)) {
			add("var_"+k, r.st.Vars[k])
		}
	}
	return h
}

// split sends the call to its arm of the experiment: a pinned one, else the one its
// subject hashes to (the member, else the calling number, else the call). The same caller
// always gets the same arm, on every instance.
func (r *run) split(n *cnode) string {
	subject, as := r.call.CallSID, "call"
	if r.call.Caller.Phone != "" {
		subject, as = r.call.Caller.Phone, "number"
	}
	if m := r.currentMember(); m != nil {
		subject, as = m.ID, "member"
	}
	arm, why := "", ""
	if pin, ok := r.call.Arms[n.experiment]; ok && slices.ContainsFunc(n.arms, func(a experiments.Arm) bool { return a.ID == pin }) {
		arm, why = pin, "pinned"
	} else {
		b := experiments.Bucket(r.call.ExperimentKey, n.experiment, subject)
		arm, why = experiments.Assign(n.arms, b), fmt.Sprintf("by the %s, bucket %d", as, b)
	}
	for i, a := range n.arms {
		if a.ID == arm {
			r.turn.Arms = append(r.turn.Arms, ArmChoice{Experiment: n.experiment, Arm: arm})
			r.trace("split %s: experiment %s, arm %s (%s) → %s", n.id, n.experiment, arm, why, n.armNext[i])
			return n.armNext[i]
		}
	}
	return "" // CheckArms makes the weights cover every bucket
}
