package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/outbound"
)

// A number's message consent is shown on the look-up, exported with the member and
// deleted with the member's data.
func TestMessageConsentWithTheMember(t *testing.T) {
	h, _ := newFullHarness(t)
	h.seedMembers()
	ctx := context.Background()
	if err := h.callbacks.SetConsent(ctx, "+14045550123", outbound.OptedOut, "sms STOP", testNow); err != nil {
		t.Fatal(err)
	}
	if code, body := h.api(http.MethodGet, "/api/v1/lookup?phone=%2B14045550123", ""); code != 200 ||
		!strings.Contains(body, `"message_consent": {`) || !strings.Contains(body, `"status": "opted_out"`) || !strings.Contains(body, `"first_name": "Dana"`) {
		t.Errorf("look-up = %d %s", code, body)
	}
	if code, body := h.api(http.MethodGet, "/api/v1/members/1001/export", ""); code != 200 || !strings.Contains(body, `"source": "sms STOP"`) {
		t.Errorf("export = %d %s", code, body)
	}
	if code, body := h.api(http.MethodDelete, "/api/v1/members/1001", ""); code != http.StatusNoContent && code != 200 {
		t.Fatalf("delete = %d %s", code, body)
	}
	if c, err := h.callbacks.ConsentOf(ctx, "+14045550123"); err != nil || c.Status != "" {
		t.Errorf("after the deletion: %+v %v", c, err)
	}
}

func TestMessagesReport(t *testing.T) {
	h, _ := newFullHarness(t)
	ctx := context.Background()
	for _, sid := range []string{"CA1", "CA2"} {
		if _, _, err := h.callbacks.Enqueue(ctx, outbound.Message{CallSID: sid, Node: "text", Channel: "sms", Number: "+14045550123", Body: "B12"}, testNow); err != nil {
			t.Fatal(err)
		}
	}
	code, body := h.api(http.MethodGet, "/api/v1/reports/messages?from=2026-11-26&to=2026-11-27&tz=America/New_York", "")
	if code != 200 || !strings.Contains(body, `"day": "2026-11-26"`) || !strings.Contains(body, `"queued": 2`) || strings.Contains(body, "B12") {
		t.Errorf("report = %d %s", code, body)
	}
}

// A call's journey lists its messages with their status, never their text.
func TestJourneyShowsMessages(t *testing.T) {
	h, records := newFullHarness(t)
	h.seedMembers()
	ctx := context.Background()
	const sid = "CA0000000000000000000000000000m001"
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	if code, _ := h.Post("/twilio/voice", form); code != 200 {
		t.Fatal(code)
	}
	if err := records.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.callbacks.Enqueue(ctx, outbound.Message{CallSID: sid, Node: "text", Channel: "sms", Number: "+14045550123", Body: "Gate B12."}, testNow); err != nil {
		t.Fatal(err)
	}
	code, body := h.api(http.MethodGet, "/api/v1/calls/"+sid+"/journey", "")
	if code != 200 || !strings.Contains(body, `"messages": [`) || !strings.Contains(body, `"status": "queued"`) || strings.Contains(body, "Gate B12") {
		t.Errorf("journey = %d %s", code, body)
	}
}
