package ivr

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// Recognition outcomes, as logged for every incoming call.
const (
	recognizedMember    = "member"
	recognizedHousehold = "household"
	recognizedUnknown   = "unknown"
	recognizedAnonymous = "anonymous"
	recognizedError     = "error"
)

// handleVoice answers the incoming-call webhook: who is calling, then the flow's first turn.
func (s *Edge) handleVoice() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		caller, outcome := s.resolveCaller(ctx, r)
		s.tel.recognized.Add(ctx, 1, s.tel.recogOpt[outcome]...)
		caller.Trust = flows.TrustFromStirVerstat(r.PostFormValue("StirVerstat"))
		call := flows.Call{Now: s.cfg.Now(), Caller: caller, CallSID: r.PostFormValue("CallSid"), ExperimentKey: s.cfg.ExperimentKey}
		flow, err := s.startFlow(ctx, r)
		var turn flows.Turn
		if err == nil {
			sctx, span := s.startSpan(ctx, r, "flows.engine")
			turn, err = flow.Start(call)
			if err == nil {
				turn, err = s.complete(sctx, r, flow, turn, call, start)
			}
			endSpan(span, err, turn.State)
		}
		s.answer(w, r, turn, err, outcome, start, caller)
	})
}

// handleGather continues a call where its signed state says it waits for input.
func (s *Edge) handleGather() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		st, err := s.state.decode(r.URL.Query().Get("s"), r.PostFormValue("CallSid"), s.cfg.Now())
		if err != nil {
			s.answer(w, r, flows.Turn{}, err, "", start, flows.Caller{})
			return
		}
		caller, outcome := s.resolveCaller(ctx, r)
		// No StirVerstat here: the call's trust was fixed at its start and travels in the
		// signed state (State.Trust), so a later webhook cannot raise it.
		call := flows.Call{Now: s.cfg.Now(), Caller: caller, CallSID: r.PostFormValue("CallSid"), ExperimentKey: s.cfg.ExperimentKey}
		if st.Member != "" && !hasMember(caller, st.Member) {
			// The member was identified by number earlier in the call.
			call.Identified = s.identify(ctx, st.Member)
		}
		confidence, _ := strconv.ParseFloat(r.PostFormValue("Confidence"), 64)
		recSeconds, _ := strconv.Atoi(r.PostFormValue("RecordingDuration"))
		in := flows.Input{
			Digits:           r.PostFormValue("Digits"),
			Speech:           r.PostFormValue("SpeechResult"),
			Confidence:       confidence,
			RecordingURL:     r.PostFormValue("RecordingUrl"),
			RecordingSeconds: recSeconds,
		}
		flow, err := s.pinnedFlow(ctx, st)
		if err != nil {
			s.answer(w, r, flows.Turn{State: st}, err, outcome, start, caller)
			return
		}
		sctx, span := s.startSpan(ctx, r, "flows.engine")
		turn, err := flow.Resume(call, st, in)
		if err == nil && turn.Identify != "" {
			call.Identified = s.identify(sctx, turn.Identify)
			turn, err = flow.Resume(call, st, in)
		}
		// A PIN try and a number remembered happen once: a copy of this webhook that got
		// there first answers it (see answerOnce).
		if err == nil && (turn.Verify != nil || turn.Remember != nil) && !ownTurn(ctx) {
			span.End()
			return
		}
		if err == nil && turn.Verify != nil {
			call.Verified = s.verifyPIN(sctx, *turn.Verify, caller.Phone, r.PostFormValue("CallSid"))
			turn, err = flow.Resume(call, st, in)
		}
		if err == nil && turn.Remember != nil {
			s.remember(sctx, *turn.Remember, r.PostFormValue("CallSid"))
		}
		if err == nil {
			turn, err = s.complete(sctx, r, flow, turn, call, start)
		}
		endSpan(span, err, st)
		if err != nil {
			turn.State = st // the call's flow, for its record and the outcome metric
		}
		s.answer(w, r, turn, err, outcome, start, caller)
	})
}

