package ivr

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
)

// Scope is the instrumentation scope of the edge's spans and metrics.
const Scope = "github.com/memberline/memberline/ivr"

// Span attribute keys. Numbers appear only masked or hashed; names never.
const (
	attrCallSID      = attribute.Key("twilio.call_sid")
	attrRoute        = attribute.Key("http.route")
	attrCallerMasked = attribute.Key("caller.masked")
	attrCallerHash   = attribute.Key("caller.hash")
	attrRecognized   = attribute.Key("caller.recognized")
	attrFlow         = attribute.Key("flow.id")
	attrFlowVersion  = attribute.Key("flow.version")
	attrOutcome      = attribute.Key("call.outcome")
)

// webhookRoutes are the routes the latency histogram knows; anything else is "other", so a
// stray path cannot grow the label set.
var webhookRoutes = []string{"/twilio/voice", "/twilio/gather", "/twilio/fetch", "/twilio/status", "/twilio/fallback",
	"/twilio/queue/wait", "/twilio/queue/key", "/twilio/queue/number", "/twilio/queue/done",
	"/twilio/callback/answer", "/twilio/callback/connect", "/twilio/callback/status", "/twilio/sms", "/twilio/message/status"}

var recognitionOutcomes = []string{recognizedMember, recognizedHousehold, recognizedUnknown, recognizedAnonymous, recognizedError}

// telemetry is the edge's instruments, made once; the per-route and per-outcome
// attribute sets are built up front so that recording costs no allocation.
type telemetry struct {
	tracer     trace.Tracer
	tracing    bool // false with a no-op provider: no root span at all
	latency    metric.Float64Histogram
	recognized metric.Int64Counter
	flowEnd    func(ctx context.Context, flow string, version int, outcome string)
	// retryCacheErrors counts webhooks whose answers could not be looked up or kept.
	retryCacheErrors metric.Int64Counter
	// Option slices are kept whole: passing them on with ... costs no allocation.
	routeOpt map[string][]metric.RecordOption
	spanName map[string]string
	recogOpt map[string][]metric.AddOption
}

func newTelemetry(cfg Config) *telemetry {
	tp, mp := cfg.TracerProvider, cfg.MeterProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	_, off := tp.(noop.TracerProvider)
	meter := mp.Meter(Scope)
	t := &telemetry{
		tracer:   tp.Tracer(Scope),
		tracing:  !off,
		flowEnd:  FlowOutcomes(mp),
		routeOpt: map[string][]metric.RecordOption{},
		spanName: map[string]string{},
		recogOpt: map[string][]metric.AddOption{},
	}
	// Errors here only mean an invalid name or unit, which is fixed: the no-op
	// instruments returned with them record nothing.
	t.latency, _ = meter.Float64Histogram("memberline.webhook.duration",
		metric.WithDescription("Time to answer a Twilio webhook, by route."), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15))
	t.retryCacheErrors, _ = meter.Int64Counter("memberline.webhook.retry_cache_errors",
		metric.WithDescription("Webhooks answered without the retry cache (Redis unreachable): a retry of them would run again."))
	t.recognized, _ = meter.Int64Counter("memberline.calls.recognized",
		metric.WithDescription("Incoming calls by how the caller was recognized: member, household, unknown, anonymous, error."))
	for _, r := range append(webhookRoutes, "other") {
		t.routeOpt[r] = []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrRoute.String(r)))}
		t.spanName[r] = "POST " + r
	}
	for _, o := range recognitionOutcomes {
		t.recogOpt[o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", o)))}
	}
	return t
}

// FlowOutcomes returns the recorder of the flow outcomes counter: how calls ended
// (self_service, handoff, caller_hung_up, error) by flow and version. The edge counts
// what it decides; the call recorder counts callers who hung up (see calls.Options.OnHungUp).
func FlowOutcomes(mp metric.MeterProvider) func(ctx context.Context, flow string, version int, outcome string) {
	if mp == nil {
		mp = metricnoop.NewMeterProvider()
	}
	c, _ := mp.Meter(Scope).Int64Counter("memberline.flow.outcomes",
		metric.WithDescription("Calls by how their flow ended: self_service, handoff, caller_hung_up, error; by flow and version."))
	return func(ctx context.Context, flow string, version int, outcome string) {
		c.Add(ctx, 1, metric.WithAttributes(
			attribute.String("flow", flow), attribute.String("version", strconv.Itoa(version)), attribute.String("outcome", outcome)))
	}
}

func routeOf(path string) string {
	for _, r := range webhookRoutes {
		if path == r {
			return r
		}
	}
	return "other"
}

// observe wraps every webhook: the trace's root span (ended with the call SID once the
// handler has parsed the form) and the latency histogram, signature check included.
func (s *Edge) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		route := routeOf(r.URL.Path)
		var span trace.Span
		if s.tel.tracing {
			var ctx context.Context
			ctx, span = s.tel.tracer.Start(r.Context(), s.tel.spanName[route],
				trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrRoute.String(route)))
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
		if span != nil {
			if r.PostForm != nil {
				span.SetAttributes(attrCallSID.String(r.PostForm.Get("CallSid")))
			}
			span.End()
		}
		s.tel.latency.Record(r.Context(), time.Since(start).Seconds(), s.tel.routeOpt[route]...)
	})
}

