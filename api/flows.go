package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
)

// Flow admin API: drafts with optimistic locking (ETag / If-Match), validation,
// publishing, versions, diffs, rollback, bindings, simulation and the flow history. The
// store does the work; this file maps HTTP to it and its errors to statuses.

// ActorHeader names who makes a change, for the flow history and version authors.
const ActorHeader = "X-Memberline-Actor"

const defaultActor = "admin"

var flowIDPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// actor is the author of a flow change: a named token is who it is, whatever the header
// says; the bootstrap token is itself, with the display name it was sent with beside it
// as a claim ("ADMIN_TOKEN (ana)"), as the admin audit says.
func actor(r *http.Request) string {
	p, ok := principalOf(r)
	switch {
	case ok && !p.bootstrap:
		return p.name
	case ok:
		return p.auditName()
	}
	return defaultActor
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

// validateOptions checks a document as the API does: gotos must name a published flow,
// fetch nodes a connection that exists.
func (s *Server) validateOptions(ctx context.Context) flows.ValidateOptions {
	opts := flows.ValidateOptions{NoCallbacks: s.cfg.NoCallbacks}
	if known, err := s.deps.Flows.KnownFlows(ctx); err == nil {
		opts.KnownFlow = known
	}
	if s.deps.Connections != nil {
		if list, err := s.deps.Connections.List(ctx); err == nil {
			ids := make(map[string]bool, len(list))
			for _, c := range list {
				ids[c.ID] = true
			}
			opts.KnownConnection = func(id string) bool { return ids[id] }
		}
	}
	return opts
}

// testEnv runs a flow's tests as a simulation runs: a caller given by number is the
// directory's as a live call would find it, member numbers are the directory's, gotos
// reach published flows, and no PIN is right.
func (s *Server) testEnv(ctx context.Context) *flows.TestEnv {
	return &flows.TestEnv{
		Now:      s.cfg.Now,
		LoadFlow: func(id string) (*flows.Flow, error) { return s.deps.Flows.Published(ctx, id) },
		Members: func(phone string, now time.Time) ([]flows.Member, error) {
			e164, err := lookup.Normalize(phone, s.cfg.DefaultRegion)
			if err != nil {
				return nil, fmt.Errorf("%q is not a phone number", phone)
			}
			c, err := s.deps.Edge.Caller(ctx, e164, now)
			return c.Members, err
		},
		Identify: func(number string, now time.Time) *flows.Member { return s.deps.Edge.Member(ctx, number, now) },
	}
}

// validationAnswer is the body of validate, and part of save and publish answers.
type validationAnswer struct {
	Valid    bool            `json:"valid"`
	Errors   []flows.Problem `json:"errors"`
	Warnings []flows.Problem `json:"warnings"`
}

// validate splits a flow's problems into errors (block publishing) and warnings, its
// tests run.
func (s *Server) validate(ctx context.Context, f *flows.Flow) validationAnswer {
	opts := s.validateOptions(ctx)
	opts.Tests = s.testEnv(ctx)
	rep := f.ValidateWith(opts)
	return validationAnswer{Valid: rep.Valid(), Errors: problemList(rep.Errors), Warnings: problemList(rep.Warnings)}
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

// flowID returns the path's flow id or writes a 422 naming it.
func flowID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := mux.Vars(r)["flowID"]
	if !flowIDPattern.MatchString(id) {
		writeError(w, codeInvalid, "flowID",
			"flowID must be a letter then letters, digits, _ or - (at most 64)")
		return "", false
	}
	return id, true
}

// readFlowBody reads a raw body (a flow document) up to maxJSONBody; a malformed one is a 400.
func readFlowBody(w http.ResponseWriter, r *http.Request, allowEmpty bool) ([]byte, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONType(ct) {
		writeError(w, codeUnsupportedType, "Content-Type", "the body must be JSON (Content-Type: application/json), not "+strconv.Quote(text(ct)))
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		writeError(w, codeTooLarge, "", fmt.Sprintf("body is larger than %d bytes", maxJSONBody))
		return nil, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil, true
		}
		writeError(w, codeMalformed, "", "body is empty: a flow document is required")
		return nil, false
	}
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v)
		writeError(w, codeMalformed, "", "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
		return nil, false
	}
	if field, problem := checkJSON(b); problem != "" {
		writeError(w, codeMalformed, field, problem)
		return nil, false
	}
	if holdsNUL(b) {
		writeError(w, codeMalformed, "", nulMessage)
		return nil, false
	}
	return b, true
}

const nulMessage = `the document holds the NUL character (\u0000), which no text of a flow may hold`

// holdsNUL reports whether a JSON text escapes the NUL character (\u0000) in a string:
// documents are stored as jsonb, which cannot hold it.
func holdsNUL(doc []byte) bool {
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(`\u0000`))
		if j < 0 {
			return false
		}
		j += i
		slashes := 0
		for k := j - 1; k >= 0 && doc[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 0 { // the backslash is not itself escaped
			return true
		}
		i = j + 1
	}
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

