package flows

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func queueFlow(h Node) *Flow {
	h.ID, h.Type = "agent", NodeHandoff
	if h.Queue.IsZero() && h.Workflow == "" {
		h.Queue = QueueNamed("agents")
	}
	f := openToAll(flowOf(h))
	f.Languages["fr-CA"] = Language{Voice: "Polly.Gabrielle-Neural"}
	f.Languages["pt-BR"] = Language{Voice: "Polly.Camila-Neural"}
	return f
}

var diamondFirst = &Choice[int]{Cases: []ChoiceCase[int]{{When: []Condition{{Field: "member.tier", Op: "eq", Value: "Diamond"}}, Value: 90}}, Default: 10}

func TestPriorityAndQueueByTier(t *testing.T) {
	f := mustLoad(t, queueFlow(Node{Priority: diamondFirst, Queue: QueueTarget{Choice: &Choice[string]{
		Cases: []ChoiceCase[string]{{When: []Condition{{Field: "member.tier", Op: "in", Values: []string{"Diamond", "Platinum"}}}, Value: "priority"}}, Default: "general"}}}))
	for _, tc := range []struct {
		m     *Member
		prio  int
		queue string
	}{{&Member{ID: "1", Tier: "Diamond"}, 90, "priority"}, {&Member{ID: "2", Tier: "Silver"}, 10, "general"}, {nil, 10, "general"}} {
		call := callFrom()
		if tc.m != nil {
			call = callFrom(*tc.m)
		}
		turn, err := f.Start(call)
		if err != nil {
			t.Fatal(err)
		}
		h := turn.Actions[len(turn.Actions)-1].Handoff
		if h == nil || !h.HasPriority || h.Priority != tc.prio || h.Queue != tc.queue {
			t.Errorf("member %+v: handoff %+v", tc.m, h)
		}
	}
	// The queue's two shapes survive a round trip through JSON.
	b, _ := json.Marshal(f)
	if !strings.Contains(string(b), `"queue":{"cases":[`) {
		t.Errorf("queue choice written as %s", b)
	}
	g, err := Load(b)
	if err != nil || len(g.Validate()) > 0 {
		t.Fatalf("reloaded: %v %v", err, g.Validate())
	}
	plain, _ := json.Marshal(queueFlow(Node{}))
	if !strings.Contains(string(plain), `"queue":"agents"`) {
		t.Errorf("a plain queue written as %s", plain)
	}
}

func TestQueueValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		node Node
		path string
		want string
	}{
		{"negative priority", Node{Priority: &Choice[int]{Default: -1}}, "nodes.agent.priority.default", "0 to 2147483647"},
		{"priority case too big", Node{Priority: &Choice[int]{Cases: []ChoiceCase[int]{{When: []Condition{{Field: "member", Op: "exists"}}, Value: 1 << 31}}}}, "nodes.agent.priority.cases.0.value", "0 to"},
		{"bad condition", Node{Priority: &Choice[int]{Cases: []ChoiceCase[int]{{When: []Condition{{Field: "nope", Op: "eq", Value: "x"}}}}}}, "nodes.agent.priority.cases.0.when.0.field", "unknown field"},
		{"bad queue name", Node{Queue: QueueTarget{Choice: &Choice[string]{Default: "a/b"}}}, "nodes.agent.queue.default", "queue name"},
		{"empty queue case", Node{Queue: QueueTarget{Choice: &Choice[string]{Cases: []ChoiceCase[string]{{When: []Condition{{Field: "member", Op: "exists"}}}}, Default: "g"}}}, "nodes.agent.queue.cases.0.value", "required"},
		{"queue field outside a wait", Node{Say: en("You are number {{ queue.position }}.")}, "nodes.agent.say.en-US", "only known in a handoff's wait"},
		{"callback without its texts", Node{Callback: &CallbackOffer{}}, "nodes.agent.callback.offer.en-US", "missing"},
		{"music not a URL", Node{Wait: &Wait{Music: "hold.mp3"}}, "nodes.agent.wait.music", "http"},
		{"too many attempts", Node{Callback: &CallbackOffer{Offer: en("Press 1."), Confirm: en("OK."), MaxAttempts: 9}}, "nodes.agent.callback.max_attempts", "between 1 and 5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertProblem(t, queueFlow(tc.node).Validate(), tc.path, tc.want)
		})
	}
	// Without callbacks configured, an offer is a warning.
	rep := queueFlow(Node{Callback: &CallbackOffer{Offer: en("Press 1."), Confirm: en("OK.")}}).ValidateWith(ValidateOptions{NoCallbacks: true})
	if !rep.Valid() {
		t.Fatal(rep.Errors)
	}
	assertProblem(t, rep.Warnings, "nodes.agent.callback", "not configured")
	// Decoding: a queue that is neither a name nor a choice.
	_, err := Load([]byte(`{"schema":"memberline.flow/v1","id":"x","default_language":"en-US","languages":{"en-US":{}},"start":"a",
		"nodes":[{"id":"a","type":"handoff","queue":7}]}`))
	if err == nil || !strings.Contains(err.Error(), "nodes.a.queue: must be a queue name") {
		t.Errorf("queue 7: %v", err)
	}
}

