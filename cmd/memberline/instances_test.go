package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
)

// balancer is a local load balancer in front of the instances, as a deployment has: round
// robin over the backends whose /readyz answered 200 at the last check (every 50 ms), and
// a request whose backend cannot be reached goes to the next one (what Envoy and most
// balancers do on a connect failure; the webhooks' retry cache makes that safe).
type balancer struct {
	mu       sync.Mutex
	backends []string
	ready    map[string]bool
	next     atomic.Uint64
	retried  atomic.Int64
}

func (b *balancer) set(backends []string) {
	b.mu.Lock()
	b.backends = backends
	b.mu.Unlock()
}

func (b *balancer) check(ctx context.Context) {
	client := &http.Client{Timeout: 200 * time.Millisecond}
	for ctx.Err() == nil {
		b.mu.Lock()
		backends := append([]string(nil), b.backends...)
		b.mu.Unlock()
		ready := map[string]bool{}
		for _, be := range backends {
			if res, err := client.Get(be + "/readyz"); err == nil {
				ready[be] = res.StatusCode == http.StatusOK
				res.Body.Close()
			}
		}
		b.mu.Lock()
		b.ready = ready
		b.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	var live []string
	for _, be := range b.backends {
		if b.ready[be] {
			live = append(live, be)
		}
	}
	b.mu.Unlock()
	for try := 0; try < len(live); try++ {
		be := live[(int(b.next.Add(1))+try)%len(live)]
		u, _ := url.Parse(be)
		failed := false
		proxy := httputil.NewSingleHostReverseProxy(u)
		proxy.ErrorHandler = func(http.ResponseWriter, *http.Request, error) { failed = true }
		rec := httptest.NewRecorder()
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(strings.NewReader(string(body)))
		proxy.ServeHTTP(rec, req)
		if failed {
			b.retried.Add(1)
			continue
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	http.Error(w, "no backend", http.StatusBadGateway)
}

// Three instances behind a load balancer under a stream of calls: a member changed
// through one is heard on the next call through any other, and one instance restarted
// (the shutdown a SIGTERM starts, with its drain, then started again) loses no call.
func TestThreeInstancesBehindABalancer(t *testing.T) {
	redisSrv := testenv.StartRedis(t)
	dbURL := testenv.URL(t, testenv.Postgres(t, "lookup", lookup.Migrate))
	const twilioToken, adminToken = "test-twilio-token", "test-admin-token-0123456789"
	lb := &balancer{}
	front := httptest.NewServer(lb)
	t.Cleanup(front.Close)
	env := map[string]string{
		"REDIS_URL": redisSrv.URL(), "DATABASE_URL": dbURL, "LISTEN_ADDR": "127.0.0.1:0", "PUBLIC_URL": front.URL,
		"TWILIO_AUTH_TOKEN": twilioToken, "ADMIN_TOKEN": adminToken, "LOG_FORMAT": "text",
		"SHUTDOWN_DELAY": "300ms", "SHUTDOWN_TIMEOUT": "5s",
	}
	type instance struct {
		base   string
		cancel func()
		done   <-chan error
	}
	start := func() instance {
		t.Helper()
		base, cancel, done := serveUntil(t, env, "/readyz")
		return instance{base, cancel, done}
	}
	insts := []instance{start(), start(), start()}
	bases := func() []string {
		var out []string
		for _, in := range insts {
			out = append(out, in.base)
		}
		return out
	}
	lb.set(bases())
	ctx, stopChecks := context.WithCancel(context.Background())
	defer stopChecks()
	go lb.check(ctx)
	testenv.WaitFor(t, "the balancer to see every instance ready", func() bool {
		lb.mu.Lock()
		defer lb.mu.Unlock()
		return len(lb.ready) == 3 && lb.ready[insts[0].base] && lb.ready[insts[1].base] && lb.ready[insts[2].base]
	})

	// call places one incoming call through target; it answers what the caller hears.
	var n atomic.Int64
	call := func(target string) (int, string) {
		form := url.Values{"CallSid": {fmt.Sprintf("CA%032d", n.Add(1))}, "AccountSid": {"ACtest"}, "From": {"+14045550123"},
			"To": {"+18005550100"}, "CallStatus": {"ringing"}, "StirVerstat": {"TN-Validation-Passed-A"}}
		req, _ := http.NewRequest(http.MethodPost, target+"/twilio/voice", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", ivr.Sign(twilioToken, front.URL+"/twilio/voice", form))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	// A stream of calls through the balancer, until told to stop; every answer is checked.
	var (
		stream   sync.WaitGroup
		stopping atomic.Bool
		answered atomic.Int64
		mu       sync.Mutex
		bad      []string
	)
	for range 4 {
		stream.Add(1)
		go func() {
			defer stream.Done()
			for !stopping.Load() {
				code, body := call(front.URL)
				if code != http.StatusOK || !strings.Contains(body, "<Response>") || !strings.Contains(body, "Welcome back, ") {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("%d %s", code, body))
					mu.Unlock()
				}
				answered.Add(1)
			}
		}()
	}
	testenv.WaitFor(t, "calls to flow", func() bool { return answered.Load() > 50 })

	// A member change through one instance is heard through every other: the write
	// returns once Redis has the invalidation, and each other instance evicts the number
	// when it reads the message, within milliseconds (a call that arrives in between
	// still hears the old name), so the next calls are given a second.
	member := `{"first_name":"Dee","last_name":"Whitfield","tier":"Diamond","language":"en-US","time_zone":"America/New_York","phones":["+14045550123","(404) 555-0199"]}`
	req, _ := http.NewRequest(http.MethodPut, insts[0].base+"/api/v1/members/1001", strings.NewReader(member))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("rename through the first instance: %v %v", res, err)
	}
	renamed := time.Now()
	for _, in := range insts[1:] {
		for {
			_, body := call(in.base)
			if strings.Contains(body, "Welcome back, Dee.") {
				t.Logf("the new name through %s %v after the write returned", in.base, time.Since(renamed).Round(time.Millisecond))
				break
			}
			if time.Since(renamed) > time.Second {
				t.Fatalf("a second after the rename, a call through %s: %s", in.base, body)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Restart the second instance mid-stream: drain, stop, start again.
	before := answered.Load()
	insts[1].cancel()
	select {
	case err := <-insts[1].done:
		if err != nil {
			t.Fatalf("the drained instance exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the instance did not stop")
	}
	insts[1] = start()
	lb.set(bases())
	testenv.WaitFor(t, "calls to flow after the restart", func() bool { return answered.Load() > before+100 })
	stopping.Store(true)
	stream.Wait()
	if len(bad) > 0 {
		t.Fatalf("%d of %d calls were not answered with the greeting; first: %s", len(bad), answered.Load(), bad[0])
	}
	t.Logf("%d calls through the balancer, none lost; %d requests went to another backend after a connect failure", answered.Load(), lb.retried.Load())
}
