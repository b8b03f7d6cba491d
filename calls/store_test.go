package calls

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
)

var day = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	pool := testenv.Postgres(t, testenv.Key("calls", Migrations), Migrate)
	if opts.HashKey == nil {
		opts.HashKey = []byte("test key")
	}
	s := New(pool, opts)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// call is the events of one simulated call.
func call(sid string, at time.Time, caller, recognized, member string, steps [][]string, outcome, input string) []Event {
	evs := []Event{{Kind: KindStep, CallSID: sid, At: at, Route: "voice", Called: "+18005550100", Caller: caller,
		CallerMasked: "+1404***0123", Recognized: recognized, MemberID: member, Flow: "default", Version: 1, Nodes: steps[0]}}
	for i, nodes := range steps[1:] {
		evs = append(evs, Event{Kind: KindStep, CallSID: sid, At: at.Add(time.Duration(i+1) * 5 * time.Second), Route: "gather",
			Called: "+18005550100", Caller: caller, CallerMasked: "+1404***0123", Recognized: recognized, MemberID: member,
			Flow: "default", Version: 1, Nodes: nodes, Input: input})
	}
	if outcome != "" {
		evs[len(evs)-1].Outcome = outcome
	}
	return evs
}

func record(t *testing.T, s *Store, evs ...Event) {
	t.Helper()
	for _, ev := range evs {
		s.Record(ev)
	}
}