// Form parameters with which `memberline call --flow/--version` picks the flow of a
// test call. Twilio never sends them, and they count only on a signed request.
const (
	flowParam        = "MemberlineFlow"
	flowVersionParam = "MemberlineVersion" // a number, "draft", or "" for the latest
)

// startFlow picks the flow a new call runs, pinned for the whole call (its id and version
// travel in the call state): the flow bound to the called number at its latest published
// version, or the one a test call asks for. Without a store, or when the store cannot
// answer, Deps.Flow.
func (s *Edge) startFlow(ctx context.Context, r *http.Request) (*flows.Flow, error) {
	if s.deps.Flows == nil {
		return s.deps.Flow, nil
	}
	var (
		f   *flows.Flow
		err error
	)
	if id := r.PostFormValue(flowParam); id != "" {
		switch v := r.PostFormValue(flowVersionParam); v {
		case "":
			f, err = s.deps.Flows.Published(ctx, id)
		case "draft":
			f, err = s.deps.Flows.Flow(ctx, id, 0)
		default:
			n, perr := strconv.Atoi(v)
			if perr != nil || n <= 0 {
				return nil, fmt.Errorf("ivr: %s %q is not a version", flowVersionParam, v)
			}
			f, err = s.deps.Flows.Flow(ctx, id, n)
		}
		return f, err // a test call asked for this flow: no silent substitute
	}
	to, _ := lookup.Normalize(r.PostFormValue("To"), s.cfg.DefaultRegion)
	f, err = s.deps.Flows.Live(ctx, to)
	if err != nil && s.deps.Flow != nil {
		s.log.WarnContext(ctx, "flow store unavailable; running the built-in flow", "to", lookup.Mask(to), "err", err)
		return s.deps.Flow, nil
	}
	return f, err
}

// pinnedFlow is the flow and version a call started with. Published versions never change,
// so a publish or rollback mid-call does not affect it. Version 0 is the built-in flow
// when its id matches, else a draft (test calls of drafts).
func (s *Edge) pinnedFlow(ctx context.Context, st flows.State) (*flows.Flow, error) {
	if s.deps.Flows == nil || (st.Version == 0 && s.deps.Flow != nil && st.Flow == s.deps.Flow.ID) {
		return s.deps.Flow, nil
	}
	return s.deps.Flows.Flow(ctx, st.Flow, st.Version)
}

// gotoFlow loads the flow a goto node names: its latest published version, which the call
// then keeps like any other.
func (s *Edge) gotoFlow(ctx context.Context) func(id string) (*flows.Flow, error) {
	return func(id string) (*flows.Flow, error) {
		if s.deps.Flows == nil {
			return nil, fmt.Errorf("ivr: goto %q: no flow store", id)
		}
		return s.deps.Flows.Published(ctx, id)
	}
}

// handleStatus acknowledges Twilio's status callback.
func (s *Edge) handleStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := r.PostFormValue("CallStatus")
		duration, _ := strconv.Atoi(r.PostFormValue("CallDuration"))
		if s.deps.Calls != nil && finalStatus(status) {
			ev := calls.Event{Kind: calls.KindStatus, CallSID: r.PostFormValue("CallSid"), At: s.cfg.Now(),
				Status: status, DurationSeconds: duration}
			afterSettling(r.Context(), func() { s.deps.Calls.Record(ev) })
		}
		w.WriteHeader(http.StatusNoContent)
		s.log.InfoContext(r.Context(), "webhook",
			"call_sid", r.PostFormValue("CallSid"),
			"route", r.URL.Path,
			"status", status,
			"duration_s", duration,
			"latency_ms", float64(time.Since(start).Microseconds())/1000)
	})
}

// finalStatus reports whether a CallStatus ends the call.
func finalStatus(status string) bool {
	switch status {
	case "completed", "busy", "failed", "no-answer", "canceled":
		return true
	}
	return false
}

// handleFallback is the number's Fallback URL: Twilio calls it when our answer failed.
func (s *Edge) handleFallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "twilio fallback",
			"call_sid", r.PostFormValue("CallSid"),
			"error_code", r.PostFormValue("ErrorCode"))
		_ = writeTwiML(w, s.fallback())
	})
}

