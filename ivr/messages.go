package ivr

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// Messages: a message node's message goes to the outbox (package outbound) after the
// number's consent is checked, never sent in the webhook; the sender delivers it and
// Twilio reports its status to /twilio/message/status. /twilio/sms hears STOP, START and
// HELP and their synonyms, and keeps each number's consent.

// MessageNotConfigured is a message node's status when the service cannot send messages.
const MessageNotConfigured = "not_configured"

// queueMessage queues a message node's message, or says why not: the number opted out
// or cannot take messages. A retry of the webhook finds the message queued already.
func (s *Edge) queueMessage(ctx context.Context, call flows.Call, req flows.MessageRequest) flows.Messaged {
	if s.deps.Messages == nil || !s.cfg.MessagesReady {
		return flows.Messaged{Status: MessageNotConfigured}
	}
	consent, err := s.deps.Messages.ConsentOf(ctx, req.To)
	if err != nil {
		s.log.WarnContext(ctx, "consent not read; the message is not sent", "err", err)
		return flows.Messaged{Status: MessageNotConfigured}
	}
	switch consent.Status {
	case outbound.OptedOut:
		return flows.Messaged{Status: flows.MessageOptedOut}
	case outbound.NotMobile:
		return flows.Messaged{Status: flows.MessageNotMobile}
	case outbound.Invalid:
		return flows.Messaged{Status: flows.MessageInvalid}
	}
	m := outbound.Message{CallSID: call.CallSID, Node: req.Node, Channel: req.Channel, Number: req.To, Body: req.Body,
		Language: req.Language, Flow: ""}
	if t := req.Template; t != nil {
		m.TemplateSID, m.TemplateVars = t.SID, t.Variables
	}
	if _, _, err := s.deps.Messages.Enqueue(context.WithoutCancel(ctx), m, s.cfg.Now()); err != nil {
		s.log.ErrorContext(ctx, "message not queued", "err", err)
		return flows.Messaged{Status: MessageNotConfigured}
	}
	return flows.Messaged{Status: flows.MessageQueued}
}

// Twilio's default opt-out, opt-in and help keywords.
var (
	stopWords  = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
	startWords = []string{"START", "UNSTOP", "YES"}
	helpWords  = []string{"HELP", "INFO"}
)

// keyword is an SMS body as a keyword: upper case, without surrounding spaces and
// punctuation ("Stop." is STOP).
func keyword(body string) string {
	return strings.ToUpper(strings.TrimFunc(body, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || strings.ContainsRune(".,;:!?¡¿\"'()-", r)
	}))
}

// handleSMS answers an incoming SMS: STOP and its synonyms opt the number out, START and
// its synonyms opt it back in, HELP and INFO get a help text, each in the member's
// language (the line's default for a number no member has); anything else gets no answer.
func (s *Edge) handleSMS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var reply, status, source string
		switch kw := keyword(r.PostFormValue("Body")); {
		case slices.Contains(stopWords, kw):
			reply, status, source = flows.PhraseSMSStop, outbound.OptedOut, "sms "+kw
		case slices.Contains(startWords, kw):
			reply, status, source = flows.PhraseSMSStart, outbound.OptedIn, "sms "+kw
		case slices.Contains(helpWords, kw):
			reply = flows.PhraseSMSHelp
		}
		var resp Response
		if reply == "" {
			_ = writeTwiML(w, resp)
			return
		}
		number, err := lookup.Normalize(r.PostFormValue("From"), s.cfg.DefaultRegion)
		if status != "" && err == nil && s.deps.Messages != nil {
			if err := s.deps.Messages.SetConsent(ctx, number, status, source, s.cfg.Now()); err != nil {
				s.log.ErrorContext(ctx, "consent not recorded", "from", lookup.Mask(number), "err", err)
				w.WriteHeader(http.StatusServiceUnavailable) // Twilio tries again
				return
			}
		}
		// The member's language, as the line's own flow would speak it.
		var caller flows.Caller
		if err == nil {
			caller, _ = s.Caller(ctx, number, s.cfg.Now())
		}
		resp.Add(Message(s.deps.Flow.Phrase(flows.Call{Caller: caller}, flows.State{}, reply, 0).Speech.String()))
		s.log.InfoContext(ctx, "sms keyword", "from", lookup.Mask(number), "reply", reply)
		_ = writeTwiML(w, resp)
	})
}

// handleMessageStatus records a message's delivery status, in any order (a late "sent"
// never undoes "delivered"); an unknown MessageSid is acknowledged and ignored. Error
// 21610 (the number replied STOP) opts the number out.
func (s *Edge) handleMessageStatus() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s.deps.Messages != nil {
			code, _ := strconv.Atoi(r.PostFormValue("ErrorCode"))
			m, found, err := s.deps.Messages.MessageStatus(ctx, r.PostFormValue("MessageSid"), r.PostFormValue("MessageStatus"), code, s.cfg.Now())
			switch {
			case err != nil:
				s.log.WarnContext(ctx, "message status not recorded", "err", err)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			case found && code == 21610:
				_ = s.deps.Messages.SetConsent(ctx, m.Number, outbound.OptedOut, "twilio 21610", s.cfg.Now())
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
