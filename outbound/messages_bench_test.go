package outbound

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twilioapi"
)

// BenchmarkDrain10000 is 10,000 queued messages drained by 3 senders (3 instances) at
// MESSAGE_RATE 250 through the fake Twilio API, which answers every 50th request 429
// (20429). It fails when a message is sent twice or not at all, and reports the rate
// achieved against the one configured (make bench; alone:
// go test ./outbound -run '^$' -bench Drain -benchtime 1x).
func BenchmarkDrain10000(b *testing.B) {
	const total, rate = 10000, 250.0
	for b.Loop() {
		b.StopTimer()
		s := NewStore(testenv.Postgres(b, "outbound", Migrate))
		fake := twilioapi.New(b)
		fake.FailEvery(50, twilioapi.Failure{Status: 429, Code: 20429, Message: "Too Many Requests"})
		ctx := context.Background()
		now := time.Now()
		for i := range total {
			if _, _, err := s.Enqueue(ctx, Message{CallSID: fmt.Sprintf("CA%032d", i), Node: "text", Channel: "sms",
				Number: fmt.Sprintf("+1404%07d", i), Body: "Gate B12."}, now); err != nil {
				b.Fatal(err)
			}
		}
		rest, err := NewTwilio(TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: "token", APIURL: fake.URL, CallerID: "+18005550100"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range 3 {
			snd := NewSender(s, TwilioMessages{REST: rest, From: "+18005550100", StatusURL: "https://ivr.example.com/s"}, SenderOptions{Rate: rate})
			wg.Go(func() { snd.Run(rctx) })
		}
		var left int
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE status <> 'sent'`).Scan(&left); err != nil {
				b.Fatal(err)
			}
			if left == 0 {
				break
			}
		}
		elapsed := time.Since(start)
		cancel()
		wg.Wait()
		b.StopTimer()
		sent := fake.Messages()
		seen := map[string]bool{}
		for _, m := range sent {
			if seen[m.To] {
				b.Fatalf("%s sent twice", m.To)
			}
			seen[m.To] = true
		}
		if len(seen) != total || left != 0 {
			b.Fatalf("%d of %d sent, %d not", len(seen), total, left)
		}
		b.ReportMetric(float64(total)/elapsed.Seconds(), "sent/s")
		b.ReportMetric(rate, "configured/s")
		b.ReportMetric(float64(total)/(elapsed.Seconds()*rate), "of-rate")
		b.StartTimer()
	}
}