func waitFlow(t *testing.T) *Flow {
	return mustLoad(t, queueFlow(Node{
		Wait: &Wait{Announce: Text{
			"en-US": "You are number {{ queue.position }} in line. The wait is about {{ queue.wait_minutes }}.",
			"es-US": "Usted es el número {{ queue.position }}. La espera es de unos {{ queue.wait_minutes }}.",
			"fr-CA": "Vous êtes le numéro {{ queue.position }}. L'attente est d'environ {{ queue.wait_minutes }}.",
			"pt-BR": "Você é o número {{ queue.position }}. A espera é de cerca de {{ queue.wait_minutes }}."},
			Music: "https://cdn.example.com/hold.mp3", EverySeconds: 45},
		Callback: &CallbackOffer{OfferAfterSeconds: 60, Offer: en("To get a call back instead of waiting, press 1."),
			Confirm: en("We'll call you back at the number ending in {{ caller.phone_last4 }} in about {{ queue.wait_minutes }}. You keep your place in line.")},
	}))
}

func TestWaitAnnouncesInTheMembersLanguage(t *testing.T) {
	f := waitFlow(t)
	st := State{Flow: f.ID, Node: "agent", Trust: TrustVerified}
	for _, tc := range []struct {
		lang string
		q    QueueInfo
		want string
	}{
		{"en-US", QueueInfo{Position: 3, AvgTime: 10 * time.Minute, Size: 6}, "You are number 3 in line. The wait is about 5 minutes."},
		{"en-US", QueueInfo{Position: 1, AvgTime: 40 * time.Second, Size: 1}, "You are number 1 in line. The wait is about 1 minute."},
		{"en-US", QueueInfo{Position: 40, AvgTime: 2 * time.Hour, Size: 40}, "about more than 30 minutes."},
		{"es-US", QueueInfo{Position: 2, AvgTime: 4 * time.Minute, Size: 2}, "La espera es de unos 4 minutos."},
		{"es-US", QueueInfo{Position: 1, AvgTime: time.Minute, Size: 1}, "unos 1 minuto."},
		{"fr-CA", QueueInfo{Position: 2, AvgTime: 6 * time.Minute, Size: 3}, "L'attente est d'environ 4 minutes."},
		{"pt-BR", QueueInfo{Position: 5, AvgTime: 50 * time.Minute, Size: 5}, "mais de 30 minutos."},
	} {
		m := dana(nil)
		m.Language = tc.lang
		wt, err := f.Wait(callFrom(m), st, tc.q, -1, true)
		if err != nil {
			t.Fatal(err)
		}
		if got := spoken(Turn{Actions: wt.Actions}); !strings.Contains(got, tc.want) {
			t.Errorf("%s %+v: said %q, want %q", tc.lang, tc.q, got, tc.want)
		}
	}
}

