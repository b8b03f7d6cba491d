package flows

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/errs"
)

// testFlow is a small valid flow to break one way at a time.
func testFlow() *Flow {
	return &Flow{
		Schema: Schema, ID: "test", Name: "Test", DefaultLanguage: "en-US",
		Languages: map[string]Language{"en-US": {Voice: "Polly.Joanna-Neural"}, "es-US": {Voice: "Polly.Lupe-Neural"}},
		StartNode: "greet",
		Nodes: []Node{
			{ID: "greet", Type: NodeSay, Say: Text{"en-US": `Hello {{ first_name_or "there" }}.`, "es-US": "Hola."}, Next: "route"},
			{ID: "route", Type: NodeBranch, Cases: []Case{
				{When: []Condition{{Field: "caller.members", Op: "eq", Value: "0"}}, Next: "menu"},
			}, Default: "menu"},
			{ID: "menu", Type: NodeGather, Prompt: Text{"en-US": "Press 1 or say yes."},
				Options: []Option{{Digits: "1", Words: map[string][]string{"en-US": {"yes"}}, Next: "agent"}},
				NoInput: "agent", NoMatch: "agent"},
			{ID: "agent", Type: NodeHandoff, Queue: QueueNamed("agents"), Reason: "test"},
			{ID: "bye", Type: NodeHangup},
		},
	}
}

// menuOption adds o to testFlow's menu.
func menuOption(f *Flow, o Option) { f.Nodes[2].Options = append(f.Nodes[2].Options, o) }

// mustLoad loads f through its JSON, as a stored document would be.
func mustLoad(t testing.TB, f *Flow) *Flow {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}

func paths(probs []Problem) []string {
	out := []string{}
	for _, p := range probs {
		out = append(out, p.Path)
	}
	return out
}

