package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
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
		message = fmt.Sprintf("%s must be a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
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
