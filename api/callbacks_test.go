package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/outbound"
)

func TestCallbacksAPI(t *testing.T) {
	h, _ := newFullHarness(t)
	ctx := context.Background()
	cb, _, err := h.callbacks.Request(ctx, outbound.Callback{CallSID: "CA1", Number: "+14045550123", Queue: "priority", Flow: "default",
		Node: "agent", MemberID: "1001", Priority: 90, RequestedAt: testNow, DueAt: testNow.Add(5 * time.Minute), MaxAttempts: 3,
		Context: []outbound.KV{{Key: "member_id", Value: "1001"}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := h.send(http.MethodPost, "/api/v1/tokens", "application/json", `{"name":"watcher","role":"viewer"}`)
	var tok struct {
		Secret string `json:"secret"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)

	list := func(token, query string) (int, string) {
		rec := send(h.handler, token, http.MethodGet, "/api/v1/callbacks"+query, "")
		return rec.Code, rec.Body.String()
	}
	if code, body := list(testAdminToken, "?status=pending"); code != 200 || !strings.Contains(body, `"number": "+14045550123"`) ||
		!strings.Contains(body, `"due_at": "2026-11-26T15:05:00Z"`) || !strings.Contains(body, `"member_id": "1001"`) {
		t.Errorf("admin list = %d %s", code, body)
	}
	if code, body := list(tok.Secret, ""); code != 200 || strings.Contains(body, "+14045550123") || !strings.Contains(body, "+1404***0123") {
		t.Errorf("viewer list = %d %s", code, body)
	}
	if code, body := list(testAdminToken, "?status=done"); code != 200 || strings.Contains(body, "CA1") {
		t.Errorf("done list = %d %s", code, body)
	}
	id := "/api/v1/callbacks/" + strconv.FormatInt(cb.ID, 10)
	if rec := send(h.handler, tok.Secret, http.MethodPost, id+"/cancel", ""); rec.Code != http.StatusForbidden {
		t.Errorf("a viewer cancels = %d", rec.Code)
	}
	if rec := h.send(http.MethodPost, id+"/dial", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"due_at": "2026-11-26T15:00:00Z"`) {
		t.Errorf("dial now = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPost, id+"/cancel", "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"status": "cancelled"`) {
		t.Errorf("cancel = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPost, id+"/cancel", "", ""); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "only a pending callback") {
		t.Errorf("cancel again = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPost, "/api/v1/callbacks/999999/dial", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("dial an unknown callback = %d %s", rec.Code, rec.Body)
	}
}

// A number put on the do-not-call list loses its pending callbacks and is never dialed.
func TestDoNotCallAPI(t *testing.T) {
	h, _ := newFullHarness(t)
	ctx := context.Background()
	cb, _, err := h.callbacks.Request(ctx, outbound.Callback{CallSID: "CA1", Number: "+14045550123", Queue: "q", Flow: "default",
		Node: "agent", RequestedAt: testNow, DueAt: testNow, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rec := h.send(http.MethodPut, "/api/v1/do-not-call/(404)%20555-0123", "", ""); rec.Code != 200 ||
		!strings.Contains(rec.Body.String(), `"callbacks_cancelled": 1`) || !strings.Contains(rec.Body.String(), `"number": "+14045550123"`) {
		t.Errorf("put = %d %s", rec.Code, rec.Body)
	}
	if got, _ := h.callbacks.Get(ctx, cb.ID); got.Status != outbound.Cancelled || got.Outcome != "do_not_call" {
		t.Errorf("callback after: %+v", got)
	}
	if no, _ := h.callbacks.DoNotCall(ctx, "+14045550123"); !no {
		t.Error("not on the list")
	}
	if rec := h.send(http.MethodDelete, "/api/v1/do-not-call/%2B14045550123", "", ""); rec.Code != http.StatusNoContent {
		t.Errorf("delete = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodDelete, "/api/v1/do-not-call/%2B14045550123", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("delete again = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPut, "/api/v1/do-not-call/nope", "", ""); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field": "phone"`) {
		t.Errorf("put nope = %d %s", rec.Code, rec.Body)
	}
}
