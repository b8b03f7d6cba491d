package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// Strict decoding with located problems. encoding/json reports an unknown field without
// its path and silently keeps the last of duplicate keys, so the document is first read
// into a small tree and checked against the Go types, then decoded.

const maxDepth = 32 // flow documents nest about 7 deep

type jvalue struct {
	kind byte // '{', '[', 's' string, 'n' number, 'b' bool, '0' null
	keys []string
	vals []*jvalue // object values (parallel to keys) or array elements
	text string    // string or number
}

func decodeStrict(data []byte, v any) error {
	var raw json.RawMessage // checks the syntax without decoding numbers
	if err := json.Unmarshal(data, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return Problems{{Message: fmt.Sprintf("invalid JSON at line %d, column %d: %v", line, col, se)}}
		}
		return Problems{{Message: "invalid JSON: " + err.Error()}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	root, err := readTree(dec, 0)
	if err != nil {
		return Problems{{Message: err.Error()}}
	}
	var probs Problems
	checkTree(root, reflect.TypeOf(v).Elem(), "", &probs)
	if len(probs) > 0 {
		return probs
	}
	dec = json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Problems{{Message: err.Error()}}
	}
	return nil
}

// position turns a byte offset into a line and a column (in bytes, from 1).
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

func readTree(dec *json.Decoder, depth int) (*jvalue, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d deep", maxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		v := &jvalue{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				v.keys = append(v.keys, key)
			}
			e, err := readTree(dec, depth+1)
			if err != nil {
				return nil, err
			}
			v.vals = append(v.vals, e)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		if depth == 0 {
			if _, err := dec.Token(); err != io.EOF {
				return nil, errors.New("unexpected data after the document")
			}
		}
		return v, nil
	case string:
		return &jvalue{kind: 's', text: t}, nil
	case json.Number:
		return &jvalue{kind: 'n', text: string(t)}, nil
	case bool:
		return &jvalue{kind: 'b'}, nil
	default:
		return &jvalue{kind: '0'}, nil
	}
}

var kindNames = map[byte]string{'{': "an object", '[': "a list", 's': "text", 'n': "a number", 'b': "true or false", '0': "null"}

// checkTree reports where v does not fit t: unknown or duplicate fields, wrong types.
func checkTree(v *jvalue, t reflect.Type, path string, probs *Problems) {
	bad := func(want string) {
		*probs = append(*probs, Problem{Path: path, Message: fmt.Sprintf("must be %s, not %s", want, kindNames[v.kind])})
	}
	if t == reflect.TypeFor[QueueTarget]() { // a name, or a choice of names
		switch v.kind {
		case 's':
		case '{':
			checkTree(v, reflect.TypeFor[Choice[string]](), path, probs)
		default:
			bad(`a queue name or {"cases": [...], "default": "name"}`)
		}
		return
	}
	if v.kind == '0' {
		switch t.Kind() {
		case reflect.Map, reflect.Slice, reflect.Pointer:
			return // null is "not set"
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		checkTree(v, t.Elem(), path, probs)
	case reflect.String:
		if v.kind != 's' {
			bad("text")
		}
	case reflect.Int:
		if v.kind != 'n' {
			bad("a number")
		} else if _, err := strconv.ParseInt(v.text, 10, 32); err != nil {
			*probs = append(*probs, Problem{Path: path, Message: "must be a whole number"})
		}
	case reflect.Bool:
		if v.kind != 'b' {
			bad("true or false")
		}
	case reflect.Slice:
		if v.kind != '[' {
			bad("a list")
			return
		}
		names := elemNames(v, t.Elem(), path)
		for i, e := range v.vals {
			checkTree(e, t.Elem(), names[i], probs)
		}
	case reflect.Map:
		if v.kind != '{' {
			bad("an object")
			return
		}
		seen := map[string]bool{}
		for i, k := range v.keys {
			p := join(path, k)
			if seen[k] {
				*probs = append(*probs, Problem{Path: p, Message: "duplicate key"})
				continue
			}
			seen[k] = true
			checkTree(v.vals[i], t.Elem(), p, probs)
		}
	case reflect.Struct:
		if v.kind != '{' {
			bad("an object")
			return
		}
		fields := jsonFields(t)
		seen := map[string]bool{}
		for i, k := range v.keys {
			p := join(path, k)
			f, ok := fields[k]
			switch {
			case !ok:
				*probs = append(*probs, Problem{Path: p, Message: "unknown field"})
			case seen[k]:
				*probs = append(*probs, Problem{Path: p, Message: "duplicate field"})
			default:
				seen[k] = true
				checkTree(v.vals[i], f, p, probs)
			}
		}
	}
}

// elemNames names list entries the way Validate does: by a usable, unique "id" (a test's
// "name"), else by index.
func elemNames(v *jvalue, elem reflect.Type, path string) []string {
	ids := make([]string, len(v.vals))
	field := "id"
	if elem == reflect.TypeFor[Test]() {
		field = "name"
	}
	if _, ok := jsonFields(elem)[field]; ok {
		for i, e := range v.vals {
			if e.kind != '{' {
				continue
			}
			for k, key := range e.keys {
				if key == field && e.vals[k].kind == 's' {
					ids[i] = e.vals[k].text
				}
			}
		}
	}
	return elemPaths(path, ids)
}

// jsonFields maps a struct's JSON names to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if t.Kind() != reflect.Struct {
		return nil
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// CheckDocument reads a document as a draft for flow id: it must decode (see Load) and
// name that id. Validation problems are allowed in a draft; decode problems are not. The
// answer is the loaded flow, or Problems.
func CheckDocument(id string, doc []byte) (*Flow, error) {
	f, err := Load(doc)
	if err != nil {
		return nil, err
	}
	if f.ID != id {
		return nil, Problems{{Path: "id", Message: fmt.Sprintf("must be %q, the flow's id (not %q)", id, f.ID)}}
	}
	return f, nil
}
