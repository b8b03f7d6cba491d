package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// Flow admin API: drafts with optimistic locking (ETag / If-Match), validation,
// publishing, versions, diffs, rollback, bindings, simulation and the audit log. The
// store does the work; this file maps HTTP to it and its errors to statuses.

// ActorHeader names who makes a change, for the audit log and version authors.
const ActorHeader = "X-Memberline-Actor"

const defaultActor = "admin"

var flowIDPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

func actor(r *http.Request) string {
	if p, ok := principalOf(r); ok && !p.bootstrap {
		return p.name // a named token is who it is, whatever the header says
	}
	a := strings.TrimSpace(r.Header.Get(ActorHeader))
	if a == "" || len(a) > 128 {
		return defaultActor
	}
	return a
}

func etag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// parseETag reads an If-Match value written by etag; ok is false for anything else.
func parseETag(v string) (int64, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, false
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	return n, err == nil
}

// problemList is never null in JSON.
func problemList(ps []flows.Problem) []flows.Problem {
	if ps == nil {
		return []flows.Problem{}
	}
	return ps
}

// validation splits a flow's problems into errors (block publishing) and warnings; gotos
// must name a published flow.
func (s *server) validation(ctx context.Context, f *flows.Flow) (errs, warns []flows.Problem) {
	opts := flows.ValidateOptions{}
	if known, err := s.deps.Flows.KnownFlows(ctx); err == nil {
		opts.KnownFlow = known
	}
	rep := f.ValidateWith(opts)
	return problemList(rep.Errors), problemList(rep.Warnings)
}

// validationAnswer is the body of validate, and part of save and publish answers.
type validationAnswer struct {
	Valid    bool            `json:"valid"`
	Errors   []flows.Problem `json:"errors"`
	Warnings []flows.Problem `json:"warnings"`
}

func (s *server) validate(ctx context.Context, f *flows.Flow) validationAnswer {
	errs, warns := s.validation(ctx, f)
	return validationAnswer{Valid: len(errs) == 0, Errors: errs, Warnings: warns}
}

// invalidAnswer is a 422 for a document with problems: the usual error naming the first
// problem's path, plus every problem.
type invalidAnswer struct {
	Error apiError `json:"error"`
	validationAnswer
}

func writeProblems(w http.ResponseWriter, what string, ps []flows.Problem) {
	ps = problemList(ps)
	a := invalidAnswer{
		Error:            apiError{Code: "invalid", Message: fmt.Sprintf("%s has %d error(s)", what, len(ps))},
		validationAnswer: validationAnswer{Errors: ps, Warnings: []flows.Problem{}},
	}
	if len(ps) > 0 {
		a.Error.Field = ps[0].Path
		a.Error.Message += "; first: " + ps[0].Error()
	}
	writeJSON(w, http.StatusUnprocessableEntity, a)
}

// writeFlowError maps the store's errors to statuses.
func (s *server) writeFlowError(w http.ResponseWriter, r *http.Request, field string, err error) {
	var probs flows.Problems
	var stale *flows.StaleError
	switch {
	case errors.As(err, &probs):
		writeProblems(w, "the document", probs)
	case errors.As(err, &stale):
		w.Header().Set("ETag", etag(stale.Current.Rev))
		writeJSON(w, http.StatusPreconditionFailed, map[string]any{
			"error": apiError{Code: "stale", Field: "If-Match", Message: fmt.Sprintf(
				"the draft was changed by %s since you read it; your document was NOT saved: "+
					"GET the draft (ETag %s), merge your change and PUT again", stale.Current.UpdatedBy, etag(stale.Current.Rev))},
			"saved":        false,
			"current_etag": etag(stale.Current.Rev),
		})
	case errors.Is(err, flows.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", field, err.Error())
	case errors.Is(err, flows.ErrExists):
		writeError(w, http.StatusConflict, "exists", "id", err.Error())
	case errors.Is(err, flows.ErrUnpublished):
		writeError(w, http.StatusConflict, "unpublished", field, err.Error())
	default:
		s.log.ErrorContext(r.Context(), "flow request failed", "route", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "", "internal error")
	}
}

// flowID returns the path's flow id or writes a 422 naming it.
func flowID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := mux.Vars(r)["flowID"]
	if !flowIDPattern.MatchString(id) {
		writeError(w, http.StatusUnprocessableEntity, "invalid", "flowID",
			"flowID must be a letter then letters, digits, _ or - (at most 64)")
		return "", false
	}
	return id, true
}

