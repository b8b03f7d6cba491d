package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/lookup"
)

// The codes of the API's JSON errors. Each has one status (statusOf): a handler names
// what went wrong, never a status.
const (
	codeInvalid          = "invalid"        // a value is not acceptable: the field names it
	codeMalformed        = "malformed_json" // the body is not the JSON asked for
	codeUnknownField     = "unknown_field"
	codeTooLarge         = "too_large"
	codeUnsupportedType  = "unsupported_media_type"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeExists           = "exists"
	codeUnpublished      = "unpublished"
	codeStale            = "stale"
	codeIfMatchRequired  = "if_match_required"
	codeRateLimited      = "rate_limited"
	codeNotConfigured    = "not_configured"
	codeUnavailable      = "unavailable"
	codeCacheUnavailable = "cache_unavailable"
	codeInternal         = "internal"
)

var statusOf = map[string]int{
	codeInvalid:          http.StatusUnprocessableEntity,
	codeMalformed:        http.StatusBadRequest,
	codeUnknownField:     http.StatusBadRequest,
	codeTooLarge:         http.StatusRequestEntityTooLarge,
	codeUnsupportedType:  http.StatusUnsupportedMediaType,
	codeUnauthorized:     http.StatusUnauthorized,
	codeForbidden:        http.StatusForbidden,
	codeNotFound:         http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeExists:           http.StatusConflict,
	codeUnpublished:      http.StatusConflict,
	codeStale:            http.StatusPreconditionFailed,
	codeIfMatchRequired:  http.StatusPreconditionRequired,
	codeRateLimited:      http.StatusTooManyRequests,
	codeNotConfigured:    http.StatusNotImplemented,
	codeUnavailable:      http.StatusServiceUnavailable,
	codeCacheUnavailable: http.StatusServiceUnavailable,
	codeInternal:         http.StatusInternalServerError,
}

// apiError is the body of every JSON error: {"error":{"code":..,"field":..,"message":..}}.
type apiError struct {
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// status is the HTTP status of an error code; a code missing from the table is a bug,
// answered as an internal error.
func status(code string) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}

// writeError writes the JSON error of code, naming field when one is at fault.
func writeError(w http.ResponseWriter, code, field, message string) {
	writeJSON(w, status(code), map[string]apiError{"error": {Code: code, Field: field, Message: message}})
}

// storePrefixes are how the stores' errors say where they come from: words for the log,
// not for the API's users.
var storePrefixes = strings.NewReplacer("lookup: ", "", "flowstore: ", "", "flows: ", "", "calls: ", "", "auth: ", "", "admin: ", "")

// plain is a store's error as the API's users read it: what was not found or refused,
// without the package that said so ("member \"9002\": not found").
func plain(err error) string { return storePrefixes.Replace(err.Error()) }

// errAnswered says that a handler has already written its error.
var errAnswered = errors.New("already answered")

// fail writes the answer to a failed operation: the one mapping from the errors of the
// stores (lookup, flows, calls, admin) to the API's codes. field names the request's part
// that a not-found or conflict is about. Anything unknown is logged and answered as an
// internal error, without its text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, field string, err error) {
	var (
		lfe   *lookup.FieldError
		afe   *auth.FieldError
		probs flows.Problems
		stale *flowstore.StaleError
	)
	switch {
	case errors.Is(err, errAnswered):
	case errors.As(err, &lfe):
		writeError(w, codeInvalid, lfe.Field, lfe.Error())
	case errors.As(err, &afe):
		writeError(w, codeInvalid, afe.Field, afe.Message)
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
	case errors.Is(err, lookup.ErrNotInvalidated):
		s.log.ErrorContext(r.Context(), "cache invalidation failed", "route", r.URL.Path, "err", err)
		writeError(w, codeCacheUnavailable, "",
			"the change was stored but the cache could not be invalidated; retrying the request is safe")
	case errors.Is(err, lookup.ErrInvalid):
		writeError(w, codeInvalid, field, plain(err))
	case errors.Is(err, auth.ErrNotFound):
		writeError(w, codeNotFound, "name", "no such token")
	case errors.Is(err, calls.ErrNotFound):
		writeError(w, codeNotFound, "call_sid", "no record of that call")
	case errors.Is(err, calls.ErrInvalid):
		writeError(w, codeInvalid, "cursor", "not a cursor this API returned")
	case errors.Is(err, lookup.ErrNotFound), errors.Is(err, flowstore.ErrNotFound):
		writeError(w, codeNotFound, field, plain(err))
	case errors.Is(err, flowstore.ErrExists):
		writeError(w, codeExists, "id", plain(err))
	case errors.Is(err, flowstore.ErrUnpublished):
		writeError(w, codeUnpublished, field, plain(err))
	default:
		s.log.ErrorContext(r.Context(), "admin request failed", "route", r.URL.Path, "err", err)
		writeError(w, codeInternal, "", "internal error")
	}
}
