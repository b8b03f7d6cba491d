package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// Callbacks callers asked for instead of waiting in a queue (package outbound): what is
// pending and when it is due, each try's outcome; cancel one, or dial it now.

// callbackView is a callback as the API shows it: the number masked for viewers.
type callbackView struct {
	outbound.Callback
	Context map[string]string `json:"context"`
}

func (s *Server) viewCallback(r *http.Request, c outbound.Callback) callbackView {
	v := callbackView{Callback: c, Context: map[string]string{}}
	for _, kv := range c.Context {
		v.Context[kv.Key] = kv.Value
	}
	if p, ok := principalOf(r); !ok || p.role == auth.RoleViewer {
		v.Number = lookup.Mask(c.Number)
	}
	return v
}

func (s *Server) handleListCallbacks() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := r.URL.Query().Get("status")
		if status != "" && !slices.Contains(outbound.Statuses, status) {
			writeError(w, codeInvalid, "status", "status is one of "+strings.Join(outbound.Statuses, ", "))
			return
		}
		limit := 100
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > 500 {
				writeError(w, codeInvalid, "limit", "limit is a whole number from 1 to 500")
				return
			}
			limit = n
		}
		list, err := s.deps.Callbacks.List(r.Context(), status, limit)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		out := make([]callbackView, 0, len(list))
		for _, c := range list {
			out = append(out, s.viewCallback(r, c))
		}
		writeJSON(w, http.StatusOK, map[string]any{"callbacks": out})
	})
}

// callbackID reads {callbackID}, answering 404 for anything that is not one.
func callbackID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(mux.Vars(r)["callbackID"], 10, 64)
	if err != nil || id <= 0 {
		writeError(w, codeNotFound, "callbackID", "no such callback: callback ids are whole numbers")
		return 0, false
	}
	return id, true
}

func (s *Server) handleCancelCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := callbackID(w, r)
		if !ok {
			return
		}
		c, err := s.deps.Callbacks.Cancel(r.Context(), id, s.cfg.Now())
		if err != nil {
			s.fail(w, r, "callbackID", err)
			return
		}
		writeJSON(w, http.StatusOK, s.viewCallback(r, c))
	})
}

func (s *Server) handleDialCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := callbackID(w, r)
		if !ok {
			return
		}
		c, err := s.deps.Callbacks.DialNow(r.Context(), id, s.cfg.Now())
		if err != nil {
			s.fail(w, r, "callbackID", err)
			return
		}
		writeJSON(w, http.StatusOK, s.viewCallback(r, c))
	})
}

// handleMessagesReport counts the messages flows queued per day: still queued, sent,
// delivered and failed.
func (s *Server) handleMessagesReport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, to, loc, err := s.reportPeriod(r)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		days, err := s.deps.Messages.MessagesPerDay(r.Context(), from, to, loc)
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "time_zone": loc.String(), "days": days})
	})
}

// handlePutDoNotCall puts a number on the do-not-call list: it is never dialed back, and
// its pending callbacks are cancelled.
func (s *Server) handlePutDoNotCall() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phone, ok := s.pathPhone(w, r)
		if !ok {
			return
		}
		var none struct{} // no body, or {}
		if !optionalBody(w, r, &none) {
			return
		}
		ctx := r.Context()
		if err := s.deps.Callbacks.AddDoNotCall(ctx, phone); err != nil {
			s.fail(w, r, "", err)
			return
		}
		n, err := s.deps.Callbacks.CancelPendingFor(ctx, phone, s.cfg.Now())
		if err != nil {
			s.fail(w, r, "", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"number": phone, "do_not_call": true, "callbacks_cancelled": n})
	})
}

// handleDeleteDoNotCall takes a number off the list (404 when it was not on it).
func (s *Server) handleDeleteDoNotCall() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phone, ok := s.pathPhone(w, r)
		if !ok {
			return
		}
		found, err := s.deps.Callbacks.RemoveDoNotCall(r.Context(), phone)
		switch {
		case err != nil:
			s.fail(w, r, "", err)
		case !found:
			writeError(w, codeNotFound, "phone", "that number is not on the do-not-call list")
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
}

// pathPhone reads {phone} as E.164, answering 422 for anything that is not a number.
func (s *Server) pathPhone(w http.ResponseWriter, r *http.Request) (string, bool) {
	phone, err := lookup.Normalize(mux.Vars(r)["phone"], s.cfg.DefaultRegion)
	if err != nil {
		writeError(w, codeInvalid, "phone", "phone is not a phone number")
		return "", false
	}
	return phone, true
}
