package ivr

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twilio/twilio-go"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twilioapi"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// End-to-end tests of the queue: priority, the wait, a callback asked for, stored, dialed
// once through the fake Twilio API, answered and connected. Real PostgreSQL and Redis.

const queueFlowJSON = `{
  "schema": "memberline.flow/v1", "id": "line", "default_language": "en-US",
  "languages": {"en-US": {"voice": "Polly.Joanna-Neural"}, "es-US": {"voice": "Polly.Lupe-Neural"}},
  "start": "agent",
  "nodes": [
    {"id": "agent", "type": "handoff", "reason": "trip", "say": {"en-US": "Let me connect you."},
     "queue": {"cases": [{"when": [{"field": "member.tier", "op": "eq", "value": "Diamond"}], "value": "priority"}], "default": "general"},
     "priority": {"cases": [{"when": [{"field": "member.tier", "op": "eq", "value": "Diamond"}], "value": 90}], "default": 10},
     "wait": {"announce": {"en-US": "You are number {{ queue.position }} in line. The wait is about {{ queue.wait_minutes }}.",
                           "es-US": "Usted es el número {{ queue.position }}. La espera es de unos {{ queue.wait_minutes }}."},
              "music": "https://cdn.example.com/hold.mp3", "every_seconds": 45},
     "callback": {"offer_after_seconds": 60, "offer": {"en-US": "To get a call back instead of waiting, press 1. To give another number, press 2."},
                  "confirm": {"en-US": "We'll call you back at the number ending in {{ caller.phone_last4 }} in about {{ queue.wait_minutes }}. You keep your place in line."},
                  "max_attempts": 2}}
  ]
}`

// outboundBase is what the queue and message tests share: PostgreSQL with the directory
// and the outbound tables, Redis, the cached directory, the test's flow, and the fake
// Twilio API with a REST client for it.
type outboundBase struct {
	store       *outbound.Store
	directory   *lookup.Cache
	redisClient redis.UniversalClient
	prefix      string
	flow        *flows.Flow
	fake        *twilioapi.Server
	rest        *twilio.RestClient
}

func newOutboundBase(t *testing.T, doc string) outboundBase {
	t.Helper()
	pool := testenv.Postgres(t, testenv.Key("lookup+outbound", lookup.Migrations, outbound.Migrations),
		testenv.All(lookup.Migrate, outbound.Migrate))
	rdb, prefix := testenv.Redis(t)
	b := outboundBase{store: outbound.NewStore(pool), redisClient: rdb, prefix: prefix, fake: twilioapi.New(t),
		directory: lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})}
	f, err := flows.Load([]byte(doc))
	if err != nil || len(f.Validate()) > 0 {
		t.Fatalf("flow: %v %v", err, f.Validate())
	}
	b.flow = f
	if b.rest, err = outbound.NewTwilio(outbound.TwilioConfig{AccountSID: twilioapi.AccountSID, AuthToken: testToken,
		APIURL: b.fake.URL, CallerID: "+18005550100"}); err != nil {
		t.Fatal(err)
	}
	return b
}

type queueHarness struct {
	*harness
	outboundBase
	edge  *Edge
	clock time.Time
}

func newQueueHarness(t *testing.T, workflow string) *queueHarness {
	t.Helper()
	q := &queueHarness{outboundBase: newOutboundBase(t, queueFlowJSON), clock: testNow}
	cfg := Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return q.clock },
		CallbacksReady: true, Handoff: HandoffConfig{WorkflowSID: workflow}}
	q.edge = New(cfg, Deps{Resolver: q.directory, Members: q.directory, Flow: q.flow, Callbacks: q.store, Answers: RedisAnswers(q.redisClient, q.prefix)})
	q.harness = newEdgeHarness(t, q.edge, q.directory, q.redisClient)
	q.seedMembers()
	return q
}

func (q *queueHarness) dispatcher() *outbound.Dispatcher {
	return outbound.NewDispatcher(q.store, outbound.TwilioDialer{REST: q.rest, From: "+18005550100", URLs: q.edge.CallbackURLs},
		outbound.DispatcherOptions{Now: func() time.Time { return q.clock }})
}

var (
	waitURLRE   = regexp.MustCompile(`waitUrl="([^"]+)"`)
	actionRE    = regexp.MustCompile(`<Enqueue action="([^"]+)"`)
	gatherURLRE = regexp.MustCompile(`<Gather [^>]*action="([^"]+)"`)
)

func path(t *testing.T, re *regexp.Regexp, twiml string) string {
	t.Helper()
	m := re.FindStringSubmatch(twiml)
	if m == nil {
		t.Fatalf("no %s in %s", re, twiml)
	}
	return strings.TrimPrefix(strings.ReplaceAll(m[1], "&amp;", "&"), testPublicURL)
}

