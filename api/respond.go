package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
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

// isJSONType: application/json, or a JSON-based type (application/…+json).
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// checkJSON finds what encoding/json would let through silently: a key repeated in an
// object (it keeps the last) and invalid UTF-8 (it substitutes U+FFFD). It answers the
// path of the first such place and what is wrong there, or "" for a body without them
// (syntax errors are left to the decoder).
func checkJSON(body []byte) (field, problem string) {
	bad := -1
	if !utf8.Valid(body) {
		for i := 0; i < len(body); {
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n <= 1 {
				bad = i
				break
			}
			i += n
		}
	}
	type frame struct {
		object bool
		keys   map[string]bool
		key    string // the key whose value comes next, in an object
		index  int    // the next element's index, in an array
		path   string
	}
	var stack []*frame
	at := func() string { // the path of the value about to be read
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			return join(f.path, f.key)
		}
		return join(f.path, strconv.Itoa(f.index))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		path := at()
		tok, err := dec.Token()
		if err != nil {
			return "", ""
		}
		if bad >= 0 && dec.InputOffset() > int64(bad) {
			if f := top(stack); f != nil && f.object && f.key == "" {
				path = f.path // in a key: the object holding it
			}
			return path, "invalid UTF-8 in the body (at byte " + strconv.Itoa(bad) + ")"
		}
		f := top(stack)
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				stack = append(stack, &frame{object: d == '{', keys: map[string]bool{}, path: path})
				continue
			default:
				stack = stack[:len(stack)-1]
			}
		} else if f != nil && f.object && f.key == "" {
			k, _ := tok.(string)
			if f.keys[k] {
				return join(f.path, k), "the key " + strconv.Quote(k) + " appears twice"
			}
			f.keys[k] = true
			f.key = k
			continue
		}
		// A value ended: the next one in its container.
		if f := top(stack); f != nil {
			if f.object {
				f.key = ""
			} else {
				f.index++
			}
		}
	}
}

func top[T any](s []*T) *T {
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1]
}

// join is a dotted path: a.b.0.c.
func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

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

// decodeJSON reads one JSON object into dst as strictly as flow documents are read: a
// body whose Content-Type is not JSON (415), invalid UTF-8 or a repeated key (400 naming
// where), an unknown field, a wrong type, trailing data. The error it returns has already
// been written to w.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONType(ct) {
		err := errors.New("not JSON")
		writeError(w, codeUnsupportedType, "Content-Type", "the body must be JSON (Content-Type: application/json), not "+strconv.Quote(text(ct)))
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err == nil {
		if field, problem := checkJSON(body); problem != "" {
			writeError(w, codeMalformed, field, problem)
			return errors.New(problem)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err == nil {
		err = dec.Decode(dst)
	}
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
