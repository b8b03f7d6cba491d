package ivr

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// The queue: a handoff node with a wait enqueues the call with a wait URL
// (/twilio/queue/wait), whose answers the engine makes from Twilio's queue figures
// (flows.Flow.Wait): announcements, music, and the offer of a callback. A caller who
// presses 1 (or 2 and another number) gets a callback stored in PostgreSQL, then
// <Leave/>; the Enqueue's action (/twilio/queue/done) confirms it and hangs up. The
// dispatcher (package outbound) calls back when it is due; the member answers at
// /twilio/callback/answer, presses 1 and is enqueued at the top priority.

const (
	queueWaitPath   = "/twilio/queue/wait?s="
	queueKeyPath    = "/twilio/queue/key?s="
	queueNumberPath = "/twilio/queue/number?s="
	queueDonePath   = "/twilio/queue/done?s="

	callbackAnswerPath  = "/twilio/callback/answer?c="
	callbackConnectPath = "/twilio/callback/connect?c="
	callbackStatusPath  = "/twilio/callback/status?c="

	// callbackTokenTTL bounds how long a callback's webhooks are accepted after it is
	// dialed.
	callbackTokenTTL = 24 * time.Hour
	// topPriority is a callback's priority when the member is connected.
	topPriority = 1<<31 - 1
)

// callbacksOn reports whether waiting callers are offered callbacks.
func (s *Edge) callbacksOn() bool { return s.deps.Callbacks != nil && s.cfg.CallbacksReady }

// enqueue is the <Enqueue> of a handoff with a wait: TaskRouter's workflow with the
// task's attributes and priority, or the named queue; its wait URL and action carry the
// call's state at the handoff node.
func (s *Edge) enqueue(h flows.Handoff, ctxJSON string, st flows.State, callSID string, expires time.Time) (Node, error) {
	st.Node, st.Attempts = h.Node, 0
	wait, err := s.state.appendTo(s.cfg.PublicURL+queueWaitPath, st, callSID, expires)
	if err != nil {
		return Node{}, err
	}
	done, err := s.state.appendTo(s.cfg.PublicURL+queueDonePath, st, callSID, expires)
	if err != nil {
		return Node{}, err
	}
	a := EnqueueAttrs{Action: done, Method: http.MethodPost, WaitURL: wait, WaitURLMethod: http.MethodPost}
	workflow := h.Workflow
	if workflow == "" && h.SIP == "" && h.Client == "" {
		workflow = s.cfg.Handoff.WorkflowSID
	}
	if workflow != "" {
		a.WorkflowSid = workflow
		task := Task(ctxJSON, h.Priority)
		return EnqueueTo(a, "", &task), nil
	}
	return EnqueueTo(a, h.Queue, nil), nil
}

// queueInfo reads Twilio's queue figures; anything missing or garbage is unknown. When
// Twilio sends none (a redirect), the figures the previous answer carried in the URL
// stand, the time in the queue grown by the time since (at).
func (s *Edge) queueInfo(r *http.Request) flows.QueueInfo {
	_ = r.ParseForm()
	src := r.PostForm
	fresh := src.Has("QueuePosition") || src.Has("QueueTime")
	if !fresh {
		src = r.URL.Query()
	}
	num := func(k string) int {
		n, err := strconv.Atoi(strings.TrimSpace(src.Get(k)))
		if err != nil || n < 0 || n > 1_000_000 {
			return 0
		}
		return n
	}
	q := flows.QueueInfo{Position: num("QueuePosition"), QueueTime: time.Duration(num("QueueTime")) * time.Second,
		AvgTime: time.Duration(num("AvgQueueTime")) * time.Second, Size: num("CurrentQueueSize")}
	if at, err := strconv.ParseInt(r.URL.Query().Get("at"), 10, 64); !fresh && err == nil {
		if since := s.cfg.Now().Sub(time.Unix(at, 0)); since > 0 && since < 24*time.Hour {
			q.QueueTime += since.Truncate(time.Second)
		}
	}
	return q
}

