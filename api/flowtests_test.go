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

// The tests route runs every case and answers each: the saved draft's (the default flow's
// shipped tests pass), a document sent in the body (a failing and a directory case), and a
// document that is not a flow gets its problems.
func TestRunFlowTests(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	h.seedMembers()
	type answer struct {
		Summary testsSummary
		Tests   []struct {
			Name       string
			Passed     bool
			Skipped    string
			Failures   []flows.Problem
			Transcript *flows.Transcript
		}
	}
	run := func(body string) answer {
		t.Helper()
		rec := h.req(http.MethodPost, "/api/v1/flows/default/tests", body, "Content-Type", "application/json")
		if rec.Code != http.StatusOK {
			t.Fatalf("tests = %d %s", rec.Code, rec.Body)
		}
		var a answer
		if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	shipped := run("")
	if n := len(flows.Default().Tests); n == 0 || shipped.Summary != (testsSummary{Tests: n, Passed: n}) || len(shipped.Tests) != n {
		t.Fatalf("the default flow's tests: %+v", shipped.Summary)
	}
	for _, c := range shipped.Tests {
		if !c.Passed || c.Transcript == nil || len(c.Transcript.Steps) == 0 {
			t.Errorf("%s: passed %v, transcript %v", c.Name, c.Passed, c.Transcript)
		}
	}

	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	doc := withFlowTests(t, get.Body.Bytes(), `[
		{"name": "dana-from-the-directory", "caller": {"phone": "+14045550123"}, "trust": "verified", "inputs": ["yes please"],
		 "expect": {"end": "handoff", "says": ["Atlanta"]}},
		{"name": "wrong-queue", "caller": {}, "inputs": ["agent"], "expect": {"handoff": {"queue": "sales"}}}
	]`)
	a := run(doc)
	if a.Summary != (testsSummary{Tests: 2, Passed: 1, Failed: 1}) {
		t.Fatalf("summary = %+v", a.Summary)
	}
	if c := a.Tests[0]; c.Name != "dana-from-the-directory" || !c.Passed {
		t.Errorf("the directory case: %+v", c)
	}
	if c := a.Tests[1]; c.Passed || len(c.Failures) != 1 || c.Failures[0].Path != "tests.wrong-queue.expect.handoff.queue" {
		t.Errorf("the failing case: %+v", c)
	}
	// The draft was not changed by running a document's tests.
	if again := run(""); again.Summary != shipped.Summary {
		t.Errorf("the draft's tests after a document's run: %+v", again.Summary)
	}

	rec := h.req(http.MethodPost, "/api/v1/flows/default/tests", `{"schema": "memberline.flow/v1", "nodes": []}`, "Content-Type", "application/json")
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"field"`) {
		t.Errorf("a document that is not a flow = %d %s", rec.Code, rec.Body)
	}
}
