// Package flows owns call flows: the flow document contact-center admins edit (JSON,
// schema "memberline.flow/v1"), its validation with located problems, the prompt
// templates, and the engine that walks a flow for one webhook turn.
//
// The engine is pure: Start and Resume read a Call (and a State) and return a Turn of
// Actions; they do no I/O and never read the clock. The IVR edge does the lookups and turns
// Actions into TwiML.
package flows

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is the flow document format this package reads.
const Schema = "memberline.flow/v1"

// Sentinel errors callers branch on.
var (
	// ErrInvalid: the flow document does not decode or does not validate. The engine
	// refuses to run an invalid flow.
	ErrInvalid = errors.New("flows: invalid flow")
	// ErrState: the state does not fit this flow (another flow or version, or a node that
	// does not wait for input).
	ErrState = errors.New("flows: state does not fit the flow")
	// ErrLoop: a turn visited too many nodes without waiting for input.
	ErrLoop = errors.New("flows: too many steps without input")
)

// Flow is a flow document. Load it with Load; a loaded Flow is immutable and safe for
// concurrent use (to edit a flow, edit the document and load it again).
type Flow struct {
	Schema string `json:"schema"` // must be Schema
	ID     string `json:"id"`
	// Version is set by the flow store when a flow is published; 0 for a draft. It travels
	// in State so a call finishes on the version it started with.
	Version         int                 `json:"version,omitempty"`
	Name            string              `json:"name,omitempty"`
	DefaultLanguage string              `json:"default_language"`
	Languages       map[string]Language `json:"languages"`
	StartNode       string              `json:"start"` // the node a call starts at
	// TimeZone is the IANA zone the call's clock is read in by branch conditions on
	// call.weekday, call.time, call.date and call.holiday (unless a condition says
	// otherwise) and by {{ time call.now }} for callers without a zone. Default "UTC".
	TimeZone string `json:"time_zone,omitempty"`
	// Holidays are the dates call.holiday is true on: "2026-12-25" once, "12-25" every
	// year.
	Holidays []string `json:"holidays,omitempty"`
	// MaxStepsWithoutInput bounds the nodes a caller can pass through between two inputs
	// (say, play, set, branch, ...); a longer path is a validation error. Default 25, at
	// most 100.
	MaxStepsWithoutInput int `json:"max_steps_without_input,omitempty"`
	// Vars declares variables the flow reads without setting them: set by a flow that
	// goes to this one (until then they read as nothing).
	Vars []string `json:"vars,omitempty"`
	// Disclosure is what the flow's prompts may say to whom: trust level (suspicious,
	// unverified, verified, verified_pin) → the member and activity fields it may hear,
	// e.g. {"unverified": ["member.first_name"], "verified": ["activity.place"]}. A field
	// allowed at a level is allowed at every level above it; a member or activity field
	// no level lists is never said ("member.attributes.*" lists every attribute). The
	// engine does not say a text that uses a field the call's level may not hear: it says
	// the node's safe text instead, or nothing. Caller, call, choice and vars fields are
	// not governed (a set node leaves out a variable whose value uses a field the level
	// may not hear). Nil: no policy, every field may be said.
	Disclosure map[string][]string `json:"disclosure,omitempty"`
	Nodes      []Node              `json:"nodes"`

	prog     *program  // compiled at Load
	problems []Problem // Validate's answer at Load
}

// Language is one language a flow speaks, keyed by BCP 47 tag in Flow.Languages.
type Language struct {
	Voice string `json:"voice,omitempty"` // e.g. "Polly.Joanna-Neural"; "" for Twilio's default
	// Terms are how this language says data values: activity kinds and member tiers
	// ({"trip": "viaje", "Diamond": "Diamante"}). Values without a term are said as stored.
	Terms map[string]string `json:"terms,omitempty"`
}

// Text is a prompt template per language: {"en-US": "Welcome back, {{ member.first_name }}."}.
// The default language is required; a missing or blank translation falls back to it.
type Text map[string]string

// NodeType names what a node does.
type NodeType string

const (
	NodeSay          NodeType = "say"           // speak, then next
	NodePlay         NodeType = "play"          // play an audio file, then next
	NodeGather       NodeType = "gather"        // ask, then follow the option the caller picked
	NodeBranch       NodeType = "branch"        // follow the first case whose conditions hold
	NodeSet          NodeType = "set"           // set call variables, then next
	NodeChooseMember NodeType = "choose_member" // shared number: which member is calling?
	NodeIdentify     NodeType = "identify"      // a member number on the keypad
	NodeVerify       NodeType = "verify"        // the member's PIN on the keypad
	NodeRemember     NodeType = "remember"      // offer to recognize this number next time
	NodeRecord       NodeType = "record"        // record a voicemail, then next
	NodeHandoff      NodeType = "handoff"       // pass the call to a person; ends the flow
	NodeGoto         NodeType = "goto"          // go on in another flow; ends this one
	NodeHangup       NodeType = "hangup"        // say goodbye and hang up; ends the flow
)

const nodeTypes = "say, play, gather, branch, set, choose_member, identify, verify, remember, record, handoff, goto, hangup"