func flush(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestJourneyWrittenAndRead(t *testing.T) {
	var (
		mu   sync.Mutex
		hung []string
	)
	s := newStore(t, Options{OnHungUp: func(flow string, v int) { mu.Lock(); hung = append(hung, flow); mu.Unlock() }})
	ctx := context.Background()
	record(t, s, call("CA1", day, "+14045550123", "member", "1001",
		[][]string{{"start", "greet", "menu"}, {"menu", "trip_details", "bye"}}, OutcomeSelfService, "trip")...)
	record(t, s, call("CA2", day.Add(time.Minute), "+14045550123", "member", "1001",
		[][]string{{"start", "greet", "menu"}}, "", "")...)
	record(t, s, Event{Kind: KindStatus, CallSID: "CA2", At: day.Add(2 * time.Minute), Status: "completed", DurationSeconds: 31})
	record(t, s, Event{Kind: KindStatus, CallSID: "CA1", At: day.Add(2 * time.Minute), Status: "completed", DurationSeconds: 12})
	flush(t, s)

	c, err := s.Get(ctx, "CA1")
	if err != nil {
		t.Fatal(err)
	}
	if c.MemberID != "1001" || c.Outcome != OutcomeSelfService || c.Duration == nil || *c.Duration != 12 ||
		!slices.Equal(c.Nodes, []string{"start", "greet", "menu", "menu", "trip_details", "bye"}) ||
		!slices.Equal(c.Inputs, []string{"trip"}) || len(c.Steps) != 2 || c.Steps[1].Input != "trip" {
		t.Fatalf("CA1 = %+v", c)
	}
	if c.CallerHash != s.Hash("+14045550123") || c.CallerHash == "" || c.CallerMasked != "+1404***0123" {
		t.Errorf("caller = %q %q", c.CallerHash, c.CallerMasked)
	}
	c2, err := s.Get(ctx, "CA2")
	if err != nil || c2.Outcome != OutcomeHungUp {
		t.Fatalf("CA2 = %+v, %v: want caller_hung_up", c2, err)
	}
	if !slices.Equal(hung, []string{"default"}) {
		t.Errorf("OnHungUp heard %v, want one call of default", hung)
	}
	if _, err := s.Get(ctx, "CAmissing"); err == nil {
		t.Error("missing call found")
	}
	st := s.Stats()
	if st.Written != 5 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	for i, c := range []struct {
		sid, caller, member, outcome string
	}{
		{"CA1", "+14045550123", "1001", OutcomeSelfService},
		{"CA2", "+14045550123", "1001", OutcomeHandoff},
		{"CA3", "+13125550142", "1002", OutcomeHandoff},
		{"CA4", "+19995550000", "", OutcomeHandoff},
		{"CA5", "", "", ""},
	} {
		record(t, s, call(c.sid, day.Add(time.Duration(i)*time.Hour), c.caller, "member", c.member, [][]string{{"start"}}, c.outcome, "")...)
	}
	flush(t, s)
	sids := func(p Page) []string {
		var out []string
		for _, c := range p.Calls {
			out = append(out, c.CallSID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []string
	}{
		{"all, newest first", Filter{}, []string{"CA5", "CA4", "CA3", "CA2", "CA1"}},
		{"by member", Filter{MemberID: "1001"}, []string{"CA2", "CA1"}},
		{"by caller number", Filter{CallerHash: s.Hash("+14045550123")}, []string{"CA2", "CA1"}},
		{"by outcome", Filter{Outcome: OutcomeHandoff}, []string{"CA4", "CA3", "CA2"}},
		{"without outcome", Filter{Outcome: "none"}, []string{"CA5"}},
		{"time range", Filter{From: day.Add(time.Hour), To: day.Add(3 * time.Hour)}, []string{"CA3", "CA2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := s.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := sids(p); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("pages", func(t *testing.T) {
		var got []string
		f := Filter{Limit: 2}
		for pages := 0; ; pages++ {
			p, err := s.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sids(p)...)
			if p.Next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			f.Cursor = p.Next
		}
		if !slices.Equal(got, []string{"CA5", "CA4", "CA3", "CA2", "CA1"}) {
			t.Errorf("pages gave %v", got)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		if _, err := s.List(ctx, Filter{Cursor: "!!"}); err == nil {
			t.Error("bad cursor accepted")
		}
	})
}

func TestPurgeAndAnonymize(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	record(t, s, call("CAold", day.Add(-100*24*time.Hour), "+14045550123", "member", "1001", [][]string{{"start"}}, OutcomeHandoff, "")...)
	record(t, s, call("CAnew", day, "+14045550123", "member", "1001", [][]string{{"start"}}, OutcomeHandoff, "")...)
	record(t, s, call("CAother", day, "+13125550142", "member", "1002", [][]string{{"start"}}, OutcomeHandoff, "")...)
	flush(t, s)
	n, err := s.Purge(ctx, day.Add(-90*24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("purge = %d, %v; want 1", n, err)
	}
	n, err = s.AnonymizeMember(ctx, "1001")
	if err != nil || n != 1 {
		t.Fatalf("anonymize = %d, %v; want 1", n, err)
	}
	c, err := s.Get(ctx, "CAnew")
	if err != nil || c.MemberID != "" || c.CallerHash != "" || c.CallerMasked != "" {
		t.Fatalf("anonymized call = %+v, %v", c, err)
	}
	if c, _ := s.Get(ctx, "CAother"); c.MemberID != "1002" || c.CallerHash == "" {
		t.Errorf("another member's call changed: %+v", c)
	}
}

func TestRecordNeverBlocks(t *testing.T) {
	s := newStore(t, Options{Buffer: 1, FlushEvery: time.Hour, BatchSize: 1000})
	for range 1000 {
		s.Record(Event{CallSID: "CAx", At: day})
	}
	if s.Stats().Dropped == 0 {
		t.Error("a full buffer dropped nothing")
	}
	flush(t, s)
	s.Record(Event{CallSID: "CAy", At: day})
	if st := s.Stats(); st.Recorded+st.Dropped != 1001 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReports(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	d2 := day.Add(24 * time.Hour)
	record(t, s, call("CA1", day, "+14045550123", "member", "1001", [][]string{{"greet", "menu"}, {"trip_details", "bye"}}, OutcomeSelfService, "trip")...)
	record(t, s, call("CA2", day.Add(time.Hour), "+14045550123", "member", "1001", [][]string{{"greet", "menu"}, {"agent"}}, OutcomeHandoff, "agent")...)
	record(t, s, call("CA3", day.Add(2*time.Hour), "+16175550100", "household", "1005", [][]string{{"who"}, {"greet", "menu"}}, "", "1")...)
	record(t, s, call("CA4", d2, "+19995550000", "unknown", "", [][]string{{"member_number"}, {"agent_unidentified"}}, OutcomeHandoff, "none")...)
	record(t, s, call("CA5", d2, "", "anonymous", "", [][]string{{"member_number"}}, OutcomeError, "")...)
	record(t, s, Event{Kind: KindStatus, CallSID: "CA3", At: day.Add(3 * time.Hour), Status: "completed", DurationSeconds: 20})
	flush(t, s)

	days, err := s.Recognition(ctx, day.Add(-time.Hour), d2.Add(time.Hour), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Day != "2026-11-26" || days[0].Calls != 3 || days[0].Member != 2 || days[0].Household != 1 ||
		days[0].Share != 1 || days[1].Calls != 2 || days[1].Unknown != 1 || days[1].Anonymous != 1 || days[1].Share != 0 {
		t.Errorf("recognition = %+v", days)
	}

	flows, err := s.Outcomes(ctx, day.Add(-time.Hour), d2.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(flows) != 1 {
		t.Fatalf("outcomes = %+v", flows)
	}
	f := flows[0]
	if f.Calls != 5 || f.SelfService != 1 || f.Handoff != 2 || f.HungUp != 1 || f.Error != 1 || f.Share != 0.2 {
		t.Errorf("outcomes = %+v", f)
	}
	if !slices.Contains(f.Exits, Exit{Node: "menu", Outcome: OutcomeHungUp, Calls: 1}) ||
		!slices.Contains(f.Exits, Exit{Node: "agent", Outcome: OutcomeHandoff, Calls: 1}) {
		t.Errorf("exits = %+v", f.Exits)
	}

	ms, err := s.Members(ctx, day.Add(-time.Hour), d2.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].MemberID != "1001" || ms[0].Calls != 2 || ms[0].Handoff != 1 || ms[0].SelfService != 1 ||
		!slices.Equal(ms[0].Inputs, []string{"agent", "trip"}) || !slices.Equal(ms[0].ExitNodes, []string{"agent", "bye"}) ||
		ms[1].MemberID != "1005" {
		t.Errorf("members = %+v", ms)
	}
}

// TestABadEventLosesOnlyItself: an event PostgreSQL cannot store does not take the other
// calls of its batch with it; text it cannot hold (NUL, invalid UTF-8) is cut out, and an
// event without a usable call SID is dropped before it reaches a batch.
func TestABadEventLosesOnlyItself(t *testing.T) {
	s := newStore(t, Options{FlushEvery: time.Hour, BatchSize: 100}) // one batch for all
	record(t, s, call("CAgood1", day, "+14045550123", "member", "1001", [][]string{{"start"}}, "", "")...)
	record(t, s, Event{Kind: KindStatus, CallSID: "CA\x00x", At: day, Status: "completed", DurationSeconds: 3})
	record(t, s, Event{Kind: KindStep, CallSID: "CAbig", At: day, Route: "voice", Flow: "default", Version: 1 << 40})
	record(t, s, Event{Kind: KindStep, CallSID: "CAodd", At: day, Route: "voice", Called: "+1800\x00555\xff0100", Flow: "d\x00efault", Version: 1})
	record(t, s, call("CAgood2", day, "+14045550124", "member", "1002", [][]string{{"start"}}, "", "")...)
	flush(t, s)
	for _, sid := range []string{"CAgood1", "CAgood2", "CAodd"} {
		if _, err := s.Get(context.Background(), sid); err != nil {
			t.Errorf("%s was lost with the batch: %v", sid, err)
		}
	}
	if c, _ := s.Get(context.Background(), "CAodd"); c.Flow != "default" || c.Called != "+1800555\uFFFD0100" {
		t.Errorf("odd text stored as %q, %q", c.Flow, c.Called)
	}
	if st := s.Stats(); st.Failed != 1 || st.Dropped != 1 {
		t.Errorf("stats %+v, want 1 failed (the huge version) and 1 dropped (the NUL call SID)", st)
	}
}

// TestNodesKeepTheirText: node IDs reach the nodes column as written, whatever an array
// literal would make of them unquoted, and match the step's own list.
func TestNodesKeepTheirText(t *testing.T) {
	s := newStore(t, Options{})
	odd := []string{"a,b", "{c}", `say "hi"`, `back\slash`, "NULL", " padded ", "", "été", "bad\xffutf8", "nul\x00cut"}
	record(t, s, call("CAodd1", day, "+14045550123", "member", "1001", [][]string{odd, {}, {"end"}}, "", "")...)
	flush(t, s)
	c, err := s.Get(context.Background(), "CAodd1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a,b", "{c}", `say "hi"`, `back\slash`, "NULL", " padded ", "", "été", "bad\uFFFDutf8", "nulcut", "end"}
	if !slices.Equal(c.Nodes, want) {
		t.Errorf("nodes %q, want %q", c.Nodes, want)
	}
	if len(c.Steps) != 3 || !slices.Equal(c.Steps[0].Nodes, want[:10]) || len(c.Steps[1].Nodes) != 0 {
		t.Errorf("steps %+v, want the same nodes step by step", c.Steps)
	}
}

// TestAStatusCallbackCannotRewriteAnotherCall: the first final status of a call stands; a
// later status or step reusing its call SID changes nothing, and no duration passes the
// longest call Twilio allows.
func TestAStatusCallbackCannotRewriteAnotherCall(t *testing.T) {
	s := newStore(t, Options{})
	record(t, s, call("CAold", day, "+14045550123", "member", "1001", [][]string{{"start", "greet", "menu"}}, "", "")...)
	record(t, s, Event{Kind: KindStatus, CallSID: "CAold", At: day.Add(time.Minute), Status: "completed", DurationSeconds: 42})
	flush(t, s)
	s2 := New(s.pool, Options{HashKey: []byte("test key")})
	record(t, s2, Event{Kind: KindStatus, CallSID: "CAold", At: day.Add(24 * time.Hour), Status: "failed", DurationSeconds: 86399})
	record(t, s2, Event{Kind: KindStep, CallSID: "CAold", At: day.Add(24 * time.Hour), Route: "gather", MemberID: "2002", Flow: "default", Version: 1, Nodes: []string{"x"}})
	record(t, s2, Event{Kind: KindStatus, CallSID: "CAnew", At: day, Status: "completed", DurationSeconds: 86399})
	if err := s2.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	c, err := s.Get(context.Background(), "CAold")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != "completed" || c.Duration == nil || *c.Duration != 42 || c.MemberID != "1001" || slices.Contains(c.Nodes, "x") {
		t.Errorf("the closed call was rewritten: %+v", c)
	}
	if n, _ := s.Get(context.Background(), "CAnew"); n.Duration == nil || *n.Duration != MaxCallSeconds {
		t.Errorf("a day-long duration was stored: %+v", n.Duration)
	}
}

// Steps of many calls, interleaved, in one batch: each call gets its steps in order, its
// nodes and inputs joined, and a status callback in the middle of the batch closes its
// call before the steps after it (which it then refuses).
func TestOneBatchOfInterleavedCalls(t *testing.T) {
	s := newStore(t, Options{FlushEvery: time.Hour, BatchSize: 10000})
	const n = 300
	sid := func(i int) string { return fmt.Sprintf("CAbatch%04d", i) }
	for i := range n {
		s.Record(Event{Kind: KindStep, CallSID: sid(i), At: day, Route: "voice", Recognized: "member", MemberID: "1001",
			Flow: "default", Version: 1, Nodes: []string{"start", "menu"}})
	}
	for i := range n {
		if i%3 == 0 {
			s.Record(Event{Kind: KindStatus, CallSID: sid(i), At: day.Add(5 * time.Second), Status: "completed", DurationSeconds: 5})
		}
		s.Record(Event{Kind: KindStep, CallSID: sid(i), At: day.Add(10 * time.Second), Route: "gather", Flow: "default", Version: 1,
			Nodes: []string{"menu", "agent"}, Input: "2", Outcome: OutcomeHandoff, AskedActivity: true})
	}
	flush(t, s)
	if st := s.Stats(); st.Written != 2*n+n/3 || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d written", st, 2*n+n/3)
	}
	for i := range n {
		c, err := s.Get(context.Background(), sid(i))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if c.Status != "completed" || c.Outcome != OutcomeHungUp || len(c.Steps) != 1 || !slices.Equal(c.Nodes, []string{"start", "menu"}) {
				t.Fatalf("%s closed in the batch: %+v", c.CallSID, c)
			}
			continue
		}
		if len(c.Steps) != 2 || c.Steps[0].Route != "voice" || c.Steps[1].Route != "gather" ||
			!slices.Equal(c.Nodes, []string{"start", "menu", "menu", "agent"}) || !slices.Equal(c.Inputs, []string{"2"}) ||
			c.Outcome != OutcomeHandoff || !c.AskedActivity || c.MemberID != "1001" || c.Recognized != "member" {
			t.Fatalf("%s: %+v", c.CallSID, c)
		}
	}
}

// Hash is HMAC-SHA256 under the key, its first 16 bytes in hex, whichever goroutine asks.
func TestHashIsTheKeyedHMAC(t *testing.T) {
	s := New(nil, Options{HashKey: []byte("test key")})
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	want := func(phone string) string {
		m := hmac.New(sha256.New, []byte("test key"))
		m.Write([]byte(phone))
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				phone := fmt.Sprintf("+1404555%04d", (g*200+i)%300)
				if got := s.Hash(phone); got != want(phone) {
					t.Errorf("Hash(%s) = %s, want %s", phone, got, want(phone))
					return
				}
			}
		}()
	}
	wg.Wait()
	if s.Hash("") != "" {
		t.Error("a withheld number has a hash")
	}
}

func TestValidSID(t *testing.T) {
	for sid, want := range map[string]bool{
		"CA0123456789abcdef0123456789abcdef": true,
		"x":                                  true,
		strings.Repeat("a", 64):              true,
		strings.Repeat("a", 65):              false,
		"":                                   false,
		"CA-1":                               false,
		"CA 1":                               false,
		"CA\x001":                            false,
		"CAé":                                false,
	} {
		if got := validSID(sid); got != want {
			t.Errorf("validSID(%q) = %v, want %v", sid, got, want)
		}
	}
	for in, want := range map[string]string{"plain": "plain", "a\x00b": "ab", "a\xffb": "a\uFFFDb", "": ""} {
		if got := storable(in); got != want {
			t.Errorf("storable(%q) = %q, want %q", in, got, want)
		}
	}
}

// A member deleted while a call of theirs is in progress does not come back: the call's
// later webhooks name the member and the caller, and its record stays anonymous, whether
// its row was written before the deletion or its first event was still buffered. A call
// that starts after the deletion, from the same number, is recorded as usual.
func TestForgottenMemberStaysForgotten(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	recent := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	record(t, s, call("CAwritten", recent, "+14045550123", "member", "1001", [][]string{{"start", "menu"}}, "", "")...)
	flush(t, s)
	again := New(s.pool, Options{HashKey: []byte("test key")})
	// Its first event is buffered when the member is deleted.
	record(t, again, call("CAbuffered", recent, "+14045550123", "member", "1001", [][]string{{"start"}}, "", "")...)
	if _, err := again.AnonymizeMember(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second).UTC()
	for _, sid := range []string{"CAwritten", "CAbuffered"} {
		record(t, again, Event{Kind: KindStep, CallSID: sid, At: later, Route: "gather", Called: "+18005550100", Caller: "+14045550123",
			CallerMasked: "+1404***0123", Recognized: "member", MemberID: "1001", Flow: "default", Version: 1, Nodes: []string{"menu", "agent"},
			Input: "1", Outcome: OutcomeHandoff})
	}
	record(t, again, call("CAafter", later, "+14045550123", "member", "1001", [][]string{{"start"}}, "", "")...)
	flush(t, again)
	for _, sid := range []string{"CAwritten", "CAbuffered"} {
		c, err := s.Get(ctx, sid)
		if err != nil || c.MemberID != "" || c.CallerHash != "" || c.CallerMasked != "" {
			t.Errorf("%s after the member was deleted: %+v, %v", sid, c, err)
		}
		if c.Outcome != OutcomeHandoff {
			t.Errorf("%s lost its journey: %+v", sid, c)
		}
	}
	if c, err := s.Get(ctx, "CAafter"); err != nil || c.MemberID != "1001" || c.CallerHash == "" {
		t.Errorf("a call that began after the deletion: %+v, %v", c, err)
	}
	// The purge forgets the forgetting along with the calls.
	if _, err := s.Purge(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM forgotten").Scan(&left); err != nil || left != 0 {
		t.Errorf("forgotten rows after the purge: %d, %v", left, err)
	}
}

// An experiment's calls are counted per arm: calls, distinct callers (a withheld number
// counts each call), the goal reached (a node, an outcome, not an outcome), hand-offs and
// the mean length; a call keeps the arm of each experiment it went through.
func TestExperimentCounts(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	arm := func(evs []Event, a string) []Event {
		evs[0].Arms = map[string]string{"warm-greeting": a, "other": "x"}
		return evs
	}
	record(t, s, arm(call("CA1", day, "+14045550123", "member", "1001", [][]string{{"start", "greet"}, {"menu", "self"}}, OutcomeSelfService, "1"), "control")...)
	record(t, s, arm(call("CA2", day.Add(time.Minute), "+14045550123", "member", "1001", [][]string{{"start", "greet"}}, OutcomeHandoff, ""), "control")...)
	record(t, s, arm(call("CA3", day.Add(2*time.Minute), "+13125550142", "member", "1002", [][]string{{"start", "greet_warm", "self"}}, OutcomeSelfService, ""), "warm")...)
	record(t, s, arm(call("CA4", day.Add(3*time.Minute), "", "anonymous", "", [][]string{{"start", "greet_warm"}}, OutcomeHandoff, ""), "warm")...)
	record(t, s, arm(call("CA5", day.Add(4*time.Minute), "", "anonymous", "", [][]string{{"start", "greet_warm"}}, "", ""), "warm")...)
	record(t, s, call("CAnone", day, "+14045550123", "member", "1001", [][]string{{"start"}}, OutcomeSelfService, "")...)
	record(t, s, Event{Kind: KindStatus, CallSID: "CA1", At: day.Add(time.Minute), Status: "completed", DurationSeconds: 30})
	record(t, s, Event{Kind: KindStatus, CallSID: "CA2", At: day.Add(time.Minute), Status: "completed", DurationSeconds: 90})
	flush(t, s)
	for _, tc := range []struct {
		name string
		goal Goal
		want string
	}{
		{"reached a node", Goal{Reached: "self"}, "control 2 1 1 1 60 | warm 3 3 1 1 0"},
		{"an outcome", Goal{Outcome: OutcomeSelfService}, "control 2 1 1 1 60 | warm 3 3 1 1 0"},
		{"not an outcome", Goal{NotOutcome: OutcomeHandoff}, "control 2 1 1 1 60 | warm 3 3 1 1 0"},
		{"no goal", Goal{}, "control 2 1 0 1 60 | warm 3 3 0 1 0"},
	} {
		got, err := s.ExperimentCounts(ctx, "warm-greeting", tc.goal, day.Add(-time.Hour), day.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, a := range got {
			parts = append(parts, fmt.Sprintf("%s %d %d %d %d %.0f", a.Arm, a.Calls, a.Callers, a.GoalReached, a.HandedOff, a.MeanSeconds))
		}
		if strings.Join(parts, " | ") != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, strings.Join(parts, " | "), tc.want)
		}
	}
}
