package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
)

const experimentFlow = `{"schema":"memberline.flow/v1","id":"exp","name":"Exp","default_language":"en-US","languages":{"en-US":{}},
"start":"t","nodes":[
 {"id":"t","type":"split","experiment":"warm-greeting","arms":[{"id":"control","weight":50,"next":"a"},{"id":"warm","weight":50,"next":"b"}]},
 {"id":"a","type":"hangup","say":{"en-US":"Hello."}},
 {"id":"b","type":"hangup","say":{"en-US":"Lovely to hear from you."}}],
"experiments":{"warm-greeting":{"goal":{"outcome":"self_service"},"min_calls_per_arm":200}}}`

// The experiment report, from call records of 1,000 calls an arm: the control reached
// self-service on 300, the warm greeting on 375. The figures are checked against values
// computed independently with Python's standard library (see experiments' tests): the
// z-test's p 0.000390, the fixed-horizon difference interval [0.033684, 0.116316], the
// always-valid one [0.010771, 0.139229], the Wilson interval of 300/1000
// [0.272407, 0.329124].
func TestExperimentReport(t *testing.T) {
	h, records := newFullHarness(t)
	if rec := h.req(http.MethodPost, "/api/v1/flows", `{"id":"exp","document":`+experimentFlow+`}`); rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	if rec := h.req(http.MethodPost, "/api/v1/flows/exp/publish", `{"message":"the experiment"}`); rec.Code != http.StatusCreated {
		t.Fatalf("publish = %d %s", rec.Code, rec.Body)
	}
	for i := range 2000 {
		arm, hit := "control", i < 300
		if i >= 1000 {
			arm, hit = "warm", i < 1375
		}
		outcome := calls.OutcomeHandoff
		if hit {
			outcome = calls.OutcomeSelfService
		}
		records.Record(calls.Event{Kind: calls.KindStep, CallSID: fmt.Sprintf("CAexp%05d", i), At: testNow, Route: "voice",
			Caller: fmt.Sprintf("+1404555%04d", i%1500), Recognized: "unknown", Flow: "exp", Version: 1,
			Nodes: []string{"t"}, Outcome: outcome, Arms: map[string]string{"warm-greeting": arm}})
	}
	if err := records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, body := h.api(http.MethodGet, "/api/v1/reports/experiments", ""); code != http.StatusOK ||
		!strings.Contains(body, `"experiment": "warm-greeting"`) || !strings.Contains(body, `"flow": "exp"`) || !strings.Contains(body, `"node": "t"`) {
		t.Errorf("the experiments = %d %s", code, body)
	}
	code, body := h.api(http.MethodGet, "/api/v1/reports/experiments/warm-greeting?from=2026-11-01&to=2026-12-01", "")
	if code != http.StatusOK {
		t.Fatalf("report = %d %s", code, body)
	}
	var rep experimentReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Arms) != 2 || rep.Arms[0].Arm != "control" || rep.Arms[0].Calls != 1000 || rep.Arms[1].GoalReached != 375 {
		t.Fatalf("arms %+v", rep.Arms)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 5e-5 {
			t.Errorf("%s = %.6f, want %.6f", what, got, want)
		}
	}
	warm := rep.Arms[1]
	near("p", *warm.PValue, 0.000390)
	near("difference", *warm.Difference, 0.075)
	near("fixed low", warm.DifferenceInterval.Low, 0.033684)
	near("fixed high", warm.DifferenceInterval.High, 0.116316)
	near("always-valid low", warm.AlwaysValidInterval.Low, 0.010771)
	near("always-valid high", warm.AlwaysValidInterval.High, 0.139229)
	near("Wilson low", rep.Arms[0].GoalInterval.Low, 0.272407)
	near("Wilson high", rep.Arms[0].GoalInterval.High, 0.329124)
	if rep.Arms[0].Difference != nil || rep.Arms[0].Callers != 1000 || warm.Callers != 1000 {
		t.Errorf("control %+v, warm callers %d", rep.Arms[0], warm.Callers)
	}
	if want := "warm ends in self-service more often than control: +7.5 points, 95% CI +1.1 to +13.9"; rep.Verdict != want {
		t.Errorf("verdict %q, want %q", rep.Verdict, want)
	}
	if rep.SampleRatioP < 0.99 {
		t.Errorf("sample-ratio p %v for 1000/1000 at 50/50", rep.SampleRatioP)
	}
	// CSV, formula-safe like every CSV.
	rec := h.req(http.MethodGet, "/api/v1/reports/experiments/warm-greeting?from=2026-11-01&to=2026-12-01&format=csv", "")
	if lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n"); rec.Code != http.StatusOK || len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "arm,weight,calls,distinct_callers,goal_reached") || !strings.HasPrefix(lines[2], "warm,50,1000,1000,375,0.3750") {
		t.Errorf("CSV = %d %s", rec.Code, rec.Body)
	}
	// An experiment no published flow runs is not found.
	if code, body := h.api(http.MethodGet, "/api/v1/reports/experiments/nope", ""); code != http.StatusNotFound || !strings.Contains(body, `"experimentID"`) {
		t.Errorf("unknown experiment = %d %s", code, body)
	}
}

