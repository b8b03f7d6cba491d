// Package errs is the service's one error vocabulary: an error with a code (invalid, not
// found, exists, …), a message in words for the API's users, and the field of the request
// at fault when one is. Every package returns these for what its callers branch on or
// show; only the admin API's edge maps codes to HTTP statuses (api/errors.go), and the
// Twilio edge turns any error into fallback TwiML.
//
// Error() is for logs: the operation, then the message. The API shows the message alone,
// never the operation or a wrapped cause.
package errs

import (
	"errors"
	"fmt"
)

// Code says what kind of failure an error is. The values are the codes the admin API
// answers with.
type Code string

// The codes. The stores use the first few; the rest are the API's own (a body it cannot
// read, a missing header, a limit).
const (
	Invalid          Code = "invalid"           // a value is not acceptable
	NotFound         Code = "not_found"         // what was asked for does not exist
	Exists           Code = "exists"            // what was to be made exists already
	Unpublished      Code = "unpublished"       // a flow has no published version yet
	Stale            Code = "stale"             // it changed since it was read
	Conflict         Code = "conflict"          // not in a state that allows it
	Unauthorized     Code = "unauthorized"      // no credential, or one that is not known
	Forbidden        Code = "forbidden"         // known, but not allowed
	CacheUnavailable Code = "cache_unavailable" // stored, but the cache was not invalidated
	Malformed        Code = "malformed_json"    // the body is not the JSON asked for
	UnknownField     Code = "unknown_field"     // the body has a field nobody reads
	TooLarge         Code = "too_large"         // the body is over its limit
	UnsupportedType  Code = "unsupported_media_type"
	MethodNotAllowed Code = "method_not_allowed"
	IfMatchRequired  Code = "if_match_required"
	TooMany          Code = "rate_limited"   // too many requests: try again later
	NotConfigured    Code = "not_configured" // the feature is not set up on this service
	Unavailable      Code = "unavailable"    // busy or shutting down: try again later
	Internal         Code = "internal"       // anything else: a bug or a store down
)

// Error is a coded error.
type Error struct {
	Code    Code
	Field   string // the request's field at fault, when the error knows it
	Message string // for the API's users: what is wrong, without Go's or the package's words
	Op      string // where, for logs: "lookup: get member"
	Err     error  // the cause, for logs and errors.Is; never shown to the API's users

	wrapped bool // Err's words are in Message already (Wrapf)
}

func (e *Error) Error() string {
	s := e.Message
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil && !e.wrapped {
		s += ": " + e.Err.Error()
	}
	return s
}

// Wrapf says what op was doing when err happened. A coded error stays one, of the same
// code and field, and says it to the API's users too: its message is led by the context
// ("draft nope: not found"). Any other error is wrapped for logs ("flowstore: draft nope:
// connection refused"). A nil err stays nil, so a store can wrap whatever a query
// answered.
func Wrapf(err error, op, format string, args ...any) error {
	if err == nil {
		return nil
	}
	context := fmt.Sprintf(format, args...)
	if e := Of(err); e != nil {
		return &Error{Code: e.Code, Field: e.Field, Message: context + ": " + e.Message, Op: op, Err: err, wrapped: true}
	}
	return fmt.Errorf("%s: %s: %w", op, context, err)
}

func (e *Error) Unwrap() error { return e.Err }

// New is an error of code with a message for the API's users.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field is an invalid value of a request's field.
func Field(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// In sets where the error happened, for logs, and returns it.
func (e *Error) In(op string) *Error { e.Op = op; return e }

// Sentinels, to branch on with errors.Is: every coded error is its code's sentinel
// (errors.Is(err, errs.ErrNotFound) for any not-found error).
var (
	ErrInvalid          = &Error{Code: Invalid}
	ErrNotFound         = &Error{Code: NotFound}
	ErrExists           = &Error{Code: Exists}
	ErrUnpublished      = &Error{Code: Unpublished}
	ErrStale            = &Error{Code: Stale}
	ErrUnauthorized     = &Error{Code: Unauthorized}
	ErrCacheUnavailable = &Error{Code: CacheUnavailable}
)

// Is makes a coded error match the sentinel of its code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Field == "" && t.Op == "" && t.Err == nil && t.Code == e.Code
}

// Of is the first coded error in err's chain; nil when there is none.
func Of(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// CodeOf is the code of err: its first coded error's, Internal for any other error, ""
// for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if e := Of(err); e != nil {
		return e.Code
	}
	return Internal
}
