package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
)

// The call records and usage reports under /api/v1 (Deps.Calls).

var callOutcomes = map[string]bool{
	calls.OutcomeSelfService: true, calls.OutcomeHandoff: true, calls.OutcomeHungUp: true, calls.OutcomeError: true, "none": true,
}

// queryTime reads a time parameter: RFC 3339, or a date (midnight in loc).
func queryTime(r *http.Request, field string, loc *time.Location) (time.Time, error) {
	v := r.URL.Query().Get(field)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, v, loc)
	}
	switch {
	case err != nil:
		return time.Time{}, fieldErr(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)")
	case t.Before(earliest) || !t.Before(latest):
		return time.Time{}, fieldErr(field, "must be from 1970 to 9998")
	}
	return t, nil
}

// queryInt reads a whole-number parameter from lo to hi; def when it is not given.
func queryInt(r *http.Request, field string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(field)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fieldErr(field, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
	}
	return n, nil
}

// The times the call records can be asked about: the database holds these and more, but
// a period past them is a mistake, and a day added to 9999-12-31 is past what it holds.
var (
	earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
)

// callSIDPattern is what a call SID can be: Twilio's are CA and 32 hex digits.
var callSIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

// callFilter reads the list filters: member, number (the caller's, any format), called,
// from, to, outcome, limit, cursor.
// recognizedValues are the values of the calls list's recognized filter.
var recognizedValues = map[string]bool{"yes": true, "no": true, "member": true, "household": true, "unknown": true, "anonymous": true, "error": true}

func (s *Server) callFilter(r *http.Request) (calls.Filter, error) {
	q := r.URL.Query()
	f := calls.Filter{MemberID: q.Get("member"), Outcome: q.Get("outcome"), Cursor: q.Get("cursor")}
	if f.MemberID != "" && !idPattern.MatchString(f.MemberID) {
		return f, fieldErr("member", "must be a member id")
	}
	if n := q.Get("number"); n != "" {
		e164, err := lookup.Normalize(n, s.cfg.DefaultRegion)
		if err != nil {
			return f, fieldErr("number", "must be a phone number")
		}
		f.CallerHash = s.deps.Calls.Hash(e164)
	}
	if n := q.Get("called"); n != "" {
		e164, err := lookup.Normalize(n, s.cfg.DefaultRegion)
		if err != nil {
			return f, fieldErr("called", "must be a phone number")
		}
		f.Called = e164
	}
	var err error
	if f.From, err = queryTime(r, "from", time.UTC); err != nil {
		return f, err
	}
	if f.To, err = queryTime(r, "to", time.UTC); err != nil {
		return f, err
	}
	if f.Outcome != "" && !callOutcomes[f.Outcome] {
		return f, fieldErr("outcome", "must be self_service, handoff, caller_hung_up, error or none")
	}
	if f.Recognized = q.Get("recognized"); f.Recognized != "" && !recognizedValues[f.Recognized] {
		return f, fieldErr("recognized", "must be yes, no, member, household, unknown, anonymous or error")
	}
	if f.Flow = q.Get("flow"); f.Flow != "" && !flowIDPattern.MatchString(f.Flow) {
		return f, fieldErr("flow", "must be a flow id")
	}
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || !validVersion(n) || f.Flow == "" {
			return f, fieldErr("version", "must be a version number (1, 2, ...), with flow")
		}
		f.Version = n
	}
	if f.Limit, err = queryInt(r, "limit", 0, 1, 500); err != nil {
		return f, err
	}
	return f, nil
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, f calls.Filter) {
	page, err := s.deps.Calls.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, "", err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handleListCalls() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.callFilter(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		s.listCalls(w, r, f)
	})
}

func (s *Server) handleMemberCalls() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := s.callFilter(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		id, ok := pathID(w, r, "memberID")
		if !ok {
			return
		}
		f.MemberID = id
		s.listCalls(w, r, f)
	})
}

// pathCallSID returns the path's call SID or writes a 422 naming it.
func pathCallSID(w http.ResponseWriter, r *http.Request) (string, bool) {
	sid := mux.Vars(r)["callSID"]
	if !callSIDPattern.MatchString(sid) {
		writeError(w, codeInvalid, "callSID", "callSID must be a call SID: letters and digits, at most 64 (CA…)")
		return "", false
	}
	return sid, true
}

func (s *Server) handleGetCall() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid, ok := pathCallSID(w, r)
		if !ok {
			return
		}
		c, err := s.deps.Calls.Get(r.Context(), sid)
		if err != nil {
			s.fail(w, r, "call_sid", err)
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
}

// reportPeriod reads from, to (dates or times; to is exclusive, a date meaning the end of
// that day) and tz; the default is the 30 days up to now.
func (s *Server) reportPeriod(r *http.Request) (from, to time.Time, loc *time.Location, err error) {
	loc = time.UTC
	if tz := r.URL.Query().Get("tz"); tz != "" {
		// "Local" is the server's own zone, whatever that is: not one a report can name.
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return from, to, nil, fieldErr("tz", "must be an IANA time zone such as America/New_York")
		}
	}
	if from, err = queryTime(r, "from", loc); err != nil {
		return
	}
	if to, err = queryTime(r, "to", loc); err != nil {
		return
	}
	if v := r.URL.Query().Get("to"); len(v) == len(time.DateOnly) {
		to = to.AddDate(0, 0, 1)
	}
	if to.IsZero() {
		to = s.cfg.Now().Add(time.Minute)
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if !from.Before(to) {
		return from, to, loc, fieldErr("from", "must be before to")
	}
	return from, to, loc, nil
}

