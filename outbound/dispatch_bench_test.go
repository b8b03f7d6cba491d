package outbound

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twilioapi"
)

// BenchmarkDispatch1000 is 1,000 callbacks falling due over 5 seconds, dialed by 3
// dispatchers (3 instances) polling every second through the fake Twilio API: it fails
// when one is dialed twice or not at all, and reports the due-to-dial delay's p50 and
// p99 (make bench; alone: go test ./outbound -run '^$' -bench Dispatch -benchtime 1x).
func BenchmarkDispatch1000(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := NewStore(testenv.Postgres(b, "outbound", Migrate))
		fake := twilioapi.New(b)
		ctx := context.Background()
		start := time.Now().Add(time.Second)
		due := map[string]time.Time{}
		for i := range 1000 {
			at := start.Add(time.Duration(i) * 5 * time.Millisecond)
			number := fmt.Sprintf("+1404555%04d", i)
			due[number] = at
			if _, _, err := s.Request(ctx, Callback{CallSID: fmt.Sprintf("CA%032d", i), Number: number, Queue: "agents",
				Flow: "f", Node: "agent", RequestedAt: start, DueAt: at, MaxAttempts: 3}); err != nil {
				b.Fatal(err)
			}
		}
		rest, err := NewTwilio(TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: "token", APIURL: fake.URL, CallerID: "+18005550100"})
		if err != nil {
			b.Fatal(err)
		}
		var mu sync.Mutex
		dialedAt := map[string][]time.Time{}
		dialer := dialFunc(func(ctx context.Context, c Callback) (string, error) {
			mu.Lock()
			dialedAt[c.Number] = append(dialedAt[c.Number], time.Now())
			mu.Unlock()
			return TwilioDialer{REST: rest, From: "+18005550100", URLs: func(Callback) (string, string) {
				return "https://ivr.example.com/a", "https://ivr.example.com/s"
			}}.Dial(ctx, c)
		})
		b.StartTimer()
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 3 {
			d := NewDispatcher(s, dialer, DispatcherOptions{})
			wg.Go(func() { d.Run(rctx) })
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			mu.Lock()
			n := len(dialedAt)
			mu.Unlock()
			if n == 1000 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		b.StopTimer()
		var delays []time.Duration
		for number, at := range due {
			times := dialedAt[number]
			if len(times) != 1 {
				b.Fatalf("%s dialed %d times", number, len(times))
			}
			delays = append(delays, times[0].Sub(at))
		}
		if calls := len(fake.Calls()); calls != 1000 {
			b.Fatalf("the fake Twilio got %d calls", calls)
		}
		slices.Sort(delays)
		b.ReportMetric(float64(delays[len(delays)/2].Milliseconds()), "p50-delay-ms")
		b.ReportMetric(float64(delays[len(delays)*99/100].Milliseconds()), "p99-delay-ms")
		b.ReportMetric(float64(delays[len(delays)-1].Milliseconds()), "max-delay-ms")
		b.StartTimer()
	}
}

// dialFunc is a Dialer made of a function.
type dialFunc func(ctx context.Context, c Callback) (string, error)

func (f dialFunc) Dial(ctx context.Context, c Callback) (string, error) { return f(ctx, c) }
