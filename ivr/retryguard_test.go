package ivr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// edgePair is two instances sharing one retry cache (and one directory), for webhooks
// posted as raw bodies with a given signature.
type edgePair struct {
	t     *testing.T
	a, b  http.Handler
	pins  *lookup.PINs
	clock atomic.Int64 // nanoseconds after testNow: both instances' Now
}

// advance moves both instances' clock on by d.
func (p *edgePair) advance(d time.Duration) { p.clock.Add(int64(d)) }

func newEdgePair(t *testing.T, cfg Config) *edgePair {
	rdb, prefix := testenv.Redis(t)
	return newEdgePairOn(t, cfg, rdb, prefix)
}

// newEdgePairOn is newEdgePair with the Redis a test gives (a Cluster, a Sentinel setup).
func newEdgePairOn(t *testing.T, cfg Config, rdb redis.UniversalClient, prefix string) *edgePair {
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix, MaxAttempts: 2})
	p := &edgePair{t: t, pins: pins}
	cfg.PublicURL, cfg.TwilioAuthToken = testPublicURL, testToken
	cfg.Now = func() time.Time { return testNow.Add(time.Duration(p.clock.Load())) }
	newInstance := func() http.Handler {
		return New(cfg, Deps{Resolver: cache, Members: cache, Flow: flows.Default(), PINs: pins, Answers: RedisAnswers(rdb, prefix)})
	}
	p.a, p.b = newInstance(), newInstance()
	h := newEdgeHarness(t, p.a.(*Edge), cache, rdb)
	h.pins = pins
	h.seedMembers()
	h.setPIN("1001", "2580")
	return p
}

// post sends body as it is to path with sig (the signature of form, whatever the body's
// encoding).
func (p *edgePair) post(h http.Handler, path, body, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(SignatureHeader, sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// A repeat of a signed webhook gets the first answer, byte for byte, on any instance,
// within the retry window; after it, the repeat is refused without TwiML.
func TestRepeatGetsTheSameAnswer(t *testing.T) {
	repeatGetsTheSameAnswer(t, newEdgePair(t, Config{RetryWindow: 300 * time.Millisecond}))
}

// repeatGetsTheSameAnswer: p's retry window is 300 ms.
func repeatGetsTheSameAnswer(t *testing.T, p *edgePair) {
	form := twiliotest.Incoming("+14045550123")
	sig := Sign(testToken, testPublicURL+"/twilio/voice", form)
	first := p.post(p.a, "/twilio/voice", form.Encode(), sig)
	if first.Code != http.StatusOK || !strings.Contains(first.Body.String(), "Welcome back, Dana.") {
		t.Fatalf("first = %d %s", first.Code, first.Body)
	}
	for name, h := range map[string]http.Handler{"same instance": p.a, "another instance": p.b} {
		again := p.post(h, "/twilio/voice", form.Encode(), sig)
		if again.Code != first.Code || again.Body.String() != first.Body.String() || again.Header().Get("Content-Type") != first.Header().Get("Content-Type") {
			t.Errorf("%s: %d %q, want the first answer again", name, again.Code, again.Body)
		}
	}
	other := twiliotest.Incoming("+14045550123")
	other.Set("CallSid", "CAffffffffffffffffffffffffffffffff")
	if rec := p.post(p.b, "/twilio/voice", other.Encode(), Sign(testToken, testPublicURL+"/twilio/voice", other)); rec.Code != http.StatusOK {
		t.Errorf("another call = %d", rec.Code)
	}
	p.advance(400 * time.Millisecond)
	late := p.post(p.b, "/twilio/voice", form.Encode(), sig)
	if late.Code != http.StatusForbidden || late.Body.Len() != 0 {
		t.Errorf("after the retry window = %d %q, want 403 and no TwiML", late.Code, late.Body)
	}
}

// Copies of a call's first webhook that run at once, on two instances, all get one
// answer, and the call is recorded once: only the copy whose answer settled first records.
// Copies of its status callback likewise.
func TestConcurrentCopiesOfTheFirstWebhook(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("lookup+calls", lookup.Migrations, calls.Migrations), testenv.All(lookup.Migrate, calls.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	records := calls.New(pool, calls.Options{HashKey: []byte("test"), FlushEvery: 10 * time.Millisecond})
	cfg := Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }}
	deps := Deps{Resolver: cache, Members: cache, Flow: flows.Default(), Calls: records, Answers: RedisAnswers(rdb, prefix)}
	a, b := New(cfg, deps), New(cfg, deps)
	newEdgeHarness(t, a, cache, rdb).seedMembers()
	p := &edgePair{t: t, a: a, b: b}

	form := twiliotest.Incoming("+14045550123")
	answers := p.postCopies("/twilio/voice", form, 8)
	if !strings.Contains(answers[0].Body.String(), "Welcome back, Dana.") {
		t.Fatalf("copy 0 = %s", answers[0].Body)
	}
	for i, rec := range answers {
		if rec.Code != http.StatusOK || rec.Body.String() != answers[0].Body.String() {
			t.Errorf("copy %d got another answer: %d\n%s\nwant\n%s", i, rec.Code, rec.Body, answers[0].Body)
		}
	}
	// Its status callback, the same way: every copy 204, one status event.
	status := twiliotest.Incoming("+14045550123")
	status.Set("CallStatus", "completed")
	status.Set("CallDuration", "42")
	for i, rec := range p.postCopies("/twilio/status", status, 8) {
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Errorf("status copy %d: %d %q", i, rec.Code, rec.Body)
		}
	}
	if err := records.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	call, err := records.Get(t.Context(), form.Get("CallSid"))
	if err != nil {
		t.Fatal(err)
	}
	if len(call.Steps) != 1 || call.Steps[0].Route != "voice" {
		t.Fatalf("the call was recorded with steps %+v, want the first webhook once", call.Steps)
	}
	if call.Status != "completed" || call.Duration == nil || *call.Duration != 42 {
		t.Errorf("the call was closed as %q after %v s", call.Status, call.Duration)
	}
	if st := records.Stats(); st.Recorded != 2 {
		t.Errorf("%d call record events, want 2 (the first webhook and the status, once each)", st.Recorded)
	}
}

