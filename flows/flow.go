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
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	Nodes           []Node              `json:"nodes"`

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
	NodeGather       NodeType = "gather"        // ask, then follow the option the caller picked
	NodeBranch       NodeType = "branch"        // follow the first case whose conditions hold
	NodeChooseMember NodeType = "choose_member" // shared number: which member is calling?
	NodeIdentify     NodeType = "identify"      // a member number on the keypad
	NodeHandoff      NodeType = "handoff"       // pass the call to a person; ends the flow
	NodeHangup       NodeType = "hangup"        // say goodbye and hang up; ends the flow
)

// Node is one step of a flow. Which fields a node uses depends on its type; Validate
// reports fields a type does not use. Fields naming nodes (next, default, no_input,
// no_match, not_found, options[].next, cases[].next) hold node ids.
type Node struct {
	ID   string   `json:"id"`
	Type NodeType `json:"type"`

	// say: what to say (required). handoff and hangup: optional words before ending.
	Say Text `json:"say,omitempty"`
	// say, choose_member, identify: where to go next (required).
	Next string `json:"next,omitempty"`

	// gather, choose_member, identify.
	Prompt   Text `json:"prompt,omitempty"`   // required for gather and identify
	Reprompt Text `json:"reprompt,omitempty"` // said on a retry instead of the prompt
	// Input is "dtmf", "speech" or "dtmf speech" (gather, choose_member). Default: "dtmf
	// speech" when any option has words (always for choose_member), else "dtmf".
	Input     string `json:"input,omitempty"`
	Timeout   int    `json:"timeout,omitempty"`    // seconds, default 5
	NumDigits int    `json:"num_digits,omitempty"` // gather; default: the options' digit count when they all have the same
	// Retries is how many times a failed answer (no input or no match; for identify, a
	// number not found) is asked again before giving up; default 2. At identify, no input
	// gives up at once: its prompt offers waiting for an agent.
	Retries *int   `json:"retries,omitempty"`
	NoInput string `json:"no_input,omitempty"` // giving up after no input (else no_match)
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
	NotFound string `json:"not_found,omitempty"`

	// handoff.
	Queue  string `json:"queue,omitempty"` // required
	Reason string `json:"reason,omitempty"`
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
// Fields: caller.members (a number), member and activity (for exists/missing), and the
// template fields (member.tier, activity.relation, activity.kind, ...).
// Ops: eq, ne (value), in, not_in (values), lt, lte, gt, gte (numbers: value), exists,
// missing. Text compares case-insensitively.
type Condition struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"`
	Value  string   `json:"value,omitempty"`
	Values []string `json:"values,omitempty"`
}

// Problem is one thing wrong with a flow document, located by a dotted path: node list
// entries by their id ("nodes.greet.say.en-US"), other list entries by index
// ("nodes.menu.options.0.digits"). A node without a usable id is addressed by index too.
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
	f.prog, f.problems = compile(f)
	return f, nil
}

// Validate reports everything wrong with the document, in document order; nil when it is
// fine to run. It reads the exported fields, so it also checks a document built in code.
func (f *Flow) Validate() []Problem {
	_, probs := compile(f)
	return probs
}

// program is a flow compiled for the engine: templates parsed, words tokenized, defaults
// applied. It does not share memory with the document.
type program struct {
	start       string
	defaultLang string
	langs       []string // declared, sorted
	voices      map[string]string
	terms       map[string]map[string]string
	nodes       map[string]*cnode
}

type cnode struct {
	id, typ                                       string
	next, noInput, noMatch, notFound, dflt, queue string
	reason                                        string
	say, prompt, reprompt, item, notFoundPrompt   ctext
	input                                         string
	timeout, numDigits, retries                   int
	options                                       []coption
	cases                                         []ccase
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
	op     string
	value  string
	values []string
	num    int
	desc   string // for the trace: "caller.members eq 0"
}

const (
	defaultTimeout = 5
	defaultRetries = 2
	maxChoices     = 9 // one key per member
)

