package api

import (
	"errors"
	"net/http"

	"github.com/memberline/memberline/flows"
)

// Flow tests on demand: the console's Tests panel runs a flow's tests (of the saved draft,
// or of a document sent in the body) and shows each case; validate, save and publish run
// the same tests and report only their failures.

type testsSummary struct {
	Tests   int `json:"tests"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

type testCase struct {
	flows.TestResult
	Passed bool `json:"passed"`
}

func (s *Server) handleRunTests() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		f, probs, ok := s.documentOrDraft(w, r, id)
		if !ok {
			return
		}
		if len(probs) == 0 {
			probs = f.ValidateWith(s.validateOptions(r.Context())).Errors
		}
		if len(probs) > 0 {
			writeProblems(w, "the flow document", probs)
			return
		}
		answer := struct {
			Flow    string       `json:"flow"`
			Summary testsSummary `json:"summary"`
			Tests   []testCase   `json:"tests"`
		}{Flow: id, Tests: []testCase{}}
		for _, res := range f.RunTests(*s.testEnv(r.Context())) {
			c := testCase{TestResult: res, Passed: res.Passed()}
			switch {
			case res.Skipped != "":
				answer.Summary.Skipped++
			case c.Passed:
				answer.Summary.Passed++
			default:
				answer.Summary.Failed++
			}
			answer.Tests = append(answer.Tests, c)
		}
		answer.Summary.Tests = len(answer.Tests)
		writeJSON(w, http.StatusOK, answer)
	})
}

// documentOrDraft reads the flow document in the body, or the saved draft when the body
// is empty, and checks its shape: a document that is not a flow answers its problems.
func (s *Server) documentOrDraft(w http.ResponseWriter, r *http.Request, id string) (*flows.Flow, []flows.Problem, bool) {
	doc, ok := readFlowBody(w, r, true)
	if !ok {
		return nil, nil, false
	}
	if doc == nil {
		d, err := s.deps.Flows.Draft(r.Context(), id)
		if err != nil {
			s.fail(w, r, "flowID", err)
			return nil, nil, false
		}
		doc = d.Document
	}
	f, err := flows.CheckDocument(id, doc)
	var probs flows.Problems
	switch {
	case errors.As(err, &probs):
		return nil, probs, true
	case err != nil:
		s.fail(w, r, "", err)
		return nil, nil, false
	}
	return f, nil, true
}
