package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Calls placed through the webhooks, then a draft that changes where "1" goes at
// about_activity: replay names exactly the calls that pressed 1 there, with the node where
// they part, and leaves the others the same.
func TestReplayFindsTheCallsADraftChanges(t *testing.T) {
	h, records := newFullHarness(t)
	h.seedMembers()
	h.placeCall("CAdana1", "+14045550123", "1")      // yes, that trip: the activity agents
	h.placeCall("CAdana2", "+14045550123", "2", "3") // no; the menu; the tier; goodbye
	h.placeCall("CAtom1", "+12065550111", "1")       // no activity: the menu, reservations
	if err := records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	var doc map[string]any
	if err := json.Unmarshal(get.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, n := range doc["nodes"].([]any) {
		if node := n.(map[string]any); node["id"] == "about_activity" {
			node["options"].([]any)[0].(map[string]any)["next"] = "agent_reservations"
		}
	}
	edited, _ := json.Marshal(doc)
	if rec := h.req(http.MethodPut, "/api/v1/flows/default", string(edited), "If-Match", get.Header().Get("ETag"), "Content-Type", "application/json"); rec.Code != http.StatusOK {
		t.Fatalf("save = %d %s", rec.Code, rec.Body)
	}
	var ans struct {
		Summary struct{ Calls, Same, Changed, NotReplayed int } `json:"summary"`
		Calls   []struct {
			CallSID string                         `json:"call_sid"`
			Same    bool                           `json:"same"`
			Turn    int                            `json:"turn"`
			Before  string                         `json:"before"`
			Was     string                         `json:"was"`
			Now     string                         `json:"now"`
			WasEnd  struct{ Outcome, Node string } `json:"was_end"`
			NowEnd  struct{ Outcome, Node string } `json:"now_end"`
			Reason  string                         `json:"reason"`
		} `json:"calls"`
	}
	body := `{"from": "2000-01-01T00:00:00Z", "to": "9000-01-01T00:00:00Z"}`
	if err := json.Unmarshal([]byte(h.mustAPI(http.MethodPost, "/api/v1/flows/default/replay", body)), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Summary.Calls != 3 || ans.Summary.Changed != 1 || ans.Summary.Same != 2 || ans.Summary.NotReplayed != 0 {
		t.Fatalf("summary = %+v, calls %+v", ans.Summary, ans.Calls)
	}
	for _, c := range ans.Calls {
		changed := c.CallSID == "CAdana1"
		if c.Same == changed || c.Reason != "" {
			t.Errorf("%s: %+v", c.CallSID, c)
		}
		if changed && (c.Turn != 1 || c.Before != "about_activity" || c.Was != "agent_activity" || c.Now != "agent_reservations" ||
			c.WasEnd.Node != "agent_activity" || c.NowEnd.Node != "agent_reservations" || c.WasEnd.Outcome != "handoff") {
			t.Errorf("the changed call: %+v", c)
		}
	}
	// By call SID, against the published version: nothing changes; an unknown SID is named.
	out := h.mustAPI(http.MethodPost, "/api/v1/flows/default/replay", `{"version": 1, "call_sids": ["CAdana1", "CAnone"]}`)
	if !strings.Contains(out, `"same": true`) || !strings.Contains(out, `"reason": "no record of this call"`) {
		t.Errorf("replay by SID on version 1: %s", out)
	}
	for _, bad := range []struct{ body, field string }{
		{`{}`, "from"},
		{`{"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}`, "from"},
		{`{"call_sids": ["CA%"]}`, "call_sids.0"},
		{`{"call_sids": ["CA1"], "limit": 1000}`, "limit"},
		{`{"call_sids": ["CA1"], "version": 0}`, "version"},
		{`{"from": "yesterday", "to": "2026-11-01T00:00:00Z"}`, "from"},
	} {
		rec := h.req(http.MethodPost, "/api/v1/flows/default/replay", bad.body, "Content-Type", "application/json")
		if rec.Code != http.StatusUnprocessableEntity || errorOf(t, rec.Body.String()).Field != bad.field {
			t.Errorf("%s = %d %s, want 422 naming %s", bad.body, rec.Code, rec.Body, bad.field)
		}
	}
}
