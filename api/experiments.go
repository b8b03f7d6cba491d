package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/experiments"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
)

// defaultMinCallsPerArm is the calls an arm needs before a verdict, when the flow says none.
const defaultMinCallsPerArm = 200

// srmAlpha is below which the sample-ratio test says the split or the records are broken.
const srmAlpha = 0.001

// armReport is one arm of an experiment's report.
type armReport struct {
	calls.ArmCounts
	Weight       int      `json:"weight"`
	GoalShare    float64  `json:"goal_share"`
	GoalInterval Interval `json:"goal_interval"` // 95% Wilson
	HandoffShare float64  `json:"handoff_share"`
	// Against the first arm (the control); absent for the control itself.
	Difference          *float64  `json:"difference,omitempty"`
	DifferenceInterval  *Interval `json:"difference_interval,omitempty"`   // fixed horizon, 95%
	AlwaysValidInterval *Interval `json:"always_valid_interval,omitempty"` // 95% at every look
	PValue              *float64  `json:"p_value,omitempty"`               // two-proportion z-test
	Note                string    `json:"note,omitempty"`                  // "not enough calls yet"
}

// Interval is a low and a high bound.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

func interval(i experiments.Interval) Interval { return Interval{i.Low, i.High} }

// experimentReport is GET /reports/experiments/{experimentID}.
type experimentReport struct {
	Experiment     string      `json:"experiment"`
	Flow           string      `json:"flow"`
	Version        int         `json:"version"`
	Goal           flows.Goal  `json:"goal"`
	MinCallsPerArm int         `json:"min_calls_per_arm"`
	From           string      `json:"from"`
	To             string      `json:"to"`
	Arms           []armReport `json:"arms"`
	// SampleRatioP is the chi-square test of the arms' calls against their weights; below
	// 0.001 the split or the records are broken and no verdict is given.
	SampleRatioP float64 `json:"sample_ratio_p"`
	Verdict      string  `json:"verdict"`
	Tau          float64 `json:"always_valid_tau"`
}

// experimentSummary is one experiment of the published flows: where it runs and its arms.
type experimentSummary struct {
	Experiment string           `json:"experiment"`
	Flow       string           `json:"flow"`
	Version    int              `json:"version"`
	Node       string           `json:"node"`
	Arms       []flows.SplitArm `json:"arms"`
	Goal       flows.Goal       `json:"goal"`
}

// handleListExperiments lists the experiments the published flows' split nodes run.
func (s *Server) handleListExperiments() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.deps.Flows.List(r.Context())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		out := []experimentSummary{}
		seen := map[string]bool{}
		for _, sum := range list {
			if sum.Latest == nil {
				continue
			}
			f, err := s.deps.Flows.Published(r.Context(), sum.ID)
			if err != nil {
				s.fail(w, r, "", err)
				return
			}
			for _, n := range f.Nodes {
				if n.Type == flows.NodeSplit && !seen[n.Experiment] {
					seen[n.Experiment] = true
					out = append(out, experimentSummary{Experiment: n.Experiment, Flow: f.ID, Version: f.Version, Node: n.ID,
						Arms: n.Arms, Goal: f.Experiments[n.Experiment].Goal})
				}
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"experiments": out})
	})
}

// experimentOf finds the published flow that runs an experiment: its goal and its arms
// with their weights. Not found: no published flow has a split of it.
func (s *Server) experimentOf(ctx context.Context, id string) (*flows.Flow, []flows.SplitArm, error) {
	list, err := s.deps.Flows.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, sum := range list {
		if sum.Latest == nil {
			continue
		}
		f, err := s.deps.Flows.Published(ctx, sum.ID)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range f.Nodes {
			if n.Type == flows.NodeSplit && n.Experiment == id {
				return f, n.Arms, nil
			}
		}
	}
	return nil, nil, &errs.Error{Code: errs.NotFound, Field: "experimentID", Message: fmt.Sprintf("no published flow runs experiment %q", id)}
}

func (s *Server) handleExperimentReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := mux.Vars(r)["experimentID"]
		if !flowIDPattern.MatchString(id) {
			writeError(w, codeInvalid, "experimentID", "experimentID must be an experiment id: a letter then letters, digits, _ or - (at most 64)")
			return
		}
		from, to, _, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		f, arms, err := s.experimentOf(r.Context(), id)
		if err != nil {
			s.fail(w, r, "experimentID", err)
			return
		}
		exp := f.Experiments[id]
		counts, err := s.deps.Calls.ExperimentCounts(r.Context(), id,
			calls.Goal{Reached: exp.Goal.Reached, Outcome: exp.Goal.Outcome, NotOutcome: exp.Goal.NotOutcome}, from, to)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		rep := reportExperiment(id, f, arms, counts)
		rep.From, rep.To = from.Format("2006-01-02T15:04:05Z07:00"), to.Format("2006-01-02T15:04:05Z07:00")
		if wantsCSV(r) {
			var rows [][]string
			for _, a := range rep.Arms {
				rows = append(rows, []string{a.Arm, itoa(a.Weight), itoa(a.Calls), itoa(a.Callers), itoa(a.GoalReached),
					ftoa(a.GoalShare), ftoa(a.GoalInterval.Low), ftoa(a.GoalInterval.High), optional(a.Difference),
					optionalLow(a.AlwaysValidInterval), optionalHigh(a.AlwaysValidInterval), optional(a.PValue),
					ftoa(a.HandoffShare), ftoa(a.MeanSeconds), a.Note})
			}
			writeCSV(w, "experiment-"+id, []string{"arm", "weight", "calls", "distinct_callers", "goal_reached", "goal_share",
				"goal_low", "goal_high", "difference", "always_valid_low", "always_valid_high", "p_value", "handoff_share",
				"mean_call_seconds", "note"}, rows)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
}