func TestDefaultFlow(t *testing.T) {
	f, err := Load(defaultFlowJSON)
	if err != nil {
		t.Fatal(err)
	}
	if probs := f.Validate(); len(probs) > 0 {
		t.Fatalf("default flow problems: %v", probs)
	}
	if first, second := Default(), Default(); first != second {
		t.Error("Default loads more than once")
	}
	// Every node is reachable, and every text is translated.
	reach := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		if id == "" || reach[id] {
			return
		}
		reach[id] = true
		for _, n := range f.Nodes {
			if n.ID != id {
				continue
			}
			for _, next := range []string{n.Next, n.Default, n.NoInput, n.NoMatch, n.NotFound} {
				visit(next)
			}
			for _, o := range n.Options {
				visit(o.Next)
			}
			for _, c := range n.Cases {
				visit(c.Next)
			}
		}
	}
	visit(f.StartNode)
	for _, n := range f.Nodes {
		if !reach[n.ID] {
			t.Errorf("node %s is unreachable", n.ID)
		}
		// Every text and every option's words in all five languages; a language choice is
		// announced in its own language only.
		for _, text := range []Text{n.Say, n.Safe, n.Prompt, n.Reprompt, n.Item, n.NotFoundPrompt} {
			for _, lang := range shippedLanguages {
				if text != nil && text[lang] == "" {
					t.Errorf("node %s: no %s text in %v", n.ID, lang, text)
				}
			}
		}
		for i, o := range n.Options {
			if o.Language != "" {
				if o.Announce[o.Language] == "" || len(o.Announce) != 1 {
					t.Errorf("node %s option %d: the %s choice is not announced in %s", n.ID, i, o.Language, o.Language)
				}
				continue
			}
			for _, lang := range shippedLanguages {
				if len(o.Words[lang]) == 0 {
					t.Errorf("node %s option %d: no %s words", n.ID, i, lang)
				}
			}
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(f *Flow)
		wantPaths []string
		wantMsg   string // in the first problem
	}{
		{"valid", func(f *Flow) {}, []string{}, ""},
		{"schema version", func(f *Flow) { f.Schema = "memberline.flow/v0" }, []string{"schema"}, `must be "memberline.flow/v1"`},
		{"no id", func(f *Flow) { f.ID = "" }, []string{"id"}, "must be a letter"},
		{"no start", func(f *Flow) { f.StartNode = "" }, []string{"start"}, "required"},
		{"unknown start", func(f *Flow) { f.StartNode = "begin" }, []string{"start"}, `unknown node "begin"`},
		{"no nodes", func(f *Flow) { f.Nodes = nil }, []string{"nodes", "start"}, "at least one node"},
		{"unknown next", func(f *Flow) { f.Nodes[0].Next = "nowhere" }, []string{"nodes.greet.next"}, `unknown node "nowhere"`},
		{"duplicate ids", func(f *Flow) { f.Nodes[4].ID = "agent" }, []string{"nodes.4.id"}, `duplicate id "agent" (also nodes.3)`},
		{"bad id", func(f *Flow) { f.Nodes[4].ID = "good bye" }, []string{"nodes.4.id"}, "must be a letter"},
		{"unknown type", func(f *Flow) { f.Nodes[4].Type = "transfer" }, []string{"nodes.bye.type"}, `unknown type "transfer"`},
		{"no type", func(f *Flow) { f.Nodes[4].Type = "" }, []string{"nodes.bye.type"}, "required"},
		{"field the type does not use", func(f *Flow) { f.Nodes[0].Queue = QueueNamed("agents") }, []string{"nodes.greet.queue"}, "not used by a say node"},
		{"missing text", func(f *Flow) { f.Nodes[0].Say = nil }, []string{"nodes.greet.say.en-US"}, "missing en-US text"},
		{"missing default-language text", func(f *Flow) { f.Nodes[0].Say = Text{"es-US": "Hola."} }, []string{"nodes.greet.say.en-US"}, "missing en-US text"},
		{"blank default-language text", func(f *Flow) { f.Nodes[0].Say["en-US"] = "  " }, []string{"nodes.greet.say.en-US"}, "missing en-US text"},
		{"undeclared language", func(f *Flow) { f.Nodes[0].Say["fr-FR"] = "Bonjour." }, []string{"nodes.greet.say.fr-FR"}, `language "fr-FR" is not declared`},
		{"template unknown field", func(f *Flow) { f.Nodes[0].Say["en-US"] = "Hi {{ member.nmae }}." }, []string{"nodes.greet.say.en-US"}, `template: unknown field "member.nmae" (column 4)`},
		{"template unknown helper", func(f *Flow) { f.Nodes[0].Say["es-US"] = "{{ shout member.first_name }}" }, []string{"nodes.greet.say.es-US"}, `unknown helper "shout"`},
		{"template choice digit outside items", func(f *Flow) { f.Nodes[0].Say["en-US"] = "Press {{ choice.digit }}." }, []string{"nodes.greet.say.en-US"}, "only known in a choose_member item"},
		{"a language without date data", func(f *Flow) {
			f.Languages["de-DE"] = Language{}
			f.Nodes[0].Say["de-DE"] = "Abflug {{ date activity.starts_at }}."
		}, []string{"languages.de-DE"}, "no data to speak dates and times in de-DE"},
		{"gather with no options and no way forward", func(f *Flow) { f.Nodes[2].Options, f.Nodes[2].NoInput, f.Nodes[2].NoMatch = nil, "", "" }, []string{"nodes.menu.options"}, "needs options or a way forward"},
		{"gather without prompt", func(f *Flow) { f.Nodes[2].Prompt = nil }, []string{"nodes.menu.prompt.en-US"}, "missing en-US text"},
		{"gather bad input", func(f *Flow) { f.Nodes[2].Input = "voice" }, []string{"nodes.menu.input"}, "must be dtmf"},
		{"gather retries out of range", func(f *Flow) { r := 9; f.Nodes[2].Retries = &r }, []string{"nodes.menu.retries"}, "between 0 and 5"},
		{"gather timeout out of range", func(f *Flow) { f.Nodes[2].Timeout = 90 }, []string{"nodes.menu.timeout"}, "between 1 and 60"},
		{"gather unknown no_match", func(f *Flow) { f.Nodes[2].NoMatch = "agnet" }, []string{"nodes.menu.no_match"}, `unknown node "agnet"`},
		{"option without digits or words", func(f *Flow) { f.Nodes[2].Options[0] = Option{Next: "agent"} }, []string{"nodes.menu.options.0"}, "needs digits or words"},
		{"option duplicate digits", func(f *Flow) { f.Nodes[2].Options = append(f.Nodes[2].Options, Option{Digits: "1", Next: "bye"}) }, []string{"nodes.menu.options.1.digits"}, `duplicate digits "1" (also options.0)`},
		{"option bad keys", func(f *Flow) { f.Nodes[2].Options[0].Digits = "1#" }, []string{"nodes.menu.options.0.digits"}, "keys 0-9 or *"},
		{"option longer than num_digits", func(f *Flow) { f.Nodes[2].NumDigits = 1; f.Nodes[2].Options[0].Digits = "12" }, []string{"nodes.menu.options.0.digits"}, "longer than num_digits"},
		{"option words in an undeclared language", func(f *Flow) { f.Nodes[2].Options[0].Words["de-DE"] = []string{"ja"} }, []string{"nodes.menu.options.0.words.de-DE"}, "not declared"},
		{"option blank word", func(f *Flow) { f.Nodes[2].Options[0].Words["en-US"] = []string{"yes", " ? "} }, []string{"nodes.menu.options.0.words.en-US.1"}, "needs a word"},
		{"option without next", func(f *Flow) { f.Nodes[2].Options[0].Next = "" }, []string{"nodes.menu.options.0.next"}, "required"},
		{"branch unknown field", func(f *Flow) { f.Nodes[1].Cases[0].When[0].Field = "caller.phone" }, []string{"nodes.route.cases.0.when.0.field"}, `unknown field "caller.phone"`},
		{"branch unknown op", func(f *Flow) { f.Nodes[1].Cases[0].When[0].Op = "like" }, []string{"nodes.route.cases.0.when.0.op"}, `unknown op "like"`},
		{"branch value not a number", func(f *Flow) { f.Nodes[1].Cases[0].When[0].Value = "none" }, []string{"nodes.route.cases.0.when.0.value"}, "whole number"},
		{"branch number op on text", func(f *Flow) {
			f.Nodes[1].Cases[0].When[0] = Condition{Field: "member.tier", Op: "gt", Value: "3"}
		}, []string{"nodes.route.cases.0.when.0.op"}, "compares numbers"},
		{"branch in without values", func(f *Flow) {
			f.Nodes[1].Cases[0].When[0] = Condition{Field: "member.tier", Op: "in"}
		}, []string{"nodes.route.cases.0.when.0.values"}, "required"},
		{"branch exists with a value", func(f *Flow) {
			f.Nodes[1].Cases[0].When[0] = Condition{Field: "activity", Op: "exists", Value: "yes"}
		}, []string{"nodes.route.cases.0.when.0"}, "takes no value"},
		{"branch case without conditions", func(f *Flow) { f.Nodes[1].Cases[0].When = nil }, []string{"nodes.route.cases.0.when"}, "at least one condition"},
		{"branch without default", func(f *Flow) { f.Nodes[1].Default = "" }, []string{"nodes.route.default"}, "required"},
		{"loop without input", func(f *Flow) { f.Nodes[1].Default = "greet" }, []string{"nodes.greet"}, "loop without input: greet → route → greet"},
		{"identify without not_found", func(f *Flow) {
			f.Nodes = append(f.Nodes, Node{ID: "number", Type: NodeIdentify, Prompt: Text{"en-US": "Enter it."}, Next: "menu"})
		}, []string{"nodes.number.not_found"}, "required"},
		{"choose_member without item", func(f *Flow) {
			f.Nodes = append(f.Nodes, Node{ID: "who", Type: NodeChooseMember, Next: "menu"})
		}, []string{"nodes.who.item.en-US"}, "missing en-US text"},
		{"handoff without a target", func(f *Flow) { f.Nodes[3].Queue = QueueTarget{} }, []string{"nodes.agent.queue"}, "needs a target"},
		{"default language not declared", func(f *Flow) { f.DefaultLanguage = "en-GB" }, []string{"default_language"}, `"en-GB" is not declared`},
		{"no default language", func(f *Flow) { f.DefaultLanguage = "" }, []string{"default_language"}, "required"},
		{"no languages", func(f *Flow) { f.Languages, f.Nodes, f.StartNode = nil, f.Nodes[3:4], "agent" }, []string{"languages", "default_language"}, "declare at least"},
		{"bad language tag", func(f *Flow) { f.Languages["english"] = Language{} }, []string{"languages.english"}, "not a language tag"},
		{"terms alike but for case", func(f *Flow) {
			f.Languages["es-US"] = Language{Terms: map[string]string{"Trip": "viaje", "trip": "viaje"}}
		}, []string{"languages.es-US.terms.trip"}, `same as "Trip"`},
		// Languages: a voice of the language, date data; language choices.
		{"a Polly voice of another language", func(f *Flow) { f.Languages["fr-CA"] = Language{Voice: "Polly.Amy-Neural"} },
			[]string{"languages.fr-CA.voice"}, "Polly.Amy-Neural speaks en-GB, not fr-CA"},
		{"a Polly voice of the language", func(f *Flow) { f.Languages["fr-CA"] = Language{Voice: "Polly.Liam-Neural"} }, []string{}, ""},
		{"a Google voice of another language", func(f *Flow) { f.Languages["pt-BR"] = Language{Voice: "Google.en-GB-Neural2-A"} },
			[]string{"languages.pt-BR.voice"}, "speaks en-GB, not pt-BR"},
		{"a language without date data", func(f *Flow) { f.Languages["it-IT"] = Language{Voice: "Polly.Bianca-Neural"} },
			[]string{"languages.it-IT"}, "no data to speak dates and times in it-IT: the date speaker has data for en, es, fr, pt"},
		{"a language choice", func(f *Flow) {
			f.Languages["fr-CA"] = Language{Voice: "Polly.Gabrielle-Neural"}
			menuOption(f, Option{Digits: "9", Language: "fr-CA", Announce: Text{"fr-CA": "Pour le français, appuyez sur 9."}, Next: "menu"})
		}, []string{}, ""},
		{"a choice of an undeclared language", func(f *Flow) {
			menuOption(f, Option{Digits: "9", Language: "fr-CA", Announce: Text{"fr-CA": "Pour le français, appuyez sur 9."}, Next: "menu"})
		}, []string{"nodes.menu.options.1.language"}, `language "fr-CA" is not declared`},
		{"a choice announced in another language", func(f *Flow) {
			menuOption(f, Option{Digits: "8", Language: "es-US", Announce: Text{"en-US": "For Spanish, press 8."}, Next: "menu"})
		}, []string{"nodes.menu.options.1.announce.en-US"}, "announced in es-US only"},
		{"an announcement without a language", func(f *Flow) {
			menuOption(f, Option{Digits: "8", Announce: Text{"es-US": "Para español, marque 8."}, Next: "menu"})
		}, []string{"nodes.menu.options.1.announce"}, "set language"},
		{"an identify option that is not a language choice", func(f *Flow) {
			f.Nodes = append(f.Nodes, Node{ID: "number", Type: NodeIdentify, Prompt: Text{"en-US": "Enter it."}, Next: "menu", NotFound: "agent",
				Options: []Option{{Digits: "123", Next: "number"}}})
		}, []string{"nodes.number.options.0.digits", "nodes.number.options.0.language"}, "one or two keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := testFlow()
			tt.change(f)
			probs := f.Validate()
			if got := paths(probs); !reflect.DeepEqual(got, tt.wantPaths) {
				t.Fatalf("paths = %q, want %q\nproblems: %v", got, tt.wantPaths, probs)
			}
			if len(probs) > 0 && !strings.Contains(probs[0].Message, tt.wantMsg) {
				t.Errorf("message = %q, want it to contain %q", probs[0].Message, tt.wantMsg)
			}
			// The same problems after a trip through the JSON document.
			if loaded := mustLoad(t, f); !reflect.DeepEqual(loaded.Validate(), probs) {
				t.Errorf("after Load: %v", loaded.Validate())
			}
		})
	}
}

