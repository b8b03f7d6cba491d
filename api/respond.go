package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

const maxJSONBody = 1 << 20

// typeMessage says in JSON's words what a value of the wrong type should have been: never
// the Go type it was to be decoded into.
func typeMessage(e *json.UnmarshalTypeError) string {
	what := "the body"
	if e.Field != "" {
		what = e.Field
	}
	want := "a JSON object"
	switch e.Type.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
		if strings.HasPrefix(e.Value, "number") {
			return fmt.Sprintf("%s must be a whole number no larger than %s, not %s", what, maxOf(e.Type), e.Value)
		}
	case reflect.Float32, reflect.Float64:
		want = "a number"
	case reflect.Slice, reflect.Array:
		want = "a JSON array"
	}
	return fmt.Sprintf("%s must be %s, not a JSON %s", what, want, e.Value)
}

// maxOf is the largest value of an integer type, as text.
func maxOf(t reflect.Type) string {
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return strconv.FormatUint(1<<(t.Bits())-1, 10)
	}
	return strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
}

// decodeJSON reads one JSON object into dst, refusing unknown fields and trailing data.
// The error it returns has already been written to w.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body must hold a single JSON object")
	}
	if err == nil {
		return nil
	}
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
		field     string
		code      = codeMalformed
		message   = err.Error()
		unknownAt = strings.TrimPrefix(err.Error(), "json: unknown field ")
	)
	switch {
	case errors.As(err, &syntax):
		message = fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		field = typeErr.Field
		code = codeInvalid
		message = typeMessage(typeErr)
	case errors.As(err, &maxErr):
		code = codeTooLarge
		message = fmt.Sprintf("body is larger than %d bytes", maxErr.Limit)
	case unknownAt != err.Error():
		field = strings.Trim(unknownAt, `"`)
		code = codeUnknownField
		message = "unknown field " + unknownAt
	case errors.Is(err, io.EOF):
		message = "body is empty: a JSON object is required"
	}
	writeError(w, code, field, message)
	return err
}
