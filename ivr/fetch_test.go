package ivr

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/connections"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// End-to-end tests of fetch nodes: real PostgreSQL (members, connections, call records)
// and Redis, and a real HTTP server as the company's booking API.

const companySecret = "whsec-test-0123456789abcdef"

// companyAPI is the company's booking API: it verifies every request's signature and
// answers Dana's bookings, or sleeps, or fails, as the test sets it.
type companyAPI struct {
	t        *testing.T
	srv      *httptest.Server
	requests atomic.Int32
	mode     atomic.Value // "ok", "sleep", "fail"
	bad      atomic.Int32 // requests whose signature or path did not verify
}

func newCompanyAPI(t *testing.T) *companyAPI {
	c := &companyAPI{t: t}
	c.mode.Store("ok")
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.requests.Add(1)
		body, _ := io.ReadAll(r.Body)
		if !verifySignature(r.Header.Get(connections.SignatureHeader), r.Method, r.URL.RequestURI(), body) ||
			r.URL.RequestURI() != "/v2/members/1001/bookings?upcoming=1" {
			c.bad.Add(1)
			http.Error(w, `{"error":"unsigned"}`, http.StatusUnauthorized)
			return
		}
		switch c.mode.Load() {
		case "sleep":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "fail":
			http.Error(w, `{"error":"down"}`, http.StatusServiceUnavailable)
			return
		case "slow":
			time.Sleep(300 * time.Millisecond)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"bookings": [{"flight": "DL1234", "gate": "B12", "delay_minutes": 20, "passport": "X123"}]}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// verifySignature checks a Memberline-Signature the way docs/security.md tells the company
// to: recompute the HMAC over "<t>.<METHOD>.<path with query>.<body>" and compare, within
// five minutes of t.
func verifySignature(header, method, pathQuery string, body []byte) bool {
	m := regexp.MustCompile(`^t=(\d+),v1=([0-9a-f]{64})$`).FindStringSubmatch(header)
	if m == nil {
		return false
	}
	ts, _ := strconv.ParseInt(m[1], 10, 64)
	at := time.Unix(ts, 0)
	if time.Since(at).Abs() > 5*time.Minute {
		return false
	}
	return connections.Sign(companySecret, at, method, pathQuery, body) == header
}

type fetchHarness struct {
	*harness
	api     *companyAPI
	records *calls.Store
	conns   *connections.Store
	deps    Deps
	cfg     Config
}

// fetchFlow is the example flow of flows/testdata, with or without its words while it
// waits, fetching from connection conn.
func fetchFlow(t *testing.T, conn string, wait bool) *flows.Flow {
	return mustLoadFetchFlow(t, conn, wait)
}

func mustLoadFetchFlow(t testing.TB, conn string, wait bool) *flows.Flow {
	t.Helper()
	b, err := os.ReadFile("../flows/testdata/fetch_flow.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc flows.Flow
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for i := range doc.Nodes {
		if doc.Nodes[i].Type == flows.NodeFetch {
			doc.Nodes[i].Connection = conn
			if !wait {
				doc.Nodes[i].SayWhileWaiting = nil
			}
		}
	}
	b, _ = json.Marshal(doc)
	f, err := flows.Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if ps := f.Validate(); len(ps) > 0 {
		t.Fatal(ps)
	}
	return f
}

func newFetchHarness(t *testing.T, wait bool, opts connections.Options) *fetchHarness {
	t.Helper()
	pool := testenv.Postgres(t, testenv.Key("lookup+calls+connections", lookup.Migrations, calls.Migrations, connections.Migrations),
		testenv.All(lookup.Migrate, calls.Migrate, connections.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	records := calls.New(pool, calls.Options{HashKey: []byte("test"), FlushEvery: 10 * time.Millisecond})
	conns, err := connections.NewStore(pool, make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	api := newCompanyAPI(t)
	for _, c := range []connections.Connection{
		{ID: "bookings", BaseURL: api.srv.URL + "/v2", Secret: companySecret, Timeout: 2 * time.Second, AllowPrivate: true},
		// The same server by its address and by a name that resolves there, without the flag.
		{ID: "internal", BaseURL: strings.Replace(api.srv.URL, "http://", "https://", 1) + "/v2", Secret: companySecret},
		{ID: "local", BaseURL: strings.Replace(api.srv.URL, "http://127.0.0.1", "https://localhost", 1) + "/v2", Secret: companySecret},
	} {
		if _, err := conns.Put(t.Context(), c, 0, "test"); err != nil {
			t.Fatalf("connection %s: %v", c.ID, err)
		}
	}
	cfg := Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }}
	deps := Deps{Resolver: cache, Members: cache, Flow: fetchFlow(t, "bookings", wait), Calls: records,
		Answers: RedisAnswers(rdb, prefix), Fetcher: NewFetcher(conns, connections.NewClient(opts), nil),
		FetchResults: RedisFetchResults(rdb, prefix)}
	h := &fetchHarness{harness: newEdgeHarness(t, New(cfg, deps), cache, rdb), api: api, records: records, conns: conns, deps: deps, cfg: cfg}
	h.seedMembers()
	return h
}

// call places a call from Dana with its own call SID and returns its first answer and
// how long it took.
func (h *fetchHarness) call(sid string) (string, time.Duration) {
	h.t.Helper()
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	start := time.Now()
	code, body := h.Post("/twilio/voice", form)
	took := time.Since(start)
	if code != http.StatusOK {
		h.t.Fatalf("voice webhook = %d %s", code, body)
	}
	return body, took
}

func sid(n int) string { return "CA" + strings.Repeat("0", 32-len(strconv.Itoa(n))) + strconv.Itoa(n) }

func TestFetchNodeEndToEnd(t *testing.T) {
	h := newFetchHarness(t, false, connections.Options{})
	body, _ := h.call(sid(1))
	said := twiliotest.Spoken(t, body)
	if !strings.Contains(said, "Welcome back, Dana.") || !strings.Contains(said, "Flight DL1234 leaves from gate B12, 20 minutes late.") {
		t.Fatalf("said %q\n%s", said, body)
	}
	if h.api.requests.Load() != 1 || h.api.bad.Load() != 0 {
		t.Errorf("the company saw %d requests, %d not verified", h.api.requests.Load(), h.api.bad.Load())
	}
	// The journey shows the fetch by its template and the names saved, never the values.
	if err := h.records.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := h.records.Get(t.Context(), sid(1))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Steps) != 1 || len(rec.Steps[0].Fetches) != 1 {
		t.Fatalf("steps = %+v", rec.Steps)
	}
	f := rec.Steps[0].Fetches[0]
	if f.Node != "booking" || f.Connection != "bookings" || f.Path != "/members/{{ member.id }}/bookings?upcoming=1" ||
		f.Status != 200 || f.Outcome != "ok" || strings.Join(f.Saved, ",") != "delay,flight,gate" {
		t.Errorf("fetch in the journey = %+v", f)
	}
	stored, _ := json.Marshal(rec)
	for _, secret := range []string{"B12", "DL1234", "X123", "/members/1001"} {
		if strings.Contains(string(stored), secret) {
			t.Errorf("the call record holds %q: %s", secret, stored)
		}
	}
}

// A company API that does not answer sends the call to error within the node's timeout.
func TestFetchTimeoutTakesTheErrorWay(t *testing.T) {
	h := newFetchHarness(t, false, connections.Options{})
	h.call(sid(1)) // the member's lookup is warm from here on
	h.api.mode.Store("sleep")
	const timeout = 1200 * time.Millisecond // the node's timeout_ms
	// The best of three calls, so that a test binary starved of CPU by the others running
	// beside it does not fail a bound it keeps.
	var took time.Duration
	for i := range 3 {
		body, d := h.call(sid(2 + i))
		if said := twiliotest.Spoken(t, body); !strings.Contains(said, "I can't see your booking right now.") {
			t.Fatalf("said %q", said)
		}
		if took = d; took <= timeout+200*time.Millisecond {
			break
		}
	}
	if took > timeout+200*time.Millisecond {
		t.Errorf("the turn took %v; the node's timeout is %v", took, timeout)
	}
}

// With say_while_waiting the first answer does not wait for the API; the redirect, on
// another instance, picks up the answer.
func TestSayWhileWaitingAnswersAtOnce(t *testing.T) {
	h := newFetchHarness(t, true, connections.Options{})
	h.call(sid(1)) // warm the member's lookup
	h.api.mode.Store("slow")
	// The best of three calls (a test binary may be starved of CPU by the others).
	var first string
	var took time.Duration
	calls, callSID := 0, ""
	for i := range 3 {
		callSID = sid(2 + i)
		first, took = h.call(callSID)
		calls++
		if took <= 100*time.Millisecond {
			break
		}
	}
	if took > 100*time.Millisecond {
		t.Errorf("the first answer took %v", took)
	}
	if said := twiliotest.Spoken(t, first); !strings.HasSuffix(said, "One moment while I look that up.") || strings.Contains(first, "<Hangup") {
		t.Fatalf("first answer: %s", first)
	}
	m := regexp.MustCompile(`<Redirect method="POST">([^<]+)</Redirect>`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no redirect: %s", first)
	}
	redirect := strings.TrimPrefix(strings.ReplaceAll(m[1], "&amp;", "&"), testPublicURL)
	if !strings.HasPrefix(redirect, "/twilio/fetch?s=") {
		t.Fatalf("redirect to %s", redirect)
	}
	// Another instance, sharing Redis, gets the redirect.
	other := newEdgeHarness(t, New(h.cfg, h.deps), h.cache, h.rdb)
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", callSID)
	code, second := other.Post(redirect, form)
	if code != http.StatusOK || !strings.Contains(twiliotest.Spoken(t, second), "gate B12, 20 minutes late") {
		t.Fatalf("redirect: %d %s", code, second)
	}
	if strings.Contains(twiliotest.Spoken(t, second), "Welcome back") {
		t.Errorf("the redirect says the greeting again: %s", second)
	}
	// A retry of the redirect gets the same answer; the API was asked once for this call.
	if code, again := other.Post(redirect, form); code != http.StatusOK || again != second {
		t.Errorf("retry of the redirect: %d %s", code, again)
	}
	if n := h.api.requests.Load(); n != int32(1+calls) {
		t.Errorf("the API got %d requests, want %d (one per call)", n, 1+calls)
	}
	// The journey has both webhooks: the second continues the first.
	if err := h.records.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec, err := h.records.Get(t.Context(), callSID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Steps) != 2 || rec.Steps[1].Route != "fetch" || len(rec.Steps[1].Fetches) != 1 || rec.Steps[1].Fetches[0].Outcome != "ok" {
		t.Errorf("steps = %+v", rec.Steps)
	}
}

// A redirect whose key is not one the edge made, or whose answer never comes, goes on as
// a timeout: valid TwiML, the error way.
func TestFetchRedirectWithoutAnAnswer(t *testing.T) {
	h := newFetchHarness(t, true, connections.Options{})
	first, _ := h.call(sid(3))
	m := regexp.MustCompile(`<Redirect method="POST">([^<]+)</Redirect>`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no redirect: %s", first)
	}
	redirect := strings.TrimPrefix(strings.ReplaceAll(m[1], "&amp;", "&"), testPublicURL)
	forged := regexp.MustCompile(`&k=[^&]+`).ReplaceAllString(redirect, "&k=nope")
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid(3))
	code, body := h.Post(forged, form)
	if code != http.StatusOK || !strings.Contains(twiliotest.Spoken(t, body), "can't see your booking") {
		t.Errorf("forged key: %d %s", code, body)
	}
}

// After 5 failures in a row the breaker opens: calls go to error without a request, until
// the half-open probe.
func TestFetchBreaker(t *testing.T) {
	h := newFetchHarness(t, false, connections.Options{BreakerTimeout: 300 * time.Millisecond})
	h.api.mode.Store("fail")
	for i := range 8 {
		body, _ := h.call(sid(10 + i))
		if !strings.Contains(twiliotest.Spoken(t, body), "can't see your booking") {
			t.Fatalf("call %d: %s", i, body)
		}
	}
	if n := h.api.requests.Load(); n != 5 {
		t.Errorf("the API got %d requests; the breaker opens after 5 failures", n)
	}
	time.Sleep(350 * time.Millisecond)
	h.api.mode.Store("ok")
	body, _ := h.call(sid(20))
	if !strings.Contains(twiliotest.Spoken(t, body), "gate B12") || h.api.requests.Load() != 6 {
		t.Errorf("after the breaker's timeout: %d requests, %s", h.api.requests.Load(), body)
	}
}

// A connection to the loopback address without allow_private_addresses is refused where
// it is dialed, by address and by a name that resolves there.
func TestFetchRefusesInternalAddresses(t *testing.T) {
	h := newFetchHarness(t, false, connections.Options{})
	for i, conn := range []string{"internal", "local"} {
		h.deps.Flow = fetchFlow(t, conn, false)
		edge := newEdgeHarness(t, New(h.cfg, h.deps), h.cache, h.rdb)
		form := twiliotest.Incoming("+14045550123")
		form.Set("CallSid", sid(30+i))
		code, body := edge.Post("/twilio/voice", form)
		if code != http.StatusOK || !strings.Contains(twiliotest.Spoken(t, body), "can't see your booking") {
			t.Errorf("%s: %d %s", conn, code, body)
		}
	}
	if n := h.api.requests.Load(); n != 0 {
		t.Errorf("the API got %d requests through connections that may not reach it", n)
	}
}

// A published flow whose connection was deleted takes the error way, never the fallback.
func TestFetchFromADeletedConnection(t *testing.T) {
	h := newFetchHarness(t, false, connections.Options{})
	if err := h.conns.Delete(context.Background(), "bookings"); err != nil {
		t.Fatal(err)
	}
	body, _ := h.call(sid(40))
	if !strings.Contains(twiliotest.Spoken(t, body), "can't see your booking") || h.api.requests.Load() != 0 {
		t.Errorf("deleted connection: %s", body)
	}
}

// The engine's fetch outcomes are the fetch client's words.
func TestFetchOutcomesMatchTheClient(t *testing.T) {
	for engine, client := range map[string]string{flows.FetchOK: connections.OK, flows.FetchTimeout: connections.Timeout,
		flows.FetchUnreachable: connections.Unreachable, flows.FetchStatus: connections.Status,
		flows.FetchInvalid: connections.Invalid, flows.FetchCircuitOpen: connections.CircuitOpen} {
		if engine != client {
			t.Errorf("engine %q, client %q", engine, client)
		}
	}
}
