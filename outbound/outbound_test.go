package outbound

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twilioapi"
)

var t0 = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)

func newStore(t *testing.T) *Store {
	return NewStore(testenv.Postgres(t, "outbound", Migrate))
}

func request(t *testing.T, s *Store, sid, number string, due time.Time) Callback {
	t.Helper()
	c, _, err := s.Request(context.Background(), Callback{CallSID: sid, Number: number, Queue: "agents", Flow: "f", FlowVersion: 1,
		Node: "agent", MemberID: "1001", Priority: 90, RequestedAt: t0, DueAt: due, MaxAttempts: 3, Context: []KV{{"member_id", "1001"}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func twilioDialer(t *testing.T, fake *twilioapi.Server) TwilioDialer {
	rest, err := NewTwilio(TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: "token", APIURL: fake.URL, CallerID: "+18005550100"})
	if err != nil {
		t.Fatal(err)
	}
	return TwilioDialer{REST: rest, From: "+18005550100", URLs: func(c Callback) (string, string) {
		return "https://ivr.example.com/twilio/callback/answer", "https://ivr.example.com/twilio/callback/status"
	}}
}

func TestRequestIsOncePerCallAndPerNumber(t *testing.T) {
	s := newStore(t)
	first := request(t, s, "CA1", "+14045550123", t0.Add(5*time.Minute))
	again, existing, err := s.Request(context.Background(), Callback{CallSID: "CA1", Number: "+14045550123", Queue: "agents",
		Flow: "f", FlowVersion: 1, Node: "agent", RequestedAt: t0, DueAt: t0.Add(9 * time.Minute)})
	if err != nil || !existing || again.ID != first.ID || !again.DueAt.Equal(first.DueAt) {
		t.Errorf("a retry of the same call: %+v existing %v %v", again, existing, err)
	}
	other, existing, err := s.Request(context.Background(), Callback{CallSID: "CA2", Number: "+14045550123", Queue: "agents",
		Flow: "f", FlowVersion: 1, Node: "agent", RequestedAt: t0, DueAt: t0.Add(20 * time.Minute)})
	if err != nil || !existing || other.ID != first.ID {
		t.Errorf("a second call from the same number: %+v existing %v %v", other, existing, err)
	}
	if _, existing, _ := s.Request(context.Background(), Callback{CallSID: "CA3", Number: "+14045550123", Queue: "sales",
		Flow: "f", FlowVersion: 1, Node: "agent", RequestedAt: t0, DueAt: t0}); existing {
		t.Error("another queue is another callback")
	}
}

// Two dispatchers on one store dial every due callback exactly once, and none early.
func TestTwoDispatchersDialEachCallbackOnce(t *testing.T) {
	s := newStore(t)
	fake := twilioapi.New(t)
	for i := range 30 {
		request(t, s, "CAdue"+string(rune('a'+i)), "+1404555"+string(rune('0'+i/10))+string(rune('0'+i%10))+"00", t0)
	}
	request(t, s, "CAlater", "+14045559999", t0.Add(time.Hour))
	now := func() time.Time { return t0.Add(time.Minute) }
	var wg sync.WaitGroup
	for range 2 {
		d := NewDispatcher(s, twilioDialer(t, fake), DispatcherOptions{Now: now, Batch: 4})
		wg.Go(func() {
			for {
				n, err := d.Once(context.Background())
				if err != nil {
					t.Error(err)
				}
				if n == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	calls := fake.Calls()
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c.To] {
			t.Errorf("%s dialed twice", c.To)
		}
		seen[c.To] = true
		if c.MachineDetection != "Enable" || c.From != "+18005550100" || c.URL == "" || c.StatusCallback == "" {
			t.Errorf("call %+v", c)
		}
	}
	if len(calls) != 30 || seen["+14045559999"] {
		t.Errorf("%d calls; the later one dialed: %v", len(calls), seen["+14045559999"])
	}
}

// A dispatcher that stops mid-try leaves its claim; another takes it when the lease ends.
func TestALeaseThatRunsOutIsTakenAgain(t *testing.T) {
	s := newStore(t)
	fake := twilioapi.New(t)
	c := request(t, s, "CA1", "+14045550123", t0)
	claimed, err := s.Claim(context.Background(), t0, 10, 10*time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	// Before the lease ends nobody else gets it; after, one does.
	d := NewDispatcher(s, twilioDialer(t, fake), DispatcherOptions{Now: func() time.Time { return t0.Add(5 * time.Minute) }})
	if n, _ := d.Once(context.Background()); n != 0 {
		t.Errorf("taken during its lease")
	}
	d = NewDispatcher(s, twilioDialer(t, fake), DispatcherOptions{Now: func() time.Time { return t0.Add(11 * time.Minute) }})
	if n, _ := d.Once(context.Background()); n != 1 || len(fake.Calls()) != 1 {
		t.Errorf("after the lease: %d claimed, %d calls", n, len(fake.Calls()))
	}
	got, _ := s.Get(context.Background(), c.ID)
	if got.Attempts != 2 || got.Status != Dialing || got.DialCallSID != fake.Calls()[0].SID {
		t.Errorf("callback = %+v", got)
	}
}

func TestTriesAndFailures(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	fake := twilioapi.New(t)
	clock := t0
	d := NewDispatcher(s, twilioDialer(t, fake), DispatcherOptions{Now: func() time.Time { return clock }})

	// No answer: tried again after 2, then 5 minutes, then failed after the third.
	c := request(t, s, "CA1", "+14045550123", t0)
	for i, wait := range []time.Duration{2 * time.Minute, 5 * time.Minute, 0} {
		if n, err := d.Once(ctx); n != 1 || err != nil {
			t.Fatalf("try %d: %d %v", i+1, n, err)
		}
		cur, _ := s.Get(ctx, c.ID)
		res, err := s.Finish(ctx, c.ID, Try{At: clock, CallSID: cur.DialCallSID, Outcome: "no-answer"}, false, false, RetryAt(cur, clock))
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			if res.Status != Failed || len(res.Tries) != 3 {
				t.Errorf("after the last try: %+v", res)
			}
			break
		}
		if res.Status != Pending || !res.DueAt.Equal(clock.Add(wait)) {
			t.Errorf("try %d: %s due %v, want pending at +%v", i+1, res.Status, res.DueAt, wait)
		}
		clock = res.DueAt
	}

	// An invalid number (Twilio's 21211) fails at once, its code kept; 429 tries again.
	bad := request(t, s, "CA2", "+14045550200", clock)
	fake.FailNext(twilioapi.Failure{Status: 400, Code: 21211, Message: "invalid 'To'"})
	d.Once(ctx)
	got, _ := s.Get(ctx, bad.ID)
	if got.Status != Failed || got.ErrorCode == nil || *got.ErrorCode != 21211 {
		t.Errorf("21211: %+v", got)
	}
	busy := request(t, s, "CA3", "+14045550300", clock)
	fake.FailNext(twilioapi.Failure{Status: 429, Code: 20429, Message: "Too many requests"})
	d.Once(ctx)
	got, _ = s.Get(ctx, busy.ID)
	if got.Status != Pending || got.Attempts != 1 || !got.DueAt.After(clock) {
		t.Errorf("429: %+v", got)
	}

	// A number on the do-not-call list is never dialed.
	dnc := request(t, s, "CA4", "+14045550400", clock)
	if err := s.AddDoNotCall(ctx, "+14045550400"); err != nil {
		t.Fatal(err)
	}
	before := len(fake.Calls())
	d.Once(ctx)
	got, _ = s.Get(ctx, dnc.ID)
	if got.Status != Failed || got.Outcome != "do_not_call" || len(fake.Calls()) != before {
		t.Errorf("do not call: %+v", got)
	}
}

// Outside its window a callback waits for the next moment the window holds.
func TestDialWindowPostpones(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	fake := twilioapi.New(t)
	c := request(t, s, "CA1", "+14045550123", t0)
	opens := t0.Add(18 * time.Hour)
	clock := t0
	d := NewDispatcher(s, twilioDialer(t, fake), DispatcherOptions{Now: func() time.Time { return clock },
		Window: func(_ context.Context, _ Callback, now time.Time) (bool, time.Time) { return !now.Before(opens), opens }})
	d.Once(ctx)
	got, _ := s.Get(ctx, c.ID)
	if got.Status != Pending || !got.DueAt.Equal(opens) || got.Attempts != 0 || len(fake.Calls()) != 0 {
		t.Errorf("outside the window: %+v", got)
	}
	clock = opens
	d.Once(ctx)
	if len(fake.Calls()) != 1 {
		t.Errorf("at the window: %d calls", len(fake.Calls()))
	}
}

func TestCancelAndDialNow(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	c := request(t, s, "CA1", "+14045550123", t0.Add(time.Hour))
	if got, err := s.DialNow(ctx, c.ID, t0); err != nil || !got.DueAt.Equal(t0) {
		t.Errorf("dial now: %+v %v", got, err)
	}
	if got, err := s.Cancel(ctx, c.ID, t0); err != nil || got.Status != Cancelled {
		t.Errorf("cancel: %+v %v", got, err)
	}
	if _, err := s.Cancel(ctx, c.ID, t0); err == nil {
		t.Error("cancelled twice")
	}
	if _, err := s.Cancel(ctx, 999999, t0); err == nil {
		t.Error("cancelled a callback that does not exist")
	}
}

// The outbox drains at the sender's rate however many instances send: each send takes the
// sender's next slot in PostgreSQL.
func TestSenderRateAcrossInstances(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	fake := twilioapi.New(t)
	for i := range 10 {
		if _, _, err := s.Enqueue(ctx, Message{CallSID: "CA" + string(rune('a'+i)), Node: "text", Channel: "sms", Number: "+14045550123",
			Body: "Gate B12."}, t0); err != nil {
			t.Fatal(err)
		}
	}
	rest, err := NewTwilio(TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: "token", APIURL: fake.URL, CallerID: "+18005550100"})
	if err != nil {
		t.Fatal(err)
	}
	clock := t0
	senders := make([]*Sender, 3)
	for i := range senders {
		senders[i] = NewSender(s, TwilioMessages{REST: rest, From: "+18005550100", StatusURL: "https://ivr.example.com/s"},
			SenderOptions{Rate: 2, Now: func() time.Time { return clock }})
	}
	// 3 instances try every 100 ms for 2 seconds: at 2 a second, 4 or 5 are sent.
	for step := 0; step < 20; step++ {
		for _, snd := range senders {
			if _, err := snd.Once(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clock = clock.Add(100 * time.Millisecond)
	}
	if n := len(fake.Messages()); n < 4 || n > 5 {
		t.Errorf("%d sent in 2 s at 2 a second by 3 instances", n)
	}
	// Enqueueing the same call and node again queues nothing.
	if _, existing, err := s.Enqueue(ctx, Message{CallSID: "CAa", Node: "text", Channel: "sms", Number: "+14045550123", Body: "x"}, t0); err != nil || !existing {
		t.Errorf("again: existing %v, %v", existing, err)
	}
}
