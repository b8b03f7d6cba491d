package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
)

// Simulation.

// simProfile is an inline member of a simulation: lookup's member with its activity
// (relation upcoming, current or recent, worked out from now when empty) and the
// free-form attributes templates read.
type simProfile struct {
	lookup.Member
	Attributes map[string]string `json:"attributes"`
	Activity   *activityBody     `json:"activity"`
}

type simulateBody struct {
	Version *int `json:"version"` // omitted: the draft
	Caller  struct {
		Phone   string       `json:"phone"`   // resolved through the directory, as live
		Profile *simProfile  `json:"profile"` // or an inline member
		Members []simProfile `json:"members"` // or several (a shared number)
		// Trust is the caller's trust level at the start (suspicious, unverified,
		// verified). When it is not given, the call has the trust a live call with the same
		// parameters would have: from StirVerstat, and unverified without it (as most
		// calls arrive); the answer's trust_source says which.
		Trust       string `json:"trust"`
		StirVerstat string `json:"stir_verstat"`
		// PIN is the PIN the simulated member has: a verify node accepts it. Simulations
		// never read stored PINs or count toward the lockout.
		PIN string `json:"pin"`
	} `json:"caller"`
	Now    string            `json:"now"`
	Inputs []json.RawMessage `json:"inputs"` // "1", "yes please", "" (no input), or {"digits":..,"speech":..}
	// Arms pins arms of experiments (experiment → arm); otherwise the caller's hash
	// decides, as on a live call.
	Arms map[string]string `json:"arms"`
	// CallSID is the simulated call's SID, which its call state is bound to as a live
	// call's is; simulatedCallSID when omitted.
	CallSID string `json:"call_sid"`
	// Fetch answers fetch nodes by node id, as a flow test's mocks do. LiveFetch lets a
	// fetch node without a mock call its connection, as a live call would; without it,
	// such a node is reported as not mocked and takes its error way.
	Fetch     map[string]flows.FetchMock `json:"fetch"`
	LiveFetch bool                       `json:"live_fetch"`
}

// simulatedCallSID is a simulated call's SID when none is given.
const simulatedCallSID = "CA00000000000000000000000000000000"

type simStep struct {
	flows.SimStep
	TwiML string `json:"twiml"`
}

type simAnswer struct {
	flows.Transcript
	Steps  []simStep    `json:"steps"`
	Now    time.Time    `json:"now"`
	Caller flows.Caller `json:"caller"`
	// TrustSource says where caller.trust came from: "chosen", or "stir_verstat" (the
	// value a live call with that StirVerstat, or without one, would have).
	TrustSource string `json:"trust_source"`
	Error       string `json:"error,omitempty"`
}

// member is the profile as the engine reads it, converted as the edge converts a
// directory member.
func (p simProfile) member(now time.Time, i int, edge Edge) (flows.Member, error) {
	cm := lookup.CallerMember{Member: p.Member}
	if cm.ID == "" {
		cm.ID = "sim-" + strconv.Itoa(i+1)
	}
	if p.Activity != nil {
		a, err := p.Activity.activity("activity.")
		if err != nil {
			return flows.Member{}, err
		}
		if a.Kind == "" {
			a.Kind = "trip"
		}
		if a.Relation == "" {
			a.Relation = flows.RelationAt(now, a.StartsAt, a.EndsAt)
		}
		cm.Activity = &a
	}
	m := edge.EngineMember(cm)
	m.Attributes = p.Attributes
	return m, nil
}

func simInput(raw json.RawMessage) (flows.Input, error) {
	var in flows.Input
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return flows.ScriptInput(s), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, errors.New(`must be a string ("1", "yes please", "" for no input) or {"digits":..,"speech":..}`)
	}
	return in, nil
}