// resolveCaller turns Twilio's From into the engine's caller. Whatever fails, the call goes
// on as an unknown caller: never an error to Twilio, never the wrong member.
func (s *Edge) resolveCaller(ctx context.Context, r *http.Request) (caller flows.Caller, outcome string) {
	phone, err := lookup.Normalize(r.PostFormValue("From"), s.cfg.DefaultRegion)
	if err != nil {
		return flows.Caller{}, recognizedAnonymous
	}
	ctx, span := s.startSpan(ctx, r, "lookup")
	if span.IsRecording() {
		span.SetAttributes(s.callerAttrs(phone)...)
		defer func() {
			span.SetAttributes(attrRecognized.String(outcome))
			span.End()
		}()
	}
	now := s.cfg.Now()
	c, hit := lookup.Caller{}, false
	if p, ok := s.deps.Resolver.(peeker); ok {
		c, hit = p.Peek(phone, now)
	}
	if hit {
		caller = engineCaller(phone, c)
	} else {
		caller, err = s.Caller(ctx, phone, now)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		s.log.WarnContext(ctx, "caller lookup failed; answering as unknown", "from", lookup.Mask(phone), "err", err)
		return flows.Caller{Phone: phone}, recognizedError
	}
	switch len(caller.Members) {
	case 0:
		return caller, recognizedUnknown
	case 1:
		return caller, recognizedMember
	default:
		return caller, recognizedHousehold
	}
}

// peeker is a Resolver with an in-process tier that can answer without blocking
// (lookup.Local): a hit then needs no deadline.
type peeker interface {
	Peek(e164 string, now time.Time) (lookup.Caller, bool)
}

// Caller resolves an E.164 number to the engine's caller through every tier, within the
// lookup budget, as an incoming call does.
func (s *Edge) Caller(ctx context.Context, phone string, now time.Time) (flows.Caller, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LookupTimeout)
	defer cancel()
	c, err := s.deps.Resolver.Resolve(ctx, phone, now)
	if err != nil {
		return flows.Caller{}, err
	}
	return engineCaller(phone, c), nil
}

func engineCaller(phone string, c lookup.Caller) flows.Caller {
	caller := flows.Caller{Phone: phone, Members: make([]flows.Member, len(c.Members))}
	for i, m := range c.Members {
		caller.Members[i] = engineMember(m)
	}
	return caller
}

// identify answers a keypad-entered member number.
func (s *Edge) identify(ctx context.Context, number string) *flows.Identified {
	return &flows.Identified{Number: number, Member: s.member(ctx, number, s.cfg.Now(), true)}
}

// Member resolves a member number as a keypad entry would be at now; nil when it names
// no member (or cannot be resolved within the lookup budget).
func (s *Edge) Member(ctx context.Context, number string, now time.Time) *flows.Member {
	return s.member(ctx, number, now, false)
}

func (s *Edge) member(ctx context.Context, number string, now time.Time, logMiss bool) *flows.Member {
	if !lookup.ValidID(number) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LookupTimeout)
	defer cancel()
	m, err := s.deps.Resolver.ResolveMember(ctx, number, now)
	if err != nil {
		if logMiss {
			s.log.InfoContext(ctx, "member number not resolved", "err", err)
		}
		return nil
	}
	em := engineMember(m)
	return &em
}