// postCopies posts n copies of one signed webhook at once, alternately to each instance.
func (p *edgePair) postCopies(path string, form url.Values, n int) []*httptest.ResponseRecorder {
	sig := Sign(testToken, testPublicURL+path, form)
	out := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := p.a
			if i%2 == 1 {
				h = p.b
			}
			out[i] = p.post(h, path, form.Encode(), sig)
		}()
	}
	wg.Wait()
	return out
}

// atPINPrompt calls in from a number no member has and identifies as member 1001 (through
// instance a); it returns the gather that keys digits at the PIN prompt, and next, which
// makes the gather after an answer.
func (p *edgePair) atPINPrompt(t *testing.T, digits string) (string, url.Values, func(body, digits string) (string, url.Values)) {
	voice := twiliotest.Incoming("+12125550000")
	first := p.post(p.a, "/twilio/voice", voice.Encode(), Sign(testToken, testPublicURL+"/twilio/voice", voice))
	next := func(body, digits string) (string, url.Values) {
		action := strings.TrimPrefix(twiliotest.GatherAction(t, body), testPublicURL)
		f := twiliotest.Incoming("+12125550000")
		f.Set("Digits", digits)
		return action, f
	}
	path, f := next(first.Body.String(), "1001")
	askPIN := p.post(p.a, path, f.Encode(), Sign(testToken, testPublicURL+path, f))
	path, f = next(askPIN.Body.String(), digits)
	return path, f, next
}

