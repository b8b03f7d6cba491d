package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// The example fetch flow through the admin API: validation knows the connections,
// simulation takes mocks or (asked) calls the connection, publishing refuses a connection
// that does not exist.
func TestFetchFlowThroughTheAPI(t *testing.T) {
	h, _ := newFullHarness(t)
	var requests atomic.Int32
	company := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"bookings": [{"flight": "LIVE1", "gate": "Z9", "delay_minutes": 0}]}`)
	}))
	t.Cleanup(company.Close)
	doc, err := os.ReadFile("../flows/testdata/fetch_flow.json")
	if err != nil {
		t.Fatal(err)
	}
	// Without the connection the draft saves, and does not validate or publish.
	if rec := h.send(http.MethodPost, "/api/v1/flows", "application/json", `{"id":"gate-info","document":`+string(doc)+`}`); rec.Code != http.StatusCreated {
		t.Fatalf("create the flow = %d %s", rec.Code, rec.Body)
	}
	rec := h.send(http.MethodPost, "/api/v1/flows/gate-info/publish", "application/json", `{}`)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "nodes.booking.connection") ||
		!strings.Contains(rec.Body.String(), `unknown connection \"bookings\"`) {
		t.Errorf("publish without the connection = %d %s", rec.Code, rec.Body)
	}
	conn := `{"base_url":"` + company.URL + `/v2","secret":"0123456789abcdef-secret","allow_private_addresses":true}`
	if rec := h.send(http.MethodPut, "/api/v1/connections/bookings", "application/json", conn); rec.Code != http.StatusOK {
		t.Fatalf("PUT connection = %d %s", rec.Code, rec.Body)
	}

	simulate := func(body string) (int, map[string]any) {
		t.Helper()
		rec := h.send(http.MethodPost, "/api/v1/flows/gate-info/simulate", "application/json", body)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	said := func(out map[string]any) string {
		b, _ := json.Marshal(out["steps"])
		return string(b)
	}
	dana := `"caller":{"profile":{"id":"1001","first_name":"Dana"},"trust":"verified"}`
	code, out := simulate(`{` + dana + `,"fetch":{"booking":{"body":{"bookings":[{"flight":"DL1","gate":"B12","delay_minutes":20}]}}}}`)
	if code != http.StatusOK || !strings.Contains(said(out), "gate B12, 20 minutes late") || out["not_mocked"] != nil {
		t.Errorf("simulate with a mock = %d %v", code, out)
	}
	code, out = simulate(`{` + dana + `}`)
	if code != http.StatusOK || !strings.Contains(said(out), "can't see your booking") || !strings.Contains(string(mustJSON(out["not_mocked"])), "booking") {
		t.Errorf("simulate without a mock = %d %v", code, out)
	}
	if requests.Load() != 0 {
		t.Errorf("a simulation without live_fetch called the company %d times", requests.Load())
	}
	code, out = simulate(`{` + dana + `,"live_fetch":true}`)
	if code != http.StatusOK || !strings.Contains(said(out), "gate Z9, on time") || requests.Load() != 1 {
		t.Errorf("simulate with live_fetch = %d %v (%d requests)", code, out, requests.Load())
	}
	for _, tc := range []struct{ body, field string }{
		{`{"fetch":{"greet":{}}}`, "fetch.greet"},
		{`{"fetch":{"booking":{"error":"boom"}}}`, "fetch.booking.error"},
		{`{"fetch":{"booking":{"status":99}}}`, "fetch.booking.status"},
		{`{"fetch":{"booking":"yes"}}`, "fetch"},
		{`{"live_fetch":"yes"}`, "live_fetch"},
	} {
		rec := h.send(http.MethodPost, "/api/v1/flows/gate-info/simulate", "application/json", tc.body)
		if rec.Code != http.StatusUnprocessableEntity && rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field": "`+tc.field) {
			t.Errorf("%s = %d %s", tc.body, rec.Code, rec.Body)
		}
	}
	if rec := h.send(http.MethodPost, "/api/v1/flows/gate-info/publish", "application/json", `{}`); rec.Code != http.StatusCreated {
		t.Errorf("publish with the connection = %d %s", rec.Code, rec.Body)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