func hasMember(c flows.Caller, id string) bool {
	for _, m := range c.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

// EngineMember is a directory member as the engine reads it: the one conversion, which
// simulation borrows (api.Edge).
func (s *Edge) EngineMember(m lookup.CallerMember) flows.Member { return engineMember(m) }

func engineMember(m lookup.CallerMember) flows.Member {
	em := flows.Member{
		ID: m.ID, FirstName: m.FirstName, LastName: m.LastName, Tier: m.Tier,
		Language: m.Language, TimeZone: m.TimeZone,
	}
	if a := m.Activity; a != nil {
		em.Activity = &flows.Activity{
			ID: a.ID, Kind: a.Kind, Summary: a.Summary, Place: a.Place,
			StartsAt: a.StartsAt, EndsAt: a.EndsAt, Status: a.Status,
			Reference: a.Reference, Relation: a.Relation,
		}
	}
	return em
}

// answer writes the turn as TwiML, or the fallback when anything failed, and logs one line.
func (s *Edge) answer(w http.ResponseWriter, r *http.Request, turn flows.Turn, err error, recognized string, start time.Time, caller flows.Caller) {
	_, span := s.startSpan(r.Context(), r, "twiml.encode")
	var resp Response
	if err == nil {
		resp, err = s.render(turn, r.PostFormValue("CallSid"))
	}
	callOutcome := flowOutcome(turn, err)
	outcome := turn.End
	if err != nil {
		s.log.ErrorContext(r.Context(), "webhook failed; answering with the fallback",
			"call_sid", r.PostFormValue("CallSid"), "route", r.URL.Path, "err", err)
		resp = s.fallback()
		outcome = "error"
	} else if turn.Awaiting {
		outcome = "gather"
	}
	if werr := writeTwiML(w, resp); werr != nil {
		// A node the encoder refuses: nothing was written, so the fallback still can be.
		s.log.ErrorContext(r.Context(), "webhook answer not encodable; answering with the fallback",
			"call_sid", r.PostFormValue("CallSid"), "route", r.URL.Path, "err", werr)
		outcome = "error"
		_ = writeTwiML(w, s.fallback())
	}
	span.End()
	s.record(r, turn, err, recognized, caller, callOutcome)
	if sp := trace.SpanFromContext(r.Context()); sp.IsRecording() {
		sp.SetAttributes(attrOutcome.String(outcome), attrRecognized.String(recognized))
	}
	// The record is made here rather than by Logger.LogAttrs, which would look up its
	// caller's program counter for a source the handler never writes.
	if h := s.log.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
		now := time.Now()
		rec := slog.NewRecord(now, slog.LevelInfo, "webhook", 0)
		rec.AddAttrs(
			slog.String("call_sid", r.PostFormValue("CallSid")),
			slog.String("route", r.URL.Path),
			slog.String("from", lookup.Mask(caller.Phone)),
			slog.String("recognized", recognized),
			slog.String("flow", turn.State.Flow),
			slog.Int("version", turn.State.Version),
			slog.String("outcome", outcome),
			slog.Float64("latency_ms", float64(now.Sub(start).Microseconds())/1000))
		_ = h.Handle(r.Context(), rec)
	}
}

// The headers of every TwiML answer, shared: net/http only reads them.
var (
	twimlType    = []string{"text/xml; charset=utf-8"}
	twimlNoStore = []string{"no-store"}
)

// writeTwiML writes resp in one Write. On an error (a node the encoder refuses) nothing
// is written, so the caller can still answer with the fallback.
func writeTwiML(w http.ResponseWriter, resp Response) error {
	h := w.Header()
	h["Content-Type"] = twimlType
	h["Cache-Control"] = twimlNoStore
	return resp.Encode(w)
}

// gatherPath is the webhook that continues a call, with its state parameter.
const gatherPath = "/twilio/gather?s="

func (s *Edge) stateTTL() time.Duration {
	if s.cfg.StateTTL > 0 {
		return s.cfg.StateTTL
	}
	return DefaultStateTTL
}

// TwiML is the answer Twilio would get for turn in call callSID.
func (s *Edge) TwiML(turn flows.Turn, callSID string) ([]byte, error) {
	resp, err := s.render(turn, callSID)
	if err != nil {
		return nil, err
	}
	return resp.Bytes(), nil
}

