package flows

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Flow tests: cases a flow document carries in "tests", each a scripted simulated call and
// what must happen on it. Validation checks their shape; RunTests plays them with the
// engine's Simulate, the same path a simulation and a live call take.

// Test is one case of a flow's tests.
type Test struct {
	Name   string     `json:"name"`
	Caller TestCaller `json:"caller"`
	// Now is the simulated clock (RFC 3339); the time the test runs when empty.
	Now string `json:"now,omitempty"`
	// Trust is the caller's trust at the start (suspicious, unverified, verified);
	// unverified when empty, as a live call without StirVerstat.
	Trust string `json:"trust,omitempty"`
	// Inputs are the caller's answers in order, as in a simulation: digits ("1", "1234#"),
	// words ("yes please"), or "" for silence.
	Inputs []string `json:"inputs,omitempty"`
	// Arms pins the arms of experiments (experiment → arm) the call goes through; without
	// a pin the caller's hash decides, as on a live call.
	Arms map[string]string `json:"arms,omitempty"`
	// Fetch answers the flow's fetch nodes, by node id: {"booking": {"status": 200,
	// "body": {...}}} or {"booking": {"error": "timeout"}}. A fetch node the call reaches
	// without one fails the test.
	Fetch  map[string]FetchMock `json:"fetch,omitempty"`
	Expect TestExpect           `json:"expect"`
}

// TestCaller is who calls: a number the directory resolves (Phone), an inline member
// (Profile), or, with neither, an unknown caller.
type TestCaller struct {
	Phone   string       `json:"phone,omitempty"`
	Profile *TestProfile `json:"profile,omitempty"`
}

