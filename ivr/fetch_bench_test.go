package ivr

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memberline/memberline/connections"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twilioapi"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// BenchmarkFetchNode is the incoming-call webhook of a flow that fetches Dana's booking
// (flows/testdata/fetch_flow.json without words while waiting, so the fetch is inside the
// webhook) from an HTTP server standing in for the company's API, with 200 calls at once.
// It reports the webhook's p50 and p99: with the API answering in 50 ms; with the API
// down (503: the breaker opens and calls go to the error way without a request); and the
// p99 of webhooks of the built-in flow (no fetch) under the same 200 workers (api_down's
// baseline), and from 8 workers alone and beside the 200 fetching calls. The workers
// send webhooks back to back: far more than 200 calls send, which makes the 2 cores the
// queue in the no-fetch and api_down figures.
// make bench runs it; alone: go test ./ivr -run '^$' -bench FetchNode -benchtime 4000x
func BenchmarkFetchNode(b *testing.B) {
	var delay atomic.Int64
	var down atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		if down.Load() {
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"bookings": [{"flight": "DL1234", "gate": "B12", "delay_minutes": 20}]}`)
	}))
	b.Cleanup(api.Close)
	// Each scenario has its own edges, so that a breaker one opened stays there.

	b.Run("api_50ms", func(b *testing.B) {
		fetching, _ := benchFetchEdges(b, api.URL)
		delay.Store(int64(50 * time.Millisecond))
		down.Store(false)
		lat := loadCalls(b, fetching, 200, b.N, "gate B12")
		reportLatency(b, lat)
	})
	b.Run("api_down", func(b *testing.B) {
		fetching, _ := benchFetchEdges(b, api.URL)
		delay.Store(int64(50 * time.Millisecond))
		down.Store(true)
		lat := loadCalls(b, fetching, 200, b.N, "can't see your booking")
		reportLatency(b, lat)
	})
	b.Run("no_fetch_200_workers", func(b *testing.B) { // api_down's baseline: the same load, no fetch
		_, plain := benchFetchEdges(b, api.URL)
		reportLatency(b, loadCalls(b, plain, 200, b.N, "Welcome back, Dana."))
	})
	b.Run("no_fetch_alone", func(b *testing.B) {
		_, plain := benchFetchEdges(b, api.URL)
		reportLatency(b, loadCalls(b, plain, 8, b.N, "Welcome back, Dana."))
	})
	b.Run("no_fetch_beside_200_fetching", func(b *testing.B) {
		fetching, plain := benchFetchEdges(b, api.URL)
		delay.Store(int64(50 * time.Millisecond))
		down.Store(false)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 200 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					postVoice(b, fetching, fmt.Sprintf("CA%016x%016x", w+1, i), "gate B12")
				}
			})
		}
		time.Sleep(200 * time.Millisecond) // the fetching calls are under way
		lat := loadCalls(b, plain, 8, b.N, "Welcome back, Dana.")
		close(stop)
		wg.Wait()
		reportLatency(b, lat)
	})
}

// benchFetchEdges are two edges over one local tier holding Dana: one runs the fetch flow
// against the API at apiURL, the other the built-in flow.
func benchFetchEdges(b *testing.B, apiURL string) (fetching, plain http.Handler) {
	rdb, prefix := testenv.Redis(b)
	pool := testenv.Postgres(b, testenv.Key("lookup+connections", lookup.Migrations, connections.Migrations),
		testenv.All(lookup.Migrate, connections.Migrate))
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	b.Cleanup(local.Close)
	if _, err := local.PutMember(b.Context(), lookup.Member{ID: "1001", FirstName: "Dana", Tier: "Diamond", Phones: []string{"+14045550123"}}); err != nil {
		b.Fatal(err)
	}
	conns, err := connections.NewStore(pool, make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := conns.Put(b.Context(), connections.Connection{ID: "bookings", BaseURL: apiURL + "/v2", Secret: companySecret,
		Timeout: 2 * time.Second, AllowPrivate: true}, 0, "bench"); err != nil {
		b.Fatal(err)
	}
	cfg := Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }}
	deps := Deps{Resolver: local, Members: local, Flow: mustLoadFetchFlow(b, "bookings", false),
		Fetcher: NewFetcher(conns, connections.NewClient(connections.Options{}), nil), FetchResults: RedisFetchResults(rdb, prefix)}
	fetching = New(cfg, deps)
	deps.Flow = flows.Default()
	return fetching, New(cfg, deps)
}

// loadCalls sends n incoming-call webhooks from workers at once, each a new call that
// must hear want, and returns each one's latency. 400 calls first warm up what they go
// through (and, with the API down, open the breaker) unmeasured.
func loadCalls(b *testing.B, h http.Handler, workers, n int, want string) []time.Duration {
	b.StopTimer()
	runCalls(b, h, workers, 400, want, make([]time.Duration, 400), 1<<40)
	lat := make([]time.Duration, n)
	b.StartTimer()
	runCalls(b, h, workers, n, want, lat, 1<<20)
	b.StopTimer()
	return lat
}

func runCalls(b *testing.B, h http.Handler, workers, n int, want string, lat []time.Duration, sidBase int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				postVoice(b, h, fmt.Sprintf("CA%032x", sidBase+i), want)
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
}

func postVoice(b *testing.B, h http.Handler, sid, want string) {
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	req := httptest.NewRequest(http.MethodPost, "/twilio/voice", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(testToken, testPublicURL+"/twilio/voice", form))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		b.Errorf("%d %s, want %q", rec.Code, rec.Body.String(), want)
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)

	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkWebhookBesideDispatcher is the built-in flow's webhook (8 workers) alone, and
// while 3 callback dispatchers dial 1,000 due callbacks through the fake Twilio API on
// the same cores: its p99 beside the busy dispatchers against its p99 alone.
func BenchmarkWebhookBesideDispatcher(b *testing.B) {
	b.Run("alone", func(b *testing.B) {
		_, plain := benchFetchEdges(b, "http://127.0.0.1:9")
		reportLatency(b, loadCalls(b, plain, 8, b.N, "Welcome back, Dana."))
	})
	b.Run("beside_3_dispatchers", func(b *testing.B) {
		_, plain := benchFetchEdges(b, "http://127.0.0.1:9")
		store := outbound.NewStore(testenv.Postgres(b, "outbound", outbound.Migrate))
		fake := twilioapi.New(b)
		now := time.Now()
		for i := range 1000 {
			if _, _, err := store.Request(b.Context(), outbound.Callback{CallSID: fmt.Sprintf("CA%032d", i), Number: fmt.Sprintf("+1404555%04d", i),
				Queue: "agents", Flow: "f", Node: "agent", RequestedAt: now, DueAt: now, MaxAttempts: 1}); err != nil {
				b.Fatal(err)
			}
		}
		rest, err := outbound.NewTwilio(outbound.TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: "token", APIURL: fake.URL, CallerID: "+18005550100"})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		var wg sync.WaitGroup
		for range 3 {
			d := outbound.NewDispatcher(store, outbound.TwilioDialer{REST: rest, From: "+18005550100",
				URLs: func(outbound.Callback) (string, string) { return testPublicURL + "/a", testPublicURL + "/s" }}, outbound.DispatcherOptions{})
			wg.Go(func() { d.Run(ctx) })
		}
		for len(fake.Calls()) < 50 { // the dispatchers are under way
			time.Sleep(5 * time.Millisecond)
		}
		lat := loadCalls(b, plain, 8, b.N, "Welcome back, Dana.")
		dialed := len(fake.Calls())
		cancel()
		wg.Wait()
		reportLatency(b, lat)
		b.ReportMetric(float64(dialed), "dialed-meanwhile")
	})
}