// render turns the engine's actions into TwiML.
func (s *Edge) render(turn flows.Turn, callSID string) (Response, error) {
	expires := s.cfg.Now().Add(s.stateTTL())
	var resp Response
	last := ""
	for _, a := range turn.Actions {
		switch a.Kind {
		case flows.ActSay, flows.ActPlay:
			resp.Add(prompt(a)...)
		case flows.ActGather:
			if a.Gather == nil {
				continue
			}
			action, err := s.state.appendTo(s.cfg.PublicURL+gatherPath, turn.State, callSID, expires)
			if err != nil {
				return resp, err
			}
			g := a.Gather
			prompts := make([]Node, 0, len(g.Prompts))
			for _, p := range g.Prompts {
				prompts = append(prompts, prompt(p)...)
			}
			resp.Add(Gather(GatherAttrs{
				Input:               g.Input,
				Action:              action,
				Method:              http.MethodPost,
				Timeout:             g.TimeoutSeconds,
				NumDigits:           g.NumDigits,
				FinishOnKey:         g.FinishOnKey,
				Hints:               fitHints(g.Hints),
				Language:            g.Language,
				ActionOnEmptyResult: true,
			}, prompts...))
		case flows.ActRecord:
			if a.Record == nil {
				continue
			}
			action, err := s.state.appendTo(s.cfg.PublicURL+gatherPath, turn.State, callSID, expires)
			if err != nil {
				return resp, err
			}
			rec := a.Record
			resp.Add(Record(RecordAttrs{
				Action: action, Method: http.MethodPost, MaxLength: rec.MaxSeconds, Timeout: rec.TimeoutSeconds,
				FinishOnKey: rec.FinishOnKey, PlayBeep: rec.PlayBeep, Transcribe: rec.Transcribe,
			}))
			// Twilio skips the action when nothing was recorded and goes on to the next verb:
			// the same action then hears an empty recording (the node's no-input way).
			resp.Add(redirectTo(action))
		case flows.ActHandoff:
			switch h := a.Handoff; {
			case h == nil:
			case h.Wait:
				n, err := s.enqueue(*h, taskJSON(handoffContext(*h)), turn.State, callSID, expires)
				if err != nil {
					return resp, err
				}
				resp.Add(n)
			default:
				resp.Add(s.handoff(*h))
			}
		case flows.ActHangup:
			resp.Add(Hangup())
		}
		last = string(a.Kind)
	}
	if f := turn.Fetch; f != nil && f.Key != "" {
		// A fetch runs while the caller hears the words above: the redirect picks up its
		// answer.
		action, err := s.state.appendTo(s.cfg.PublicURL+fetchPath, turn.State, callSID, expires)
		if err != nil {
			return resp, err
		}
		resp.Add(redirectTo(action + "&k=" + url.QueryEscape(f.Key)))
		return resp, nil
	}
	if last != string(flows.ActGather) && last != string(flows.ActRecord) && last != string(flows.ActHandoff) && last != string(flows.ActHangup) {
		resp.Add(Hangup())
	}
	return resp, nil
}

// prompt is a Say or a Play. A text longer than Twilio takes in one <Say> for the voice
// (flows.MaxSay) is said in several, each within the limit, rather than refused.
func prompt(a flows.Action) []Node {
	if a.Kind == flows.ActPlay {
		return []Node{Play(a.URL)}
	}
	limit := flows.MaxSay(a.Voice)
	if speechLen(a.Speech) <= limit {
		return []Node{Say(a.Language, a.Voice, a.Speech)}
	}
	var out []Node
	var part flows.Speech
	n := 0
	flush := func() {
		if len(part) > 0 {
			out = append(out, Say(a.Language, a.Voice, part))
			part, n = nil, 0
		}
	}
	for _, seg := range a.Speech {
		for _, piece := range splitText(seg.Text, limit) {
			s := seg
			s.Text = piece
			if l := utf8.RuneCountInString(piece); n+l > limit {
				flush()
			}
			part = append(part, s)
			n += utf8.RuneCountInString(piece)
		}
	}
	flush()
	return out
}

func speechLen(sp flows.Speech) int {
	n := 0
	for _, s := range sp {
		n += utf8.RuneCountInString(s.Text)
	}
	return n
}

