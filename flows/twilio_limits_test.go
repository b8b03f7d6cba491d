package flows

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestTwilioLimitsValidate: what Twilio would refuse at call time is an error at publish,
// located by its path.
func TestTwilioLimitsValidate(t *testing.T) {
	base := func(edit func(doc map[string]any)) []byte {
		doc := map[string]any{
			"schema": Schema, "id": "t", "default_language": "en-US", "start": "greet",
			"languages": map[string]any{"en-US": map[string]any{"voice": "Polly.Joanna-Neural"}},
			"nodes": []any{
				map[string]any{"id": "greet", "type": "say", "say": map[string]any{"en-US": "Hello {{ member.first_name }}."}, "next": "menu"},
				map[string]any{"id": "menu", "type": "gather", "prompt": map[string]any{"en-US": "Press 1."}, "input": "dtmf speech",
					"options": []any{map[string]any{"digits": "1", "words": map[string]any{"en-US": []any{"yes"}}, "next": "agent"}}, "no_match": "agent", "no_input": "agent"},
				map[string]any{"id": "agent", "type": "handoff", "queue": "agents"},
			},
		}
		edit(doc)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	node := func(doc map[string]any, i int) map[string]any { return doc["nodes"].([]any)[i].(map[string]any) }
	many := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = "word" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		edit func(map[string]any)
		path string // the error expected; "" for none
	}{
		{"fits", func(map[string]any) {}, ""},
		{"a language Twilio does not speak", func(d map[string]any) {
			d["languages"] = map[string]any{"en-US": map[string]any{}, "xx-YY": map[string]any{"voice": "Polly.Joanna"}}
		}, "languages.xx-YY"},
		{"a voice Twilio does not offer", func(d map[string]any) {
			d["languages"] = map[string]any{"en-US": map[string]any{"voice": "Polly.Nobody-Neural"}}
		}, "languages.en-US.voice"},
		{"a Google voice of another language", func(d map[string]any) {
			d["languages"] = map[string]any{"en-US": map[string]any{"voice": "Google.fr-FR-Standard-A"}}
		}, "languages.en-US.voice"},
		{"a Polly text past 3,000 characters", func(d map[string]any) {
			node(d, 0)["say"] = map[string]any{"en-US": strings.Repeat("a", 3001)}
		}, "nodes.greet.say.en-US"},
		{"a basic voice takes 4,096", func(d map[string]any) {
			d["languages"] = map[string]any{"en-US": map[string]any{"voice": "alice"}}
			node(d, 0)["say"] = map[string]any{"en-US": strings.Repeat("a", 4000) + "{{ member.first_name }}"}
		}, ""},
		{"a basic voice's text past 4,096", func(d map[string]any) {
			d["languages"] = map[string]any{"en-US": map[string]any{"voice": "alice"}}
			node(d, 1)["prompt"] = map[string]any{"en-US": strings.Repeat("a", 4097)}
		}, "nodes.menu.prompt.en-US"},
		{"more than 500 hints", func(d map[string]any) {
			node(d, 1)["options"] = []any{map[string]any{"digits": "1", "words": map[string]any{"en-US": many(501)}, "next": "agent"}}
		}, "nodes.menu.options"},
		{"a hint past 100 characters", func(d map[string]any) {
			node(d, 1)["options"] = []any{map[string]any{"digits": "1", "words": map[string]any{"en-US": []any{strings.Repeat("long ", 21)}}, "next": "agent"}}
		}, "nodes.menu.options"},
		{"a SIP header part of 1,024 characters", func(d map[string]any) {
			node(d, 2)["queue"], node(d, 2)["sip"] = "", "sip:agents@pbx.example.com?X-Note="+strings.Repeat("n", 1017)
		}, "nodes.agent.sip"},
		{"a SIP header Twilio drops", func(d map[string]any) {
			node(d, 2)["queue"], node(d, 2)["sip"] = "", "sip:agents@pbx.example.com?Priority=urgent"
		}, "nodes.agent.sip"},
		{"the SIP headers Twilio passes", func(d map[string]any) {
			node(d, 2)["queue"], node(d, 2)["sip"] = "", "sip:agents@pbx.example.com?X-Team=gold&User-to-User=abc"
		}, ""},
		{"a queue name past 64 characters", func(d map[string]any) {
			node(d, 2)["queue"] = strings.Repeat("q", 65)
		}, "nodes.agent.queue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Load(base(tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			got := paths(f.Validate())
			switch {
			case tc.path == "" && len(got) > 0:
				t.Errorf("errors %q (%v), want none", got, f.Validate())
			case tc.path != "" && !slices.Contains(got, tc.path):
				t.Errorf("errors %q (%v), want one at %s", got, f.Validate(), tc.path)
			}
		})
	}
}
