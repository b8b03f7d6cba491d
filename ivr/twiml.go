package ivr

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/memberline/memberline/flows"
)

// TwiML encoder. We write our own because twilio-go's twiml package emits attributes in
// map order and capitalizes SSML elements, which Twilio rejects. This one is compact,
// deterministic (same Response, same bytes) and always well formed: every value is
// escaped, and whatever XML 1.0 cannot carry is replaced (see Node).

// ContentType is the Content-Type to send TwiML with.
const ContentType = "text/xml; charset=utf-8"

// xmlHeader starts every document.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>`

// ErrInvalidNode reports a hand-built Node the encoder cannot write: an element or
// attribute name that is not a plain XML name, a repeated attribute, or a text node
// (empty Name) with attributes or children. The constructors never build one.
var ErrInvalidNode = errors.New("ivr: invalid TwiML node")

// Node is one TwiML or SSML element. Attributes are written in the order given, then
// Text, then Children. A Node with an empty Name is character data: only its Text is
// written, which lets SSML mix text and elements inside a <Say>.
//
// Text and attribute values may hold anything: they are escaped, and each byte of
// invalid UTF-8 and each character XML 1.0 forbids (controls other than tab, newline and
// carriage return; U+FFFE; U+FFFF) is written as U+FFFD, so the document stays well
// formed whatever the input.
type Node struct {
	Name     string
	Attrs    []Attr
	Text     string
	Children []Node
}

// Attr is one attribute of a Node.
type Attr struct{ Name, Value string }

// Response is a TwiML document: <Response> and its verbs, in order.
type Response struct {
	Verbs []Node
}

// Add appends verbs and returns r, for chaining.
func (r *Response) Add(verbs ...Node) *Response {
	r.Verbs = append(r.Verbs, verbs...)
	return r
}

// bufPool recycles encoding buffers; a greeting is well under 1 KiB.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// MaxResponse is the largest answer Twilio takes (11750): a larger one is not written
// (Encode's error), so the edge answers with its fallback instead.
const MaxResponse = 64 << 10

// ErrTooLarge is Encode's error for a document larger than Twilio takes.
var ErrTooLarge = errors.New("twiml: document too large")

// Encode writes the document to w with a single Write. On ErrInvalidNode or ErrTooLarge
// nothing is written, so the caller can still send fallback TwiML.
func (r Response) Encode(w io.Writer) error {
	bp := bufPool.Get().(*[]byte)
	b, err := r.appendTo((*bp)[:0])
	if err == nil && len(b) > MaxResponse {
		err = fmt.Errorf("%w: %d bytes, past the %d Twilio takes", ErrTooLarge, len(b), MaxResponse)
	}
	if err == nil {
		_, err = w.Write(b)
	}
	if cap(b) <= 64<<10 { // don't keep the odd huge buffer alive
		*bp = b[:0]
		bufPool.Put(bp)
	}
	return err
}

// Bytes returns the encoded document. It panics with ErrInvalidNode on a hand-built
// Node that cannot be written, a programming error; webhook handlers use Encode.
func (r Response) Bytes() []byte {
	b, err := r.appendTo(make([]byte, 0, 512))
	if err != nil {
		panic(err)
	}
	return b
}

// String returns the encoded document, or the error text for an invalid Node.
func (r Response) String() string {
	b, err := r.appendTo(nil)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func (r Response) appendTo(b []byte) ([]byte, error) {
	b = append(b, xmlHeader...)
	if len(r.Verbs) == 0 {
		return append(b, "<Response/>"...), nil
	}
	b = append(b, "<Response>"...)
	var err error
	for i := range r.Verbs {
		if b, err = appendNode(b, &r.Verbs[i]); err != nil {
			return nil, err
		}
	}
	return append(b, "</Response>"...), nil
}

func appendNode(b []byte, n *Node) ([]byte, error) {
	if n.Name == "" {
		if len(n.Attrs) > 0 || len(n.Children) > 0 {
			return nil, fmt.Errorf("%w: text node with attributes or children", ErrInvalidNode)
		}
		return appendEscaped(b, n.Text, &textSafe), nil
	}
	if !isName(n.Name) {
		return nil, fmt.Errorf("%w: element name %q", ErrInvalidNode, n.Name)
	}
	b = append(b, '<')
	b = append(b, n.Name...)
	for i, a := range n.Attrs {
		if !isName(a.Name) {
			return nil, fmt.Errorf("%w: attribute name %q on <%s>", ErrInvalidNode, a.Name, n.Name)
		}
		for _, prev := range n.Attrs[:i] {
			if prev.Name == a.Name {
				return nil, fmt.Errorf("%w: repeated attribute %q on <%s>", ErrInvalidNode, a.Name, n.Name)
			}
		}
		b = append(b, ' ')
		b = append(b, a.Name...)
		b = append(b, '=', '"')
		b = appendEscaped(b, a.Value, &attrSafe)
		b = append(b, '"')
	}
	if n.Text == "" && len(n.Children) == 0 {
		return append(b, '/', '>'), nil
	}
	b = append(b, '>')
	b = appendEscaped(b, n.Text, &textSafe)
	var err error
	for i := range n.Children {
		if b, err = appendNode(b, &n.Children[i]); err != nil {
			return nil, err
		}
	}
	b = append(b, '<', '/')
	b = append(b, n.Name...)
	return append(b, '>'), nil
}

// isName accepts the ASCII subset of XML names; TwiML and SSML need no more.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-' || c == '.' || c == ':'):
		default:
			return false
		}
	}
	return true
}