// noSpan is what startSpan returns when nothing is traced.
var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts a child of the webhook's span, carrying the call SID; without a
// recording parent it costs nothing and records nothing.
func (s *Edge) startSpan(ctx context.Context, r *http.Request, name string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, noSpan
	}
	return s.tel.tracer.Start(ctx, name, trace.WithAttributes(attrCallSID.String(r.PostFormValue("CallSid"))))
}

// callerAttrs describe a caller for a span: masked, and hashed when call records are kept.
func (s *Edge) callerAttrs(phone string) []attribute.KeyValue {
	kv := []attribute.KeyValue{attrCallerMasked.String(lookup.Mask(phone))}
	if s.deps.Calls != nil && phone != "" {
		kv = append(kv, attrCallerHash.String(s.deps.Calls.Hash(phone)))
	}
	return kv
}

const attrSignatureValid = attribute.Key("twilio.signature.valid")

// signatureSpan starts the span of the signature check under the webhook's span.
func signatureSpan(ctx context.Context) trace.Span {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return noSpan
	}
	_, span := parent.TracerProvider().Tracer(Scope).Start(ctx, "twilio.signature")
	return span
}

// signatureValid ends a passed check's span, naming the call only when the span records.
func signatureValid(span trace.Span, form url.Values) {
	if span.IsRecording() {
		span.SetAttributes(attrSignatureValid.Bool(true), attrCallSID.String(form.Get("CallSid")))
	}
	span.End()
}

// endSpan ends the engine's span with the flow it ran; attributes are built only for a
// recording span (even a no-op SetAttributes call allocates its arguments).
func endSpan(span trace.Span, err error, st flows.State) {
	if span.IsRecording() {
		span.SetAttributes(attrFlow.String(st.Flow), attrFlowVersion.Int(st.Version))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
	}
	span.End()
}

// flowOutcome maps a turn's end to a call outcome: "" while the call goes on.
func flowOutcome(turn flows.Turn, err error) string {
	switch {
	case err != nil:
		return calls.OutcomeError
	case turn.End == flows.EndHandoff:
		return calls.OutcomeHandoff
	case turn.End == flows.EndHangup:
		return calls.OutcomeSelfService
	default:
		return ""
	}
}

// record hands the webhook's part of the journey to the call recorder (never blocking)
// and counts a call whose flow ended.
func (s *Edge) record(r *http.Request, turn flows.Turn, err error, recognized string, caller flows.Caller, outcome string) {
	ctx := r.Context()
	if outcome != "" {
		afterSettling(ctx, func() { s.tel.flowEnd(context.WithoutCancel(ctx), turn.State.Flow, turn.State.Version, outcome) })
	}
	if s.deps.Calls == nil {
		return
	}
	route := "gather"
	switch {
	case strings.HasSuffix(r.URL.Path, "/voice"):
		route = "voice"
	case strings.HasSuffix(r.URL.Path, "/fetch"):
		route = "fetch"
	}
	member := turn.State.Member
	if member == "" && len(caller.Members) == 1 {
		member = caller.Members[0].ID
	}
	ev := calls.Event{
		Kind: calls.KindStep, CallSID: r.PostFormValue("CallSid"), At: s.cfg.Now(), Route: route,
		Called: r.PostFormValue("To"), Caller: caller.Phone, CallerMasked: lookup.Mask(caller.Phone),
		Recognized: recognized, MemberID: member, Flow: turn.State.Flow, Version: turn.State.Version,
		Nodes: turn.Visited, Outcome: outcome, Trust: turn.State.Trust, AskedActivity: turn.AskedActivity,
		ActivityYes: turn.ActivityYes, HadActivity: hadActivity(caller, member), AnswerKey: answerKey(ctx),
		Fetches: recordedFetches(turn.Fetches),
	}
	for _, a := range turn.Arms {
		if ev.Arms == nil {
			ev.Arms = map[string]string{}
		}
		ev.Arms[a.Experiment] = a.Arm
	}
	if caller.Phone == "" {
		ev.CallerMasked = ""
	}
	if route == "gather" {
		ev.Input = recordedInput(turn.Heard)
	}
	afterSettling(ctx, func() { s.deps.Calls.Record(ev) })
}

// hadActivity reports whether the call's member (among the caller's) has an activity.
func hadActivity(caller flows.Caller, member string) bool {
	for _, m := range caller.Members {
		if m.ID == member {
			return m.Activity != nil
		}
	}
	return false
}

// recordedInput is what a call record keeps of the caller's input at a gather webhook:
// the keys or the keyword of the option chosen, or the kind of input; nothing for a PIN
// or a consent, which no report counts.
func recordedInput(h flows.Heard) string {
	switch h.Kind {
	case flows.HeardDigits, flows.HeardKeyword:
		return h.Value
	case flows.HeardName:
		return "name"
	case flows.HeardNoMatch:
		return "unmatched"
	case flows.HeardSilence:
		return "none"
	case flows.HeardMemberNumber:
		return "member_number"
	case flows.HeardRecording:
		return "recording"
	}
	return ""
}