// wantsCSV: ?format=csv, or Accept: text/csv.
func wantsCSV(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "csv"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/csv")
}

// writeCSV writes a CSV download. Every cell is neutralized against formula injection
// (safeCell): a spreadsheet opening the file shows the text, never runs it.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, row := range rows {
		for i, cell := range row {
			row[i] = safeCell(cell)
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}

// safeCell keeps a spreadsheet from reading a cell as a formula, as OWASP's CSV injection
// guidance says: a cell that starts with =, +, -, @, a tab or a carriage return gets a
// leading apostrophe, which spreadsheets show as text. No number the reports write starts
// with one of them.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 4, 64) }

func (s *Server) handleRecognitionReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, loc, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		days, err := s.deps.Calls.Recognition(r.Context(), from, to, loc)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if wantsCSV(r) {
			rows := make([][]string, 0, len(days))
			for _, d := range days {
				rows = append(rows, []string{d.Day, itoa(d.Calls), itoa(d.Member), itoa(d.Household), itoa(d.Unknown),
					itoa(d.Anonymous), itoa(d.Error), itoa(d.Identified), ftoa(d.Share)})
			}
			writeCSV(w, "recognition", []string{"day", "calls", "member", "household", "unknown", "anonymous", "error", "identified", "recognized_share"}, rows)
			return
		}
		total, recognized := 0, 0
		for _, d := range days {
			total += d.Calls
			recognized += d.Member + d.Household
		}
		share := 0.0
		if total > 0 {
			share = float64(recognized) / float64(total)
		}
		byTrust, err := s.deps.Calls.RecognizedByTrust(r.Context(), from, to)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"from": from, "to": to, "time_zone": loc.String(),
			"calls": total, "recognized": recognized, "recognized_share": share, "days": days,
			// Of the recognized callers, by their trust level at the start, the share the
			// flow asked about their activity.
			"by_trust": byTrust,
		})
	})
}

func (s *Server) handleOutcomesReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, loc, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		fl, err := s.deps.Calls.Outcomes(r.Context(), from, to)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		if wantsCSV(r) {
			var rows [][]string
			for _, f := range fl {
				for _, e := range f.Exits {
					rows = append(rows, []string{f.Flow, itoa(f.Version), e.Node, e.Outcome, itoa(e.Calls)})
				}
			}
			writeCSV(w, "outcomes", []string{"flow", "version", "exit_node", "outcome", "calls"}, rows)
			return
		}
		days, err := s.deps.Calls.OutcomesByDay(r.Context(), from, to, loc)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		// days: per day in tz and flow version, how the calls ended.
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "time_zone": loc.String(), "flows": fl, "days": days})
	})
}

// memberLine is one member in the members report: who (by id only), the activity that
// matters now, and what their calls were about.
type memberLine struct {
	calls.MemberCalls
	Tier     string           `json:"tier,omitempty"`
	Activity *lookup.Activity `json:"activity,omitempty"`
}

func (s *Server) handleMembersReport() http.Handler {
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
		ms, err := s.deps.Calls.Members(r.Context(), from, to, 1000)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		upcoming, frequent := []memberLine{}, []memberLine{}
		now := s.cfg.Now()
		for _, m := range ms {
			cm, err := s.deps.Resolver.ResolveMember(r.Context(), m.MemberID, now)
			if errors.Is(err, errs.ErrNotFound) {
				continue // deleted since
			}
			if err != nil {
				s.fail(w, r, "", err)
				return
			}
			line := memberLine{MemberCalls: m, Tier: cm.Tier}
			if a := cm.Activity; a != nil && (a.Relation == lookup.RelationUpcoming || a.Relation == lookup.RelationCurrent) {
				line.Activity = a
				upcoming = append(upcoming, line)
			} else if m.Calls >= minCalls {
				frequent = append(frequent, line)
			}
		}
		if wantsCSV(r) {
			var rows [][]string
			for _, set := range []struct {
				name  string
				lines []memberLine
			}{{"upcoming_activity", upcoming}, {"frequent_without_activity", frequent}} {
				for _, l := range set.lines {
					kind, starts, ref := "", "", ""
					if l.Activity != nil {
						kind, starts, ref = l.Activity.Kind, l.Activity.StartsAt.Format(time.RFC3339), l.Activity.Reference
					}
					rows = append(rows, []string{set.name, l.MemberID, l.Tier, itoa(l.Calls), l.LastCall.Format(time.RFC3339),
						itoa(l.SelfService), itoa(l.Handoff), strings.Join(l.Inputs, " "), strings.Join(l.ExitNodes, " "), kind, starts, ref})
				}
			}
			writeCSV(w, "members", []string{"list", "member_id", "tier", "calls", "last_call", "self_service", "handoff",
				"inputs", "exit_nodes", "activity_kind", "activity_starts_at", "activity_reference"}, rows)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"from": from, "to": to, "min_calls": minCalls,
			"upcoming_activity": upcoming, "frequent_without_activity": frequent,
		})
	})
}