// queueQuery carries the queue's figures, the last announcement and the time of this
// answer to the next webhook.
func (s *Edge) queueQuery(q flows.QueueInfo, announced time.Duration) string {
	return "&QueuePosition=" + strconv.Itoa(q.Position) + "&AvgQueueTime=" + strconv.Itoa(int(q.AvgTime/time.Second)) +
		"&CurrentQueueSize=" + strconv.Itoa(q.Size) + "&QueueTime=" + strconv.Itoa(int(q.QueueTime/time.Second)) +
		"&a=" + strconv.Itoa(int(announced/time.Second)) + "&at=" + strconv.FormatInt(s.cfg.Now().Unix(), 10)
}

// queueCall is what every queue webhook starts with: the state, the caller, the flow.
func (s *Edge) queueCall(r *http.Request) (flows.State, flows.Call, *flows.Flow, error) {
	ctx := r.Context()
	callSID := r.PostFormValue("CallSid")
	st, err := s.state.decode(r.URL.Query().Get("s"), callSID, s.cfg.Now())
	if err != nil {
		return st, flows.Call{}, nil, err
	}
	caller, _ := s.resolveCaller(ctx, r)
	call := flows.Call{Now: s.cfg.Now(), Caller: caller, CallSID: callSID, ExperimentKey: s.cfg.ExperimentKey}
	if st.Member != "" && !hasMember(caller, st.Member) {
		call.Identified = s.identify(ctx, st.Member)
		if call.Identified.Member != nil {
			call.Caller.Members = append(call.Caller.Members, *call.Identified.Member)
		}
	}
	flow, err := s.pinnedFlow(ctx, st)
	return st, call, flow, err
}

// writeQueue writes a queue webhook's answer: Twilio allows only Play, Say, Pause,
// Gather, Redirect, Leave and Hangup in a wait URL's TwiML.
func (s *Edge) writeQueue(w http.ResponseWriter, r *http.Request, resp Response) {
	if err := writeTwiML(w, resp); err != nil {
		s.log.ErrorContext(r.Context(), "queue answer not encodable", "err", err)
		_ = writeTwiML(w, Response{})
	}
}

// keepWaiting is a wait URL's answer when anything failed: a pause, after which Twilio
// asks the wait URL again. The caller keeps their place.
func keepWaiting() Response {
	var resp Response
	resp.Add(Pause(10))
	return resp
}

// handleQueueWait answers the wait URL: what the engine says the caller hears now, then a
// redirect back here carrying the last announcement.
func (s *Edge) handleQueueWait() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, call, flow, err := s.queueCall(r)
		if err != nil {
			s.log.WarnContext(r.Context(), "wait webhook not understood; the caller keeps waiting", "err", err)
			s.writeQueue(w, r, keepWaiting())
			return
		}
		q := s.queueInfo(r)
		last := time.Duration(-1)
		if a, err := strconv.Atoi(r.URL.Query().Get("a")); err == nil && a >= 0 {
			last = time.Duration(a) * time.Second
		}
		wt, err := flow.Wait(call, st, q, last, s.callbacksOn())
		if err != nil {
			s.log.WarnContext(r.Context(), "wait not answered by the flow; the caller keeps waiting", "err", err)
			s.writeQueue(w, r, keepWaiting())
			return
		}
		expires := s.cfg.Now().Add(s.stateTTL())
		var resp Response
		for _, a := range wt.Actions {
			switch a.Kind {
			case flows.ActSay, flows.ActPlay:
				resp.Add(prompt(a)...)
			case flows.ActGather:
				key, err := s.state.appendTo(s.cfg.PublicURL+queueKeyPath, st, call.CallSID, expires)
				if err != nil {
					s.writeQueue(w, r, keepWaiting())
					return
				}
				var prompts []Node
				for _, p := range a.Gather.Prompts {
					prompts = append(prompts, prompt(p)...)
				}
				resp.Add(Gather(GatherAttrs{Input: "dtmf", Action: key + s.queueQuery(q, wt.AnnouncedAt), Method: http.MethodPost,
					Timeout: 1, NumDigits: 1}, prompts...))
			}
		}
		if wt.PauseFor > 0 {
			resp.Add(Pause(wt.PauseFor))
		}
		again, err := s.state.appendTo(s.cfg.PublicURL+queueWaitPath, st, call.CallSID, expires)
		if err == nil {
			resp.Add(redirectTo(again + s.queueQuery(q, wt.AnnouncedAt)))
		}
		s.writeQueue(w, r, resp)
	})
}