func TestLoadRejects(t *testing.T) {
	const head = `{"schema":"memberline.flow/v1","id":"t","default_language":"en-US","languages":{"en-US":{}},"start":"greet",`
	tests := []struct {
		name     string
		doc      string
		wantPath string
		wantMsg  string
	}{
		{"unknown top-level field", head + `"nodes":[],"colour":"red"}`, "colour", "unknown field"},
		{"field names are case-sensitive", head + `"nodes":[],"Name":"x"}`, "Name", "unknown field"},
		{"unknown node field", head + `"nodes":[{"id":"greet","type":"say","sya":{}}]}`, "nodes.greet.sya", "unknown field"},
		{"unknown field in a node without a usable id", head + `"nodes":[{"type":"say","sya":{}}]}`, "nodes.0.sya", "unknown field"},
		{"unknown field in a node with a duplicate id", head + `"nodes":[{"id":"a","type":"hangup"},{"id":"a","type":"hangup","x":1}]}`, "nodes.1.x", "unknown field"},
		{"unknown option field", head + `"nodes":[{"id":"menu","type":"gather","options":[{"digits":"1","word":["yes"]}]}]}`, "nodes.menu.options.0.word", "unknown field"},
		{"unknown condition field", head + `"nodes":[{"id":"b","type":"branch","cases":[{"when":[{"field":"x","op":"eq","val":"1"}]}]}]}`, "nodes.b.cases.0.when.0.val", "unknown field"},
		{"unknown language field", `{"languages":{"en-US":{"voice":"v","speed":2}}}`, "languages.en-US.speed", "unknown field"},
		{"text for a number", head + `"nodes":[{"id":"menu","type":"gather","timeout":"5"}]}`, "nodes.menu.timeout", "must be a number, not text"},
		{"a fraction", head + `"nodes":[{"id":"menu","type":"gather","timeout":2.5}]}`, "nodes.menu.timeout", "whole number"},
		{"a huge number", head + `"nodes":[{"id":"menu","type":"gather","timeout":99999999999}]}`, "nodes.menu.timeout", "whole number"},
		{"a list for text", head + `"nodes":[{"id":"greet","type":"say","say":{"en-US":["Hi"]}}]}`, "nodes.greet.say.en-US", "must be text, not a list"},
		{"an object for a list", head + `"nodes":{}}`, "nodes", "must be a list, not an object"},
		{"null text", head + `"nodes":[{"id":"greet","type":null}]}`, "nodes.greet.type", "must be text, not null"},
		{"duplicate field", head + `"nodes":[{"id":"greet","type":"say","next":"a","next":"b"}]}`, "nodes.greet.next", "duplicate field"},
		{"duplicate language", head + `"nodes":[{"id":"greet","type":"say","say":{"en-US":"a","en-US":"b"}}]}`, "nodes.greet.say.en-US", "duplicate key"},
		{"not an object", `[]`, "", "must be an object, not a list"},
		{"syntax error", "{\n  \"schema\": \"x\",\n  \"id\" \"t\"\n}", "", "invalid JSON at line 3, column 8"},
		{"trailing data", `{} {}`, "", "invalid JSON"},
		{"empty", ``, "", "invalid JSON"},
		{"too deep", `{"languages":{"en-US":{"terms":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}}`, "", "nested more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Load([]byte(tt.doc))
			if err == nil {
				t.Fatalf("loaded %+v", f)
			}
			var probs Problems
			if !errors.As(err, &probs) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("err = %#v, want Problems wrapping errs.ErrInvalid", err)
			}
			if probs[0].Path != tt.wantPath || !strings.Contains(probs[0].Message, tt.wantMsg) {
				t.Errorf("problem = %q: %q, want %q: ...%q...", probs[0].Path, probs[0].Message, tt.wantPath, tt.wantMsg)
			}
		})
	}
}

