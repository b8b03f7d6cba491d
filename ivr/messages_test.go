package ivr

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/twilioapi"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/outbound"
)

const messageFlowJSON = `{
  "schema": "memberline.flow/v1", "id": "texts", "default_language": "en-US",
  "languages": {"en-US": {"voice": "Polly.Joanna-Neural"}, "es-US": {"voice": "Polly.Lupe-Neural"}},
  "start": "text",
  "nodes": [
    {"id": "text", "type": "message", "channel": "sms",
     "body": {"en-US": "Hello {{ first_name_or \"there\" }}, your gate is B12.", "es-US": "Hola {{ first_name_or \"\" }}, su puerta es la B12."},
     "say": {"en-US": "I've sent that to your phone."}, "next": "bye", "not_sent": "sorry"},
    {"id": "sorry", "type": "say", "say": {"en-US": "I couldn't text you: {{ vars.message_status }}."}, "next": "bye"},
    {"id": "bye", "type": "hangup", "say": {"en-US": "Goodbye."}}
  ]
}`

type messageHarness struct {
	*harness
	outboundBase
	clock time.Time
	cfg   Config
	deps  Deps
}

func newMessageHarness(t *testing.T) *messageHarness {
	m := &messageHarness{outboundBase: newOutboundBase(t, messageFlowJSON), clock: testNow}
	m.cfg = Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return m.clock }, MessagesReady: true}
	m.deps = Deps{Resolver: m.directory, Members: m.directory, Flow: m.flow, Messages: m.store, Answers: RedisAnswers(m.redisClient, m.prefix)}
	m.harness = newEdgeHarness(t, New(m.cfg, m.deps), m.directory, m.redisClient)
	m.seedMembers()
	return m
}

func (m *messageHarness) sender() *outbound.Sender {
	return outbound.NewSender(m.store, outbound.TwilioMessages{REST: m.rest, From: "+18005550100", StatusURL: testPublicURL + "/twilio/message/status"},
		outbound.SenderOptions{Rate: 1, Now: func() time.Time { return m.clock }})
}

func (m *messageHarness) call(sid string) string {
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	code, body := m.Post("/twilio/voice", form)
	if code != 200 {
		m.t.Fatalf("voice = %d %s", code, body)
	}
	return twiliotest.Spoken(m.t, body)
}

func (m *messageHarness) sms(body string) (int, string) {
	form := twiliotest.Incoming("+14045550123")
	form.Set("Body", body)
	form.Set("MessageSid", "SMinbound0000000000000000000000000")
	return m.Post("/twilio/sms", form)
}

func TestMessageOncePerCallAndNode(t *testing.T) {
	m := newMessageHarness(t)
	ctx := context.Background()
	const sid = "CA00000000000000000000000000000101"
	if said := m.call(sid); said != "I've sent that to your phone. Goodbye." {
		t.Fatalf("said %q", said)
	}
	// Twilio's retry of the webhook, and the same webhook on another instance, queue nothing more.
	m.call(sid)
	other := newEdgeHarness(t, New(m.cfg, m.deps), m.directory, m.redisClient)
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	other.Post("/twilio/voice", form)
	msgs, err := m.store.MessagesOf(ctx, sid)
	if err != nil || len(msgs) != 1 || msgs[0].Body != "Hello Dana, your gate is B12." || msgs[0].Status != outbound.MsgQueued {
		t.Fatalf("outbox = %+v %v", msgs, err)
	}
	// Nothing is sent in the webhook; a sender started later (a restart) sends it once.
	if n := len(m.fake.Messages()); n != 0 {
		t.Fatalf("sent in the webhook: %d", n)
	}
	s := m.sender()
	if ok, err := s.Once(ctx); !ok || err != nil {
		t.Fatalf("send: %v %v", ok, err)
	}
	m.clock = m.clock.Add(5 * time.Second)
	if ok, _ := m.sender().Once(ctx); ok {
		t.Error("sent a second time")
	}
	sent := m.fake.Messages()
	if len(sent) != 1 || sent[0].To != "+14045550123" || sent[0].From != "+18005550100" || sent[0].Body != "Hello Dana, your gate is B12." ||
		sent[0].StatusCallback != testPublicURL+"/twilio/message/status" {
		t.Fatalf("sent %+v", sent)
	}
	// Status callbacks in any order: a late "sent" does not undo "delivered"; an unknown
	// MessageSid is acknowledged.
	for _, st := range []string{"delivered", "sent"} {
		form := twiliotest.Incoming("+14045550123")
		form.Set("MessageSid", sent[0].SID)
		form.Set("MessageStatus", st)
		if code, _ := m.Post("/twilio/message/status", form); code != http.StatusNoContent {
			t.Fatalf("status %s = %d", st, code)
		}
	}
	form = twiliotest.Incoming("+14045550123")
	form.Set("MessageSid", "SMunknown0000000000000000000000000")
	form.Set("MessageStatus", "delivered")
	if code, _ := m.Post("/twilio/message/status", form); code != http.StatusNoContent {
		t.Errorf("unknown SID = %d", code)
	}
	msgs, _ = m.store.MessagesOf(ctx, sid)
	if msgs[0].Status != outbound.MsgDelivered || msgs[0].MessageSID != sent[0].SID {
		t.Errorf("after the callbacks: %+v", msgs[0])
	}
}