// handleQueueKey answers a key pressed at the callback offer: 1 asks for a callback to
// the calling number, 2 for another number; anything else goes back to waiting.
func (s *Edge) handleQueueKey() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, call, flow, err := s.queueCall(r)
		if err != nil {
			s.log.WarnContext(r.Context(), "callback key not understood; the caller keeps waiting", "err", err)
			s.writeQueue(w, r, keepWaiting())
			return
		}
		q := s.queueInfo(r)
		switch strings.TrimSpace(r.PostFormValue("Digits")) {
		case "1":
			s.writeQueue(w, r, s.askCallback(r, st, call, flow, q, call.Caller.Phone))
		case "2":
			expires := s.cfg.Now().Add(s.stateTTL())
			action, err := s.state.appendTo(s.cfg.PublicURL+queueNumberPath, st, call.CallSID, expires)
			if err != nil {
				s.writeQueue(w, r, keepWaiting())
				return
			}
			var resp Response
			resp.Add(Gather(GatherAttrs{Input: "dtmf", Action: action + s.queueQuery(q, q.QueueTime), Method: http.MethodPost,
				Timeout: 10, FinishOnKey: "#"}, prompt(flow.Phrase(call, st, flows.PhraseEnterNumber, 0))...))
			resp.Add(s.backToWait(st, call.CallSID, q))
			s.writeQueue(w, r, resp)
		default:
			var resp Response
			resp.Add(s.backToWait(st, call.CallSID, q))
			s.writeQueue(w, r, resp)
		}
	})
}

// handleQueueNumber takes another number to call back, keyed in.
func (s *Edge) handleQueueNumber() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, call, flow, err := s.queueCall(r)
		if err != nil {
			s.writeQueue(w, r, keepWaiting())
			return
		}
		number, ok := s.dialable(strings.TrimSpace(r.PostFormValue("Digits")))
		if !ok {
			var resp Response
			resp.Add(prompt(flow.Phrase(call, st, flows.PhraseCannotCall, 0))...)
			resp.Add(s.backToWait(st, call.CallSID, s.queueInfo(r)))
			s.writeQueue(w, r, resp)
			return
		}
		s.writeQueue(w, r, s.askCallback(r, st, call, flow, s.queueInfo(r), number))
	})
}

// backToWait is a redirect to the wait URL.
func (s *Edge) backToWait(st flows.State, callSID string, q flows.QueueInfo) Node {
	wait, err := s.state.appendTo(s.cfg.PublicURL+queueWaitPath, st, callSID, s.cfg.Now().Add(s.stateTTL()))
	if err != nil {
		return Pause(1)
	}
	return redirectTo(wait + s.queueQuery(q, q.QueueTime))
}

// dialable is a keyed-in number as E.164 when it can be called back: a valid number of
// the line's region or with its country code, not premium-rate or shared-cost.
func (s *Edge) dialable(digits string) (string, bool) {
	if digits == "" || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", false
	}
	e164, err := lookup.Normalize(digits, s.cfg.DefaultRegion)
	if err != nil {
		if e164, err = lookup.Normalize("+"+digits, s.cfg.DefaultRegion); err != nil {
			return "", false
		}
	}
	return e164, callableBack(e164)
}