// readFlowBody reads a raw body (a flow document) up to maxJSONBody; a malformed one is a 400.
func readFlowBody(w http.ResponseWriter, r *http.Request, allowEmpty bool) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "", fmt.Sprintf("body is larger than %d bytes", maxJSONBody))
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil, true
		}
		writeError(w, http.StatusBadRequest, "malformed_json", "", "body is empty: a flow document is required")
		return nil, false
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		writeError(w, http.StatusBadRequest, "malformed_json", "", "malformed JSON: "+err.Error())
		return nil, false
	}
	return b, true
}

// draftAnswer answers a create or a save: where the draft is now and whether it would
// publish.
type draftAnswer struct {
	ID        string    `json:"id"`
	Rev       int64     `json:"rev"`
	ETag      string    `json:"etag"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	Saved     bool      `json:"saved"`
	validationAnswer
}

func (s *server) answerDraft(w http.ResponseWriter, r *http.Request, status int, d flows.Draft) {
	a := draftAnswer{ID: d.ID, Rev: d.Rev, ETag: etag(d.Rev), UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy, Saved: true}
	if f, err := flows.CheckDocument(d.ID, d.Document); err == nil {
		a.validationAnswer = s.validate(r.Context(), f)
	}
	w.Header().Set("ETag", a.ETag)
	writeJSON(w, status, a)
}

func (s *server) handleListFlows() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.deps.Flows.List(r.Context())
		if err != nil {
			s.writeFlowError(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"flows": list})
	})
}

func (s *server) handleCreateFlow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID       string          `json:"id"`
			Document json.RawMessage `json:"document"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		if !flowIDPattern.MatchString(body.ID) {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "id", "id must be a letter then letters, digits, _ or - (at most 64)")
			return
		}
		if len(body.Document) == 0 || string(body.Document) == "null" {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "document", "document is required: a flow document whose id is "+strconv.Quote(body.ID))
			return
		}
		d, err := s.deps.Flows.Create(r.Context(), body.ID, body.Document, actor(r))
		if err != nil {
			s.writeFlowError(w, r, "id", err)
			return
		}
		w.Header().Set("Location", "/api/v1/flows/"+d.ID)
		s.answerDraft(w, r, http.StatusCreated, d)
	})
}

// handleGetDraft answers the draft document exactly as saved, so it can be edited and
// sent back; the ETag header is what PUT's If-Match wants.
func (s *server) handleGetDraft() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		d, err := s.deps.Flows.Draft(r.Context(), id)
		if err != nil {
			s.writeFlowError(w, r, "flowID", err)
			return
		}
		w.Header().Set("ETag", etag(d.Rev))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(d.Document)
	})
}

func (s *server) handlePutDraft() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		match := r.Header.Get("If-Match")
		if match == "" {
			writeError(w, http.StatusPreconditionRequired, "if_match_required", "If-Match",
				"If-Match is required: send the ETag of the draft you edited (GET /api/v1/flows/"+id+"); the document was NOT saved")
			return
		}
		doc, ok := readFlowBody(w, r, false)
		if !ok {
			return
		}
		rev, ok := parseETag(match)
		if !ok {
			rev = -1 // matches no revision: answered as stale, with the current ETag
		}
		d, err := s.deps.Flows.SaveDraft(r.Context(), id, doc, rev, actor(r))
		if err != nil {
			s.writeFlowError(w, r, "flowID", err)
			return
		}
		s.answerDraft(w, r, http.StatusOK, d)
	})
}

// handleValidate validates the document in the body, or the draft when there is none.
func (s *server) handleValidate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		doc, ok := readFlowBody(w, r, true)
		if !ok {
			return
		}
		if doc == nil {
			d, err := s.deps.Flows.Draft(r.Context(), id)
			if err != nil {
				s.writeFlowError(w, r, "flowID", err)
				return
			}
			doc = d.Document
		}
		f, err := flows.CheckDocument(id, doc)
		var probs flows.Problems
		switch {
		case errors.As(err, &probs):
			writeJSON(w, http.StatusOK, validationAnswer{Errors: problemList(probs), Warnings: []flows.Problem{}})
		case err != nil:
			s.writeFlowError(w, r, "", err)
		default:
			writeJSON(w, http.StatusOK, s.validate(r.Context(), f))
		}
	})
}

