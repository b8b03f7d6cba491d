package ivr

import "net/http"

// Prefix is where the edge's webhooks are mounted.
const Prefix = "/twilio/"

// routes maps Twilio's webhooks to their handlers. A standard ServeMux dispatches them:
// the hot path matches without regular expressions and without copying the request.
func (s *Edge) routes() http.Handler {
	tw := http.NewServeMux()
	webhook := func(h http.Handler) http.Handler {
		h = s.answerOnce(h) // after the signature check: only genuine requests are remembered
		if s.validator != nil {
			h = s.validator.Middleware(s.cfg.PublicURL)(h)
		}
		return s.observe(h) // first, so the trace and the latency include the signature check
	}
	tw.Handle("POST /twilio/voice", webhook(s.handleVoice()))
	tw.Handle("POST /twilio/gather", webhook(s.handleGather()))
	tw.Handle("POST /twilio/fetch", webhook(s.handleFetch()))
	tw.Handle("POST /twilio/queue/wait", webhook(s.handleQueueWait()))
	tw.Handle("POST /twilio/queue/key", webhook(s.handleQueueKey()))
	tw.Handle("POST /twilio/queue/number", webhook(s.handleQueueNumber()))
	tw.Handle("POST /twilio/queue/done", webhook(s.handleQueueDone()))
	tw.Handle("POST /twilio/callback/answer", webhook(s.handleCallbackAnswer()))
	tw.Handle("POST /twilio/callback/connect", webhook(s.handleCallbackConnect()))
	tw.Handle("POST /twilio/callback/status", webhook(s.handleCallbackStatus()))
	tw.Handle("POST /twilio/sms", webhook(s.handleSMS()))
	tw.Handle("POST /twilio/message/status", webhook(s.handleMessageStatus()))
	tw.Handle("POST /twilio/status", webhook(s.handleStatus()))
	tw.Handle("POST /twilio/fallback", webhook(s.handleFallback()))
	return tw
}