// reportExperiment computes the report from the counts: per arm its share of the goal with
// its interval, and against the control the difference with its fixed-horizon and
// always-valid intervals and the z-test; the sample-ratio check; the verdict, in words,
// from the always-valid interval.
func reportExperiment(id string, f *flows.Flow, arms []flows.SplitArm, counts []calls.ArmCounts) experimentReport {
	exp := f.Experiments[id]
	rep := experimentReport{Experiment: id, Flow: f.ID, Version: f.Version, Goal: exp.Goal,
		MinCallsPerArm: exp.MinCallsPerArm, Tau: experiments.DefaultTau}
	if rep.MinCallsPerArm == 0 {
		rep.MinCallsPerArm = defaultMinCallsPerArm
	}
	byArm := map[string]calls.ArmCounts{}
	for _, c := range counts {
		byArm[c.Arm] = c
	}
	var observed, weights []int
	for _, a := range arms {
		c := byArm[a.ID]
		c.Arm = a.ID
		ar := armReport{ArmCounts: c, Weight: a.Weight, GoalInterval: interval(experiments.Wilson(c.GoalReached, c.Calls))}
		if c.Calls > 0 {
			ar.GoalShare = float64(c.GoalReached) / float64(c.Calls)
			ar.HandoffShare = float64(c.HandedOff) / float64(c.Calls)
		}
		rep.Arms = append(rep.Arms, ar)
		observed, weights = append(observed, c.Calls), append(weights, a.Weight)
	}
	rep.SampleRatioP = experiments.SampleRatioPValue(observed, weights)
	control := rep.Arms[0]
	var verdicts []string
	for i := range rep.Arms[1:] {
		a := &rep.Arms[i+1]
		if a.Calls < rep.MinCallsPerArm || control.Calls < rep.MinCallsPerArm {
			a.Note = "not enough calls yet"
			continue
		}
		p := experiments.Proportions{ControlHits: control.GoalReached, ControlN: control.Calls, TreatmentHits: a.GoalReached, TreatmentN: a.Calls}
		d, pv := p.Difference(), p.PValue()
		fixed, always := interval(p.DifferenceInterval()), interval(p.AlwaysValidInterval(experiments.DefaultTau))
		a.Difference, a.PValue, a.DifferenceInterval, a.AlwaysValidInterval = &d, &pv, &fixed, &always
		goal := goalWords(exp.Goal)
		switch {
		case always.Low > 0:
			verdicts = append(verdicts, fmt.Sprintf("%s %s more often than %s: %s points, 95%% CI %s to %s", a.Arm, goal, control.Arm, points(d), points(always.Low), points(always.High)))
		case always.High < 0:
			verdicts = append(verdicts, fmt.Sprintf("%s %s less often than %s: %s points, 95%% CI %s to %s", a.Arm, goal, control.Arm, points(d), points(always.Low), points(always.High)))
		default:
			verdicts = append(verdicts, fmt.Sprintf("no difference between %s and %s shown yet: %s points, 95%% CI %s to %s", a.Arm, control.Arm, points(d), points(always.Low), points(always.High)))
		}
	}
	switch {
	case rep.SampleRatioP < srmAlpha:
		rep.Verdict = fmt.Sprintf("the arms' calls do not match their weights (sample-ratio p = %.2g): the split or the call records are broken, so there is no verdict", rep.SampleRatioP)
	case len(verdicts) == 0:
		rep.Verdict = fmt.Sprintf("not enough calls yet: each arm needs %d", rep.MinCallsPerArm)
	default:
		rep.Verdict = joinSentences(verdicts)
	}
	return rep
}

func goalWords(g flows.Goal) string {
	switch {
	case g.Reached != "":
		return "reaches " + g.Reached
	case g.Outcome != "":
		return "ends in " + map[string]string{"self_service": "self-service", "handoff": "a hand-off", "caller_hung_up": "the caller hanging up", "error": "an error"}[g.Outcome]
	case g.NotOutcome != "":
		return "avoids " + map[string]string{"self_service": "self-service", "handoff": "a hand-off", "caller_hung_up": "the caller hanging up", "error": "an error"}[g.NotOutcome]
	}
	return "reaches its goal"
}

// points says a difference of shares in percentage points, signed: "+7.5".
func points(d float64) string { return fmt.Sprintf("%+.1f", 100*d) }

func joinSentences(ss []string) string { return strings.Join(ss, "; ") }

func optional(f *float64) string {
	if f == nil || math.IsNaN(*f) {
		return ""
	}
	return ftoa(*f)
}

func optionalLow(i *Interval) string {
	if i == nil {
		return ""
	}
	return ftoa(i.Low)
}

func optionalHigh(i *Interval) string {
	if i == nil {
		return ""
	}
	return ftoa(i.High)
}