// Node is one step of a flow. Which fields a node uses depends on its type; Validate
// reports fields a type does not use. Fields naming nodes (next, default, no_input,
// no_match, not_found, options[].next, cases[].next) hold node ids.
type Node struct {
	ID   string   `json:"id"`
	Type NodeType `json:"type"`

	// say: what to say (required). record: optional words before the beep. handoff, goto
	// and hangup: optional words before leaving.
	Say Text `json:"say,omitempty"`
	// say, play, set, choose_member, identify, record: where to go next (required).
	Next string `json:"next,omitempty"`

	// play: an http(s) URL of an audio file Twilio can fetch (required).
	URL string `json:"url,omitempty"`

	// set: call variables, name → value template ("{{ activity.reference }}"), rendered
	// as plain text in the default language (at most 100 characters; empty removes the
	// variable) and kept for the rest of the call, also across a goto. Templates and
	// conditions read them as vars.<name>. Names: lower-case letters, digits and _.
	Set map[string]string `json:"set,omitempty"`

	// gather, choose_member, identify.
	Prompt   Text `json:"prompt,omitempty"`   // required for gather and identify
	Reprompt Text `json:"reprompt,omitempty"` // said on a retry instead of the prompt
	// gather, choose_member: said on a retry after no input, or after an answer that
	// matched nothing, instead of the reprompt.
	NoInputPrompt Text `json:"no_input_prompt,omitempty"`
	NoMatchPrompt Text `json:"no_match_prompt,omitempty"`
	// Input is "dtmf", "speech" or "dtmf speech" (gather, choose_member). Default: "dtmf
	// speech" when any option has words (always for choose_member), else "dtmf".
	Input     string `json:"input,omitempty"`
	Timeout   int    `json:"timeout,omitempty"`    // seconds, default 5 (record: the silence that ends it)
	NumDigits int    `json:"num_digits,omitempty"` // gather; default: the options' digit count when they all have the same
	// Retries is how many times a failed answer (no input or no match; for identify, a
	// number not found) is asked again before giving up; default 2. At identify, no input
	// gives up at once: its prompt offers waiting for an agent.
	Retries *int   `json:"retries,omitempty"`
	NoInput string `json:"no_input,omitempty"` // giving up after no input (else no_match); record: nothing recorded (else next)
	NoMatch string `json:"no_match,omitempty"` // giving up after an unrecognized answer (else no_input)

	// gather.
	Options []Option `json:"options,omitempty"`

	// branch.
	Cases   []Case `json:"cases,omitempty"`
	Default string `json:"default,omitempty"` // when no case holds (required)

	// choose_member: one line per member, with {{ choice.digit }} and the member's fields
	// ("If this is {{ member.first_name }}, press {{ choice.digit }}."). Required.
	Item Text `json:"item,omitempty"`

	// identify: said before the prompt when a number was not found and a retry is left.
	NotFoundPrompt Text `json:"not_found_prompt,omitempty"`
	// identify: after the last not-found retry (required); also for no input when
	// no_input is not set.
	//
	// verify asks for the PIN of the member the call is about (4 to 8 digits, ended by #)
	// and raises the call's trust to verified_pin when it is right, then goes to next
	// (at once when the call is verified already). not_found_prompt is said after a wrong
	// PIN while a retry is left; not_found (required) is where a call goes after the last
	// wrong PIN, when verification is locked after too many failures, or when there is no
	// member to verify.
	NotFound string `json:"not_found,omitempty"`

	// handoff: a target is required: a queue (the edge's configured way to reach people
	// decides how), or one override: a TaskRouter workflow SID to enqueue to, a sip: URI or
	// a Twilio Client identity to dial. The context (member, tier, activity, language,
	// reason, and the call's trust level, so the person knows how far the caller was
	// verified) goes along.
	Queue    string `json:"queue,omitempty"`
	Workflow string `json:"workflow,omitempty"`
	SIP      string `json:"sip,omitempty"`
	Client   string `json:"client,omitempty"`
	Reason   string `json:"reason,omitempty"`

	// record: the longest recording in seconds (default 120, at most 3600), whether to
	// ask for a transcription, and whether to beep first (default true).
	MaxSeconds int   `json:"max_seconds,omitempty"`
	Transcribe bool  `json:"transcribe,omitempty"`
	Beep       *bool `json:"beep,omitempty"`

	// remember offers a caller who proved with their PIN to be a member calling from a
	// number that is not theirs to have it recognized next time: prompt (required) says
	// to press 1; 1 adds the number to the member with the consent recorded, anything else
	// (or nothing) declines; either way the call goes to next. Callers who did not verify
	// with a PIN, withheld numbers and numbers the member already has go to next at once.

	// goto: the id of the flow to go on in (required); it starts at its start node with
	// the member and variables of this call.
	Flow string `json:"flow,omitempty"`

	// Safe is said instead of any of the node's texts that the call's trust level may not
	// hear under the flow's disclosure policy (see Flow.Disclosure); without it such a
	// text is left out. Any node that speaks may have one.
	Safe Text `json:"safe,omitempty"`
}

// Option is one answer a gather accepts.
type Option struct {
	Digits string `json:"digits,omitempty"` // keys pressed, matched exactly
	// Words per language: said anywhere in the answer, case-insensitively, as whole words
	// ("yes please" matches "yes"). Also sent to speech recognition as hints.
	Words map[string][]string `json:"words,omitempty"`
	Next  string              `json:"next"`
}

// Case is one way out of a branch: all its conditions hold.
type Case struct {
	When []Condition `json:"when"`
	Next string      `json:"next"`
}