// splitText cuts s into pieces of at most limit characters, at spaces where it can.
func splitText(s string, limit int) []string {
	var out []string
	for utf8.RuneCountInString(s) > limit {
		cut := len(s)
		for i, count := 0, 0; i < len(s); count++ {
			if count == limit {
				cut = i
				break
			}
			_, w := utf8.DecodeRuneInString(s[i:])
			i += w
		}
		if sp := strings.LastIndexByte(s[:cut], ' '); sp > 0 {
			cut = sp + 1
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// fitHints keeps the speech hints Twilio takes: at most flows.MaxHints, each at most
// flows.MaxHintLength characters (a household's first names can add to a flow's words).
func fitHints(hints []string) []string {
	if len(hints) <= flows.MaxHints && !slices.ContainsFunc(hints, longHint) {
		return hints
	}
	out := make([]string, 0, min(len(hints), flows.MaxHints))
	for _, h := range hints {
		if len(out) < flows.MaxHints && !longHint(h) {
			out = append(out, h)
		}
	}
	return out
}

func longHint(h string) bool { return utf8.RuneCountInString(h) > flows.MaxHintLength }

// handoff passes the call to a person: TaskRouter with a Task when a workflow is
// configured, else SIP with X- headers, else a Twilio Client with <Parameter>s.
func (s *Edge) handoff(h flows.Handoff) Node {
	ctx := handoffContext(h)
	cfg := s.cfg.Handoff
	if h.Workflow != "" || h.SIP != "" || h.Client != "" {
		// The node names its own target.
		cfg = HandoffConfig{WorkflowSID: h.Workflow, SIPURI: h.SIP, Client: h.Client}
	}
	switch {
	case cfg.WorkflowSID != "":
		return Enqueue(cfg.WorkflowSID, taskJSON(ctx), h.Priority, 0)
	case cfg.SIPURI != "":
		return Dial(DialAttrs{}, DialSip(sipWithHeaders(cfg.SIPURI, ctx)))
	default:
		return Dial(DialAttrs{}, DialClient(cfg.Client, ctx))
	}
}

// handoffContext is what the person taking the call gets: the queue, the engine's
// context, the reason.
func handoffContext(h flows.Handoff) []flows.KV {
	var ctx []flows.KV
	if h.Queue != "" { // a node with its own target may have no queue
		ctx = append(ctx, flows.KV{Key: "queue", Value: h.Queue})
	}
	ctx = append(ctx, h.Context...)
	if !hasKey(h.Context, "reason") && h.Reason != "" {
		ctx = append(ctx, flows.KV{Key: "reason", Value: h.Reason})
	}
	return ctx
}

func hasKey(kvs []flows.KV, key string) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			return true
		}
	}
	return false
}

// taskJSON writes the context as a JSON object with its keys in order.
func taskJSON(kvs []flows.KV) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(kv.Key)
		v, _ := json.Marshal(kv.Value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// sipWithHeaders adds each pair as an X- header in the SIP URI's query:
// member_id → X-Member-Id. Headers that would take the header part to Twilio's limit
// (flows.MaxSIPHeaders) are left out: the call still reaches the agent.
func sipWithHeaders(uri string, kvs []flows.KV) string {
	var b strings.Builder
	b.WriteString(uri)
	sep := "?"
	start := len(uri) + 1
	if i := strings.IndexByte(uri, '?'); i >= 0 {
		sep, start = "&", i+1
	}
	for _, kv := range kvs {
		header := "X-" + sipHeaderName(kv.Key) + "=" + url.QueryEscape(kv.Value)
		if b.Len()+len(sep)+len(header)-start >= flows.MaxSIPHeaders {
			continue
		}
		b.WriteString(sep)
		sep = "&"
		b.WriteString(header)
	}
	return b.String()
}

// sipHeaderName is member_id as Member-Id.
func sipHeaderName(key string) string {
	var b strings.Builder
	for i, part := range strings.Split(key, "_") {
		if i > 0 {
			b.WriteByte('-')
		}
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// fallback is the answer when anything fails: a short apology and an agent.
func (s *Edge) fallback() Response {
	var resp Response
	resp.Add(
		Say("en-US", "", flows.Speech{{Text: "We're sorry, we're having trouble right now. Let me connect you with an agent."}}),
		s.handoff(flows.Handoff{Queue: "agents", Reason: "fallback"}),
	)
	return resp
}