// Copies of a wrong PIN sent at once, on two instances, are one PIN try: the copy that
// claims the request first tries the PIN, and the others wait for its answer.
func TestConcurrentCopiesOfAPINTry(t *testing.T) {
	p := newEdgePair(t, Config{})
	path, f, _ := p.atPINPrompt(t, "1111")
	answers := p.postCopies(path, f, 8)
	for i, rec := range answers {
		if rec.Code != http.StatusOK || rec.Body.String() != answers[0].Body.String() {
			t.Errorf("copy %d: %d\n%s\nwant\n%s", i, rec.Code, rec.Body, answers[0].Body)
		}
	}
	recs, err := p.pins.Records(context.Background(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs.VerificationAttempts) != 1 || recs.VerificationAttempts[0].Outcome != lookup.PINWrong {
		t.Fatalf("PIN tries recorded %+v, want one wrong try for eight copies", recs.VerificationAttempts)
	}
}

// A claim older than the retry window (its turn never answered) refuses a repeat at once,
// without waiting for an answer.
func TestAnOldClaimIsRefusedAtOnce(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	p := newEdgePairOn(t, Config{RetryWindow: 100 * time.Millisecond}, rdb, prefix)
	form := twiliotest.Incoming("+14045550123")
	sig := Sign(testToken, testPublicURL+"/twilio/voice", form)
	sum := sha256.Sum256([]byte(sig + "\n" + "/twilio/voice"))
	if kept, _, err := RedisAnswers(rdb, prefix).Settle(t.Context(), hex.EncodeToString(sum[:]), nil, testNow, time.Minute); kept != nil || err != nil {
		t.Fatalf("claim: %q, %v", kept, err)
	}
	p.advance(150 * time.Millisecond)
	start := time.Now()
	rec := p.post(p.b, "/twilio/voice", form.Encode(), sig)
	if rec.Code != http.StatusForbidden || rec.Body.Len() != 0 {
		t.Fatalf("a repeat of an old claim = %d %q, want 403 and no TwiML", rec.Code, rec.Body)
	}
	if d := time.Since(start); d >= inFlightWait/2 {
		t.Errorf("refused after %v: it waited for an answer", d)
	}
}

// Every re-encoding or re-cut of one signed request is the same request: it gets the
// first answer, and a wrong PIN sent five ways counts as one try.
func TestReencodedRequestIsTheSameRequest(t *testing.T) {
	p := newEdgePair(t, Config{})
	// A caller identifies as 1001, then keys a wrong PIN.
	path, f, next := p.atPINPrompt(t, "1111")
	sig := Sign(testToken, testPublicURL+path, f)
	plain := f.Encode()
	bodies := map[string]string{
		"as Twilio sends it": plain,
		"reordered":          "Digits=1111&" + strings.Replace(plain, "&Digits=1111", "", 1),
		"percent-encoded":    strings.Replace(plain, "AccountSid=AC", "AccountSid=%41C", 1),
		"a trailing &":       plain + "&",
		"a repeated pair":    plain + "&Digits=1111",
	}
	var want string
	for _, name := range []string{"as Twilio sends it", "reordered", "percent-encoded", "a trailing &", "a repeated pair"} {
		rec := p.post(p.b, path, bodies[name], sig)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %q", name, rec.Code, rec.Body)
		}
		if want == "" {
			want = rec.Body.String()
		} else if rec.Body.String() != want {
			t.Errorf("%s got another answer:\n%s\nwant\n%s", name, rec.Body, want)
		}
	}
	// Two tries lock the member out (PINOptions.MaxAttempts 2): one was counted, so the
	// right PIN still works.
	path2, f2 := next(want, "2580")
	ok := p.post(p.a, path2, f2.Encode(), Sign(testToken, testPublicURL+path2, f2))
	recs, err := p.pins.Records(context.Background(), "1001")
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, a := range recs.VerificationAttempts {
		outcomes = append(outcomes, a.Outcome)
	}
	if want := []string{lookup.PINWrong, lookup.PINOK}; !slices.Equal(outcomes, want) {
		t.Fatalf("PIN tries recorded %v, want %v (five copies of one wrong PIN are one try); the caller hears %q",
			outcomes, want, twiliotest.Spoken(t, ok.Body.String()))
	}

	// A re-cut: StirVerstat folded into the value before it keeps the signature; it is
	// the same request, so it cannot change the call's trust.
	call := twiliotest.Incoming("+14045550123")
	call.Set("CallSid", "CAeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee")
	call.Set("StirVerstat", "TN-Validation-Failed")
	vsig := Sign(testToken, testPublicURL+"/twilio/voice", call)
	original := p.post(p.a, "/twilio/voice", call.Encode(), vsig)
	recut := url.Values{}
	for k, v := range call {
		recut[k] = v
	}
	recut.Del("StirVerstat")
	recut.Set("SomethingNew", "ignoredStirVerstatTN-Validation-Failed")
	if got := Sign(testToken, testPublicURL+"/twilio/voice", recut); got != vsig {
		t.Fatalf("the re-cut does not keep the signature: %s vs %s", got, vsig)
	}
	again := p.post(p.b, "/twilio/voice", recut.Encode(), vsig)
	if again.Body.String() != original.Body.String() {
		t.Errorf("the re-cut got another answer:\n%s\nwant\n%s", again.Body, original.Body)
	}
}

// Settles that run at once share the client's automatic pipeline and still each get their
// own reply: of two settles of one key exactly one is first, whichever batch each went in.
func TestRedisAnswersConcurrent(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	answersConcurrent(t, RedisAnswers(rdb, prefix))
}