// Condition compares a field of the call with a value.
//
// Fields: the template fields (member.first_name, member.tier, member.attributes.<name>,
// activity.kind, activity.relation, ..., caller.trust, caller.phone_last4, vars.<name>);
// caller.members (how many members share the number, a number); member and activity (for
// exists and missing); and the call's clock: call.weekday (mon..sun), call.time (HH:MM,
// 24-hour), call.date (YYYY-MM-DD, or MM-DD every year, for eq, ne, in and not_in) and
// call.holiday ("true" on the flow's holidays).
//
// Ops: eq, ne (value), in, not_in (values), lt, lte, gt, gte (numbers, times and dates:
// value), between (times: values [from, to], from included, to not; wraps midnight when
// from is later), exists, missing. Text compares case-insensitively.
//
// TimeZone, for the clock fields only: "" reads the clock in the flow's time_zone,
// "member" in the member's (the flow's when unknown), else an IANA zone.
type Condition struct {
	Field    string   `json:"field"`
	Op       string   `json:"op"`
	Value    string   `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
	TimeZone string   `json:"time_zone,omitempty"`
}

// Problem is one thing wrong with a flow document, located by a dotted path: node list
// entries by their id ("nodes.greet.say.en-US"), other list entries by index
// ("nodes.menu.options.0.digits"). A node without a usable id is addressed by index too.
// Whether a problem is an error or a warning depends on the list it is in (Report).
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) Error() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is Load's error for a document that does not decode.
type Problems []Problem

func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "flows: no problems"
	case 1:
		return "flows: " + ps[0].Error()
	}
	return fmt.Sprintf("flows: %s (and %d more problems)", ps[0].Error(), len(ps)-1)
}

func (ps Problems) Unwrap() error { return ErrInvalid }

// Load decodes a flow document strictly (unknown and duplicate fields, wrong types and
// trailing data are errors, returned as Problems) and compiles its templates. A document
// that decodes is returned even when it does not validate, so an editor can show every
// problem: check Validate before publishing. Start and Resume refuse an invalid flow.
func Load(data []byte) (*Flow, error) {
	f := new(Flow)
	if err := decodeStrict(data, f); err != nil {
		return nil, err
	}
	var r Report
	f.prog, r = compile(f, ValidateOptions{})
	f.problems = r.Errors
	return f, nil
}

// Validate reports the errors in the document, in document order; empty when it is fine
// to run. It reads the exported fields, so it also checks a document built in code. It does
// not check that goto targets exist, and leaves out warnings: see ValidateWith.
func (f *Flow) Validate() []Problem {
	_, r := compile(f, ValidateOptions{})
	return r.Errors
}

// ValidateOptions is what validation needs to know beyond the document.
type ValidateOptions struct {
	// KnownFlow reports whether a flow with this id exists, to check goto nodes. Nil: goto
	// targets are not checked.
	KnownFlow func(id string) bool
}

// Report is a validation's answer. Errors block publishing (and running); warnings are
// worth a look but do not: a node no path reaches, a text without a translation for a
// declared language (its callers hear the default language), a gather that hangs up
// after its last retry because it has no no_input or no_match.
type Report struct {
	Errors   []Problem `json:"errors"`
	Warnings []Problem `json:"warnings"`
}

// Valid reports whether there are no errors.
func (r Report) Valid() bool { return len(r.Errors) == 0 }

// ValidateWith reports errors and warnings, each in document order (never nil lists).
func (f *Flow) ValidateWith(opts ValidateOptions) Report {
	_, r := compile(f, opts)
	return r
}

// program is a flow compiled for the engine: templates parsed, words tokenized, defaults
// applied. It does not share memory with the document.
type program struct {
	start       string
	maxSteps    int
	zone        *time.Location
	holidays    []dateValue
	defaultLang string
	langs       []string // declared, sorted
	voices      map[string]string
	terms       map[string]map[string]string
	nodes       map[string]*cnode
}

type cnode struct {
	id, typ                                       string
	next, noInput, noMatch, notFound, dflt, queue string
	reason, workflow, sip, client                 string
	url, gotoFlow                                 string
	say, prompt, reprompt, item, notFoundPrompt   ctext
	safe                                          ctext
	noInputPrompt, noMatchPrompt                  ctext
	set                                           []cset
	input                                         string
	timeout, numDigits, retries, maxSeconds       int
	transcribe, beep                              bool
	options                                       []coption
	hints                                         map[string][]string // gather: declared language → speechHints
	cases                                         []ccase
}

// cset is one variable a set node sets.
type cset struct {
	name string
	tpl  *template
}

// ctext is a compiled Text: language → template.
type ctext map[string]*template

type coption struct {
	digits string
	words  map[string][]phrase // language → phrases
	hints  map[string][]string // language → phrases as written
	next   string
}

// phrase is an option word as lower-case word tokens.
type phrase []string

type ccase struct {
	when []ccond
	next string
}

type ccond struct {
	field  field
	key    string // keyed fields
	op     string
	value  string
	values []string
	num    int   // numbers; minutes since midnight; weekdays
	nums   []int // between: [from, to]; in, not_in: weekdays
	dates  []dateValue
	member bool           // clock fields: in the member's zone
	zone   *time.Location // clock fields: an explicit zone
	desc   string         // for the trace: "caller.members eq 0"
}

// dateValue is a calendar date; year 0 matches every year.
type dateValue struct {
	year       int
	month, day int
}

const (
	defaultTimeout    = 5
	defaultRetries    = 2
	defaultMaxSteps   = 25
	defaultMaxSeconds = 120
	maxChoices        = 9  // one key per member
	maxVars           = 16 // distinct variables per flow: the state travels in a URL
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	langPattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	keysPattern = regexp.MustCompile(`^[0-9*]{1,20}$`)
	inputs      = []string{"dtmf", "speech", "dtmf speech"}
	ops         = []string{"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between", "exists", "missing"}
	workflowSID = regexp.MustCompile(`^WW[0-9a-f]{32}$`)
	clientID    = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,121}$`)
)

// nodeFields lists, per node type, the optional fields it uses (id and type always).
var nodeFields = map[NodeType][]string{
	NodeSay:          {"say", "next", "safe"},
	NodePlay:         {"url", "next"},
	NodeGather:       {"prompt", "reprompt", "no_input_prompt", "no_match_prompt", "input", "timeout", "num_digits", "retries", "no_input", "no_match", "options", "safe"},
	NodeBranch:       {"cases", "default"},
	NodeSet:          {"set", "next"},
	NodeChooseMember: {"prompt", "reprompt", "no_input_prompt", "no_match_prompt", "item", "input", "timeout", "retries", "next", "no_input", "no_match", "safe"},
	NodeIdentify:     {"prompt", "reprompt", "not_found_prompt", "timeout", "retries", "next", "not_found", "no_input", "safe"},
	NodeVerify:       {"prompt", "reprompt", "not_found_prompt", "timeout", "retries", "next", "not_found", "no_input", "safe"},
	NodeRemember:     {"prompt", "timeout", "next", "safe"},
	NodeRecord:       {"say", "max_seconds", "timeout", "transcribe", "beep", "next", "no_input", "safe"},
	NodeHandoff:      {"say", "queue", "workflow", "sip", "client", "reason", "safe"},
	NodeGoto:         {"say", "flow", "safe"},
	NodeHangup:       {"say", "safe"},
}

type compiler struct {
	f     *Flow
	opts  ValidateOptions
	p     *program
	probs []Problem
	warns []Problem
	paths []string       // node index → path
	index map[string]int // node id → first index
	sets  map[string]bool
	reads []varRead
	// policy is the disclosure policy: a governed field → the lowest trust rank that may
	// hear it (neverRank: none). Nil: no policy.
	policy map[string]int
}

// varRead is a variable a template or condition reads, to check that a set node sets it.
type varRead struct{ name, path string }

