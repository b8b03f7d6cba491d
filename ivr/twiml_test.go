package ivr

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
)

var update = flag.Bool("update", false, "rewrite golden files")

// greeting is a typical first answer: a personal hello, then a menu.
func greeting() Response {
	var r Response
	r.Add(
		Say("en-US", "Polly.Joanna-Neural", flows.Speech{{Text: "Hi Dana, welcome back to Memberline."}}),
		Gather(GatherAttrs{
			Input:     "dtmf speech",
			Action:    "https://ivr.example.com/twilio/gather?s=eyJmIjoiZGVmYXVsdCIsIm4iOiJtZW51In0.c2ln",
			Method:    "POST",
			Timeout:   5,
			NumDigits: 1,
			Hints:     []string{"trip", "booking", "agent"},
			Language:  "en-US",
		},
			Say("en-US", "Polly.Joanna-Neural", flows.Speech{
				{Text: "Your trip to Lisbon starts on Friday."},
				{BreakMS: 300},
				{Text: "Press 1 or say trip to hear it, or 0 for an agent."},
			}),
		),
		Say("en-US", "Polly.Joanna-Neural", flows.Speech{{Text: "We didn't get that."}}),
		Redirect("https://ivr.example.com/twilio/gather?s=x&retry=1"),
	)
	return r
}

func TestEncodeGolden(t *testing.T) {
	tests := []struct {
		name string // golden file: testdata/twiml_<name>.golden
		resp Response
	}{
		{"greeting", greeting()},
		{"ssml", Response{Verbs: []Node{
			Say("en-GB", "Polly.Amy-Neural", flows.Speech{
				{Text: "Your booking reference is "},
				{Text: "HX7Q2P", SayAs: "characters"},
				{BreakMS: 500},
				{Text: "Again: "},
				{Text: "HX7Q2P", SayAs: "characters"},
				{Text: "Goodbye.", BreakMS: 250},
			}),
			Pause(2),
			Play("https://cdn.example.com/chime.mp3?a=1&b=2"),
			Hangup(),
		}}},
		{"enqueue", Response{Verbs: []Node{
			Say("en-US", "Polly.Joanna-Neural", flows.Speech{{Text: "Connecting you to an agent."}}),
			Enqueue("WW0123456789abcdef0123456789abcdef",
				`{"member_id":"1001","tier":"gold","activity_reference":"HX7Q2P","reason":"trip","name":"O'Brien & <Sons>"}`,
				10, 300),
		}}},
		{"dial_client", Response{Verbs: []Node{
			Dial(DialAttrs{Action: "https://ivr.example.com/twilio/status", Timeout: 20, AnswerOnBridge: true},
				DialClient("agents", []flows.KV{
					{Key: "member_id", Value: "1001"},
					{Key: "tier", Value: "gold"},
					{Key: "reason", Value: `no-input & "retry"`},
				})),
		}}},
		{"dial_sip", Response{Verbs: []Node{
			Dial(DialAttrs{CallerID: "+14045550123"},
				DialSip("sip:agents@pbx.example.com?X-Member-Id=1001&X-Reason=trip")),
			Dial(DialAttrs{TimeLimit: 600}, Number("+14045550199")),
		}}},
		{"empty", Response{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.resp.Bytes()
			path := filepath.Join("testdata", "twiml_"+tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./ivr -run TestEncodeGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from %s\n got: %s\nwant: %s", path, got, want)
			}
			parseTwiML(t, got) // and it is well formed
		})
	}
}

func TestEncodeDeterministic(t *testing.T) {
	r := greeting()
	first := r.Bytes()
	for i := 0; i < 50; i++ {
		var buf bytes.Buffer
		if err := r.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), first) {
			t.Fatalf("run %d: Encode differs from Bytes:\n%s\n%s", i, buf.Bytes(), first)
		}
	}
	if got := r.String(); got != string(first) {
		t.Errorf("String differs from Bytes")
	}
}