func TestStopAndStart(t *testing.T) {
	m := newMessageHarness(t)
	ctx := context.Background()
	for _, stop := range []string{" stop ", "Stop.", "UNSUBSCRIBE!"} {
		code, body := m.sms(stop)
		if code != 200 || !strings.Contains(body, "<Message>You will get no more messages from this line.") {
			t.Errorf("%q = %d %s", stop, code, body)
		}
	}
	if c, _ := m.store.ConsentOf(ctx, "+14045550123"); c.Status != outbound.OptedOut || c.Source != "sms UNSUBSCRIBE" {
		t.Errorf("consent %+v", c)
	}
	if said := m.call("CA00000000000000000000000000000102"); said != "I couldn't text you: opted_out. Goodbye." {
		t.Errorf("opted out: said %q", said)
	}
	if msgs, _ := m.store.MessagesOf(ctx, "CA00000000000000000000000000000102"); len(msgs) != 0 {
		t.Errorf("queued for an opted-out number: %+v", msgs)
	}
	if _, body := m.sms("start"); !strings.Contains(body, "You will get messages from this line again.") {
		t.Errorf("start: %s", body)
	}
	if _, body := m.sms("help"); !strings.Contains(body, "Reply STOP") {
		t.Errorf("help: %s", body)
	}
	if code, body := m.sms("what time is it"); code != 200 || strings.Contains(body, "<Message") {
		t.Errorf("other text: %d %s", code, body)
	}
	if said := m.call("CA00000000000000000000000000000103"); !strings.Contains(said, "I've sent that") {
		t.Errorf("after START: said %q", said)
	}
	// STOP from a number no member has is kept too.
	form := twiliotest.Incoming("+12125550188")
	form.Set("Body", "STOP")
	m.Post("/twilio/sms", form)
	if c, _ := m.store.ConsentOf(ctx, "+12125550188"); c.Status != outbound.OptedOut {
		t.Errorf("unknown number's consent: %+v", c)
	}
}

func TestSendFailures(t *testing.T) {
	m := newMessageHarness(t)
	ctx := context.Background()
	// 429 twice, then success: sent once, after backing off.
	m.call("CA00000000000000000000000000000104")
	m.fake.FailNext(twilioapi.Failure{Status: 429, Code: 20429, Message: "Too Many Requests"}, twilioapi.Failure{Status: 429, Code: 20429, Message: "Too Many Requests"})
	s := m.sender()
	for i := 0; i < 20 && len(m.fake.Messages()) == 0; i++ {
		s.Once(ctx)
		m.clock = m.clock.Add(3 * time.Second)
	}
	if n := len(m.fake.Messages()); n != 1 {
		t.Fatalf("after two 429s: %d sent", n)
	}
	// 21610: the number opted out at Twilio; the next call does not queue.
	m.call("CA00000000000000000000000000000105")
	m.fake.FailNext(twilioapi.Failure{Status: 400, Code: 21610, Message: "Attempt to send to unsubscribed recipient"})
	m.clock = m.clock.Add(3 * time.Second)
	s.Once(ctx)
	msgs, _ := m.store.MessagesOf(ctx, "CA00000000000000000000000000000105")
	if len(msgs) != 1 || msgs[0].Status != outbound.MsgFailed || msgs[0].ErrorCode == nil || *msgs[0].ErrorCode != 21610 {
		t.Errorf("21610: %+v", msgs)
	}
	if said := m.call("CA00000000000000000000000000000106"); !strings.Contains(said, "opted_out") {
		t.Errorf("after 21610: said %q", said)
	}
}

func TestMessageWithoutANumber(t *testing.T) {
	m := newMessageHarness(t)
	form := twiliotest.Incoming("anonymous")
	form.Set("CallSid", "CA00000000000000000000000000000107")
	_, body := m.Post("/twilio/voice", form)
	if said := twiliotest.Spoken(t, body); said != "I couldn't text you: no_number. Goodbye." {
		t.Errorf("withheld: said %q", said)
	}
}

// The answer to STOP is in the member's language.
func TestStopInTheMembersLanguage(t *testing.T) {
	m := newMessageHarness(t)
	form := twiliotest.Incoming("+13055550177") // Lucía, es-US
	form.Set("Body", "Stop")
	if code, body := m.Post("/twilio/sms", form); code != 200 || !strings.Contains(body, "<Message>No recibirá más mensajes de esta línea.") {
		t.Errorf("STOP from a Spanish speaker = %d %s", code, body)
	}
}
