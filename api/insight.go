package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/outbound"
)

// Insight for the console: traffic on a flow version's graph, a call's journey with what
// the caller heard, repeat callers and the member segments.

func (s *Server) handleTraffic() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		from, to, _, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		var f *flows.Flow
		if v := r.URL.Query().Get("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || !validVersion(n) {
				writeError(w, codeInvalid, "version", "version must be a version number (1, 2, ...); omit it for the latest published")
				return
			}
			f, err = s.deps.Flows.Flow(r.Context(), id, n)
			if err != nil {
				s.fail(w, r, "version", err)
				return
			}
		} else if f, err = s.deps.Flows.Published(r.Context(), id); err != nil {
			s.fail(w, r, "flowID", err)
			return
		}
		t, err := s.deps.Calls.Traffic(r.Context(), id, f.Version, from, to)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Flow    string    `json:"flow"`
			Version int       `json:"version"`
			From    time.Time `json:"from"`
			To      time.Time `json:"to"`
			calls.Traffic
		}{id, f.Version, from, to, t})
	})
}

// journeyStep is one webhook of a call: what the record keeps, and what the caller heard.
type journeyStep struct {
	calls.Step
	Said []string `json:"said"`
}

func (s *Server) handleJourney() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, ok := pathCallSID(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		c, err := s.deps.Calls.Get(ctx, sid)
		if err != nil {
			s.fail(w, r, "callSID", err)
			return
		}
		answer := struct {
			Call  calls.Call    `json:"call"`
			Steps []journeyStep `json:"steps"`
			// Heard says how the words were found: replayed through the version the call ran
			// with its own inputs and clock and the member as stored now; "" when they could
			// not be (with Reason).
			Heard  string `json:"heard,omitempty"`
			Reason string `json:"reason,omitempty"`
			// Callback is the callback the caller asked for on this call, with its tries.
			Callback *callbackView `json:"callback,omitempty"`
			// Messages are the messages the call queued, with their status (never their
			// text).
			Messages []outbound.Message `json:"messages,omitempty"`
		}{Steps: make([]journeyStep, len(c.Steps))}
		if s.deps.Messages != nil {
			if ms, err := s.deps.Messages.MessagesOf(ctx, sid); err == nil {
				answer.Messages = ms
			}
		}
		if s.deps.Callbacks != nil {
			if cb, err := s.deps.Callbacks.ForCall(ctx, sid); err == nil {
				v := s.viewCallback(r, cb)
				answer.Callback = &v
			}
		}
		for i, st := range c.Steps {
			answer.Steps[i] = journeyStep{Step: st, Said: []string{}}
		}
		var f *flows.Flow
		if c.Flow != "" && c.FlowVersion != 0 {
			f, err = s.deps.Flows.Flow(ctx, c.Flow, c.FlowVersion)
		}
		switch {
		case f == nil && err == nil:
			answer.Reason = "the call ran no published flow version"
		case err != nil:
			answer.Reason = "its flow version cannot be read: " + err.Error()
		default:
			rc := s.replayOne(r, f, c, true)
			if rc.ReplayResult == nil {
				answer.Reason = rc.Reason
				break
			}
			answer.Heard = "replayed through version " + strconv.Itoa(f.Version) + " with the call's inputs and clock, and the member as stored now"
			if !rc.Same {
				answer.Reason = "replayed with the member as stored now, the call goes another way at webhook " + strconv.Itoa(rc.Turn) +
					": what was said from there on is not shown"
			}
			// A replay counts the redirect after a fetch node's words with the webhook
			// before it: those steps have their words there.
			j := 0
			for i, st := range c.Steps {
				if st.Route == "fetch" && i > 0 {
					continue
				}
				if j < len(rc.Transcript.Steps) && (rc.Same || j < rc.Turn) {
					answer.Steps[i].Said = rc.Transcript.Steps[j].Said
				}
				j++
			}
		}
		c.Steps = nil
		answer.Call = c
		writeJSON(w, http.StatusOK, answer)
	})
}

func (s *Server) handleRepeatReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, loc, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		days, err := s.deps.Calls.RepeatCallers(r.Context(), from, to, loc)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if wantsCSV(r) {
			rows := make([][]string, 0, len(days))
			for _, d := range days {
				rows = append(rows, []string{d.Day, itoa(d.Calls), itoa(d.Repeat), ftoa(d.Share)})
			}
			writeCSV(w, "repeat-callers", []string{"day", "calls", "repeat", "repeat_share"}, rows)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "time_zone": loc.String(),
			"window_days": int(calls.RepeatWindow.Hours() / 24), "days": days})
	})
}

// maxMinCalls bounds a report's min_calls: past it, no caller is "frequent".
const maxMinCalls = 1000

func (s *Server) handleSegmentsReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, _, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		minCalls, err := queryInt(r, "min_calls", 3, 1, maxMinCalls)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		limit, err := queryInt(r, "limit", 100, 1, 1000)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		name := r.URL.Query().Get("segment")
		if wantsCSV(r) && name == "" {
			writeError(w, codeInvalid, "segment", "a CSV is one segment's: give segment (activity_callers, frequent_no_activity, always_handed_off or unrecognized_numbers)")
			return
		}
		if name != "" && !calls.IsSegment(name) {
			writeError(w, codeInvalid, "segment", "segment must be activity_callers, frequent_no_activity, always_handed_off or unrecognized_numbers")
			return
		}
		segs, err := s.deps.Calls.Segments(r.Context(), from, to, minCalls, limit, name)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if wantsCSV(r) {
			var rows [][]string
			for _, l := range segs[0].Lines {
				rows = append(rows, []string{l.MemberID, l.Caller, l.CallerHash, itoa(l.Calls), l.LastCall.Format(time.RFC3339),
					itoa(l.SelfService), itoa(l.Handoff), itoa(l.HungUp)})
			}
			writeCSV(w, name, []string{"member_id", "caller", "caller_hash", "calls", "last_call", "self_service", "handoff", "caller_hung_up"}, rows)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "min_calls": minCalls, "segments": segs})
	})
}