// optionalBody decodes a JSON object body into dst; an empty body leaves dst as it is.
func optionalBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	if r.ContentLength == 0 {
		return true
	}
	return decodeJSON(w, r, dst) == nil
}

func (s *server) handlePublish() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		var body struct {
			Message string `json:"message"`
		}
		if !optionalBody(w, r, &body) {
			return
		}
		v, err := s.deps.Flows.Publish(r.Context(), id, actor(r), body.Message)
		var probs flows.Problems
		switch {
		case errors.As(err, &probs):
			writeProblems(w, "the draft", probs)
		case err != nil:
			s.writeFlowError(w, r, "flowID", err)
		default:
			writeJSON(w, http.StatusCreated, v)
		}
	})
}

func (s *server) handleVersions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		vs, err := s.deps.Flows.Versions(r.Context(), id)
		if err != nil {
			s.writeFlowError(w, r, "flowID", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"flow": id, "versions": vs})
	})
}

// versionParam reads a positive version number, writing a 422 naming field otherwise.
func versionParam(w http.ResponseWriter, field, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		writeError(w, http.StatusUnprocessableEntity, "invalid", field, field+" must be a version number (1, 2, ...), not "+strconv.Quote(v))
		return 0, false
	}
	return n, true
}

func (s *server) handleVersion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		n, ok := versionParam(w, "version", mux.Vars(r)["version"])
		if !ok {
			return
		}
		v, err := s.deps.Flows.Version(r.Context(), id, n)
		if err != nil {
			s.writeFlowError(w, r, "version", err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// handleDiff compares two versions; either side may be "draft".
func (s *server) handleDiff() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		docs := make([][]byte, 2)
		for i, field := range []string{"from", "to"} {
			v := r.URL.Query().Get(field)
			if v == "" {
				writeError(w, http.StatusUnprocessableEntity, "invalid", field, field+` is required: a version number or "draft"`)
				return
			}
			if v == "draft" {
				d, err := s.deps.Flows.Draft(r.Context(), id)
				if err != nil {
					s.writeFlowError(w, r, "flowID", err)
					return
				}
				docs[i] = d.Document
				continue
			}
			n, ok := versionParam(w, field, v)
			if !ok {
				return
			}
			ver, err := s.deps.Flows.Version(r.Context(), id, n)
			if err != nil {
				s.writeFlowError(w, r, field, err)
				return
			}
			docs[i] = ver.Document
		}
		d, err := flows.DiffDocuments(docs[0], docs[1])
		if err != nil {
			s.writeFlowError(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"flow": id, "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to"),
			"added": d.Added, "removed": d.Removed, "changed": d.Changed, "changes": d.Changes,
		})
	})
}

