package flows

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/memberline/memberline/experiments"
)

// Validation is compilation: a document becomes the program the engine runs, and every
// problem met on the way is reported, located by its path.

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
	asksActivity                                  bool                // gather: its prompt names the activity
	cases                                         []ccase
	experiment                                    string            // split
	arms                                          []experiments.Arm // split, with nexts
	armNext                                       []string
	fetch                                         *cfetch
	queueing                                      *cqueue // handoff: priority, queue choice, wait, callback
	message                                       *cmessage
}

// cset is one variable a set node sets.
type cset struct {
	name string
	tpl  *template
}

// ctext is a compiled Text: language → template.
type ctext map[string]*template

type coption struct {
	digits   string
	words    map[string][]phrase // language → phrases
	hints    map[string][]string // language → phrases as written
	next     string
	language string // a language choice: the language it switches to
	announce ctext  // said in language after the prompt
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
	num    int // numbers; minutes since midnight; weekdays
	// numeric: an ordering op on a variable or an attribute, compared with fnum as a
	// number.
	numeric bool
	fnum    float64
	nums    []int // between: [from, to]; in, not_in: weekdays
	dates   []dateValue
	member  bool           // clock fields: in the member's zone
	zone    *time.Location // clock fields: an explicit zone
	desc    string         // for the trace: "caller.members eq 0"
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
	// languageKeys are an identify node's language choices: shorter than any member number.
	languageKeys = regexp.MustCompile(`^[0-9*]{1,2}$`)
	inputs       = []string{"dtmf", "speech", "dtmf speech"}
	ops          = []string{"eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between", "exists", "missing"}
	workflowSID  = regexp.MustCompile(`^WW[0-9a-f]{32}$`)
	clientID     = regexp.MustCompile(`^[A-Za-z0-9_.@-]{1,121}$`)
)

// nodeFields lists, per node type, the optional fields it uses (id and type always).
var nodeFields = map[NodeType][]string{
	NodeSay:          {"say", "next", "safe"},
	NodePlay:         {"url", "next"},
	NodeGather:       {"prompt", "reprompt", "no_input_prompt", "no_match_prompt", "input", "timeout", "num_digits", "retries", "no_input", "no_match", "options", "safe"},
	NodeBranch:       {"cases", "default"},
	NodeSet:          {"set", "next"},
	NodeChooseMember: {"prompt", "reprompt", "no_input_prompt", "no_match_prompt", "item", "input", "timeout", "retries", "next", "no_input", "no_match", "safe"},
	NodeIdentify:     {"prompt", "reprompt", "not_found_prompt", "timeout", "retries", "next", "not_found", "no_input", "options", "safe"},
	NodeVerify:       {"prompt", "reprompt", "not_found_prompt", "timeout", "retries", "next", "not_found", "no_input", "safe"},
	NodeRemember:     {"prompt", "timeout", "next", "safe"},
	NodeRecord:       {"say", "max_seconds", "timeout", "transcribe", "beep", "next", "no_input", "safe"},
	NodeHandoff:      {"say", "queue", "workflow", "sip", "client", "reason", "safe", "priority", "wait", "callback"},
	NodeGoto:         {"say", "flow", "safe"},
	NodeHangup:       {"say", "safe"},
	NodeSplit:        {"experiment", "arms"},
	NodeMessage:      {"channel", "body", "template", "say", "next", "not_sent", "safe"},
	NodeFetch:        {"connection", "method", "path", "body", "timeout_ms", "save", "required", "next", "error", "say_while_waiting", "safe"},
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
	// moreProbs and moreWarns count the problems past maxProblems.
	moreProbs, moreWarns int
	// splits are the split nodes, for the checks across them (experiments).
	splits []splitUse
	// queueFields: the text being compiled may read queue.position and queue.wait_minutes.
	queueFields bool
}

// varRead is a variable a template or condition reads, to check that a set node sets it.
type varRead struct{ name, path string }

// maxProblems bounds the errors, and the warnings, a report lists: a document with more
// gets the first ones and a last problem that counts the rest, so that a hostile document
// cannot make validation answer megabytes.
const maxProblems = 200

func (c *compiler) add(path, format string, args ...any) {
	c.probs = addProblem(c.probs, &c.moreProbs, path, format, args)
}

func (c *compiler) warn(path, format string, args ...any) {
	c.warns = addProblem(c.warns, &c.moreWarns, path, format, args)
}

func addProblem(ps []Problem, more *int, path, format string, args []any) []Problem {
	if len(ps) >= maxProblems {
		*more++
		return ps
	}
	return append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// more adds, to a list cut at maxProblems, how many were left out.
func more(ps []Problem, n int, what string) []Problem {
	if n == 0 {
		return ps
	}
	return append(ps, Problem{Path: "nodes", Message: fmt.Sprintf("and %d more %s, not listed: fix the ones above first", n, what)})
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
	c.experiments()
	c.loops()
	c.depth()
	c.reachable()
	c.tests()
	return c.p, Report{Errors: nonNil(more(c.probs, c.moreProbs, "errors")), Warnings: nonNil(more(c.warns, c.moreWarns, "warnings"))}
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
		c.sayLanguage(path, lang, l.Voice)
		if !hasWords(lang) {
			c.add(path, "no data to speak dates and times in %s: the date speaker has data for %s", lang, dateLanguages())
		}
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