func queueForm(callSID string, kv ...string) url.Values {
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", callSID)
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return form
}

func TestQueueWaitAndCallback(t *testing.T) {
	q := newQueueHarness(t, "")
	ctx := context.Background()
	const sid = "CA00000000000000000000000000000001"
	form := queueForm(sid)
	code, first := q.Post("/twilio/voice", form)
	if code != 200 || !strings.Contains(first, `waitUrlMethod="POST">priority</Enqueue>`) {
		t.Fatalf("voice = %d %s", code, first)
	}
	wait := path(t, waitURLRE, first)

	// The announcement, in the member's language, then the music and back to the wait.
	code, body := q.Post(wait, queueForm(sid, "QueuePosition", "3", "QueueTime", "0", "AvgQueueTime", "600", "CurrentQueueSize", "6"))
	if code != 200 || twiliotest.Spoken(t, body) != "You are number 3 in line. The wait is about 5 minutes." ||
		!strings.Contains(body, "<Play>https://cdn.example.com/hold.mp3</Play>") || !strings.Contains(body, "/twilio/queue/wait?s=") {
		t.Fatalf("wait = %d %s", code, body)
	}
	// Garbage figures: music only, still valid TwiML.
	for _, bad := range []string{"", "-4", "many", "99999999999"} {
		code, body := q.Post(wait, queueForm(sid, "QueuePosition", bad, "AvgQueueTime", "x"))
		if code != 200 || twiliotest.Spoken(t, body) != "" || !strings.Contains(body, "<Play>") {
			t.Errorf("QueuePosition %q: %d %s", bad, code, body)
		}
	}
	// Only the verbs a wait URL allows.
	if m := regexp.MustCompile(`<(Dial|Enqueue|Record|Connect)`).FindString(body); m != "" {
		t.Errorf("a wait answer with %s: %s", m, body)
	}

	// After a minute the music plays inside the offer; 1 asks for the callback.
	code, body = q.Post(wait, queueForm(sid, "QueuePosition", "3", "QueueTime", "70", "AvgQueueTime", "600", "CurrentQueueSize", "6"))
	if code != 200 || !strings.Contains(twiliotest.Spoken(t, body), "press 1") {
		t.Fatalf("offer = %d %s", code, body)
	}
	key := path(t, gatherURLRE, body)
	code, left := q.Post(key, queueForm(sid, "Digits", "1"))
	if code != 200 || !strings.Contains(left, "<Leave/>") {
		t.Fatalf("key 1 = %d %s", code, left)
	}
	// Twilio's retry of that webhook gets the same answer and stores nothing more.
	if code, again := q.Post(key, queueForm(sid, "Digits", "1")); code != 200 || again != left {
		t.Errorf("retry = %d %s", code, again)
	}
	list, err := q.store.List(ctx, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("callbacks = %+v %v", list, err)
	}
	cb := list[0]
	if cb.Number != "+14045550123" || cb.Queue != "priority" || cb.Priority != 90 || cb.MemberID != "1001" || cb.Status != outbound.Pending ||
		!cb.DueAt.Equal(testNow.Add(5*time.Minute)) || cb.Position != 3 || cb.Reason != "trip" {
		t.Errorf("stored %+v", cb)
	}
	// The Enqueue's action confirms it and hangs up.
	code, done := q.Post(path(t, actionRE, first), queueForm(sid, "QueueResult", "leave"))
	if code != 200 || twiliotest.Spoken(t, done) != "We'll call you back at the number ending in 0123 in about 5 minutes. You keep your place in line." ||
		!strings.Contains(done, "<Hangup/>") {
		t.Errorf("done = %d %s", code, done)
	}
	// Another call from the number, asking again, hears when the first is due and waits on.
	const sid2 = "CA00000000000000000000000000000002"
	_, first2 := q.Post("/twilio/voice", queueForm(sid2))
	_, body = q.Post(path(t, waitURLRE, first2), queueForm(sid2, "QueuePosition", "1", "QueueTime", "70", "AvgQueueTime", "60"))
	_, again := q.Post(path(t, gatherURLRE, body), queueForm(sid2, "Digits", "1"))
	if strings.Contains(again, "<Leave/>") || !strings.Contains(twiliotest.Spoken(t, again), "already have a call back coming in about 5 minutes") {
		t.Errorf("second request: %s", again)
	}

	// Not due yet: nothing dialed. Due: dialed once, by one of two dispatchers, and not
	// again after a restart.
	if n, _ := q.dispatcher().Once(ctx); n != 0 {
		t.Error("dialed before it was due")
	}
	q.clock = testNow.Add(5 * time.Minute)
	a, b := q.dispatcher(), q.dispatcher()
	a.Once(ctx)
	b.Once(ctx)
	q.dispatcher().Once(ctx) // a restarted instance
	calls := q.fake.Calls()
	if len(calls) != 1 || calls[0].To != "+14045550123" || calls[0].From != "+18005550100" || calls[0].MachineDetection != "Enable" {
		t.Fatalf("calls = %+v", calls)
	}

	// The member answers: who calls and why, then 1 connects them at the top of the queue.
	answer := strings.TrimPrefix(calls[0].URL, testPublicURL)
	out := twiliotest.Incoming("+18005550100")
	out.Set("CallSid", calls[0].SID)
	out.Set("To", "+14045550123")
	out.Set("AnsweredBy", "human")
	code, hello := q.Post(answer, out)
	if code != 200 || twiliotest.Spoken(t, hello) != "Hello Dana, this is the call back you asked for about your trip to Atlanta. Press 1 to be connected now." {
		t.Fatalf("answer = %d %s", code, hello)
	}
	out.Set("Digits", "1")
	code, connected := q.Post(path(t, gatherURLRE, hello), out)
	if code != 200 || !strings.Contains(connected, "<Enqueue>priority</Enqueue>") {
		t.Errorf("connect = %d %s", code, connected)
	}
	got, _ := q.store.Get(ctx, cb.ID)
	if got.Status != outbound.Done || got.Outcome != "answered" || len(got.Tries) != 1 {
		t.Errorf("after the answer: %+v", got)
	}
	// Its status callback afterwards changes nothing.
	out.Set("CallStatus", "completed")
	if code, _ := q.Post(strings.TrimPrefix(calls[0].StatusCallback, testPublicURL), out); code != http.StatusNoContent {
		t.Errorf("status = %d", code)
	}
	if again, _ := q.store.Get(ctx, cb.ID); again.Status != outbound.Done {
		t.Errorf("after the status: %+v", again)
	}

	// A bad or expired token is refused, never a connection to an agent.
	for _, p := range []string{"/twilio/callback/answer?c=1.zzzz.forged", "/twilio/callback/connect", strings.Replace(answer, "c=", "c=9", 1)} {
		if code, body := q.Post(p, out); code != http.StatusForbidden || strings.Contains(body, "Enqueue") {
			t.Errorf("%s = %d %s", p, code, body)
		}
	}
	q.clock = q.clock.Add(25 * time.Hour)
	if code, _ := q.Post(answer, out); code != http.StatusForbidden {
		t.Errorf("an expired token = %d", code)
	}
}