func TestWaitWithoutFiguresOrBeforeItsTime(t *testing.T) {
	f := waitFlow(t)
	st := State{Flow: f.ID, Node: "agent", Trust: TrustVerified}
	call := callFrom(dana(nil))
	// No position, or no estimate: music only, nothing announced, no offer yet.
	for _, q := range []QueueInfo{{}, {Position: 2}, {Position: -3, AvgTime: time.Minute}} {
		wt, err := f.Wait(call, st, q, -1, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(wt.Actions) != 1 || wt.Actions[0].Kind != ActPlay || wt.Offer {
			t.Errorf("%+v: actions %+v", q, wt.Actions)
		}
	}
	// Announced 20 s ago: not again until every_seconds have passed.
	q := QueueInfo{Position: 2, AvgTime: 2 * time.Minute, Size: 2, QueueTime: 30 * time.Second}
	wt, _ := f.Wait(call, st, q, 10*time.Second, true)
	if len(wt.Actions) != 1 || wt.AnnouncedAt != 10*time.Second {
		t.Errorf("too soon: %+v", wt)
	}
	q.QueueTime = 56 * time.Second
	if wt, _ = f.Wait(call, st, q, 10*time.Second, true); len(wt.Actions) != 2 || wt.AnnouncedAt != 56*time.Second {
		t.Errorf("due: %+v", wt)
	}
	// After offer_after_seconds the music plays inside a gather that offers the callback,
	// unless callbacks are off or the number is withheld.
	q.QueueTime = 61 * time.Second
	wt, _ = f.Wait(call, st, q, 56*time.Second, true)
	if !wt.Offer || wt.Actions[len(wt.Actions)-1].Kind != ActGather || !strings.Contains(spoken(Turn{Actions: wt.Actions}), "press 1") {
		t.Errorf("offer: %+v", wt)
	}
	if wt, _ = f.Wait(call, st, q, 56*time.Second, false); wt.Offer {
		t.Error("offered with callbacks off")
	}
	call.Caller.Phone = ""
	if wt, _ = f.Wait(call, st, q, 56*time.Second, true); wt.Offer {
		t.Error("offered to a withheld number")
	}
}

func TestCallbackPlanAndAnswer(t *testing.T) {
	f := mustLoad(t, queueFlow(Node{Priority: diamondFirst, Reason: "trip",
		Callback: &CallbackOffer{Offer: en("Press 1."), Confirm: en("We'll call you back at the number ending in {{ caller.phone_last4 }} in about {{ queue.wait_minutes }}.")}}))
	st := State{Flow: f.ID, Node: "agent", Trust: TrustVerified}
	m := dana(&Activity{ID: "t1", Kind: "trip", Place: "Reykjavik", StartsAt: now.Add(24 * time.Hour), Relation: "upcoming"})
	plan, err := f.Callback(callFrom(m), st, QueueInfo{Position: 2, AvgTime: 6 * time.Minute, Size: 2}, "+13125550142")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Priority != 90 || plan.MaxAttempts != 3 || plan.Handoff.Queue != "agents" || plan.Handoff.Reason != "trip" || plan.Language != "en-US" {
		t.Errorf("plan = %+v", plan)
	}
	if got := spoken(Turn{Actions: plan.Confirm}); got != "We'll call you back at the number ending in 0142 in about 6 minutes." {
		t.Errorf("confirm = %q", got)
	}
	answer, err := f.CallbackAnswer(callFrom(m), st)
	if err != nil || spoken(Turn{Actions: answer}) != "Hello Dana, this is the call back you asked for about your trip to Reykjavik. Press 1 to be connected now." {
		t.Errorf("answer = %q, %v", spoken(Turn{Actions: answer}), err)
	}
}

func TestDialWindow(t *testing.T) {
	f := mustLoad(t, queueFlow(Node{Callback: &CallbackOffer{Offer: en("Press 1."), Confirm: en("OK."), DialWhen: []Condition{
		{Field: "call.weekday", Op: "in", Values: []string{"mon", "tue", "wed", "thu", "fri"}, TimeZone: "member"},
		{Field: "call.time", Op: "between", Values: []string{"08:00", "20:00"}, TimeZone: "member"}}}}))
	m := dana(nil) // New York
	ny, _ := time.LoadLocation("America/New_York")
	friday := time.Date(2026, 11, 27, 21, 30, 0, 0, ny)
	ok, next := f.DialWindow("agent", &m, friday)
	if ok || !next.Equal(time.Date(2026, 11, 30, 8, 0, 0, 0, ny)) {
		t.Errorf("Friday 21:30: %v, next %v; want Monday 08:00", ok, next.In(ny))
	}
	if ok, _ := f.DialWindow("agent", &m, time.Date(2026, 11, 30, 9, 0, 0, 0, ny)); !ok {
		t.Error("Monday 09:00 is within the window")
	}
}

func TestCallbackAnswerWithoutANameOrAPlace(t *testing.T) {
	for lang, want := range map[string]string{
		"en-US": "Hello, this is the call back you asked for. Press 1 to be connected now.",
		"es-US": "Hola. Le devolvemos la llamada que pidió. Pulse 1 para hablar con un agente.",
	} {
		if got := callbackAnswerText(lang, nil); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
	}
}
