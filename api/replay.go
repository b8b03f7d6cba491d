package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/errs"
)

// Replay: recorded calls run through a draft (or a version) with their own inputs, caller
// and clock, to see which would go another way before it is published. It writes no call
// record and changes no member; members are looked up as a simulation looks them up.

// maxReplay bounds the calls one request replays.
const maxReplay = 200

type replayBody struct {
	From     string   `json:"from"` // a period of calls that started in it...
	To       string   `json:"to"`
	CallSIDs []string `json:"call_sids"` // ...or these calls
	Version  *int     `json:"version"`   // omitted: the draft
	Limit    int      `json:"limit"`     // at most this many calls (50; at most maxReplay)
}

type replayCall struct {
	CallSID   string    `json:"call_sid"`
	StartedAt time.Time `json:"started_at"`
	MemberID  string    `json:"member_id,omitempty"`
	// Replayed is the comparison; Reason why the call could not be replayed instead.
	*flows.ReplayResult
	Reason string `json:"reason,omitempty"`
}

type replaySummary struct {
	Calls       int `json:"calls"`
	Same        int `json:"same"`
	Changed     int `json:"changed"`
	NotReplayed int `json:"not_replayed"`
}

func (s *Server) handleReplay() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		var body replayBody
		if decodeJSON(w, r, &body) != nil {
			return
		}
		from, err := parseTime("from", body.From)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		to, err := parseTime("to", body.To)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		limit := body.Limit
		switch {
		case limit == 0:
			limit = 50
		case limit < 0 || limit > maxReplay:
			writeError(w, codeInvalid, "limit", "limit must be a whole number from 1 to "+strconv.Itoa(maxReplay))
			return
		}
		if len(body.CallSIDs) > limit {
			writeError(w, codeInvalid, "call_sids", "at most "+strconv.Itoa(limit)+" calls at once (limit)")
			return
		}
		for i, sid := range body.CallSIDs {
			if !callSIDPattern.MatchString(sid) {
				writeError(w, codeInvalid, "call_sids."+strconv.Itoa(i), "call_sids must be call SIDs: letters and digits, at most 64 (CA…)")
				return
			}
		}
		if len(body.CallSIDs) == 0 && (from.IsZero() || to.IsZero() || !from.Before(to)) {
			writeError(w, codeInvalid, "from", "give call_sids, or a period: from and to (RFC 3339, from before to)")
			return
		}
		ctx := r.Context()
		var f *flows.Flow
		if body.Version == nil {
			f, err = s.deps.Flows.Flow(ctx, id, 0)
		} else if !validVersion(*body.Version) {
			writeError(w, codeInvalid, "version", "version must be a version number (1, 2, ...); omit it for the draft")
			return
		} else {
			f, err = s.deps.Flows.Flow(ctx, id, *body.Version)
		}
		if err != nil {
			s.fail(w, r, "flowID", err)
			return
		}
		// Its own tests may fail: replay is how to see what a change does.
		if errs := f.ValidateWith(s.validateOptions(ctx)).Errors; len(errs) > 0 {
			writeProblems(w, "the flow", errs)
			return
		}
		sids := body.CallSIDs
		if len(sids) == 0 {
			page, err := s.deps.Calls.List(ctx, calls.Filter{From: from, To: to, Limit: limit})
			if err != nil {
				s.fail(w, r, "", err)
				return
			}
			for _, c := range page.Calls {
				sids = append(sids, c.CallSID)
			}
		}
		answer := struct {
			Flow    string        `json:"flow"`
			Version int           `json:"version"`
			Summary replaySummary `json:"summary"`
			Calls   []replayCall  `json:"calls"`
		}{Flow: id, Version: f.Version, Calls: []replayCall{}}
		for _, sid := range sids {
			c, err := s.deps.Calls.Get(ctx, sid)
			if err != nil {
				if errors.Is(err, errs.ErrNotFound) {
					answer.Calls = append(answer.Calls, replayCall{CallSID: sid, Reason: "no record of this call"})
					continue
				}
				s.fail(w, r, "", err)
				return
			}
			answer.Calls = append(answer.Calls, s.replayOne(r, f, c, false))
		}
		for _, c := range answer.Calls {
			switch {
			case c.ReplayResult == nil:
				answer.Summary.NotReplayed++
			case c.Same:
				answer.Summary.Same++
			default:
				answer.Summary.Changed++
			}
		}
		answer.Summary.Calls = len(answer.Calls)
		writeJSON(w, http.StatusOK, answer)
	})
}

// replayOne replays one recorded call: its member as stored now (at the call's clock), its
// trust, its inputs; the transcript is kept when asked.
func (s *Server) replayOne(r *http.Request, f *flows.Flow, c calls.Call, transcript bool) replayCall {
	ctx := r.Context()
	out := replayCall{CallSID: c.CallSID, StartedAt: c.StartedAt, MemberID: c.MemberID}
	switch {
	case c.Flow != "" && c.Flow != f.ID:
		out.Reason = "the call was on flow " + strconv.Quote(c.Flow)
		return out
	case c.Recognized == "household":
		out.Reason = "a shared number: the records do not keep who else was on it"
		return out
	case c.Recognized == "error":
		out.Reason = "the call was answered with the fallback"
		return out
	}
	rc := flows.RecordedCall{Now: c.StartedAt, Caller: flows.Caller{Trust: c.Trust}, Outcome: c.Outcome, Arms: c.Arms}
	if c.MemberID != "" && c.Recognized == "member" {
		// A member no longer in the directory calls as unknown.
		if m := s.deps.Edge.Member(ctx, c.MemberID, c.StartedAt); m != nil {
			rc.Caller.Members = []flows.Member{*m}
		}
	}
	for _, st := range c.Steps {
		step := flows.RecordedStep{Nodes: st.Nodes, Input: st.Input, Continued: st.Route == "fetch"}
		for _, f := range st.Fetches {
			step.Fetches = append(step.Fetches, flows.FetchRecord{Node: f.Node, Connection: f.Connection, Path: f.Path,
				Status: f.Status, Outcome: f.Outcome, DurationMS: f.DurationMS, Saved: f.Saved})
		}
		rc.Steps = append(rc.Steps, step)
	}
	res, err := flows.Replay(f, rc, flows.SimEnv{
		LoadFlow: func(id string) (*flows.Flow, error) { return s.deps.Flows.Published(ctx, id) },
	})
	if err != nil {
		out.Reason = err.Error()
		return out
	}
	if !transcript {
		res.Transcript = nil
	}
	out.ReplayResult = &res
	return out
}
