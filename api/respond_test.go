package api

import "testing"

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body, field, problem string
	}{
		{"fine", `{"a":1,"b":[{"c":"x"},{"c":"y"}],"d":{"e":null}}`, "", ""},
		{"repeated key", `{"first_name":"A","first_name":"B"}`, "first_name", `the key "first_name" appears twice`},
		{"repeated key deep", `{"b":[{"c":1},{"c":2,"c":3}]}`, "b.1.c", `the key "c" appears twice`},
		{"same key in two objects", `{"a":{"k":1},"b":{"k":2}}`, "", ""},
		{"invalid UTF-8 in a value", "{\"first_name\":\"Zo\xe9\",\"tier\":\"x\"}", "first_name", "invalid UTF-8 in the body (at byte 17)"},
		{"invalid UTF-8 in a list", "{\"phones\":[\"+1\",\"\xff\"]}", "phones.1", "invalid UTF-8 in the body (at byte 17)"},
		{"invalid UTF-8 in a key", "{\"a\":{\"\xff\":1}}", "a", "invalid UTF-8 in the body (at byte 7)"},
		{"syntax error left to the decoder", `{"a":`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field, problem := checkJSON([]byte(tc.body))
			if field != tc.field || problem != tc.problem {
				t.Errorf("checkJSON(%q) = %q, %q; want %q, %q", tc.body, field, problem, tc.field, tc.problem)
			}
		})
	}
}

func TestHoldsNUL(t *testing.T) {
	for doc, want := range map[string]bool{
		`{"a":"x\u0000y"}`:    true,
		`{"a":"x\\u0000y"}`:   false, // an escaped backslash, then text
		`{"a":"x\\\u0000"}`:   true,
		`{"a":"\u00001"}`:     true,
		`{"a":"no nul here"}`: false,
	} {
		if got := holdsNUL([]byte(doc)); got != want {
			t.Errorf("holdsNUL(%s) = %v, want %v", doc, got, want)
		}
	}
}