// A broken split (the arms' calls far from their weights) gets no verdict; too few calls
// say so.
func TestExperimentVerdicts(t *testing.T) {
	f := mustLoadDoc(t, experimentFlow)
	arms := f.Nodes[0].Arms
	srm := reportExperiment("warm-greeting", f, arms, []calls.ArmCounts{{Arm: "control", Calls: 5300, GoalReached: 1600}, {Arm: "warm", Calls: 4700, GoalReached: 1500}})
	if !strings.Contains(srm.Verdict, "split or the call records are broken") {
		t.Errorf("a 5300/4700 split at 50/50: %q", srm.Verdict)
	}
	few := reportExperiment("warm-greeting", f, arms, []calls.ArmCounts{{Arm: "control", Calls: 150, GoalReached: 40}, {Arm: "warm", Calls: 150, GoalReached: 60}})
	if few.Arms[1].Note != "not enough calls yet" || few.Arms[1].PValue != nil || !strings.Contains(few.Verdict, "not enough calls yet") {
		t.Errorf("150 calls an arm: %+v %q", few.Arms[1], few.Verdict)
	}
}

func mustLoadDoc(t *testing.T, doc string) *flows.Flow {
	t.Helper()
	f, err := flows.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A live call through a split is recorded with its arm, and the report counts it.
func TestLiveCallRecordsItsArm(t *testing.T) {
	h, records := newFullHarness(t)
	if rec := h.req(http.MethodPost, "/api/v1/flows", `{"id":"exp","document":`+experimentFlow+`}`); rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	h.req(http.MethodPost, "/api/v1/flows/exp/publish", `{"message":"the experiment"}`)
	if rec := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"exp"}`, h.bindingsMatch()...); rec.Code != http.StatusOK {
		t.Fatalf("bind = %d %s", rec.Code, rec.Body)
	}
	h.placeCall("CAlivesplit0000000000000000000001", "+14045559876")
	if err := records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := h.api(http.MethodGet, "/api/v1/reports/experiments/warm-greeting?from=2026-11-01&to=2026-12-01", "")
	var rep experimentReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK {
		t.Fatalf("report = %d %s", code, body)
	}
	total := 0
	for _, a := range rep.Arms {
		total += a.Calls
	}
	if total != 1 {
		t.Errorf("the live call is counted %d times: %+v", total, rep.Arms)
	}
}

// Simulation pins arms; a pin of an arm the experiment lacks is refused, naming it.
func TestSimulationPinsArms(t *testing.T) {
	h, _ := newFullHarness(t)
	if rec := h.req(http.MethodPost, "/api/v1/flows", `{"id":"exp","document":`+experimentFlow+`}`); rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	for arm, says := range map[string]string{"control": "Hello.", "warm": "Lovely to hear from you."} {
		code, body := h.api(http.MethodPost, "/api/v1/flows/exp/simulate", `{"caller":{"phone":"+14045550123"},"arms":{"warm-greeting":"`+arm+`"}}`)
		if code != http.StatusOK || !strings.Contains(body, says) || !strings.Contains(body, "(pinned)") {
			t.Errorf("pinned %s = %d %s", arm, code, body)
		}
	}
	code, body := h.api(http.MethodPost, "/api/v1/flows/exp/simulate", `{"caller":{"phone":"+14045550123"},"arms":{"warm-greeting":"hot"}}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `"field": "arms.warm-greeting"`) || !strings.Contains(body, `has no arm \"hot\"`) {
		t.Errorf("an unknown arm = %d %s", code, body)
	}
}
