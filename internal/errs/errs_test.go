package errs

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodesAndSentinels(t *testing.T) {
	notFound := New(NotFound, "member %q: not found", "9002").In("lookup")
	wrapped := fmt.Errorf("api: get member: %w", notFound)
	for _, tc := range []struct {
		name string
		err  error
		code Code
		is   []error
		not  []error
	}{
		{"coded", notFound, NotFound, []error{ErrNotFound}, []error{ErrInvalid, ErrExists}},
		{"wrapped with fmt", wrapped, NotFound, []error{ErrNotFound}, []error{ErrInvalid}},
		{"a field", Field("pin", "must be 4 to 8 digits"), Invalid, []error{ErrInvalid}, []error{ErrNotFound}},
		{"uncoded", errors.New("connection refused"), Internal, nil, []error{ErrNotFound, ErrInvalid}},
		{"nil", nil, "", nil, []error{ErrNotFound}},
	} {
		if got := CodeOf(tc.err); got != tc.code {
			t.Errorf("%s: CodeOf = %q, want %q", tc.name, got, tc.code)
		}
		for _, s := range tc.is {
			if !errors.Is(tc.err, s) {
				t.Errorf("%s: not errors.Is %v", tc.name, s.(*Error).Code)
			}
		}
		for _, s := range tc.not {
			if errors.Is(tc.err, s) {
				t.Errorf("%s: errors.Is %v", tc.name, s.(*Error).Code)
			}
		}
	}
	// A sentinel matches by code; an error with words is no sentinel to another error.
	if errors.Is(New(NotFound, "a"), New(NotFound, "b")) {
		t.Error("two not-found errors with messages match each other")
	}
	if got := notFound.Error(); got != `lookup: member "9002": not found` {
		t.Errorf("Error() = %q", got)
	}
	if e := Of(wrapped); e != notFound || e.Message != `member "9002": not found` {
		t.Errorf("Of = %v", e)
	}
}

// Wrapf keeps a coded error's code and field and leads its message with the context;
// another error is wrapped for logs, with its words and its chain.
func TestWrapf(t *testing.T) {
	inner := &Error{Code: NotFound, Field: "version", Message: "not found: version 9"}
	err := Wrapf(inner, "flowstore", "rollback %s to %d", "default", 9)
	e := Of(err)
	if e == nil || e.Code != NotFound || e.Field != "version" || e.Message != "rollback default to 9: not found: version 9" {
		t.Fatalf("Wrapf = %+v", e)
	}
	if got := err.Error(); got != "flowstore: rollback default to 9: not found: version 9" {
		t.Errorf("Error() = %q: the cause's words once", got)
	}
	if !errors.Is(err, inner) || !errors.Is(err, ErrNotFound) {
		t.Error("the cause is not in the chain")
	}
	cause := errors.New("connection refused")
	plain := Wrapf(cause, "flowstore", "draft %s", "x")
	if Of(plain) != nil || plain.Error() != "flowstore: draft x: connection refused" || !errors.Is(plain, cause) {
		t.Errorf("Wrapf of an uncoded error = %v", plain)
	}
	withCause := &Error{Code: CacheUnavailable, Message: "stored", Op: "lookup: put", Err: cause}
	if got := withCause.Error(); got != "lookup: put: stored: connection refused" {
		t.Errorf("Error() with a cause = %q", got)
	}
}

// A store wraps whatever a query answered: nothing wrapped is nothing.
func TestWrapfKeepsNil(t *testing.T) {
	if err := Wrapf(nil, "outbound", "get %d", 1); err != nil {
		t.Errorf("Wrapf(nil) = %v", err)
	}
}