func (c *compiler) add(path, format string, args ...any) {
	c.probs = append(c.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) warn(path, format string, args ...any) {
	c.warns = append(c.warns, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

func compile(f *Flow, opts ValidateOptions) (*program, Report) {
	c := &compiler{f: f, opts: opts, index: map[string]int{}, sets: map[string]bool{}}
	c.p = &program{
		start:       f.StartNode,
		defaultLang: f.DefaultLanguage,
		voices:      map[string]string{},
		terms:       map[string]map[string]string{},
		nodes:       map[string]*cnode{},
	}
	if f.Schema != Schema {
		c.add("schema", "must be %q, not %q", Schema, f.Schema)
	}
	if !idPattern.MatchString(f.ID) {
		c.add("id", "must be a letter then letters, digits, _ or - (at most 64)")
	}
	if f.Version < 0 {
		c.add("version", "must not be negative")
	}
	c.languages()
	c.clock()
	c.disclosure()
	ids := make([]string, len(f.Nodes))
	for i, n := range f.Nodes {
		ids[i] = n.ID
	}
	c.paths = elemPaths("nodes", ids)
	for i, n := range f.Nodes {
		path := c.paths[i]
		switch j, dup := c.index[n.ID]; {
		case !idPattern.MatchString(n.ID):
			c.add(join(path, "id"), "must be a letter then letters, digits, _ or - (at most 64)")
		case dup:
			c.add(join(path, "id"), "duplicate id %q (also %s)", n.ID, c.paths[j])
		default:
			c.index[n.ID] = i
		}
	}
	if len(f.Nodes) == 0 {
		c.add("nodes", "a flow needs at least one node")
	}
	c.ref("start", f.StartNode, true)
	for i := range f.Nodes {
		c.node(i)
	}
	c.vars()
	c.loops()
	c.depth()
	c.reachable()
	return c.p, Report{Errors: nonNil(c.probs), Warnings: nonNil(c.warns)}
}

func nonNil(ps []Problem) []Problem {
	if ps == nil {
		return []Problem{}
	}
	return ps
}

// elemPaths names list entries by id when the id is usable and unique, else by index.
func elemPaths(path string, ids []string) []string {
	count := map[string]int{}
	for _, id := range ids {
		count[id]++
	}
	paths := make([]string, len(ids))
	for i, id := range ids {
		if idPattern.MatchString(id) && count[id] == 1 {
			paths[i] = join(path, id)
		} else {
			paths[i] = join(path, strconv.Itoa(i))
		}
	}
	return paths
}

func (c *compiler) languages() {
	f := c.f
	if len(f.Languages) == 0 {
		c.add("languages", "declare at least the default language")
	}
	for _, lang := range slices.Sorted(maps.Keys(f.Languages)) {
		path := join("languages", lang)
		if !langPattern.MatchString(lang) {
			c.add(path, "%q is not a language tag like en-US", lang)
			continue
		}
		l := f.Languages[lang]
		c.p.langs = append(c.p.langs, lang)
		c.p.voices[lang] = l.Voice
		terms := map[string]string{}
		seen := map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(l.Terms)) {
			v := strings.TrimSpace(l.Terms[k])
			switch other, dup := seen[strings.ToLower(k)]; {
			case strings.TrimSpace(k) == "":
				c.add(join(path, "terms"), "a term needs a value to translate")
			case v == "":
				c.add(join(join(path, "terms"), k), "must not be blank")
			case dup:
				c.add(join(join(path, "terms"), k), "same as %q but for case", other)
			default:
				seen[strings.ToLower(k)] = k
				terms[k] = v
			}
		}
		c.p.terms[lang] = terms
	}
	switch {
	case f.DefaultLanguage == "":
		c.add("default_language", "required")
	case !c.declared(f.DefaultLanguage):
		c.add("default_language", "%q is not declared in languages", f.DefaultLanguage)
	}
}

func (c *compiler) declared(lang string) bool {
	_, ok := c.p.voices[lang]
	return ok
}

// ref checks a node reference.
func (c *compiler) ref(path, id string, required bool) string {
	if id == "" {
		if required {
			c.add(path, "required")
		}
		return ""
	}
	if _, ok := c.index[id]; !ok {
		c.add(path, "unknown node %q", id)
	}
	return id
}

func (c *compiler) node(i int) {
	n := &c.f.Nodes[i]
	path := c.paths[i]
	allowed, ok := nodeFields[n.Type]
	if !ok {
		if n.Type == "" {
			c.add(join(path, "type"), "required")
		} else {
			c.add(join(path, "type"), "unknown type %q (types: %s)", n.Type, nodeTypes)
		}
		return
	}
	for _, u := range usedFields(n) {
		if !slices.Contains(allowed, u) {
			c.add(join(path, u), "not used by a %s node", n.Type)
		}
	}
	cn := &cnode{id: n.ID, typ: string(n.Type)}
	switch n.Type {
	case NodeSay:
		cn.say = c.text(join(path, "say"), n.Say, true, false)
		cn.next = c.ref(join(path, "next"), n.Next, true)
	case NodePlay:
		cn.url = strings.TrimSpace(n.URL)
		if cn.url == "" {
			c.add(join(path, "url"), "required")
		} else if msg := checkAudioURL(cn.url); msg != "" {
			c.add(join(path, "url"), "%s", msg)
		}
		cn.next = c.ref(join(path, "next"), n.Next, true)
	case NodeSet:
		c.setVars(cn, n, path)
		cn.next = c.ref(join(path, "next"), n.Next, true)
	case NodeRecord:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		cn.maxSeconds = n.MaxSeconds
		switch {
		case n.MaxSeconds == 0:
			cn.maxSeconds = defaultMaxSeconds
		case n.MaxSeconds < 1 || n.MaxSeconds > 3600:
			c.add(join(path, "max_seconds"), "must be between 1 and 3600")
		}
		cn.timeout = n.Timeout
		switch {
		case n.Timeout == 0:
			cn.timeout = defaultTimeout
		case n.Timeout < 1 || n.Timeout > 60:
			c.add(join(path, "timeout"), "must be between 1 and 60 seconds")
		}
		cn.transcribe = n.Transcribe
		cn.beep = n.Beep == nil || *n.Beep
		cn.next = c.ref(join(path, "next"), n.Next, true)
		cn.noInput = c.ref(join(path, "no_input"), n.NoInput, false)
	case NodeGoto:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		cn.gotoFlow = strings.TrimSpace(n.Flow)
		switch {
		case cn.gotoFlow == "":
			c.add(join(path, "flow"), "required")
		case !idPattern.MatchString(cn.gotoFlow):
			c.add(join(path, "flow"), "must be a flow id: a letter then letters, digits, _ or - (at most 64)")
		case c.opts.KnownFlow != nil && cn.gotoFlow != c.f.ID && !c.opts.KnownFlow(cn.gotoFlow):
			c.add(join(path, "flow"), "unknown flow %q", cn.gotoFlow)
		}
	case NodeGather:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		c.asking(cn, n, path)
		c.options(cn, n, path)
		cn.hints = make(map[string][]string, len(c.p.langs))
		for _, lang := range c.p.langs {
			cn.hints[lang] = cn.speechHints(lang, c.p.defaultLang)
		}
	case NodeBranch:
		c.cases(cn, n, path)
		cn.dflt = c.ref(join(path, "default"), n.Default, true)
	case NodeChooseMember:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, false, false)
		cn.item = c.text(join(path, "item"), n.Item, true, true)
		c.asking(cn, n, path)
		if n.Input == "" {
			cn.input = "dtmf speech"
		}
		cn.numDigits = 1 // one key per member
		cn.next = c.ref(join(path, "next"), n.Next, true)
		if n.NoInput == "" && n.NoMatch == "" {
			c.warn(path, "no no_input or no_match: the call hangs up when nobody is chosen")
		}
	case NodeIdentify, NodeVerify:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		cn.notFoundPrompt = c.text(join(path, "not_found_prompt"), n.NotFoundPrompt, false, false)
		c.asking(cn, n, path)
		cn.input = "dtmf"
		cn.next = c.ref(join(path, "next"), n.Next, true)
		cn.notFound = c.ref(join(path, "not_found"), n.NotFound, true)
	case NodeRemember:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		c.asking(cn, n, path)
		cn.input, cn.numDigits, cn.retries = "dtmf", 1, 0
		cn.next = c.ref(join(path, "next"), n.Next, true)
	case NodeHandoff:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		c.handoffTarget(cn, n, path)
		cn.reason = strings.TrimSpace(n.Reason)
	case NodeHangup:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
	}
	if n.Safe != nil {
		cn.safe = c.text(join(path, "safe"), n.Safe, false, n.Type == NodeChooseMember)
		c.checkSafe(join(path, "safe"), cn.safe)
	}
	if _, taken := c.p.nodes[n.ID]; !taken {
		c.p.nodes[n.ID] = cn
	}
}

func usedFields(n *Node) []string {
	var used []string
	for _, u := range []struct {
		name string
		set  bool
	}{
		{"say", n.Say != nil}, {"next", n.Next != ""}, {"prompt", n.Prompt != nil},
		{"reprompt", n.Reprompt != nil}, {"input", n.Input != ""}, {"timeout", n.Timeout != 0},
		{"num_digits", n.NumDigits != 0}, {"retries", n.Retries != nil},
		{"no_input", n.NoInput != ""}, {"no_match", n.NoMatch != ""}, {"options", n.Options != nil},
		{"cases", n.Cases != nil}, {"default", n.Default != ""}, {"item", n.Item != nil},
		{"not_found_prompt", n.NotFoundPrompt != nil}, {"not_found", n.NotFound != ""},
		{"queue", n.Queue != ""}, {"reason", n.Reason != ""},
		{"url", n.URL != ""}, {"set", n.Set != nil}, {"no_input_prompt", n.NoInputPrompt != nil},
		{"no_match_prompt", n.NoMatchPrompt != nil}, {"workflow", n.Workflow != ""},
		{"sip", n.SIP != ""}, {"client", n.Client != ""}, {"max_seconds", n.MaxSeconds != 0},
		{"transcribe", n.Transcribe}, {"beep", n.Beep != nil}, {"flow", n.Flow != ""},
		{"safe", n.Safe != nil},
	} {
		if u.set {
			used = append(used, u.name)
		}
	}
	return used
}

// asking checks what gather, choose_member and identify share.
func (c *compiler) asking(cn *cnode, n *Node, path string) {
	cn.reprompt = c.text(join(path, "reprompt"), n.Reprompt, false, false)
	cn.noInputPrompt = c.text(join(path, "no_input_prompt"), n.NoInputPrompt, false, false)
	cn.noMatchPrompt = c.text(join(path, "no_match_prompt"), n.NoMatchPrompt, false, false)
	cn.input = n.Input
	if n.Input != "" && !slices.Contains(inputs, n.Input) {
		c.add(join(path, "input"), "must be dtmf, speech or \"dtmf speech\"")
	}
	cn.timeout = n.Timeout
	switch {
	case n.Timeout == 0:
		cn.timeout = defaultTimeout
	case n.Timeout < 1 || n.Timeout > 60:
		c.add(join(path, "timeout"), "must be between 1 and 60 seconds")
	}
	cn.retries = defaultRetries
	if n.Retries != nil {
		cn.retries = *n.Retries
		if cn.retries < 0 || cn.retries > 5 {
			c.add(join(path, "retries"), "must be between 0 and 5")
		}
	}
	cn.noInput = c.ref(join(path, "no_input"), n.NoInput, false)
	cn.noMatch = c.ref(join(path, "no_match"), n.NoMatch, false)
}

func (c *compiler) options(cn *cnode, n *Node, path string) {
	if n.NumDigits < 0 || n.NumDigits > 20 {
		c.add(join(path, "num_digits"), "must be between 0 and 20")
	}
	cn.numDigits = n.NumDigits
	digitLen, sameLen, anyWords := -1, true, false
	seen := map[string]int{}
	for i, o := range n.Options {
		op := join(join(path, "options"), strconv.Itoa(i))
		co := coption{digits: o.Digits, next: c.ref(join(op, "next"), o.Next, true)}
		if o.Digits == "" && len(o.Words) == 0 {
			c.add(op, "needs digits or words")
		}
		if o.Digits != "" {
			if !keysPattern.MatchString(o.Digits) {
				c.add(join(op, "digits"), "must be keys 0-9 or * (# ends the input)")
			} else if j, dup := seen[o.Digits]; dup {
				c.add(join(op, "digits"), "duplicate digits %q (also options.%d)", o.Digits, j)
			} else if n.NumDigits > 0 && len(o.Digits) > n.NumDigits {
				c.add(join(op, "digits"), "longer than num_digits (%d)", n.NumDigits)
			}
			seen[o.Digits] = i
			if digitLen >= 0 && digitLen != len(o.Digits) {
				sameLen = false
			}
			digitLen = len(o.Digits)
		}
		for _, lang := range slices.Sorted(maps.Keys(o.Words)) {
			wp := join(join(op, "words"), lang)
			if !c.declared(lang) {
				c.add(wp, "language %q is not declared in languages", lang)
				continue
			}
			for k, w := range o.Words[lang] {
				toks := tokenize(w)
				if len(toks) == 0 {
					c.add(join(wp, strconv.Itoa(k)), "needs a word")
					continue
				}
				if co.words == nil {
					co.words, co.hints = map[string][]phrase{}, map[string][]string{}
				}
				co.words[lang] = append(co.words[lang], toks)
				co.hints[lang] = append(co.hints[lang], strings.TrimSpace(w))
				anyWords = true
			}
		}
		cn.options = append(cn.options, co)
	}
	if cn.numDigits == 0 && sameLen && digitLen > 0 {
		cn.numDigits = digitLen
	}
	if cn.input == "" {
		cn.input = pick(anyWords, "dtmf speech", "dtmf")
	}
	switch {
	case len(n.Options) == 0 && n.NoInput == "" && n.NoMatch == "":
		c.add(join(path, "options"), "a gather needs options or a way forward (no_input or no_match)")
	case n.NoInput == "" && n.NoMatch == "":
		c.warn(path, "no no_input or no_match: the call hangs up after the last retry")
	}
	if strings.Contains(cn.input, "speech") && anyWords {
		for _, lang := range c.p.langs {
			for i, o := range n.Options {
				if len(o.Words) > 0 && len(o.Words[lang]) == 0 && lang != c.f.DefaultLanguage {
					c.warn(join(join(join(path, "options"), strconv.Itoa(i)), "words"), "no %s words: %s callers are matched with the %s words", lang, lang, c.f.DefaultLanguage)
				}
			}
		}
	}
}

func (c *compiler) cases(cn *cnode, n *Node, path string) {
	for i, k := range n.Cases {
		kp := join(join(path, "cases"), strconv.Itoa(i))
		cc := ccase{next: c.ref(join(kp, "next"), k.Next, true)}
		if len(k.When) == 0 {
			c.add(join(kp, "when"), "a case needs at least one condition")
		}
		for j, w := range k.When {
			cc.when = append(cc.when, c.condition(join(join(kp, "when"), strconv.Itoa(j)), w))
		}
		cn.cases = append(cn.cases, cc)
	}
}

func (c *compiler) condition(path string, w Condition) (cc ccond) {
	cc = ccond{op: w.Op, value: strings.TrimSpace(w.Value)}
	for _, v := range w.Values {
		cc.values = append(cc.values, strings.TrimSpace(v))
	}
	f, key := lookupField(w.Field)
	if f == fieldNone || f == fieldChoiceDigit {
		c.add(join(path, "field"), "unknown field %q", w.Field)
		return cc
	}
	cc.field, cc.key = f, key
	if f == fieldVar {
		c.reads = append(c.reads, varRead{key, join(path, "field")})
	}
	kind := fieldTable[f].kind
	cc.desc = w.Field + " " + w.Op
	zone := c.conditionZone(path, w, &cc)
	defer func() { cc.desc += zone }()
	switch w.Op {
	case "exists", "missing":
		if w.Value != "" || w.Values != nil {
			c.add(path, "%s takes no value", w.Op)
		}
		return cc
	case "eq", "ne", "lt", "lte", "gt", "gte":
		if w.Values != nil {
			c.add(join(path, "values"), "%s compares with value, not values", w.Op)
		}
		if cc.value == "" {
			c.add(join(path, "value"), "required (to test for nothing, use op missing)")
			return cc
		}
		cc.desc += " " + cc.value
		ordered := w.Op != "eq" && w.Op != "ne"
		switch {
		case ordered && kind != kindNumber && kind != kindClock && kind != kindDate:
			c.add(join(path, "op"), "%s compares numbers, times or dates; %s is none", w.Op, w.Field)
		default:
			c.parseValue(join(path, "value"), kind, f, cc.value, ordered, &cc)
		}
	case "in", "not_in":
		if w.Value != "" {
			c.add(join(path, "value"), "%s takes values, a list", w.Op)
		}
		if len(w.Values) == 0 {
			c.add(join(path, "values"), "required")
		}
		for k, v := range cc.values {
			vp := join(join(path, "values"), strconv.Itoa(k))
			if v == "" {
				c.add(vp, "must not be blank")
				continue
			}
			c.parseValue(vp, kind, f, v, false, &cc)
		}
		if kind == kindClock || kind == kindBool {
			c.add(join(path, "op"), "%s compares text, numbers, weekdays or dates; use eq or between for %s", w.Op, w.Field)
		}
		cc.desc += " " + strings.Join(cc.values, "|")
	case "between":
		if w.Value != "" {
			c.add(join(path, "value"), "between takes values, [from, to]")
		}
		if kind != kindClock {
			c.add(join(path, "op"), "between compares times of day (call.time), not %s", w.Field)
			return cc
		}
		if len(cc.values) != 2 {
			c.add(join(path, "values"), "between takes two times, [from, to]")
			return cc
		}
		for k, v := range cc.values {
			c.parseValue(join(join(path, "values"), strconv.Itoa(k)), kind, f, v, false, &cc)
		}
		cc.desc += " " + strings.Join(cc.values, "–")
	default:
		c.add(join(path, "op"), "unknown op %q (ops: %s)", w.Op, strings.Join(ops, ", "))
		return cc
	}
	if kind == kindPresence || kind == kindTime {
		c.add(join(path, "op"), "%s can only be tested with exists or missing", w.Field)
	}
	return cc
}

// conditionZone checks a condition's time zone (for clock fields only) and returns how
// the trace names it.
func (c *compiler) conditionZone(path string, w Condition, cc *ccond) string {
	tz := strings.TrimSpace(w.TimeZone)
	if tz == "" {
		return ""
	}
	if !callClock(cc.field) {
		c.add(join(path, "time_zone"), "only for call.weekday, call.time, call.date and call.holiday")
		return ""
	}
	if tz == "member" {
		cc.member = true
		return " (member's zone)"
	}
	loc, ok := loadZone(tz)
	if !ok {
		c.add(join(path, "time_zone"), "unknown time zone %q (an IANA name like America/New_York, or member)", tz)
		return ""
	}
	cc.zone = loc
	return " (" + tz + ")"
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// parseValue checks one value against the field's kind and keeps what the engine compares.
func (c *compiler) parseValue(path string, kind valueKind, f field, v string, ordered bool, cc *ccond) {
	switch kind {
	case kindNumber:
		n, err := strconv.Atoi(v)
		if err != nil {
			c.add(path, "must be a whole number")
		}
		cc.num = n
		cc.nums = append(cc.nums, n)
	case kindClock:
		m, ok := parseClock(v)
		if !ok {
			c.add(path, "must be a time of day as HH:MM (24-hour), like 09:30")
		}
		cc.num = m
		cc.nums = append(cc.nums, m)
	case kindWeekday:
		d := weekday(v)
		if d < 0 {
			c.add(path, "must be a weekday: mon, tue, wed, thu, fri, sat or sun")
		}
		cc.num = d
		cc.nums = append(cc.nums, d)
	case kindDate:
		d, ok := parseDate(v)
		switch {
		case !ok:
			c.add(path, "must be a date as YYYY-MM-DD, or MM-DD for every year")
		case ordered && d.year == 0:
			c.add(path, "lt, lte, gt and gte need a full date, YYYY-MM-DD")
		}
		cc.dates = append(cc.dates, d)
	case kindBool:
		if v != "true" && v != "false" {
			c.add(path, "must be true or false")
		}
	case kindString:
		if f == fieldCallerTrust && !slices.Contains(TrustLevels, v) {
			c.add(path, "caller trust is %s", strings.Join(TrustLevels, ", "))
		}
	}
}

func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || h[0] == '+' || m[0] == '+' {
		return 0, false
	}
	return hh*60 + mm, true
}

// weekday reads mon..sun or the full English name, in any case; -1 when it is neither.
func weekday(s string) int {
	s = strings.ToLower(s)
	for i, w := range weekdayNames {
		if s == w || s == strings.ToLower(enWeekdays[i]) {
			return i
		}
	}
	return -1
}

func parseDate(s string) (dateValue, bool) {
	layout := "2006-01-02"
	annual := len(s) == 5
	if annual {
		s, layout = "2000-"+s, "2006-01-02" // a leap year, so 02-29 is a date
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return dateValue{}, false
	}
	d := dateValue{year: t.Year(), month: int(t.Month()), day: t.Day()}
	if annual {
		d.year = 0
	}
	return d, true
}

// clock checks the flow's time zone and holidays.
func (c *compiler) clock() {
	f := c.f
	c.p.zone = time.UTC
	if tz := strings.TrimSpace(f.TimeZone); tz != "" {
		if loc, ok := loadZone(tz); ok {
			c.p.zone = loc
		} else {
			c.add("time_zone", "unknown time zone %q (an IANA name like America/New_York)", tz)
		}
	}
	seen := map[string]int{}
	for i, h := range f.Holidays {
		hp := join("holidays", strconv.Itoa(i))
		d, ok := parseDate(strings.TrimSpace(h))
		switch j, dup := seen[strings.TrimSpace(h)]; {
		case !ok:
			c.add(hp, "must be a date as YYYY-MM-DD, or MM-DD for every year")
		case dup:
			c.warn(hp, "duplicate of holidays.%d", j)
		default:
			seen[strings.TrimSpace(h)] = i
			c.p.holidays = append(c.p.holidays, d)
		}
	}
	for i, v := range f.Vars {
		if !keyPattern.MatchString(v) {
			c.add(join("vars", strconv.Itoa(i)), "bad variable name %q: lower-case letters, digits and _, starting with a letter (at most 32)", v)
			continue
		}
		c.sets[v] = true
	}
	c.p.maxSteps = f.MaxStepsWithoutInput
	switch {
	case f.MaxStepsWithoutInput == 0:
		c.p.maxSteps = defaultMaxSteps
	case f.MaxStepsWithoutInput < 1 || f.MaxStepsWithoutInput > 100:
		c.add("max_steps_without_input", "must be between 1 and 100")
		c.p.maxSteps = defaultMaxSteps
	}
}

func (c *compiler) setVars(cn *cnode, n *Node, path string) {
	if len(n.Set) == 0 {
		c.add(join(path, "set"), "required: at least one variable")
	}
	for _, name := range slices.Sorted(maps.Keys(n.Set)) {
		vp := join(join(path, "set"), name)
		if !keyPattern.MatchString(name) {
			c.add(vp, "bad variable name %q: lower-case letters, digits and _, starting with a letter (at most 32)", name)
			continue
		}
		tpl, err := parseTemplate(n.Set[name], false)
		if err != nil {
			c.add(vp, "template: %v", err)
			continue
		}
		if c.needs(tpl) >= neverRank {
			c.warn(vp, "never set: it uses %s, which the disclosure policy allows at no trust level", c.worst(tpl))
		}
		if tpl.words && !hasWords(c.f.DefaultLanguage) {
			c.add(vp, "date and time words exist for en and es only")
		}
		for _, v := range tpl.vars() {
			c.reads = append(c.reads, varRead{v, vp})
		}
		c.sets[name] = true
		cn.set = append(cn.set, cset{name: name, tpl: tpl})
	}
}

// vars checks that every variable read is set somewhere, and that there are not too many.
func (c *compiler) vars() {
	for _, r := range c.reads {
		if !c.sets[r.name] {
			c.add(r.path, "unknown variable vars.%s: no set node sets it and vars does not declare it", r.name)
		}
	}
	if len(c.sets) > maxVars {
		c.add("nodes", "%d variables; at most %d (call state travels in a URL)", len(c.sets), maxVars)
	}
}

func (c *compiler) handoffTarget(cn *cnode, n *Node, path string) {
	cn.queue = strings.TrimSpace(n.Queue)
	cn.workflow = strings.TrimSpace(n.Workflow)
	cn.sip = strings.TrimSpace(n.SIP)
	cn.client = strings.TrimSpace(n.Client)
	overrides := 0
	for _, v := range []string{cn.workflow, cn.sip, cn.client} {
		if v != "" {
			overrides++
		}
	}
	switch {
	case cn.queue == "" && overrides == 0:
		c.add(join(path, "queue"), "a handoff needs a target: queue, workflow, sip or client")
	case overrides > 1:
		c.add(path, "set at most one of workflow, sip and client")
	}
	if cn.workflow != "" && !workflowSID.MatchString(cn.workflow) {
		c.add(join(path, "workflow"), "must be a TaskRouter workflow SID (WW and 32 hex digits)")
	}
	if cn.sip != "" {
		if u, err := url.Parse(cn.sip); err != nil || (u.Scheme != "sip" && u.Scheme != "sips") || u.Opaque == "" || strings.ContainsAny(cn.sip, " <>\"") {
			c.add(join(path, "sip"), "must be a sip: URI, like sip:agents@pbx.example.com")
		}
	}
	if cn.client != "" && !clientID.MatchString(cn.client) {
		c.add(join(path, "client"), "must be a Twilio Client identity: letters, digits and _ . @ - (at most 121)")
	}
}

// checkAudioURL reports what is wrong with an audio URL, "" when nothing.
func checkAudioURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case len(s) > 2000:
		return "longer than 2000 characters"
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return "needs a host"
	case u.User != nil:
		return "must not carry a user name or password"
	}
	return ""
}