// TaskRouter: the Task has the priority and the context; a callback that reaches nobody
// is tried again, then fails; another number keyed in is validated.
func TestCallbackRetriesAndAnotherNumber(t *testing.T) {
	q := newQueueHarness(t, "WW0123456789abcdef0123456789abcdef")
	ctx := context.Background()
	const sid = "CA00000000000000000000000000000003"
	_, first := q.Post("/twilio/voice", queueForm(sid))
	m := regexp.MustCompile(`<Task priority="90">([^<]+)</Task>`).FindStringSubmatch(first)
	if m == nil || !strings.Contains(first, `workflowSid="WW0123456789abcdef0123456789abcdef"`) {
		t.Fatalf("voice = %s", first)
	}
	var task map[string]string
	if err := json.Unmarshal([]byte(strings.ReplaceAll(m[1], "&#34;", `"`)), &task); err != nil || task["member_id"] != "1001" ||
		task["tier"] != "Diamond" || task["language"] != "en-US" || task["reason"] != "trip" {
		t.Errorf("task %s: %v %v", m[1], task, err)
	}
	_, body := q.Post(path(t, waitURLRE, first), queueForm(sid, "QueuePosition", "1", "QueueTime", "90", "AvgQueueTime", "120"))
	key := path(t, gatherURLRE, body)
	_, ask := q.Post(key, queueForm(sid, "Digits", "2"))
	numberURL := path(t, gatherURLRE, ask)
	// A premium-rate number, or digits that are no number, are refused: the caller waits on.
	for _, bad := range []string{"9005550123", "12", "+1404"} {
		code, body := q.Post(numberURL, queueForm(sid, "Digits", bad))
		if code != 200 || strings.Contains(body, "<Leave/>") || !strings.Contains(twiliotest.Spoken(t, body), "can't call that number back") {
			t.Errorf("number %q: %d %s", bad, code, body)
		}
	}
	if _, body := q.Post(numberURL, queueForm(sid, "Digits", "3125550142")); !strings.Contains(body, "<Leave/>") {
		t.Fatalf("a good number: %s", body)
	}
	cb, err := q.store.ForCall(ctx, sid)
	if err != nil || cb.Number != "+13125550142" || cb.Workflow != "WW0123456789abcdef0123456789abcdef" || cb.MaxAttempts != 2 {
		t.Fatalf("callback %+v %v", cb, err)
	}
	// No answer: tried again after 2 minutes; no answer again: failed (max_attempts 2).
	q.clock = cb.DueAt
	for try := 1; try <= 2; try++ {
		q.dispatcher().Once(ctx)
		calls := q.fake.Calls()
		if len(calls) != try {
			t.Fatalf("try %d: %d calls", try, len(calls))
		}
		st := twiliotest.Incoming("+18005550100")
		st.Set("CallSid", calls[try-1].SID)
		st.Set("CallStatus", "no-answer")
		if code, _ := q.Post(strings.TrimPrefix(calls[try-1].StatusCallback, testPublicURL), st); code != http.StatusNoContent {
			t.Fatalf("status = %d", code)
		}
		got, _ := q.store.Get(ctx, cb.ID)
		want := outbound.Pending
		if try == 2 {
			want = outbound.Failed
		}
		if got.Status != want || got.Outcome != "no-answer" {
			t.Fatalf("after try %d: %+v", try, got)
		}
		q.clock = got.DueAt
	}
	// Answered by a machine: a short message, no agent.
	const sid4 = "CA00000000000000000000000000000004"
	cb2, _, err := q.store.Request(ctx, outbound.Callback{CallSID: sid4, Number: "+14045550123", Queue: "general", Flow: "line",
		Node: "agent", MemberID: "1001", RequestedAt: q.clock, DueAt: q.clock, MaxAttempts: 1, Language: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	q.dispatcher().Once(ctx)
	calls := q.fake.Calls()
	out := twiliotest.Incoming("+18005550100")
	out.Set("CallSid", calls[len(calls)-1].SID)
	out.Set("AnsweredBy", "machine_end_beep")
	_, vm := q.Post(strings.TrimPrefix(calls[len(calls)-1].URL, testPublicURL), out)
	if strings.Contains(vm, "Enqueue") || !strings.Contains(vm, "<Hangup/>") || !strings.Contains(twiliotest.Spoken(t, vm), "call back you asked for") {
		t.Errorf("voicemail: %s", vm)
	}
	if got, _ := q.store.Get(ctx, cb2.ID); got.Status != outbound.Done || got.Outcome != "voicemail" {
		t.Errorf("after the voicemail: %+v", got)
	}
}

// A withheld number is never offered a callback: it stays in the queue.
func TestNoCallbackForAWithheldNumber(t *testing.T) {
	q := newQueueHarness(t, "")
	form := queueForm("CA00000000000000000000000000000005")
	form.Set("From", "anonymous")
	_, first := q.Post("/twilio/voice", form)
	form.Set("QueuePosition", "2")
	form.Set("QueueTime", "300")
	form.Set("AvgQueueTime", "100")
	_, body := q.Post(path(t, waitURLRE, first), form)
	if strings.Contains(body, "<Gather") || strings.Contains(twiliotest.Spoken(t, body), "press 1") {
		t.Errorf("offered to a withheld number: %s", body)
	}
}

// Queue webhooks with a state that is garbage or of another call keep the caller
// waiting with valid TwiML; callback webhooks without a valid token are 403.
func TestQueueWebhooksWithBadState(t *testing.T) {
	q := newQueueHarness(t, "")
	for _, p := range []string{"/twilio/queue/wait?s=garbage", "/twilio/queue/wait", "/twilio/queue/key?s=x.y.z", "/twilio/queue/number?s=%00",
		"/twilio/queue/done?s=nope"} {
		code, body := q.Post(p, queueForm("CA00000000000000000000000000000009", "QueueResult", "leave", "Digits", "1"))
		if code != 200 || !strings.HasPrefix(body, "<?xml") || strings.Contains(body, "<Dial") || strings.Contains(body, "<Enqueue") {
			t.Errorf("%s = %d %s", p, code, body)
		}
	}
	for _, p := range []string{"/twilio/callback/answer", "/twilio/callback/connect?c=", "/twilio/callback/status?c=1.2.3"} {
		if code, _ := q.Post(p, queueForm("CA00000000000000000000000000000009")); code != http.StatusForbidden {
			t.Errorf("%s = %d", p, code)
		}
	}
}