// TestProfile is an inline member of a test.
type TestProfile struct {
	ID string `json:"id,omitempty"`
	// Phone is the number the inline member calls from (E.164): what caller.phone_last4
	// reads and message nodes send to. Empty: a withheld number.
	Phone      string            `json:"phone,omitempty"`
	FirstName  string            `json:"first_name,omitempty"`
	LastName   string            `json:"last_name,omitempty"`
	Tier       string            `json:"tier,omitempty"`
	Language   string            `json:"language,omitempty"`
	TimeZone   string            `json:"time_zone,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Activity   *TestActivity     `json:"activity,omitempty"`
}

// TestActivity is the inline member's activity; its relation to the call (upcoming,
// current, recent) follows from Now when it is not given.
type TestActivity struct {
	ID        string `json:"id,omitempty"`
	Kind      string `json:"kind,omitempty"` // "trip" when empty
	Summary   string `json:"summary,omitempty"`
	Place     string `json:"place,omitempty"`
	StartsAt  string `json:"starts_at"` // RFC 3339
	EndsAt    string `json:"ends_at,omitempty"`
	Status    string `json:"status,omitempty"`
	Reference string `json:"reference,omitempty"`
	Relation  string `json:"relation,omitempty"`
}

// TestExpect is what must happen; every part is optional.
type TestExpect struct {
	// End is how the call ends: handoff, hangup, or awaiting (still waiting for input
	// when the inputs run out).
	End string `json:"end,omitempty"`
	// Says are texts the caller must hear (each within one thing said); NeverSays texts
	// the caller must not hear at all.
	Says      []string     `json:"says,omitempty"`
	NeverSays []string     `json:"never_says,omitempty"`
	Handoff   *TestHandoff `json:"handoff,omitempty"`
	// Visits are nodes the call must pass through (in any order).
	Visits []string `json:"visits,omitempty"`
	// Messages are texts messages the call queues must hold (each within one message).
	Messages []string `json:"messages,omitempty"`
}

// TestHandoff is what the agent must get: the queue and the context keys present.
type TestHandoff struct {
	Queue   string   `json:"queue,omitempty"`
	Context []string `json:"context,omitempty"`
}

// TestEnv is what running tests needs beyond the flow.
type TestEnv struct {
	// Members resolves a test caller's number through the directory, as a live call does.
	// Nil (offline): a test whose caller is a number is skipped.
	Members func(phone string, now time.Time) ([]Member, error)
	// Identify answers an identify node (see SimEnv.Identify) at the test's clock. Nil: no
	// member number is known.
	Identify func(number string, now time.Time) *Member
	// LoadFlow loads the flow a goto names (see SimEnv.LoadFlow).
	LoadFlow func(id string) (*Flow, error)
	// Now is the clock for tests without one; time.Now when nil.
	Now func() time.Time
}

// TestResult is one test's outcome: passed when neither Skipped nor Failures.
type TestResult struct {
	Name string `json:"name"`
	// Skipped says why the test did not run.
	Skipped string `json:"skipped,omitempty"`
	// Failures are the expectations not met, located at the test's path in the document
	// (tests.<name>.expect.says.0, ...).
	Failures []Problem `json:"failures,omitempty"`
	// Transcript is the simulated call.
	Transcript *Transcript `json:"transcript,omitempty"`
}

// Passed reports whether the test ran and met every expectation.
func (r TestResult) Passed() bool { return r.Skipped == "" && len(r.Failures) == 0 }

// testEnds are the values of expect.end.
var testEnds = []string{EndHandoff, EndHangup, SimAwaiting}

// tests checks the shape of the document's tests (validation; RunTests plays them).
func (c *compiler) tests() {
	paths := c.f.testPaths()
	seen := map[string]bool{}
	for i, t := range c.f.Tests {
		path := paths[i]
		switch {
		case !idPattern.MatchString(t.Name):
			c.add(join(path, "name"), "must be a letter then letters, digits, _ or - (at most 64)")
		case seen[t.Name]:
			c.add(join(path, "name"), "another test has this name")
		}
		seen[t.Name] = true
		if t.Now != "" {
			if _, err := time.Parse(time.RFC3339, t.Now); err != nil {
				c.add(join(path, "now"), "must be a time like 2026-11-26T09:00:00-05:00")
			}
		}
		if t.Trust != "" && !slices.Contains([]string{TrustSuspicious, TrustUnverified, TrustVerified}, t.Trust) {
			c.add(join(path, "trust"), "must be suspicious, unverified or verified")
		}
		if t.Caller.Phone != "" && t.Caller.Profile != nil {
			c.add(join(path, "caller"), "give a phone or a profile, not both")
		}
		c.checkPins(join(path, "arms"), t.Arms)
		c.checkMocks(join(path, "fetch"), t.Fetch)
		if p := t.Caller.Profile; p != nil && p.Phone != "" && !e164.MatchString(p.Phone) {
			c.add(join(path, "caller.profile.phone"), "must be an E.164 number like +14045550123")
		}
		if p := t.Caller.Profile; p != nil && p.Activity != nil {
			ap := join(join(path, "caller.profile"), "activity")
			if _, err := time.Parse(time.RFC3339, p.Activity.StartsAt); err != nil {
				c.add(join(ap, "starts_at"), "must be a time like 2026-11-27T14:05:00-05:00")
			}
			if p.Activity.EndsAt != "" {
				if _, err := time.Parse(time.RFC3339, p.Activity.EndsAt); err != nil {
					c.add(join(ap, "ends_at"), "must be a time like 2026-11-27T16:05:00-05:00")
				}
			}
			if r := p.Activity.Relation; r != "" && r != "upcoming" && r != "current" && r != "recent" {
				c.add(join(ap, "relation"), "must be upcoming, current or recent")
			}
		}
		e := t.Expect
		if e.End != "" && !slices.Contains(testEnds, e.End) {
			c.add(join(path, "expect.end"), "must be handoff, hangup or awaiting")
		}
		for _, list := range []struct {
			field string
			texts []string
		}{{"says", e.Says}, {"never_says", e.NeverSays}} {
			for j, text := range list.texts {
				if strings.TrimSpace(text) == "" {
					c.add(fmt.Sprintf("%s.expect.%s.%d", path, list.field, j), "must not be empty")
				}
			}
		}
		for j, id := range e.Visits {
			if _, ok := c.index[id]; !ok {
				c.add(fmt.Sprintf("%s.expect.visits.%d", path, j), "no node has the id %q", id)
			}
		}
	}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// RunTests plays every test of the flow, in document order. A flow that does not
// validate runs no test: each is skipped with the reason.
func (f *Flow) RunTests(env TestEnv) []TestResult {
	if len(f.Validate()) > 0 {
		results := make([]TestResult, len(f.Tests))
		for i, t := range f.Tests {
			results[i] = TestResult{Name: t.Name, Skipped: "the flow has validation errors"}
		}
		return results
	}
	return f.runTests(env, f.testPaths())
}

// runTests plays the tests of a flow known to validate; paths are f.testPaths().
func (f *Flow) runTests(env TestEnv, paths []string) []TestResult {
	results := make([]TestResult, len(f.Tests))
	for i, t := range f.Tests {
		results[i] = f.runTest(t, paths[i], env)
	}
	return results
}

// testPaths are the tests' paths in the document: tests.<name>, or tests.<index> for a
// name that is not usable or not unique.
func (f *Flow) testPaths() []string {
	names := make([]string, len(f.Tests))
	for i, t := range f.Tests {
		names[i] = t.Name
	}
	return elemPaths("tests", names)
}

func (f *Flow) runTest(t Test, path string, env TestEnv) TestResult {
	r := TestResult{Name: t.Name}
	now := time.Now()
	if env.Now != nil {
		now = env.Now()
	}
	if t.Now != "" {
		now, _ = time.Parse(time.RFC3339, t.Now) // validated
	}
	call := Call{Now: now, Caller: Caller{Phone: t.Caller.Phone, Trust: cmp.Or(t.Trust, TrustUnverified)}, Arms: t.Arms}
	switch {
	case t.Caller.Phone != "" && env.Members == nil:
		r.Skipped = "its caller is a directory number: run it against a running service"
		return r
	case t.Caller.Phone != "":
		members, err := env.Members(t.Caller.Phone, now)
		if err != nil {
			r.Skipped = "the directory could not be reached: " + err.Error()
			return r
		}
		call.Caller.Members = members
	case t.Caller.Profile != nil:
		call.Caller.Members = []Member{t.Caller.Profile.member(now)}
		call.Caller.Phone = t.Caller.Profile.Phone
	}
	script := make([]Input, len(t.Inputs))
	for i, s := range t.Inputs {
		script[i] = ScriptInput(s)
	}
	sim := SimEnv{LoadFlow: env.LoadFlow, Fetch: MockFetches(t.Fetch)}
	if env.Identify != nil {
		sim.Identify = func(number string) *Member { return env.Identify(number, now) }
	}
	tr, err := Simulate(f, call, script, sim)
	r.Transcript = &tr
	if err != nil {
		r.Failures = append(r.Failures, Problem{Path: path, Message: "the call failed: " + err.Error()})
		return r
	}
	for _, node := range tr.NotMocked {
		r.Failures = append(r.Failures, Problem{Path: join(path, "fetch"), Message: fmt.Sprintf("the call reaches fetch node %q, which has no mock here", node)})
	}
	r.Failures = append(r.Failures, t.Expect.check(tr, join(path, "expect"))...)
	return r
}

// MockFetches answers fetch nodes from mocks by node id (SimEnv.Fetch); nil without any.
func MockFetches(mocks map[string]FetchMock) func(FetchRequest) (Fetched, bool) {
	if len(mocks) == 0 {
		return nil
	}
	return func(req FetchRequest) (Fetched, bool) {
		m, ok := mocks[req.Node]
		if !ok {
			return Fetched{}, false
		}
		return m.Fetched(req.Node), true
	}
}

// MockProblems reports, at path.<node>, fetch mocks for nodes that are not fetch nodes of
// the flow, and malformed mocks.
func (f *Flow) MockProblems(path string, mocks map[string]FetchMock) []Problem {
	c := &compiler{f: f, index: map[string]int{}}
	for i, n := range f.Nodes {
		if _, dup := c.index[n.ID]; !dup {
			c.index[n.ID] = i
		}
	}
	c.checkMocks(path, mocks)
	return c.probs
}

// checkMocks reports mocks for nodes that are not fetch nodes, and malformed mocks.
func (c *compiler) checkMocks(path string, mocks map[string]FetchMock) {
	for _, node := range slices.Sorted(maps.Keys(mocks)) {
		mp := join(path, node)
		if j, ok := c.index[node]; !ok || c.f.Nodes[j].Type != NodeFetch {
			c.add(mp, "no fetch node has the id %q", node)
			continue
		}
		for _, p := range mocks[node].Problems(mp) {
			c.add(p.Path, "%s", p.Message)
		}
	}
}

// check compares a transcript with the expectations.
func (e TestExpect) check(tr Transcript, path string) []Problem {
	var fails []Problem
	fail := func(p, format string, args ...any) {
		fails = append(fails, Problem{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	var heard []string
	visited := map[string]bool{}
	for _, s := range tr.Steps {
		heard = append(heard, s.Said...)
		for _, id := range s.Turn.Visited {
			visited[id] = true
		}
	}
	if e.End != "" && tr.End != e.End {
		fail(join(path, "end"), "the call ended with %s, not %s", cmp.Or(tr.End, "nothing"), e.End)
	}
	for i, want := range e.Says {
		if !slices.ContainsFunc(heard, func(s string) bool { return strings.Contains(s, want) }) {
			fail(fmt.Sprintf("%s.says.%d", path, i), "the caller never hears %q", want)
		}
	}
	for i, never := range e.NeverSays {
		if j := slices.IndexFunc(heard, func(s string) bool { return strings.Contains(s, never) }); j >= 0 {
			fail(fmt.Sprintf("%s.never_says.%d", path, i), "the caller hears %q: %q", never, heard[j])
		}
	}
	for i, id := range e.Visits {
		if !visited[id] {
			fail(fmt.Sprintf("%s.visits.%d", path, i), "the call never reaches node %q", id)
		}
	}
	var sent []string
	for _, s := range tr.Steps {
		sent = append(sent, s.Messages...)
	}
	for i, want := range e.Messages {
		if !slices.ContainsFunc(sent, func(m string) bool { return strings.Contains(m, want) }) {
			fail(fmt.Sprintf("%s.messages.%d", path, i), "no message holds %q", want)
		}
	}
	if h := e.Handoff; h != nil {
		hp := join(path, "handoff")
		switch {
		case tr.Handoff == nil:
			fail(hp, "the call is not handed off")
		default:
			if h.Queue != "" && tr.Handoff.Queue != h.Queue {
				fail(join(hp, "queue"), "handed off to %q, not %q", tr.Handoff.Queue, h.Queue)
			}
			for i, key := range h.Context {
				if !slices.ContainsFunc(tr.Handoff.Context, func(kv SimKV) bool { return kv.Key == key }) {
					fail(fmt.Sprintf("%s.context.%d", hp, i), "the agent does not get %q", key)
				}
			}
		}
	}
	return fails
}

// member is the inline profile as the engine reads it.
func (p TestProfile) member(now time.Time) Member {
	m := Member{ID: cmp.Or(p.ID, "test-1"), FirstName: p.FirstName, LastName: p.LastName, Tier: p.Tier,
		Language: p.Language, TimeZone: p.TimeZone, Attributes: p.Attributes}
	if a := p.Activity; a != nil {
		starts, _ := time.Parse(time.RFC3339, a.StartsAt) // validated
		var ends time.Time
		if a.EndsAt != "" {
			ends, _ = time.Parse(time.RFC3339, a.EndsAt)
		}
		act := Activity{ID: cmp.Or(a.ID, "test-activity"), Kind: cmp.Or(a.Kind, "trip"), Summary: a.Summary,
			Place: a.Place, StartsAt: starts, EndsAt: ends, Status: a.Status, Reference: a.Reference,
			Relation: cmp.Or(a.Relation, RelationAt(now, starts, ends))}
		m.Activity = &act
	}
	return m
}

// ScriptInput reads a simulation script's answer: digits (and * #) are keys pressed,
// other text is speech, "" is silence.
func ScriptInput(s string) Input {
	var in Input
	switch {
	case s == "":
	case strings.Trim(s, "0123456789*#") == "":
		in.Digits = s
	default:
		in.Speech, in.Confidence = s, 0.9
	}
	return in
}

// RelationAt is an activity's relation to a call at now: upcoming before it starts,
// recent after it ends (ends zero: it has no end), current in between. What an inline
// profile (a test's, a simulation's) has when it does not say.
func RelationAt(now, starts, ends time.Time) string {
	switch {
	case now.Before(starts):
		return "upcoming"
	case !ends.IsZero() && now.After(ends):
		return "recent"
	}
	return "current"
}
