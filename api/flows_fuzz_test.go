package api

import (
	"encoding/json"
	"testing"
)

// FuzzParseETag: any If-Match value parses without panicking, and every ETag we write
// reads back as its revision.
func FuzzParseETag(f *testing.F) {
	for _, s := range []string{`"1"`, `W/"12"`, `*`, `""`, `"-3"`, `"1`, ` "99999999999999999999" `} {
		f.Add(s, int64(7))
	}
	f.Fuzz(func(t *testing.T, v string, rev int64) {
		_, _ = parseETag(v)
		if got, ok := parseETag(etag(rev)); !ok || got != rev {
			t.Fatalf("parseETag(etag(%d)) = %d, %v", rev, got, ok)
		}
	})
}

// FuzzSimInput: any JSON value in a simulation's inputs is read or refused, never a panic.
func FuzzSimInput(f *testing.F) {
	for _, s := range []string{`"1"`, `"yes please"`, `""`, `{"digits":"12#"}`, `{"speech":"no","confidence":0.5}`, `1`, `null`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		in, err := simInput(raw)
		if err == nil && in.Digits != "" && in.Speech != "" && raw[0] == '"' {
			t.Fatalf("a string input became both digits and speech: %q", raw)
		}
	})
}