// text compiles a per-language template.
func (c *compiler) text(path string, t Text, required, choice bool) ctext {
	def := c.f.DefaultLanguage
	defOK := c.declared(def) // else default_language is the one problem to report
	if t == nil {
		if required && defOK {
			c.add(join(path, def), "missing %s text (the default language)", def)
		}
		return nil
	}
	ct := ctext{}
	for _, lang := range slices.Sorted(maps.Keys(t)) {
		lp := join(path, lang)
		if !c.declared(lang) {
			c.add(lp, "language %q is not declared in languages", lang)
			continue
		}
		src := t[lang]
		if strings.TrimSpace(src) == "" {
			continue // not translated: the default language is said instead
		}
		tpl, err := parseTemplate(src, choice)
		if err != nil {
			c.add(lp, "template: %v", err)
			continue
		}
		if c.needs(tpl) >= neverRank {
			c.warn(lp, "never spoken: it says %s, which the disclosure policy allows at no trust level (the node's safe text, if any, is said instead)", c.worst(tpl))
		}
		if tpl.words && !hasWords(lang) {
			c.add(lp, "date and time words exist for en and es only")
		}
		for _, v := range tpl.vars() {
			c.reads = append(c.reads, varRead{v, lp})
		}
		ct[lang] = tpl
	}
	if strings.TrimSpace(t[def]) == "" && defOK {
		c.add(join(path, def), "missing %s text (the default language)", def)
	} else {
		for _, lang := range c.p.langs {
			if lang != def && strings.TrimSpace(t[lang]) == "" {
				c.warn(join(path, lang), "no %s text: %s callers hear the %s text", lang, lang, def)
			}
		}
	}
	return ct
}