func (s *Server) answerDraft(w http.ResponseWriter, r *http.Request, status int, d flowstore.Draft) {
	a := draftAnswer{ID: d.ID, Rev: d.Rev, ETag: etag(d.Rev), UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy, Saved: true}
	if f, err := flows.CheckDocument(d.ID, d.Document); err == nil {
		a.validationAnswer = s.validate(r.Context(), f)
	}
	w.Header().Set("ETag", a.ETag)
	writeJSON(w, status, a)
}

func (s *Server) handleListFlows() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := s.deps.Flows.List(r.Context())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"flows": list})
	})
}

func (s *Server) handleCreateFlow() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ID       string          `json:"id"`
			Document json.RawMessage `json:"document"`
		}
		if decodeJSON(w, r, &body) != nil {
			return
		}
		if !flowIDPattern.MatchString(body.ID) {
			writeError(w, codeInvalid, "id", "id must be a letter then letters, digits, _ or - (at most 64)")
			return
		}
		if holdsNUL(body.Document) {
			writeError(w, codeMalformed, "document", nulMessage)
			return
		}
		if len(body.Document) == 0 || string(body.Document) == "null" {
			writeError(w, codeInvalid, "document", "document is required: a flow document whose id is "+strconv.Quote(body.ID))
			return
		}
		d, err := s.deps.Flows.Create(r.Context(), body.ID, body.Document, actor(r))
		if err != nil {
			s.fail(w, r, "id", err)
			return
		}
		w.Header().Set("Location", "/api/v1/flows/"+d.ID)
		s.answerDraft(w, r, http.StatusCreated, d)
	})
}

// handleGetDraft answers the draft document exactly as saved, so it can be edited and
// sent back; the ETag header is what PUT's If-Match wants.
func (s *Server) handleGetDraft() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		d, err := s.deps.Flows.Draft(r.Context(), id)
		if err != nil {
			s.fail(w, r, "flowID", err)
			return
		}
		w.Header().Set("ETag", etag(d.Rev))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(d.Document)
	})
}

func (s *Server) handlePutDraft() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		match := r.Header.Get("If-Match")
		if match == "" {
			writeError(w, codeIfMatchRequired, "If-Match",
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
			s.fail(w, r, "flowID", err)
			return
		}
		s.answerDraft(w, r, http.StatusOK, d)
	})
}

// handleValidate validates the document in the body, or the draft when there is none.
func (s *Server) handleValidate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		f, probs, ok := s.documentOrDraft(w, r, id)
		switch {
		case !ok:
		case len(probs) > 0:
			writeJSON(w, http.StatusOK, validationAnswer{Errors: problemList(probs), Warnings: []flows.Problem{}})
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

func (s *Server) handlePublish() http.Handler {
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
		// The store validates the draft again, with its tests, but knows nothing of
		// connections: a fetch node must name one that exists when the flow is published.
		if d, err := s.deps.Flows.Flow(r.Context(), id, 0); err == nil {
			if ps := d.ValidateWith(s.validateOptions(r.Context())).Errors; len(ps) > 0 {
				writeProblems(w, "the draft", ps)
				return
			}
		}
		v, err := s.deps.Flows.Publish(r.Context(), id, actor(r), body.Message, s.testEnv(r.Context()))
		var probs flows.Problems
		switch {
		case errors.As(err, &probs):
			writeProblems(w, "the draft", probs)
		case err != nil:
			s.fail(w, r, "flowID", err)
		default:
			writeJSON(w, http.StatusCreated, v)
		}
	})
}

func (s *Server) handleVersions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		vs, err := s.deps.Flows.Versions(r.Context(), id)
		if err != nil {
			s.fail(w, r, "flowID", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"flow": id, "versions": vs})
	})
}

// versionParam reads a positive version number, writing a 422 naming field otherwise.
func versionParam(w http.ResponseWriter, field, v string) (int, bool) {
	n, err := strconv.Atoi(v)
	if err != nil || !validVersion(n) {
		writeError(w, codeInvalid, field, field+" must be a version number (1 to 2147483647), not "+strconv.Quote(text(v)))
		return 0, false
	}
	return n, true
}

// validVersion: versions are numbered from 1, and stored as 32-bit numbers.
func validVersion(n int) bool { return n >= 1 && n <= math.MaxInt32 }

// text is client input fit to quote back in a message: valid UTF-8, at most 64 bytes.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