func TestLoadKeepsAnInvalidDocument(t *testing.T) {
	f, err := Load([]byte(`{"schema":"memberline.flow/v1","id":"t","default_language":"en-US","languages":{"en-US":{}},"start":"x","nodes":[{"id":"greet","type":"say","say":{"en-US":"Hi {{ nope }}"},"next":"greet"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"start", "nodes.greet.say.en-US", "nodes.greet"}
	if got := paths(f.Validate()); !reflect.DeepEqual(got, want) {
		t.Errorf("paths = %q, want %q (%v)", got, want, f.Validate())
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(defaultFlowJSON)
	if example, err := os.ReadFile("testdata/example_flow.json"); err == nil {
		f.Add(example)
	}
	b, _ := json.Marshal(testFlow())
	f.Add(b)
	f.Add([]byte(`{"schema":"memberline.flow/v1","nodes":[{"id":"a","type":"say","say":{"en-US":"{{ date activity.starts_at }}"},"next":"a"}]}`))
	f.Add([]byte(`{"nodes":[{"id":"a"},{"id":"a"}],"languages":{"en-US":{"terms":{"a":"b"}}}}`))
	f.Add([]byte(`[1, "x", null, true, {"a": {}}]`))
	f.Add([]byte(`{"schema":"memberline.flow/v1","id":"t","default_language":"en-US","languages":{"en-US":{}},"start":"s",` +
		`"time_zone":"Asia/Tokyo","holidays":["12-25","2026-11-26","02-29"],"vars":["topic"],"max_steps_without_input":5,"nodes":[` +
		`{"id":"s","type":"set","set":{"code":"{{ spell activity.reference }}","t":"{{ time call.now }}"},"next":"b"},` +
		`{"id":"b","type":"branch","cases":[{"when":[{"field":"call.time","op":"between","values":["22:00","06:00"],"time_zone":"member"},` +
		`{"field":"call.holiday","op":"ne","value":"true"},{"field":"vars.code","op":"exists"}],"next":"p"},` +
		`{"when":[{"field":"caller.trust","op":"in","values":["suspicious"]},{"field":"call.date","op":"gte","value":"2026-01-01"}],"next":"h"}],"default":"r"},` +
		`{"id":"p","type":"play","url":"https://example.com/a.mp3","next":"g"},` +
		`{"id":"g","type":"gather","prompt":{"en-US":"{{ vars.topic }}"},"no_input_prompt":{"en-US":"?"},"options":[{"digits":"1","next":"r"}],"no_match":"o"},` +
		`{"id":"r","type":"record","max_seconds":30,"beep":false,"next":"h","no_input":"o"},` +
		`{"id":"o","type":"goto","flow":"other"},` +
		`{"id":"h","type":"handoff","sip":"sip:a@b.example","reason":"x"}]}`))
	f.Add([]byte(`{"schema":"memberline.flow/v1","id":"t","default_language":"en-US","languages":{"en-US":{}},"start":"i",` +
		`"disclosure":{"suspicious":[],"unverified":["member.first_name"],"verified":["activity.place"],"verified_pin":["activity.reference","member.attributes.*"]},"nodes":[` +
		`{"id":"i","type":"identify","prompt":{"en-US":"Number?"},"next":"v","not_found":"h"},` +
		`{"id":"v","type":"verify","prompt":{"en-US":"PIN?"},"not_found_prompt":{"en-US":"No."},"next":"r","not_found":"h","safe":{"en-US":"PIN."}},` +
		`{"id":"r","type":"remember","prompt":{"en-US":"Press 1."},"next":"s"},` +
		`{"id":"s","type":"say","say":{"en-US":"{{ member.first_name }} {{ activity.place }} {{ spell activity.reference }} {{ member.tier }}"},"safe":{"en-US":"Hi."},"next":"h"},` +
		`{"id":"h","type":"hangup"}]}`))
	calls := []Call{
		callFrom(),
		callFrom(dana(trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0)))),
		callFrom(dana(nil), sam(nil)),
		func() Call {
			m := sam(trip("recent", at(11, 20, 7, 0), at(11, 24, 18, 0)))
			m.TimeZone, m.Attributes = "Asia/Tokyo", map[string]string{"seat": "aisle"}
			c := callFrom(m)
			c.Caller.Trust = TrustSuspicious
			return c
		}(),
	}
	script := []Input{{}, {Digits: "1"}, {Speech: "yes"}, {Digits: "2002"}, {Digits: "2580"}, {Digits: "1"}, {RecordingURL: "https://example.com/r", RecordingSeconds: 3}, {Digits: "9"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := Load(data)
		if err != nil {
			var probs Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("err = %#v, want Problems", err)
			}
			return
		}
		r := fl.ValidateWith(ValidateOptions{KnownFlow: func(id string) bool { return id == "other" }})
		if r.Errors == nil || r.Warnings == nil {
			t.Fatalf("nil lists in %+v", r)
		}
		if errs := fl.Validate(); len(errs) > 0 {
			return
		}
		// A valid flow runs: errors are fine (a goto loop), panics not.
		env := SimEnv{
			Identify: func(number string) *Member {
				if number == "2002" {
					return &Member{ID: "2002"}
				}
				return nil
			},
			LoadFlow: func(string) (*Flow, error) { return fl, nil },
			Verify:   func(_, pin string) bool { return pin == "2580" },
		}
		for _, call := range calls {
			tr, err := Simulate(fl, call, script, env)
			if err == nil && len(tr.Steps) == 0 {
				t.Fatal("no steps")
			}
			if err == nil && tr.End == "" {
				t.Fatalf("no end: %+v", tr)
			}
		}
	})
}
