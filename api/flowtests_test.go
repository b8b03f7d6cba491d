package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
)

// withFlowTests is the default document carrying tests.
func withFlowTests(t *testing.T, doc []byte, tests string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	m["tests"] = json.RawMessage(tests)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A flow test that fails blocks publish, located at its path, and the fixed test lets the
// flow publish. Directory callers run against the directory, as a simulation does.
func TestFailingFlowTestBlocksPublish(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	h.seedMembers()
	const tests = `[
		{"name": "dana-says-yes", "caller": {"phone": "+14045550123"}, "trust": "verified", "inputs": ["yes please"],
		 "expect": {"end": "handoff", "says": ["Welcome back, Dana."], "handoff": {"queue": "agents", "context": ["member_id"]}}},
		{"name": "dana-unverified", "caller": {"phone": "(404) 555-0123"}, "inputs": ["2"],
		 "expect": {"never_says": [%q], "visits": ["offer_verify"]}}
	]`
	save := func(never string) {
		t.Helper()
		get := h.req(http.MethodGet, "/api/v1/flows/default", "")
		doc := withFlowTests(t, get.Body.Bytes(), strings.Replace(tests, "%q", `"`+never+`"`, 1))
		if rec := h.req(http.MethodPut, "/api/v1/flows/default", doc, "If-Match", get.Header().Get("ETag"), "Content-Type", "application/json"); rec.Code != http.StatusOK {
			t.Fatalf("save = %d %s", rec.Code, rec.Body)
		}
	}
	// "Welcome back" is what an unverified Dana hears: the expectation is wrong.
	save("Welcome back")
	rec := h.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"with tests"}`, "Content-Type", "application/json")
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("publish with a failing test = %d %s", rec.Code, rec.Body)
	}
	var pub struct {
		Error  apiError
		Errors []flows.Problem
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &pub); err != nil {
		t.Fatal(err)
	}
	if len(pub.Errors) != 1 || pub.Errors[0].Path != "tests.dana-unverified.expect.never_says.0" || pub.Error.Field != pub.Errors[0].Path ||
		!strings.Contains(pub.Errors[0].Message, "Welcome back, Dana.") {
		t.Fatalf("publish errors = %+v", pub)
	}
	// A simulation of the draft runs: a failing test is what a simulation helps to fix.
	if sim := h.req(http.MethodPost, "/api/v1/flows/default/simulate", `{"caller": {"phone": "+14045550123"}}`, "Content-Type", "application/json"); sim.Code != http.StatusOK {
		t.Errorf("simulate of a draft whose test fails = %d %s", sim.Code, sim.Body)
	}
	val := h.req(http.MethodPost, "/api/v1/flows/default/validate", "")
	if !strings.Contains(val.Body.String(), `"valid": false`) || !strings.Contains(val.Body.String(), "tests.dana-unverified.expect.never_says.0") {
		t.Errorf("validate does not report the failing test: %s", val.Body)
	}
	save("Atlanta")
	val = h.req(http.MethodPost, "/api/v1/flows/default/validate", "")
	if !strings.Contains(val.Body.String(), `"valid": true`) || strings.Contains(val.Body.String(), "not run") {
		t.Errorf("validate after the fix: %s", val.Body)
	}
	if rec := h.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"with tests"}`, "Content-Type", "application/json"); rec.Code != http.StatusCreated {
		t.Fatalf("publish after the fix = %d %s", rec.Code, rec.Body)
	}
}