// textSafe and attrSafe mark the ASCII bytes written as they are. In attributes, tab,
// newline and carriage return are escaped too, or XML attribute-value normalization
// would turn them into spaces; in text, a carriage return is escaped so that parsers
// don't fold it into a newline.
var textSafe, attrSafe = safeTable(false), safeTable(true)

func safeTable(attr bool) (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 || c == '\t' || c == '\n'
	}
	t['&'], t['<'], t['>'], t['\r'] = false, false, false, false
	if attr {
		t['"'], t['\''], t['\t'], t['\n'] = false, false, false, false
	}
	return t
}

const replacement = "\uFFFD"

func appendEscaped(b []byte, s string, safe *[utf8.RuneSelf]bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			b = append(b, s[last:i]...)
			b = append(b, escapeASCII(c)...)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			b = append(b, s[last:i]...)
			b = append(b, replacement...)
			i += size
			last = i
			continue
		}
		i += size
	}
	return append(b, s[last:]...)
}

func escapeASCII(c byte) string {
	switch c {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '"':
		return "&quot;"
	case '\'':
		return "&apos;"
	case '\t':
		return "&#x9;"
	case '\n':
		return "&#xA;"
	case '\r':
		return "&#xD;"
	}
	return replacement // the other C0 controls
}

// Verbs and nouns. Empty strings and zero numbers leave an attribute out, so Twilio's
// default applies.

// Say speaks speech with the given voice (e.g. "Polly.Joanna-Neural") and language
// (BCP 47). Segments become SSML with the lowercase element names Twilio expects: plain
// text, <say-as interpret-as="..."> for a Segment with SayAs, and <break time="...ms"/>
// for BreakMS. A Segment with both text and a break gets the text, then the break.
func Say(language, voice string, speech flows.Speech) Node {
	n := Node{Name: "Say", Attrs: attrs(attr("voice", voice), attr("language", language))}
	if len(speech) == 1 && speech[0].SayAs == "" && speech[0].BreakMS <= 0 {
		n.Text = speech[0].Text
		return n
	}
	n.Children = make([]Node, 0, len(speech))
	for _, s := range speech {
		switch {
		case s.SayAs != "":
			n.Children = append(n.Children, Node{Name: "say-as", Attrs: []Attr{{"interpret-as", s.SayAs}}, Text: s.Text})
		case s.Text != "":
			n.Children = append(n.Children, Node{Text: s.Text})
		}
		if s.BreakMS > 0 {
			n.Children = append(n.Children, Node{Name: "break", Attrs: []Attr{{"time", strconv.Itoa(s.BreakMS) + "ms"}}})
		}
	}
	return n
}

// Play plays the audio at url.
func Play(url string) Node { return Node{Name: "Play", Text: url} }

// Redirect hands the call to the TwiML at url.
func Redirect(url string) Node { return Node{Name: "Redirect", Text: url} }

// Hangup ends the call.
func Hangup() Node { return Node{Name: "Hangup"} }

// Pause waits for seconds; 0 or less gives Twilio's default of one second.
func Pause(seconds int) Node {
	return Node{Name: "Pause", Attrs: attrs(attrInt("length", seconds))}
}

// GatherAttrs are <Gather>'s attributes. Zero values are left out.
type GatherAttrs struct {
	Input               string // "dtmf", "speech" or "dtmf speech"
	Action              string
	Method              string
	Timeout             int // seconds
	NumDigits           int
	FinishOnKey         string
	SpeechTimeout       string   // seconds or "auto"
	Hints               []string // joined with ", "
	Language            string
	ActionOnEmptyResult bool
}

// Gather listens for keys or speech while its prompts (Say, Play, Pause) play. Its
// attributes are always written in the order of GatherAttrs' fields.
func Gather(g GatherAttrs, prompts ...Node) Node {
	var empty string
	if g.ActionOnEmptyResult {
		empty = "true"
	}
	return Node{
		Name: "Gather",
		Attrs: attrs(
			attr("input", g.Input),
			attr("action", g.Action),
			attr("method", g.Method),
			attrInt("timeout", g.Timeout),
			attrInt("numDigits", g.NumDigits),
			attr("finishOnKey", g.FinishOnKey),
			attr("speechTimeout", g.SpeechTimeout),
			attr("hints", strings.Join(g.Hints, ", ")),
			attr("language", g.Language),
			attr("actionOnEmptyResult", empty),
		),
		Children: prompts,
	}
}