// callableBack reports whether an E.164 number may be called back: not premium-rate,
// shared-cost or otherwise charged to the line.
func callableBack(e164 string) bool {
	if e164 == "" {
		return false
	}
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return false
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.UAN, phonenumbers.VOICEMAIL, phonenumbers.PAGER:
		return false
	}
	return true
}

// askCallback stores a callback to number and takes the caller out of the queue (the
// Enqueue's action confirms it). A number that cannot be called back, or a store that
// cannot keep it, leaves the caller waiting, told why.
func (s *Edge) askCallback(r *http.Request, st flows.State, call flows.Call, flow *flows.Flow, q flows.QueueInfo, number string) Response {
	ctx := r.Context()
	var resp Response
	if !s.callbacksOn() || !callableBack(number) {
		resp.Add(prompt(flow.Phrase(call, st, flows.PhraseCannotCall, 0))...)
		resp.Add(s.backToWait(st, call.CallSID, q))
		return resp
	}
	plan, err := flow.Callback(call, st, q, number)
	if err != nil {
		s.log.WarnContext(ctx, "callback not planned", "err", err)
		resp.Add(prompt(flow.Phrase(call, st, flows.PhraseNotAvailable, 0))...)
		resp.Add(s.backToWait(st, call.CallSID, q))
		return resp
	}
	now := s.cfg.Now()
	due := now
	if m, ok := q.WaitMinutes(); ok {
		due = now.Add(time.Duration(min(m, flows.MaxWaitMinutes)) * time.Minute)
	}
	cb := outbound.Callback{CallSID: call.CallSID, MemberID: st.Member, Number: number, Queue: plan.Handoff.Queue,
		Workflow: plan.Handoff.Workflow, Priority: plan.Priority, Language: plan.Language, Reason: plan.Handoff.Reason,
		Flow: st.Flow, FlowVersion: st.Version, Node: st.Node, Trust: st.Trust, Position: q.Position,
		RequestedAt: now, DueAt: due, MaxAttempts: plan.MaxAttempts}
	if cb.MemberID == "" && len(call.Caller.Members) == 1 {
		cb.MemberID = call.Caller.Members[0].ID
	}
	if cb.Workflow == "" && plan.Handoff.SIP == "" && plan.Handoff.Client == "" {
		cb.Workflow = s.cfg.Handoff.WorkflowSID
	}
	for _, kv := range plan.Handoff.Context {
		cb.Context = append(cb.Context, outbound.KV{Key: kv.Key, Value: kv.Value})
	}
	stored, existing, err := s.deps.Callbacks.Request(ctx, cb)
	if err != nil {
		s.log.ErrorContext(ctx, "callback not stored; the caller keeps waiting", "err", err)
		resp.Add(prompt(flow.Phrase(call, st, flows.PhraseNotAvailable, 0))...)
		resp.Add(s.backToWait(st, call.CallSID, q))
		return resp
	}
	if existing && stored.CallSID != call.CallSID {
		// The number waits for a callback in this queue already: say when, and wait on.
		resp.Add(prompt(flow.Phrase(call, st, flows.PhraseAlreadyWaits, minutesUntil(stored.DueAt, now)))...)
		resp.Add(s.backToWait(st, call.CallSID, q))
		return resp
	}
	s.log.InfoContext(ctx, "callback asked for", "call_sid", call.CallSID, "callback", stored.ID, "to", lookup.Mask(number),
		"due", stored.DueAt)
	resp.Add(Leave())
	return resp
}

func minutesUntil(t, now time.Time) int {
	return max(int((t.Sub(now)+time.Minute-1)/time.Minute), 1)
}