func TestEncodeVerbs(t *testing.T) {
	const head = `<?xml version="1.0" encoding="UTF-8"?><Response>`
	tests := []struct {
		name string
		node Node
		want string
	}{
		{"hangup self-closes", Hangup(), `<Hangup/>`},
		{"pause default", Pause(0), `<Pause/>`},
		{"pause", Pause(3), `<Pause length="3"/>`},
		{"play", Play("https://x.test/a.mp3?a=1&b=2"), `<Play>https://x.test/a.mp3?a=1&amp;b=2</Play>`},
		{"redirect", Redirect("/twilio/voice"), `<Redirect>/twilio/voice</Redirect>`},
		{"say without voice or language", Say("", "", flows.Speech{{Text: "Hi"}}), `<Say>Hi</Say>`},
		{"say voice before language", Say("en-US", "Polly.Joanna", flows.Speech{{Text: "Hi"}}), `<Say voice="Polly.Joanna" language="en-US">Hi</Say>`},
		{"say empty", Say("", "", nil), `<Say/>`},
		{"say-as lowercase", Say("", "", flows.Speech{{Text: "HX7Q2P", SayAs: "characters"}}),
			`<Say><say-as interpret-as="characters">HX7Q2P</say-as></Say>`},
		{"break", Say("", "", flows.Speech{{Text: "a"}, {BreakMS: 500}, {Text: "b"}}), `<Say>a<break time="500ms"/>b</Say>`},
		{"gather all attributes in fixed order", Gather(GatherAttrs{
			ActionOnEmptyResult: true, Language: "fr-FR", Hints: []string{"oui", "non"}, SpeechTimeout: "auto",
			FinishOnKey: "*", NumDigits: 6, Timeout: 7, Method: "GET", Action: "/g", Input: "dtmf speech",
		}), `<Gather input="dtmf speech" action="/g" method="GET" timeout="7" numDigits="6" finishOnKey="*" speechTimeout="auto" hints="oui, non" language="fr-FR" actionOnEmptyResult="true"/>`},
		{"gather only what is set", Gather(GatherAttrs{NumDigits: 1}, Play("/a.mp3")), `<Gather numDigits="1"><Play>/a.mp3</Play></Gather>`},
		{"enqueue", Enqueue("WW1", `{"a":"<b>"}`, 0, 0), `<Enqueue workflowSid="WW1"><Task>{"a":"&lt;b&gt;"}</Task></Enqueue>`},
		{"enqueue priority timeout", Enqueue("WW1", `{}`, 5, 60), `<Enqueue workflowSid="WW1"><Task priority="5" timeout="60">{}</Task></Enqueue>`},
		{"dial client", Dial(DialAttrs{}, DialClient("agents", []flows.KV{{Key: "member_id", Value: "42"}})),
			`<Dial><Client><Identity>agents</Identity><Parameter name="member_id" value="42"/></Client></Dial>`},
		{"dial attributes in fixed order", Dial(DialAttrs{AnswerOnBridge: true, CallerID: "+1", TimeLimit: 9, Timeout: 8, Method: "POST", Action: "/d"}, Number("+2")),
			`<Dial action="/d" method="POST" timeout="8" timeLimit="9" callerId="+1" answerOnBridge="true"><Number>+2</Number></Dial>`},
		{"sip", DialSip("sip:a@b.test?X-A=1&X-B=2"), `<Sip>sip:a@b.test?X-A=1&amp;X-B=2</Sip>`},
		{"hand-built text and children", Node{Name: "Say", Text: "a", Children: []Node{{Text: "b"}, {Name: "break"}}}, `<Say>ab<break/></Say>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Response{Verbs: []Node{tt.node}}.String()
			want := head + tt.want + `</Response>`
			if got != want {
				t.Errorf("\n got: %s\nwant: %s", got, want)
			}
		})
	}
}

func TestEncodeEscaping(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		text, attr string // as written in element content and in an attribute value
	}{
		{"plain", "Dana", "Dana", "Dana"},
		{"markup", `<a href="x">&'`, `&lt;a href="x"&gt;&amp;'`, `&lt;a href=&quot;x&quot;&gt;&amp;&apos;`},
		{"cdata end", "]]>", "]]&gt;", "]]&gt;"},
		{"whitespace", "a\tb\nc\r\nd", "a\tb\nc&#xD;\nd", "a&#x9;b&#xA;c&#xD;&#xA;d"},
		{"controls", "a\x00b\x1bc\x7f", "a\uFFFDb\uFFFDc\x7f", "a\uFFFDb\uFFFDc\x7f"},
		{"invalid utf-8", "a\xffb\xc3", "a\uFFFDb\uFFFD", "a\uFFFDb\uFFFD"},
		{"surrogate half", "a\xed\xa0\x80b", "a\uFFFD\uFFFD\uFFFDb", "a\uFFFD\uFFFD\uFFFDb"},
		{"non-characters", "a\uFFFEb\uFFFFc", "a\uFFFDb\uFFFDc", "a\uFFFDb\uFFFDc"},
		{"allowed non-ASCII", "Zoë 東京 \U0001F600 \uFFFD", "Zoë 東京 \U0001F600 \uFFFD", "Zoë 東京 \U0001F600 \uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Response{Verbs: []Node{{Name: "X", Attrs: []Attr{{"v", tt.in}}, Text: tt.in}}}.String()
			want := `<?xml version="1.0" encoding="UTF-8"?><Response><X v="` + tt.attr + `">` + tt.text + `</X></Response>`
			if got != want {
				t.Errorf("\n got: %q\nwant: %q", got, want)
			}
			doc := parseTwiML(t, []byte(got))
			x := doc.child("X")
			if x == nil {
				t.Fatal("no <X>")
			}
			if clean := xmlClean(tt.in); x.text() != clean || x.attr("v") != clean {
				t.Errorf("decoded text %q, attribute %q; want %q", x.text(), x.attr("v"), clean)
			}
		})
	}
}

// A member's name and place survive the trip through TwiML, in text and in attributes.
func TestEncodeRoundTrip(t *testing.T) {
	const name, place = `O'Brien & <Sons> "Co"`, `<>&"'`
	r := Response{Verbs: []Node{
		Say("en-US", "Polly.Joanna-Neural", flows.Speech{{Text: name}}),
		Say("en-US", "Polly.Joanna-Neural", flows.Speech{{Text: "Hello "}, {Text: name}, {BreakMS: 200}, {Text: place, SayAs: "characters"}}),
		Dial(DialAttrs{}, DialClient("agents", []flows.KV{{Key: "name", Value: name}, {Key: "place", Value: place}})),
	}}
	doc := parseTwiML(t, r.Bytes())
	says := doc.all("Say")
	if len(says) != 2 {
		t.Fatalf("got %d <Say>, want 2", len(says))
	}
	if got := says[0].text(); got != name {
		t.Errorf("Say = %q, want %q", got, name)
	}
	if got, want := says[1].text(), "Hello "+name+place; got != want {
		t.Errorf("Say = %q, want %q", got, want)
	}
	if got := says[1].child("say-as").text(); got != place {
		t.Errorf("say-as = %q, want %q", got, place)
	}
	params := doc.child("Dial").child("Client").all("Parameter")
	if len(params) != 2 || params[0].attr("value") != name || params[1].attr("value") != place {
		t.Errorf("parameters = %+v", params)
	}
}

func TestEncodeInvalidNode(t *testing.T) {
	tests := []struct {
		name string
		node Node
	}{
		{"empty attribute name", Node{Name: "Say", Attrs: []Attr{{"", "x"}}}},
		{"element name with space", Node{Name: "Say x"}},
		{"element name with markup", Node{Name: "a><b"}},
		{"element name starting with digit", Node{Name: "1a"}},
		{"attribute name with quote", Node{Name: "Say", Attrs: []Attr{{`a"`, "x"}}}},
		{"repeated attribute", Node{Name: "Say", Attrs: []Attr{{"voice", "a"}, {"voice", "b"}}}},
		{"text node with attributes", Node{Attrs: []Attr{{"a", "b"}}}},
		{"text node with children", Node{Children: []Node{Hangup()}}},
		{"deep", Gather(GatherAttrs{}, Node{Name: "Say", Children: []Node{{Name: "bad name"}}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Response{Verbs: []Node{Hangup(), tt.node}}
			var buf bytes.Buffer
			if err := r.Encode(&buf); !errors.Is(err, ErrInvalidNode) {
				t.Errorf("Encode error = %v, want ErrInvalidNode", err)
			}
			if buf.Len() != 0 {
				t.Errorf("Encode wrote %q before failing", buf.Bytes())
			}
			defer func() {
				if err, _ := recover().(error); !errors.Is(err, ErrInvalidNode) {
					t.Errorf("Bytes panicked with %v, want ErrInvalidNode", err)
				}
			}()
			r.Bytes()
		})
	}
}

func TestEncodeWriteError(t *testing.T) {
	boom := errors.New("boom")
	if err := greeting().Encode(failWriter{boom}); !errors.Is(err, boom) {
		t.Errorf("Encode error = %v, want %v", err, boom)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func BenchmarkEncode(b *testing.B) {
	r := greeting()
	b.SetBytes(int64(len(r.Bytes())))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildEncode includes building the Response with the constructors, as a
// webhook handler does.
func BenchmarkBuildEncode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		r := greeting()
		if err := r.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// xmlElem is a parsed element, for assertions on what a TwiML parser sees.
type xmlElem struct {
	name     string
	attrs    []xml.Attr
	children []any // *xmlElem or string
}

// parseTwiML decodes b token by token with encoding/xml's strict decoder and fails the
// test unless it is one well-formed document whose root is <Response>.
func parseTwiML(t testing.TB, b []byte) *xmlElem {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var root *xmlElem
	var stack []*xmlElem
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well formed: %v\n%q", err, b)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := &xmlElem{name: tok.Name.Local, attrs: tok.Attr}
			if tok.Name.Space != "" {
				t.Fatalf("unexpected namespace on <%s>: %q", tok.Name.Local, tok.Name.Space)
			}
			if len(stack) == 0 {
				if root != nil {
					t.Fatalf("second root element <%s>", e.name)
				}
				root = e
			} else {
				top := stack[len(stack)-1]
				top.children = append(top.children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				t.Fatalf("character data outside the root: %q", tok)
			}
			top := stack[len(stack)-1]
			top.children = append(top.children, string(tok))
		case xml.ProcInst:
			if tok.Target != "xml" || root != nil {
				t.Fatalf("unexpected processing instruction %q", tok.Target)
			}
		default:
			t.Fatalf("unexpected token %T", tok)
		}
	}
	if root == nil || root.name != "Response" {
		t.Fatalf("root is not <Response>: %q", b)
	}
	return root
}

// child returns the first child element named name, or nil.
func (e *xmlElem) child(name string) *xmlElem {
	if all := e.all(name); len(all) > 0 {
		return all[0]
	}
	return nil
}

// all returns the child elements named name.
func (e *xmlElem) all(name string) []*xmlElem {
	if e == nil {
		return nil
	}
	var out []*xmlElem
	for _, c := range e.children {
		if c, ok := c.(*xmlElem); ok && c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// text returns all the character data inside e, nested elements included.
func (e *xmlElem) text() string {
	if e == nil {
		return ""
	}
	var sb strings.Builder
	for _, c := range e.children {
		switch c := c.(type) {
		case string:
			sb.WriteString(c)
		case *xmlElem:
			sb.WriteString(c.text())
		}
	}
	return sb.String()
}

func (e *xmlElem) attr(name string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// xmlClean is the encoder's documented replacement, written independently of it: each
// byte of invalid UTF-8 and each character XML 1.0 forbids becomes U+FFFD.
func xmlClean(s string) string {
	var sb strings.Builder
	for _, r := range s { // range yields U+FFFD for each invalid byte
		ok := r == '\t' || r == '\n' || r == '\r' ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
		if !ok {
			r = '\uFFFD'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
