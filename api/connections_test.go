package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/connections"
)

// sendWith is send with one more header.
func (h *harness) sendWith(method, target, body, header, value string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(header, value)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

func TestConnectionsAPI(t *testing.T) {
	h, _ := newFullHarness(t)
	const body = `{"base_url":"https://crm.example.com/v2","headers":{"X-Api-Key":"key-123","Accept":"application/json"},"secret":"0123456789abcdef-secret","timeout_ms":1500}`
	rec := h.send(http.MethodPut, "/api/v1/connections/crm", "application/json", body)
	if rec.Code != http.StatusOK || rec.Header().Get("ETag") != `"1"` {
		t.Fatalf("PUT = %d %s (ETag %s)", rec.Code, rec.Body, rec.Header().Get("ETag"))
	}
	rec = h.send(http.MethodGet, "/api/v1/connections", "", "")
	if strings.Contains(rec.Body.String(), "key-123") || strings.Contains(rec.Body.String(), "abcdef-secret") {
		t.Errorf("the list shows a header value or the secret: %s", rec.Body)
	}
	var list struct {
		Connections []struct {
			ID        string   `json:"id"`
			Headers   []string `json:"headers"`
			TimeoutMS int64    `json:"timeout_ms"`
			Version   int      `json:"version"`
			SecretSet bool     `json:"secret_set"`
		} `json:"connections"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Connections) != 1 {
		t.Fatalf("list = %s, %v", rec.Body, err)
	}
	if c := list.Connections[0]; c.ID != "crm" || len(c.Headers) != 2 || c.Headers[1] != "X-Api-Key" || c.TimeoutMS != 1500 || c.Version != 1 || !c.SecretSet {
		t.Errorf("listed %+v", c)
	}
	one := h.send(http.MethodGet, "/api/v1/connections/crm", "", "")
	if one.Code != http.StatusOK || one.Header().Get("ETag") != `"1"` || !strings.Contains(one.Body.String(), `"secret_set": true`) ||
		strings.Contains(one.Body.String(), "abcdef-secret") {
		t.Errorf("GET one = %d %s", one.Code, one.Body)
	}
	if rec := h.send(http.MethodGet, "/api/v1/connections/nope", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("GET an unknown connection = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPut, "/api/v1/connections/new-one", "application/json", `{"base_url":"https://x.example.com"}`); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), `"field": "secret"`) {
		t.Errorf("a new connection without a secret = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodPut, "/api/v1/connections/crm", "application/json", `{"base_url":"https://x.example.com","allow_private_addresses":true}`); rec.Code != http.StatusOK {
		t.Errorf("a PUT that keeps the secret = %d %s", rec.Code, rec.Body)
	}

	stale := h.sendWith(http.MethodPut, "/api/v1/connections/crm", body, "If-Match", `"7"`)
	if stale.Code != http.StatusPreconditionFailed {
		t.Errorf("a PUT at a version that is not current = %d %s", stale.Code, stale.Body)
	}
	if ok := h.sendWith(http.MethodPut, "/api/v1/connections/crm", body, "If-Match", `"2"`); ok.Code != http.StatusOK || ok.Header().Get("ETag") != `"3"` {
		t.Errorf("a PUT at the current version = %d %s", ok.Code, ok.Body)
	}

	for _, tc := range []struct{ path, body, field string }{
		{"/api/v1/connections/crm", strings.Replace(body, "https:", "http:", 1), "base_url"},
		{"/api/v1/connections/crm", strings.Replace(body, "1500", "50", 1), "timeout_ms"},
		{"/api/v1/connections/crm", strings.Replace(body, "1500", "-5", 1), "timeout_ms"},
		{"/api/v1/connections/crm", strings.Replace(body, "0123456789abcdef-secret", "short", 1), "secret"},
		{"/api/v1/connections/crm", strings.Replace(body, "X-Api-Key", "Host", 1), "headers"},
		{"/api/v1/connections/CRM", body, "id"},
	} {
		rec := h.send(http.MethodPut, tc.path, "application/json", tc.body)
		var e struct{ Error apiError }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusUnprocessableEntity || e.Error.Field != tc.field || goWords.MatchString(e.Error.Message) {
			t.Errorf("PUT %s %s = %d %s, want 422 naming %s", tc.path, tc.body, rec.Code, rec.Body, tc.field)
		}
	}

	if rec := h.send(http.MethodDelete, "/api/v1/connections/crm", "", ""); rec.Code != http.StatusNoContent {
		t.Errorf("DELETE = %d %s", rec.Code, rec.Body)
	}
	if rec := h.send(http.MethodDelete, "/api/v1/connections/crm", "", ""); rec.Code != http.StatusNotFound {
		t.Errorf("second DELETE = %d %s", rec.Code, rec.Body)
	}
	var audit struct{ Actions []auth.Entry }
	if err := json.Unmarshal(h.send(http.MethodGet, "/api/v1/actions", "", "").Body.Bytes(), &audit); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range audit.Actions {
		found = found || e.Action == "DELETE /api/v1/connections/{connectionID}" && e.Target == "connectionID=crm" && e.Status == http.StatusNoContent
	}
	if !found {
		t.Errorf("the audit has no deletion of crm: %+v", audit.Actions)
	}
}

// "Test connection" makes one signed GET through the fetch client and shows the answer's
// top-level keys, never its values.
func TestConnectionTest(t *testing.T) {
	h, _ := newFullHarness(t)
	var signed atomic.Bool
	company := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		signed.Store(strings.HasPrefix(r.Header.Get(connections.SignatureHeader), "t=") && r.URL.RequestURI() == "/v2/members/1001")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"member":{"gate":"B12"},"bookings":[]}`))
	}))
	defer company.Close()
	put := `{"base_url":"` + company.URL + `/v2","secret":"0123456789abcdef-secret","allow_private_addresses":true}`
	if rec := h.send(http.MethodPut, "/api/v1/connections/crm", "application/json", put); rec.Code != http.StatusOK {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	rec := h.send(http.MethodPost, "/api/v1/connections/crm/test", "application/json", `{"path":"/members/1001"}`)
	var got struct {
		Outcome string   `json:"outcome"`
		Status  int      `json:"status"`
		Keys    []string `json:"keys"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("test = %d %s", rec.Code, rec.Body)
	}
	if got.Outcome != "ok" || got.Status != 200 || strings.Join(got.Keys, ",") != "bookings,member" || !signed.Load() || strings.Contains(rec.Body.String(), "B12") {
		t.Errorf("test = %s (signed %v)", rec.Body, signed.Load())
	}
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/api/v1/connections/crm/test", `{"path":"members"}`, http.StatusUnprocessableEntity},
		{"/api/v1/connections/nope/test", `{"path":"/"}`, http.StatusNotFound},
	} {
		if rec := h.send(http.MethodPost, tc.path, "application/json", tc.body); rec.Code != tc.want {
			t.Errorf("%s %s = %d %s", tc.path, tc.body, rec.Code, rec.Body)
		}
	}
	// Without allow_private_addresses the same server is refused where it is dialed.
	put = `{"base_url":"` + strings.Replace(company.URL, "http:", "https:", 1) + `","secret":"0123456789abcdef-secret"}`
	if rec := h.send(http.MethodPut, "/api/v1/connections/inside", "application/json", put); rec.Code != http.StatusOK {
		t.Fatalf("PUT = %d %s", rec.Code, rec.Body)
	}
	rec = h.send(http.MethodPost, "/api/v1/connections/inside/test", "application/json", `{"path":"/"}`)
	if !strings.Contains(rec.Body.String(), `"outcome": "unreachable"`) || !strings.Contains(rec.Body.String(), "internal address") {
		t.Errorf("a connection to loopback without the flag: %d %s", rec.Code, rec.Body)
	}
}