// passes lists where a node can lead without waiting for input; a node that waits
// (gather, identify, record) or ends the flow (handoff, hangup, goto to another flow)
// leads nowhere here. choose_member counts as not waiting: with one member (or too many to
// list) it passes straight through. A goto to this same flow starts it over.
func (c *compiler) passes(n *Node) []string {
	switch n.Type {
	case NodeSay, NodePlay, NodeSet:
		return []string{n.Next}
	case NodeBranch:
		out := []string{}
		for _, k := range n.Cases {
			out = append(out, k.Next)
		}
		return append(out, n.Default)
	case NodeChooseMember:
		return []string{n.Next, n.NoMatch, n.NoInput}
	case NodeVerify:
		// Already verified, or no member to verify: it goes on without asking.
		return []string{n.Next, n.NotFound}
	case NodeRemember:
		return []string{n.Next} // nothing to offer: it goes on without asking
	case NodeGoto:
		if strings.TrimSpace(n.Flow) == c.f.ID {
			return []string{c.f.StartNode}
		}
	}
	return nil
}

// leads lists every node n can lead to, with or without input.
func (c *compiler) leads(n *Node) []string {
	out := append(c.passes(n), n.Next, n.NoInput, n.NoMatch, n.NotFound)
	for _, o := range n.Options {
		out = append(out, o.Next)
	}
	return out
}