// handleSimulate runs a scripted call through the draft or a version with the engine's
// Simulate (the same Start, Resume and Follow as live calls) and renders every turn with
// the same TwiML encoder.
func (s *Server) handleSimulate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		var body simulateBody
		if decodeJSON(w, r, &body) != nil {
			return
		}
		ctx := r.Context()
		now := s.cfg.Now()
		if body.Now != "" {
			t, err := time.Parse(time.RFC3339, body.Now)
			if err != nil {
				writeError(w, codeInvalid, "now", "now must be an RFC 3339 time like 2026-11-26T10:00:00-05:00")
				return
			}
			now = t
		}
		if body.CallSID != "" && !callSIDPattern.MatchString(body.CallSID) {
			writeError(w, codeInvalid, "call_sid", "call_sid must be a call SID: letters and digits, at most 64 (CA…)")
			return
		}
		script := make([]flows.Input, len(body.Inputs))
		for i, raw := range body.Inputs {
			in, err := simInput(raw)
			if err != nil {
				writeError(w, codeInvalid, "inputs."+strconv.Itoa(i), "inputs["+strconv.Itoa(i)+"] "+err.Error())
				return
			}
			script[i] = in
		}
		caller, ok := s.simCaller(w, r, &body, now)
		if !ok {
			return
		}
		var (
			f   *flows.Flow
			err error
		)
		if body.Version == nil {
			f, err = s.deps.Flows.Flow(ctx, id, 0)
			if err == nil {
				// Not its tests: a failing test is what a simulation helps to fix.
				if errs := f.ValidateWith(s.validateOptions(ctx)).Errors; len(errs) > 0 {
					writeProblems(w, "the draft", errs)
					return
				}
			}
		} else {
			if !validVersion(*body.Version) {
				writeError(w, codeInvalid, "version", "version must be a version number (1, 2, ...); omit it for the draft")
				return
			}
			f, err = s.deps.Flows.Flow(ctx, id, *body.Version)
		}
		if err != nil {
			field := "flowID"
			if body.Version != nil {
				field = "version"
			}
			s.fail(w, r, field, err)
			return
		}
		env := flows.SimEnv{
			Identify: func(number string) *flows.Member { return s.deps.Edge.Member(ctx, number, now) },
			LoadFlow: func(id string) (*flows.Flow, error) { return s.deps.Flows.Published(ctx, id) },
			Verify:   func(_, pin string) bool { return body.Caller.PIN != "" && pin == body.Caller.PIN },
		}
		if ps := f.PinProblems("arms", body.Arms); len(ps) > 0 {
			writeError(w, codeInvalid, ps[0].Path, ps[0].Error())
			return
		}
		if ps := f.MockProblems("fetch", body.Fetch); len(ps) > 0 {
			writeError(w, codeInvalid, ps[0].Path, ps[0].Error())
			return
		}
		if body.LiveFetch && s.deps.FlowFetcher == nil {
			writeError(w, codeInvalid, "live_fetch", "live fetches need connections, which this service does not have")
			return
		}
		env.Fetch = s.simFetch(ctx, body.Fetch, body.LiveFetch)
		call := flows.Call{Now: now, Caller: caller, CallSID: cmp.Or(body.CallSID, simulatedCallSID), ExperimentKey: s.cfg.ExperimentKey, Arms: body.Arms}
		tr, simErr := flows.Simulate(f, call, script, env)
		ans := simAnswer{Transcript: tr, Steps: make([]simStep, 0, len(tr.Steps)), Now: now, Caller: caller, TrustSource: "stir_verstat"}
		if body.Caller.Trust != "" {
			ans.TrustSource = "chosen"
		}
		if ans.Caller.Members == nil {
			ans.Caller.Members = []flows.Member{}
		}
		if simErr != nil {
			ans.Error = simErr.Error()
		}
		for _, st := range tr.Steps {
			twiml, err := s.deps.Edge.TwiML(st.Turn, cmp.Or(body.CallSID, simulatedCallSID))
			if err != nil {
				s.fail(w, r, "", err)
				return
			}
			ans.Steps = append(ans.Steps, simStep{SimStep: st, TwiML: string(twiml)})
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

// simFetch answers a simulation's fetch nodes: a mock, else (live) the connection as a
// live call would reach it, within the node's timeout.
func (s *Server) simFetch(ctx context.Context, mocks map[string]flows.FetchMock, live bool) func(flows.FetchRequest) (flows.Fetched, bool) {
	mocked := flows.MockFetches(mocks)
	return func(req flows.FetchRequest) (flows.Fetched, bool) {
		if mocked != nil {
			if res, ok := mocked(req); ok {
				return res, true
			}
		}
		if !live {
			return flows.Fetched{}, false
		}
		fctx, cancel := context.WithTimeout(ctx, flows.MaxFetchTimeout)
		defer cancel()
		res := s.deps.FlowFetcher.Fetch(fctx, req)
		res.Note = "live"
		return res, true
	}
}

// simCaller builds the simulated caller: a directory number (resolved as a live call
// would be, at the simulated time), inline profiles, or nobody (a withheld number).
func (s *Server) simCaller(w http.ResponseWriter, r *http.Request, body *simulateBody, now time.Time) (flows.Caller, bool) {
	c := body.Caller
	caller := flows.Caller{Trust: c.Trust}
	if caller.Trust == "" {
		caller.Trust = flows.TrustFromStirVerstat(c.StirVerstat)
	}
	profiles := c.Members
	if c.Profile != nil {
		profiles = append([]simProfile{*c.Profile}, profiles...)
	}
	if c.Phone != "" {
		phone, err := lookup.Normalize(c.Phone, s.cfg.DefaultRegion)
		if err != nil {
			writeError(w, codeInvalid, "caller.phone", fmt.Sprintf("%q is not a phone number: %v", c.Phone, err))
			return caller, false
		}
		caller.Phone = phone
		if len(profiles) == 0 {
			live, err := s.deps.Edge.Caller(r.Context(), phone, now)
			if err != nil {
				s.fail(w, r, "", err)
				return caller, false
			}
			if len(live.Members) > 0 {
				caller.Members = live.Members
			}
			return caller, true
		}
	}
	for i, p := range profiles {
		m, err := p.member(now, i, s.deps.Edge)
		if err != nil {
			writeError(w, codeInvalid, "caller.profile."+strings.TrimPrefix(fieldOf(err), "caller.profile."), err.Error())
			return caller, false
		}
		caller.Members = append(caller.Members, m)
	}
	return caller, true
}

func fieldOf(err error) string {
	if fe := errs.Of(err); fe != nil {
		return fe.Field
	}
	return ""
}