// handleQueueDone is the Enqueue's action: after <Leave/> for a callback it confirms the
// callback and hangs up; any other end of the wait just ends.
func (s *Edge) handleQueueDone() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp Response
		if r.PostFormValue("QueueResult") != "leave" || s.deps.Callbacks == nil {
			s.writeQueue(w, r, resp)
			return
		}
		st, call, flow, err := s.queueCall(r)
		if err != nil {
			resp.Add(Hangup())
			s.writeQueue(w, r, resp)
			return
		}
		cb, err := s.deps.Callbacks.ForCall(r.Context(), call.CallSID)
		if err != nil {
			s.log.WarnContext(r.Context(), "left the queue without a callback", "call_sid", call.CallSID, "err", err)
			resp.Add(Hangup())
			s.writeQueue(w, r, resp)
			return
		}
		wait := max(cb.DueAt.Sub(s.cfg.Now()), time.Minute)
		plan, err := flow.Callback(call, st, flows.QueueInfo{Position: 1, AvgTime: wait, Size: 1}, cb.Number)
		if err == nil {
			for _, a := range plan.Confirm {
				resp.Add(prompt(a)...)
			}
		}
		resp.Add(Hangup())
		s.writeQueue(w, r, resp)
	})
}

// Callback tokens: a callback's webhooks carry c=<id>.<expiry>.<mac>, made here and
// checked there; a bad or expired one is 403 (never a connection to an agent).

func (s *Edge) callbackToken(id int64, expires time.Time) string {
	body := strconv.FormatInt(id, 10) + "." + strconv.FormatInt(expires.Unix(), 36)
	return body + "." + s.callbackMAC(body)
}

func (s *Edge) callbackMAC(body string) string {
	m := hmac.New(sha256.New, s.state.key)
	m.Write([]byte("callback|" + body))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (s *Edge) callbackID(token string) (int64, bool) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(token[i+1:]), []byte(s.callbackMAC(token[:i]))) {
		return 0, false
	}
	idS, expS, ok := strings.Cut(token[:i], ".")
	id, err1 := strconv.ParseInt(idS, 10, 64)
	exp, err2 := strconv.ParseInt(expS, 36, 64)
	if !ok || err1 != nil || err2 != nil || s.cfg.Now().Unix() > exp {
		return 0, false
	}
	return id, true
}

// CallbackURLs are the answer and status webhooks of a callback's call, for the
// dispatcher (outbound.TwilioDialer).
func (s *Edge) CallbackURLs(c outbound.Callback) (answer, status string) {
	tok := url.QueryEscape(s.callbackToken(c.ID, s.cfg.Now().Add(callbackTokenTTL)))
	return s.cfg.PublicURL + callbackAnswerPath + tok, s.cfg.PublicURL + callbackStatusPath + tok
}

// callbackOf is the callback a callback webhook names, or a 403.
func (s *Edge) callbackOf(w http.ResponseWriter, r *http.Request) (outbound.Callback, bool) {
	id, ok := s.callbackID(r.URL.Query().Get("c"))
	if !ok || s.deps.Callbacks == nil {
		http.Error(w, "forbidden", http.StatusForbidden)
		return outbound.Callback{}, false
	}
	cb, err := s.deps.Callbacks.Get(r.Context(), id)
	if err != nil || (cb.DialCallSID != "" && cb.DialCallSID != r.PostFormValue("CallSid")) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return outbound.Callback{}, false
	}
	return cb, true
}

// callbackCall is the engine's view of a callback's call: the member as the directory
// has them now, the call's trust as at the original call.
func (s *Edge) callbackCall(ctx context.Context, cb outbound.Callback) (flows.Call, flows.State) {
	call := flows.Call{Now: s.cfg.Now(), Caller: flows.Caller{Phone: cb.Number, Trust: cb.Trust}}
	if cb.MemberID != "" {
		if m := s.member(ctx, cb.MemberID, s.cfg.Now(), false); m != nil {
			call.Caller.Members = []flows.Member{*m}
		}
	}
	return call, flows.State{Flow: cb.Flow, Version: cb.FlowVersion, Node: cb.Node, Member: cb.MemberID, Trust: cb.Trust, Language: cb.Language}
}