// node returns the node with id, or -1.
func (c *compiler) nodeIndex(id string) int {
	if j, ok := c.index[id]; ok && id != "" {
		return j
	}
	return -1
}

// loops reports cycles that can run without waiting for input.
func (c *compiler) loops() {
	const (
		unseen = iota
		active
		done
	)
	color := make([]int, len(c.f.Nodes))
	var stack []int
	var visit func(i int)
	visit = func(i int) {
		color[i] = active
		stack = append(stack, i)
		for _, id := range c.passes(&c.f.Nodes[i]) {
			j := c.nodeIndex(id)
			if j < 0 {
				continue
			}
			switch color[j] {
			case unseen:
				visit(j)
			case active:
				k := slices.Index(stack, j)
				names := []string{}
				for _, s := range stack[k:] {
					names = append(names, c.f.Nodes[s].ID)
				}
				names = append(names, c.f.Nodes[j].ID)
				c.add(c.paths[j], "loop without input: %s", strings.Join(names, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = done
	}
	for i, n := range c.f.Nodes {
		if color[i] == unseen && c.index[n.ID] == i && idPattern.MatchString(n.ID) {
			visit(i)
		}
	}
}

// depth reports the longest way through the flow without caller input when it is longer
// than max_steps_without_input: counted in nodes, the one that waits or ends included,
// as the engine counts them. Loops are loops' to report; here they end a path.
func (c *compiler) depth() {
	n := len(c.f.Nodes)
	depth := make([]int, n)
	nextOf := make([]int, n)
	onStack := make([]bool, n)
	var visit func(i int) int
	visit = func(i int) int {
		if depth[i] > 0 || onStack[i] {
			return depth[i]
		}
		onStack[i] = true
		best, bestNext := 0, -1
		for _, id := range c.passes(&c.f.Nodes[i]) {
			if j := c.nodeIndex(id); j >= 0 {
				if d := visit(j); d > best {
					best, bestNext = d, j
				}
			}
		}
		onStack[i] = false
		depth[i], nextOf[i] = best+1, bestNext
		return depth[i]
	}
	worst := -1
	for i, nd := range c.f.Nodes {
		if c.index[nd.ID] != i || !idPattern.MatchString(nd.ID) {
			continue
		}
		if visit(i) > c.p.maxSteps && (worst < 0 || depth[i] > depth[worst]) {
			worst = i
		}
	}
	if worst < 0 {
		return
	}
	names := []string{}
	for i, k := worst, 0; i >= 0 && k <= depth[worst]; i, k = nextOf[i], k+1 {
		names = append(names, c.f.Nodes[i].ID)
	}
	c.add(c.paths[worst], "%d steps without caller input (max_steps_without_input is %d): %s",
		depth[worst], c.p.maxSteps, strings.Join(names, " → "))
}

// reachable warns about nodes no path from the start reaches: harmless to a call, but
// usually a mistake (or work in progress), so not an error.
func (c *compiler) reachable() {
	start := c.nodeIndex(c.f.StartNode)
	if start < 0 {
		return
	}
	seen := make([]bool, len(c.f.Nodes))
	queue := []int{start}
	seen[start] = true
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		for _, id := range c.leads(&c.f.Nodes[i]) {
			if j := c.nodeIndex(id); j >= 0 && !seen[j] {
				seen[j] = true
				queue = append(queue, j)
			}
		}
	}
	for i, n := range c.f.Nodes {
		if !seen[i] && c.index[n.ID] == i && idPattern.MatchString(n.ID) {
			c.warn(c.paths[i], "unreachable: no path from the start node leads here")
		}
	}
}