func (s *Server) handleVersion() http.Handler {
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
			s.fail(w, r, "version", err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// handleDiff compares two versions; either side may be "draft".
func (s *Server) handleDiff() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := flowID(w, r)
		if !ok {
			return
		}
		docs := make([][]byte, 2)
		for i, field := range []string{"from", "to"} {
			v := r.URL.Query().Get(field)
			if v == "" {
				writeError(w, codeInvalid, field, field+` is required: a version number or "draft"`)
				return
			}
			if v == "draft" {
				d, err := s.deps.Flows.Draft(r.Context(), id)
				if err != nil {
					s.fail(w, r, "flowID", err)
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
				s.fail(w, r, field, err)
				return
			}
			docs[i] = ver.Document
		}
		d, err := flows.DiffDocuments(docs[0], docs[1])
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"flow": id, "from": r.URL.Query().Get("from"), "to": r.URL.Query().Get("to"),
			"added": d.Added, "removed": d.Removed, "changed": d.Changed, "changes": d.Changes,
		})
	})
}

func (s *Server) handleRollback() http.Handler {
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
		if !validVersion(body.Version) {
			writeError(w, codeInvalid, "version", "version is required: the version number to publish again")
			return
		}
		v, err := s.deps.Flows.Rollback(r.Context(), id, body.Version, actor(r), body.Message)
		if err != nil {
			field := "flowID"
			if errors.Is(err, errs.ErrNotFound) && strings.Contains(err.Error(), "version") {
				field = "version"
			}
			s.fail(w, r, field, err)
			return
		}
		writeJSON(w, http.StatusCreated, v)
	})
}

func (s *Server) handleGetBindings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.deps.Flows.Bindings(r.Context())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		w.Header().Set("ETag", flowstore.BindingsETag(b))
		writeJSON(w, http.StatusOK, b)
	})
}

// handlePutBindings replaces every binding; called numbers are normalized to E.164. Like a
// draft, it needs If-Match: the ETag of the bindings the change was made from.
func (s *Server) handlePutBindings() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		match := r.Header.Get("If-Match")
		if match == "" {
			writeError(w, codeIfMatchRequired, "If-Match",
				"If-Match is required: send the ETag of the bindings you changed (GET /api/v1/bindings); nothing was saved")
			return
		}
		var body flowstore.Bindings
		if decodeJSON(w, r, &body) != nil {
			return
		}
		b := flowstore.Bindings{Default: body.Default, Numbers: map[string]string{}}
		raw := map[string]string{}
		if body.Default != "" && !flowIDPattern.MatchString(body.Default) {
			writeError(w, codeInvalid, "default", "default must be a flow id: a letter then letters, digits, _ or - (at most 64)")
			return
		}
		for n, id := range body.Numbers {
			if !flowIDPattern.MatchString(id) {
				writeError(w, codeInvalid, "numbers."+text(n), "a number must be bound to a flow id: a letter then letters, digits, _ or - (at most 64)")
				return
			}
			e164, err := lookup.Normalize(n, s.cfg.DefaultRegion)
			if err != nil {
				writeError(w, codeInvalid, "numbers."+n, fmt.Sprintf("%q is not a phone number: %v", n, err))
				return
			}
			if prev, dup := raw[e164]; dup && b.Numbers[e164] != id {
				writeError(w, codeInvalid, "numbers."+n,
					fmt.Sprintf("%q and %q are both %s, bound to different flows", prev, n, e164))
				return
			}
			raw[e164] = n
			b.Numbers[e164] = id
		}
		out, err := s.deps.Flows.SetBindings(r.Context(), b, match, actor(r))
		var (
			probs flows.Problems
			stale *flowstore.StaleBindingsError
		)
		switch {
		case errors.As(err, &probs):
			writeProblems(w, "the bindings", probs)
		case errors.As(err, &stale):
			current := flowstore.BindingsETag(stale.Current)
			w.Header().Set("ETag", current)
			writeJSON(w, status(codeStale), map[string]any{
				"error": apiError{Code: codeStale, Field: "If-Match", Message: "the bindings were changed since you read them; " +
					"nothing was saved: GET them (ETag " + current + "), merge your change and PUT again"},
				"saved":        false,
				"current_etag": current,
			})
		case err != nil:
			s.fail(w, r, "", err)
		default:
			w.Header().Set("ETag", flowstore.BindingsETag(out))
			writeJSON(w, http.StatusOK, out)
		}
	})
}

// handleFlowHistory answers the flow history: saves, publishes, rollbacks and binding
// changes (the admin audit of every request is GET /actions).
func (s *Server) handleFlowHistory() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := flowstore.HistoryFilter{Flow: q.Get("flow")}
		if f.Flow != "" && !flowIDPattern.MatchString(f.Flow) {
			writeError(w, codeInvalid, "flow", "flow must be a flow id: a letter then letters, digits, _ or - (at most 64)")
			return
		}
		if v := q.Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, codeInvalid, "since", "since must be an RFC 3339 time like 2026-11-26T10:00:00Z")
				return
			}
			f.Since = t
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				writeError(w, codeInvalid, "limit", "limit must be a positive number")
				return
			}
			f.Limit = n
		}
		entries, err := s.deps.Flows.History(r.Context(), f)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	})
}