// Enqueue hands the call to TaskRouter: taskJSON becomes the task's attributes (it is
// not checked here). priority and timeout (seconds) of 0 or less are left out.
func Enqueue(workflowSid, taskJSON string, priority, timeout int) Node {
	return Node{
		Name:  "Enqueue",
		Attrs: attrs(attr("workflowSid", workflowSid)),
		Children: []Node{{
			Name:  "Task",
			Attrs: attrs(attrInt("priority", priority), attrInt("timeout", timeout)),
			Text:  taskJSON,
		}},
	}
}

// DialAttrs are <Dial>'s attributes. Zero values are left out.
type DialAttrs struct {
	Action         string
	Method         string
	Timeout        int // seconds of ringing
	TimeLimit      int // seconds of call
	CallerID       string
	AnswerOnBridge bool
}

// Dial connects the call to its nouns (Number, DialClient, DialSip). Its attributes are
// always written in the order of DialAttrs' fields.
func Dial(d DialAttrs, nouns ...Node) Node {
	var bridge string
	if d.AnswerOnBridge {
		bridge = "true"
	}
	return Node{
		Name: "Dial",
		Attrs: attrs(
			attr("action", d.Action),
			attr("method", d.Method),
			attrInt("timeout", d.Timeout),
			attrInt("timeLimit", d.TimeLimit),
			attr("callerId", d.CallerID),
			attr("answerOnBridge", bridge),
		),
		Children: nouns,
	}
}

// DialClient dials a Voice SDK client, passing params to it as <Parameter>s, in order.
func DialClient(identity string, params []flows.KV) Node {
	children := make([]Node, 0, 1+len(params))
	children = append(children, Node{Name: "Identity", Text: identity})
	for _, p := range params {
		children = append(children, Node{Name: "Parameter", Attrs: []Attr{{"name", p.Key}, {"value", p.Value}}})
	}
	return Node{Name: "Client", Children: children}
}

// DialSip dials a SIP URI; custom X- headers travel in its query.
func DialSip(uri string) Node { return Node{Name: "Sip", Text: uri} }

// Number dials a phone number.
func Number(n string) Node { return Node{Name: "Number", Text: n} }

// attr and attrInt return a zero Attr for a value to leave out; attrs drops those.
func attr(name, value string) Attr {
	if value == "" {
		return Attr{}
	}
	return Attr{name, value}
}

func attrInt(name string, v int) Attr {
	if v <= 0 {
		return Attr{}
	}
	return Attr{name, strconv.Itoa(v)}
}

func attrs(as ...Attr) []Attr {
	n := 0
	for _, a := range as {
		if a.Name != "" {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Attr, 0, n)
	for _, a := range as {
		if a.Name != "" {
			out = append(out, a)
		}
	}
	return out
}

// RecordAttrs are <Record>'s attributes, written in this order.
type RecordAttrs struct {
	Action      string
	Method      string
	MaxLength   int // seconds
	Timeout     int // seconds of silence that end the recording
	FinishOnKey string
	PlayBeep    bool
	Transcribe  bool
}

// Record records the caller (a voicemail) and posts the recording to Action.
func Record(r RecordAttrs) Node {
	return Node{
		Name: "Record",
		Attrs: attrs(
			attr("action", r.Action),
			attr("method", r.Method),
			attrInt("maxLength", r.MaxLength),
			attrInt("timeout", r.Timeout),
			attr("finishOnKey", r.FinishOnKey),
			attr("playBeep", strconv.FormatBool(r.PlayBeep)),
			attr("transcribe", strconv.FormatBool(r.Transcribe)),
		),
	}
}

// EnqueueAttrs are <Enqueue>'s attributes. Zero values are left out.
type EnqueueAttrs struct {
	Action, Method         string // where Twilio posts when the caller leaves the queue
	WaitURL, WaitURLMethod string // what a waiting caller hears
	WorkflowSid            string // TaskRouter; else the queue is named
}

// EnqueueTo puts the call in a queue: TaskRouter's workflow with task (a <Task>), or the
// queue called name. Its attributes are always written in the order of EnqueueAttrs'.
func EnqueueTo(a EnqueueAttrs, name string, task *Node) Node {
	n := Node{Name: "Enqueue", Attrs: attrs(
		attr("action", a.Action), attr("method", a.Method),
		attr("waitUrl", a.WaitURL), attr("waitUrlMethod", a.WaitURLMethod),
		attr("workflowSid", a.WorkflowSid))}
	if task != nil {
		n.Children = []Node{*task}
	} else {
		n.Text = name
	}
	return n
}

// Task is an <Enqueue>'s task: its attributes as JSON and its priority (left out at 0).
func Task(taskJSON string, priority int) Node {
	return Node{Name: "Task", Attrs: attrs(attrInt("priority", priority)), Text: taskJSON}
}

// Leave takes the caller out of the queue: Twilio posts the Enqueue's action.
func Leave() Node { return Node{Name: "Leave"} }

// Message answers an incoming SMS with text.
func Message(text string) Node { return Node{Name: "Message", Text: text} }