// handleCallbackAnswer answers a callback's call: a voicemail gets a short message; a
// person hears who calls and why, and presses 1 to be connected.
func (s *Edge) handleCallbackAnswer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, ok := s.callbackOf(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		call, st := s.callbackCall(ctx, cb)
		flow, err := s.pinnedFlow(ctx, st)
		var resp Response
		answeredBy := r.PostFormValue("AnsweredBy")
		if strings.HasPrefix(answeredBy, "machine") || answeredBy == "fax" {
			resp.Add(prompt(flow.Phrase(call, st, flows.PhraseVoicemail, 0))...)
			resp.Add(Hangup())
			s.finishCallback(ctx, cb, r.PostFormValue("CallSid"), "voicemail", true)
			s.writeQueue(w, r, resp)
			return
		}
		var actions []flows.Action
		if err == nil {
			actions, err = flow.CallbackAnswer(call, st)
		}
		if err != nil {
			actions = []flows.Action{flow.Phrase(call, st, flows.PhraseVoicemail, 0)}
		}
		var prompts []Node
		for _, a := range actions {
			prompts = append(prompts, prompt(a)...)
		}
		tok := url.QueryEscape(r.URL.Query().Get("c"))
		connect := s.cfg.PublicURL + callbackConnectPath + tok
		resp.Add(Gather(GatherAttrs{Input: "dtmf", Action: connect, Method: http.MethodPost, Timeout: 6, NumDigits: 1}, prompts...))
		resp.Add(redirectTo(connect))
		s.writeQueue(w, r, resp)
	})
}

// handleCallbackConnect puts the member who answered their callback in the queue at the
// top priority, with the context of the original call.
func (s *Edge) handleCallbackConnect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, ok := s.callbackOf(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		s.finishCallback(ctx, cb, r.PostFormValue("CallSid"), "answered", true)
		kvs := make([]flows.KV, 0, len(cb.Context)+2)
		if cb.Queue != "" {
			kvs = append(kvs, flows.KV{Key: "queue", Value: cb.Queue})
		}
		for _, kv := range cb.Context {
			kvs = append(kvs, flows.KV{Key: kv.Key, Value: kv.Value})
		}
		kvs = append(kvs, flows.KV{Key: "callback_id", Value: strconv.FormatInt(cb.ID, 10)},
			flows.KV{Key: "callback_for", Value: cb.CallSID})
		var resp Response
		switch {
		case cb.Workflow != "":
			task := Task(taskJSON(kvs), topPriority)
			resp.Add(EnqueueTo(EnqueueAttrs{WorkflowSid: cb.Workflow}, "", &task))
		case cb.Queue != "":
			resp.Add(EnqueueTo(EnqueueAttrs{}, cb.Queue, nil))
		default:
			resp.Add(s.handoff(flows.Handoff{Queue: cb.Queue, Reason: cb.Reason, Context: kvs}))
		}
		s.writeQueue(w, r, resp)
	})
}

// handleCallbackStatus ends a callback's try that reached nobody: tried again later, or
// failed after its last attempt.
func (s *Edge) handleCallbackStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cb, ok := s.callbackOf(w, r)
		if !ok {
			return
		}
		if status := r.PostFormValue("CallStatus"); finalStatus(status) && cb.Status == outbound.Dialing {
			s.finishCallback(r.Context(), cb, r.PostFormValue("CallSid"), status, false)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Edge) finishCallback(ctx context.Context, cb outbound.Callback, callSID, outcome string, answered bool) {
	now := s.cfg.Now()
	if _, err := s.deps.Callbacks.Finish(context.WithoutCancel(ctx), cb.ID, outbound.Try{At: now, CallSID: callSID, Outcome: outcome},
		answered, false, outbound.RetryAt(cb, now)); err != nil {
		s.log.WarnContext(ctx, "callback try not recorded", "callback", cb.ID, "err", err)
	}
}