func (s *server) handleRollback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		var body struct {
			Version int    `json:"version"`
			Message string `json:"message"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		if body.Version <= 0 {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "version", "version is required: the version number to publish again")
			return
		}
		v, err := s.deps.Flows.Rollback(r.Context(), id, body.Version, actor(r), body.Message)
		if err != nil {
			field := "flowID"
			if errors.Is(err, flows.ErrNotFound) && strings.Contains(err.Error(), "version") {
				field = "version"
			}
			s.writeFlowError(w, r, field, err)
			return
		}
		writeJSON(w, http.StatusCreated, v)
	})
}

func (s *server) handleGetBindings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.deps.Flows.Bindings(r.Context())
		if err != nil {
			s.writeFlowError(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, b)
	})
}

// handlePutBindings replaces every binding; called numbers are normalized to E.164.
func (s *server) handlePutBindings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body flows.Bindings
		if decodeJSON(w, r, &body) != nil {
			return
		}
		b := flows.Bindings{Default: body.Default, Numbers: map[string]string{}}
		raw := map[string]string{}
		for n, id := range body.Numbers {
			e164, err := lookup.Normalize(n, s.cfg.DefaultRegion)
			if err != nil {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "numbers."+n, fmt.Sprintf("%q is not a phone number: %v", n, err))
				return
			}
			if prev, dup := raw[e164]; dup && b.Numbers[e164] != id {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "numbers."+n,
					fmt.Sprintf("%q and %q are both %s, bound to different flows", prev, n, e164))
				return
			}
			raw[e164] = n
			b.Numbers[e164] = id
		}
		out, err := s.deps.Flows.SetBindings(r.Context(), b, actor(r))
		var probs flows.Problems
		switch {
		case errors.As(err, &probs):
			writeProblems(w, "the bindings", probs)
		case err != nil:
			s.writeFlowError(w, r, "", err)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	})
}

func (s *server) handleAudit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := flows.AuditFilter{Flow: q.Get("flow")}
		if v := q.Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "since", "since must be an RFC 3339 time like 2026-11-26T10:00:00Z")
				return
			}
			f.Since = t
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "limit", "limit must be a positive number")
				return
			}
			f.Limit = n
		}
		entries, err := s.deps.Flows.Audit(r.Context(), f)
		if err != nil {
			s.writeFlowError(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	})
}

// Simulation.

type simActivity struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Summary   string `json:"summary"`
	Place     string `json:"place"`
	StartsAt  string `json:"starts_at"`
	EndsAt    string `json:"ends_at"`
	Status    string `json:"status"`
	Reference string `json:"reference"`
	Relation  string `json:"relation"` // upcoming, current or recent; worked out from now when empty
}

type simProfile struct {
	ID         string            `json:"id"`
	FirstName  string            `json:"first_name"`
	LastName   string            `json:"last_name"`
	Tier       string            `json:"tier"`
	Language   string            `json:"language"`
	TimeZone   string            `json:"time_zone"`
	Attributes map[string]string `json:"attributes"`
	Activity   *simActivity      `json:"activity"`
}

type simulateBody struct {
	Version *int `json:"version"` // omitted: the draft
	Caller  struct {
		Phone   string       `json:"phone"`   // resolved through the directory, as live
		Profile *simProfile  `json:"profile"` // or an inline member
		Members []simProfile `json:"members"` // or several (a shared number)
		// Trust is the caller's trust level at the start (suspicious, unverified,
		// verified); "" simulates a number the network vouches for (verified), so a
		// simulation shows the personalized path unless asked otherwise.
		Trust string `json:"trust"`
		// PIN is the PIN the simulated member has: a verify node accepts it. Simulations
		// never read stored PINs or count toward the lockout.
		PIN string `json:"pin"`
	} `json:"caller"`
	Now    string            `json:"now"`
	Inputs []json.RawMessage `json:"inputs"` // "1", "yes please", "" (no input), or {"digits":..,"speech":..}
}

type simStep struct {
	flows.SimStep
	TwiML string `json:"twiml"`
}

type simAnswer struct {
	flows.Transcript
	Steps  []simStep    `json:"steps"`
	Now    time.Time    `json:"now"`
	Caller flows.Caller `json:"caller"`
	Error  string       `json:"error,omitempty"`
}

func (p simProfile) member(now time.Time, i int) (flows.Member, error) {
	m := flows.Member{ID: p.ID, FirstName: p.FirstName, LastName: p.LastName, Tier: p.Tier,
		Language: p.Language, TimeZone: p.TimeZone, Attributes: p.Attributes}
	if m.ID == "" {
		m.ID = "sim-" + strconv.Itoa(i+1)
	}
	if a := p.Activity; a != nil {
		act := &flows.Activity{ID: a.ID, Kind: a.Kind, Summary: a.Summary, Place: a.Place,
			Status: a.Status, Reference: a.Reference, Relation: a.Relation}
		var err error
		if act.StartsAt, err = parseTime("activity.starts_at", a.StartsAt); err != nil {
			return m, err
		}
		if act.EndsAt, err = parseTime("activity.ends_at", a.EndsAt); err != nil {
			return m, err
		}
		if act.Kind == "" {
			act.Kind = "trip"
		}
		if act.Relation == "" {
			switch {
			case now.Before(act.StartsAt):
				act.Relation = "upcoming"
			case !act.EndsAt.IsZero() && now.After(act.EndsAt):
				act.Relation = "recent"
			default:
				act.Relation = "current"
			}
		}
		m.Activity = act
	}
	return m, nil
}

func simInput(raw json.RawMessage) (flows.Input, error) {
	var in flows.Input
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s != "" && strings.Trim(s, "0123456789*#") == "" {
			in.Digits = s
		} else if s != "" {
			in.Speech, in.Confidence = s, 0.9
		}
		return in, nil
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
func (s *server) handleSimulate() http.Handler {
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
				writeError(w, http.StatusUnprocessableEntity, "invalid", "now", "now must be an RFC 3339 time like 2026-11-26T10:00:00-05:00")
				return
			}
			now = t
		}
		script := make([]flows.Input, len(body.Inputs))
		for i, raw := range body.Inputs {
			in, err := simInput(raw)
			if err != nil {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "inputs."+strconv.Itoa(i), "inputs["+strconv.Itoa(i)+"] "+err.Error())
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
				if errs, _ := s.validation(ctx, f); len(errs) > 0 {
					writeProblems(w, "the draft", errs)
					return
				}
			}
		} else {
			if *body.Version <= 0 {
				writeError(w, http.StatusUnprocessableEntity, "invalid", "version", "version must be a version number (1, 2, ...); omit it for the draft")
				return
			}
			f, err = s.deps.Flows.Flow(ctx, id, *body.Version)
		}
		if err != nil {
			field := "flowID"
			if body.Version != nil {
				field = "version"
			}
			s.writeFlowError(w, r, field, err)
			return
		}
		env := flows.SimEnv{
			Identify: func(number string) *flows.Member { return s.identifyAt(ctx, number, now).Member },
			LoadFlow: func(id string) (*flows.Flow, error) { return s.deps.Flows.Published(ctx, id) },
			Verify:   func(_, pin string) bool { return body.Caller.PIN != "" && pin == body.Caller.PIN },
		}
		tr, simErr := flows.Simulate(f, flows.Call{Now: now, Caller: caller}, script, env)
		ans := simAnswer{Transcript: tr, Steps: make([]simStep, 0, len(tr.Steps)), Now: now, Caller: caller}
		if simErr != nil {
			ans.Error = simErr.Error()
		}
		for _, st := range tr.Steps {
			resp, err := s.render(st.Turn)
			if err != nil {
				s.writeFlowError(w, r, "", err)
				return
			}
			ans.Steps = append(ans.Steps, simStep{SimStep: st, TwiML: string(resp.Bytes())})
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

// simCaller builds the simulated caller: a directory number (resolved as a live call
// would be, at the simulated time), inline profiles, or nobody (a withheld number).
func (s *server) simCaller(w http.ResponseWriter, r *http.Request, body *simulateBody, now time.Time) (flows.Caller, bool) {
	c := body.Caller
	caller := flows.Caller{Trust: c.Trust}
	if caller.Trust == "" {
		caller.Trust = flows.TrustVerified
	}
	profiles := c.Members
	if c.Profile != nil {
		profiles = append([]simProfile{*c.Profile}, profiles...)
	}
	if c.Phone != "" {
		phone, err := lookup.Normalize(c.Phone, s.cfg.DefaultRegion)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "caller.phone", fmt.Sprintf("%q is not a phone number: %v", c.Phone, err))
			return caller, false
		}
		caller.Phone = phone
		if len(profiles) == 0 {
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.LookupTimeout)
			defer cancel()
			res, err := s.deps.Resolver.Resolve(ctx, phone, now)
			if err != nil {
				s.writeLookupError(w, r, err)
				return caller, false
			}
			for _, m := range res.Members {
				caller.Members = append(caller.Members, engineMember(m))
			}
			return caller, true
		}
	}
	for i, p := range profiles {
		m, err := p.member(now, i)
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, "invalid", "caller.profile."+strings.TrimPrefix(fieldOf(err), "caller.profile."), err.Error())
			return caller, false
		}
		caller.Members = append(caller.Members, m)
	}
	return caller, true
}

func fieldOf(err error) string {
	var fe *lookup.FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

// identifyAt is identify at a simulated time.
func (s *server) identifyAt(ctx context.Context, number string, now time.Time) *flows.Identified {
	id := &flows.Identified{Number: number}
	if !idPattern.MatchString(number) {
		return id
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LookupTimeout)
	defer cancel()
	m, err := s.deps.Resolver.ResolveMember(ctx, number, now)
	if err != nil {
		return id
	}
	em := engineMember(m)
	id.Member = &em
	return id
}
