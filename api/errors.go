package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/errs"
)

// The codes of the API's JSON errors are the service's error codes (internal/errs). Each
// has one status: a handler or a store names what went wrong, never a status.
const (
	codeInvalid          = errs.Invalid
	codeMalformed        = errs.Malformed
	codeUnknownField     = errs.UnknownField
	codeTooLarge         = errs.TooLarge
	codeUnsupportedType  = errs.UnsupportedType
	codeUnauthorized     = errs.Unauthorized
	codeForbidden        = errs.Forbidden
	codeNotFound         = errs.NotFound
	codeMethodNotAllowed = errs.MethodNotAllowed
	codeExists           = errs.Exists
	codeStale            = errs.Stale
	codeIfMatchRequired  = errs.IfMatchRequired
	codeRateLimited      = errs.TooMany
	codeNotConfigured    = errs.NotConfigured
	codeUnavailable      = errs.Unavailable
	codeInternal         = errs.Internal
)

// statusOf is the one mapping from error codes to HTTP statuses.
var statusOf = map[errs.Code]int{
	errs.Invalid:          http.StatusUnprocessableEntity,
	errs.Malformed:        http.StatusBadRequest,
	errs.UnknownField:     http.StatusBadRequest,
	errs.TooLarge:         http.StatusRequestEntityTooLarge,
	errs.UnsupportedType:  http.StatusUnsupportedMediaType,
	errs.Unauthorized:     http.StatusUnauthorized,
	errs.Forbidden:        http.StatusForbidden,
	errs.NotFound:         http.StatusNotFound,
	errs.MethodNotAllowed: http.StatusMethodNotAllowed,
	errs.Exists:           http.StatusConflict,
	errs.Conflict:         http.StatusConflict,
	errs.Unpublished:      http.StatusConflict,
	errs.Stale:            http.StatusPreconditionFailed,
	errs.IfMatchRequired:  http.StatusPreconditionRequired,
	errs.TooMany:          http.StatusTooManyRequests,
	errs.NotConfigured:    http.StatusNotImplemented,
	errs.Unavailable:      http.StatusServiceUnavailable,
	errs.CacheUnavailable: http.StatusServiceUnavailable,
	errs.Internal:         http.StatusInternalServerError,
}

// apiError is the body of every JSON error: {"error":{"code":..,"field":..,"message":..}}.
type apiError struct {
	Code    errs.Code `json:"code"`
	Field   string    `json:"field,omitempty"`
	Message string    `json:"message"`
}

// status is the HTTP status of an error code; a code missing from the table is a bug,
// answered as an internal error.
func status(code errs.Code) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// writeError writes the JSON error of code, naming field when one is at fault.
func writeError(w http.ResponseWriter, code errs.Code, field, message string) {
	writeJSON(w, status(code), map[string]apiError{"error": {Code: code, Field: field, Message: message}})
}

// fieldErr is an invalid value of a request's field; the message names the field, as the
// directory's own field errors do.
func fieldErr(field, msg string) *errs.Error { return errs.Field(field, "%s: %s", field, msg) }

// errAnswered says that a handler has already written its error.
var errAnswered = errors.New("already answered")

// fail writes the answer to a failed operation. A coded error (internal/errs) is answered
// with its code's status, its message, and its field, or else field: the part of the
// request a not-found or conflict is about. A document's problems list every one; a stale
// draft says who changed it. Anything else is logged and answered as an internal error,
// without its text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, field string, err error) {
	var (
		probs flows.Problems
		stale *flowstore.StaleError
	)
	switch e := errs.Of(err); {
	case errors.Is(err, errAnswered):
	case errors.As(err, &probs):
		writeProblems(w, "the document", probs)
	case errors.As(err, &stale):
		w.Header().Set("ETag", etag(stale.Current.Rev))
		writeJSON(w, status(codeStale), map[string]any{
			"error": apiError{Code: codeStale, Field: "If-Match", Message: fmt.Sprintf(
				"the draft was changed by %s since you read it; your document was NOT saved: "+
					"GET the draft (ETag %s), merge your change and PUT again", stale.Current.UpdatedBy, etag(stale.Current.Rev))},
			"saved":        false,
			"current_etag": etag(stale.Current.Rev),
		})
	case e == nil || e.Code == errs.Internal:
		s.log.ErrorContext(r.Context(), "admin request failed", "route", r.URL.Path, "err", err)
		writeError(w, codeInternal, "", "internal error")
	default:
		if status(e.Code) >= 500 {
			s.log.ErrorContext(r.Context(), "admin request failed", "route", r.URL.Path, "err", err)
		}
		if e.Field != "" {
			field = e.Field
		}
		writeError(w, e.Code, field, e.Message)
	}
}