func answersConcurrent(t *testing.T, g Answers) {
	settleConcurrent(t, g)
	// A claim: a copy finds it (empty, not nil) until the claimer's answer replaces it.
	if kept, _, err := g.Settle(t.Context(), "claimed", nil, testNow, time.Minute); kept != nil || err != nil {
		t.Fatalf("claim: kept %q, err %v", kept, err)
	}
	if kept, at, err := g.Settle(t.Context(), "claimed", []byte("200\ntext/xml\n<Response/>"), testNow, time.Minute); kept == nil || len(kept) != 0 || at.IsZero() || err != nil {
		t.Fatalf("a copy of the claimed request: kept %q at %v, err %v; want the claim", kept, at, err)
	}
	if err := g.Replace(t.Context(), "claimed", []byte("200\ntext/xml\n<Response/>"), testNow, time.Minute); err != nil {
		t.Fatal(err)
	}
	if kept, _, err := g.Get(t.Context(), "claimed"); string(kept) != "200\ntext/xml\n<Response/>" || err != nil {
		t.Fatalf("after Replace: %q, %v", kept, err)
	}
	if kept, _, err := g.Get(t.Context(), "never"); kept != nil || err != nil {
		t.Fatalf("nothing kept: %q, %v", kept, err)
	}
}

// settleConcurrent: of copies settled at once exactly one is first, and every other gets
// its answer and the time it was stored.
func settleConcurrent(t *testing.T, g Answers) {
	const keys = 300
	var firsts [keys]atomic.Int32
	var wg sync.WaitGroup
	for i := range 2 * keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := i % keys
			mine := fmt.Sprintf("200\ntext/xml\n<Response><Say>%d</Say></Response>", i)
			kept, at, err := g.Settle(t.Context(), fmt.Sprintf("settle-%d", k), []byte(mine), testNow, time.Minute)
			switch {
			case err != nil:
				t.Errorf("key %d: %v", k, err)
			case kept == nil:
				firsts[k].Add(1)
			case string(kept) != fmt.Sprintf("200\ntext/xml\n<Response><Say>%d</Say></Response>", k) &&
				string(kept) != fmt.Sprintf("200\ntext/xml\n<Response><Say>%d</Say></Response>", k+keys):
				t.Errorf("key %d: kept %q, not one of its two answers", k, kept)
			case !at.Equal(testNow):
				t.Errorf("key %d: stored at %v, want the time it was settled with, %v", k, at, testNow)
			}
		}()
	}
	wg.Wait()
	for k := range firsts {
		if n := firsts[k].Load(); n != 1 {
			t.Fatalf("settle key %d was first %d times, want once", k, n)
		}
	}
}

// With Redis gone a settle fails (the webhook then goes through) within its own deadline,
// and the cache works again once Redis is back.
func TestRedisAnswersRedisDown(t *testing.T) {
	srv := testenv.StartRedis(t)
	rdb := srv.Client()
	g := RedisAnswers(rdb, "replay-down:")
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if kept, _, err := g.Settle(ctx, "k", []byte("a"), testNow, time.Minute); err == nil {
		t.Fatalf("Redis down: kept %q, no error", kept)
	}
	srv.Start()
	for attempt := 0; ; attempt++ {
		kept, _, err := g.Settle(t.Context(), "k", []byte("a"), testNow, time.Minute)
		if err == nil {
			if kept != nil {
				t.Fatal("the first settle after Redis came back was not first")
			}
			break
		}
		if attempt == 50 {
			t.Fatalf("Redis back, the guard still fails: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// With the retry cache unreachable the webhook is answered as if new, and counted.
func TestRetryCacheDownAnswersAndCounts(t *testing.T) {
	srv := testenv.StartRedis(t)
	dead := srv.Client()
	srv.Stop()
	reader := sdkmetric.NewManualReader()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	edge := New(Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow },
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))},
		Deps{Resolver: cache, Members: cache, Flow: flows.Default(), Answers: RedisAnswers(dead, "down:")})
	h := newEdgeHarness(t, edge, cache, rdb)
	for range 2 {
		if code, body := h.Post("/twilio/voice", twiliotest.Incoming("+12125550000")); code != http.StatusOK || !strings.Contains(body, "<Gather") {
			t.Fatalf("with the retry cache down = %d %s", code, body)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var counted int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "memberline.webhook.retry_cache_errors" {
				for _, dp := range sum.DataPoints {
					counted += dp.Value
				}
			}
		}
	}
	if counted < 2 {
		t.Errorf("retry cache errors counted %d, want at least 2", counted)
	}
}