var (
	idPattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)
	langPattern = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$`)
	keysPattern = regexp.MustCompile(`^[0-9*]{1,20}$`)
	inputs      = []string{"dtmf", "speech", "dtmf speech"}
	ops         = []string{"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "exists", "missing"}
)

// nodeFields lists, per node type, the optional fields it uses (id and type always).
var nodeFields = map[NodeType][]string{
	NodeSay:          {"say", "next"},
	NodeGather:       {"prompt", "reprompt", "input", "timeout", "num_digits", "retries", "no_input", "no_match", "options"},
	NodeBranch:       {"cases", "default"},
	NodeChooseMember: {"prompt", "reprompt", "item", "input", "timeout", "retries", "next", "no_input", "no_match"},
	NodeIdentify:     {"prompt", "reprompt", "not_found_prompt", "timeout", "retries", "next", "not_found", "no_input"},
	NodeHandoff:      {"say", "queue", "reason"},
	NodeHangup:       {"say"},
}

type compiler struct {
	f     *Flow
	p     *program
	probs []Problem
	paths []string       // node index → path
	index map[string]int // node id → first index
}

func (c *compiler) add(path, format string, args ...any) {
	c.probs = append(c.probs, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func join(path, seg string) string {
	if path == "" {
		return seg
	}
	return path + "." + seg
}

func compile(f *Flow) (*program, []Problem) {
	c := &compiler{f: f, index: map[string]int{}}
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
	c.loops()
	return c.p, c.probs
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
			c.add(join(path, "type"), "unknown type %q (types: say, gather, branch, choose_member, identify, handoff, hangup)", n.Type)
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
	case NodeGather:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		c.asking(cn, n, path)
		c.options(cn, n, path)
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
	case NodeIdentify:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		cn.notFoundPrompt = c.text(join(path, "not_found_prompt"), n.NotFoundPrompt, false, false)
		c.asking(cn, n, path)
		cn.input = "dtmf"
		cn.next = c.ref(join(path, "next"), n.Next, true)
		cn.notFound = c.ref(join(path, "not_found"), n.NotFound, true)
	case NodeHandoff:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		cn.queue = strings.TrimSpace(n.Queue)
		if cn.queue == "" {
			c.add(join(path, "queue"), "required")
		}
		cn.reason = strings.TrimSpace(n.Reason)
	case NodeHangup:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
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
	if len(n.Options) == 0 && n.NoInput == "" && n.NoMatch == "" {
		c.add(join(path, "options"), "a gather needs options or a way forward (no_input or no_match)")
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

func (c *compiler) condition(path string, w Condition) ccond {
	cc := ccond{op: w.Op, value: strings.TrimSpace(w.Value)}
	for _, v := range w.Values {
		cc.values = append(cc.values, strings.TrimSpace(v))
	}
	f := lookupField(w.Field)
	if f == fieldNone || f == fieldChoiceDigit {
		c.add(join(path, "field"), "unknown field %q", w.Field)
		return cc
	}
	cc.field = f
	kind := fieldTable[f].kind
	cc.desc = w.Field + " " + w.Op
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
		numeric := w.Op != "eq" && w.Op != "ne"
		if numeric && kind != kindNumber {
			c.add(join(path, "op"), "%s compares numbers; %s is not a number", w.Op, w.Field)
		} else if kind == kindNumber {
			n, err := strconv.Atoi(cc.value)
			if err != nil {
				c.add(join(path, "value"), "must be a whole number")
			}
			cc.num = n
		}
	case "in", "not_in":
		if w.Value != "" {
			c.add(join(path, "value"), "%s takes values, a list", w.Op)
		}
		if len(w.Values) == 0 {
			c.add(join(path, "values"), "required")
		}
		for k, v := range w.Values {
			if strings.TrimSpace(v) == "" {
				c.add(join(join(path, "values"), strconv.Itoa(k)), "must not be blank")
			}
		}
		cc.desc += " " + strings.Join(w.Values, "|")
	default:
		c.add(join(path, "op"), "unknown op %q (ops: %s)", w.Op, strings.Join(ops, ", "))
		return cc
	}
	if kind == kindPresence || kind == kindTime {
		c.add(join(path, "op"), "%s can only be tested with exists or missing", w.Field)
	}
	return cc
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
		if tpl.words && !hasWords(lang) {
			c.add(lp, "date and time words exist for en and es only")
		}
		ct[lang] = tpl
	}
	if strings.TrimSpace(t[def]) == "" && defOK {
		c.add(join(path, def), "missing %s text (the default language)", def)
	}
	return ct
}

// loops reports cycles that can run without waiting for input. choose_member counts as
// not waiting: with one member (or too many to list) it passes straight through.
func (c *compiler) loops() {
	edges := func(n *Node) []string {
		switch n.Type {
		case NodeSay:
			return []string{n.Next}
		case NodeBranch:
			out := []string{}
			for _, k := range n.Cases {
				out = append(out, k.Next)
			}
			return append(out, n.Default)
		case NodeChooseMember:
			return []string{n.Next, n.NoMatch, n.NoInput}
		}
		return nil
	}
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
		for _, id := range edges(&c.f.Nodes[i]) {
			j, ok := c.index[id]
			if !ok || id == "" {
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
