package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Fetch nodes ask one of the company's APIs (a connection) during the call. The engine
// does no I/O: a turn that reaches a fetch node stops there with Turn.Fetch, the edge
// performs the request and resumes the flow with its answer (Call.Fetched), which the
// engine reads: the saved values become variables, and the call goes on at next, or at
// error with vars.fetch_error. Simulation, flow tests and replay answer through the same
// seam (see Complete).

// Outcomes of a fetch (Fetched.Outcome); a flow branches on all but FetchOK through
// vars.fetch_error. The same words as the fetch client's outcomes.
const (
	FetchOK          = "ok"
	FetchTimeout     = "timeout"      // no answer within the time allowed
	FetchUnreachable = "unreachable"  // no connection, or no such connection
	FetchStatus      = "status"       // an answer other than 2xx
	FetchInvalid     = "invalid"      // not JSON, too large, or a required value missing
	FetchCircuitOpen = "circuit_open" // the connection failed too often lately: not tried
)

// FetchErrors are the values vars.fetch_error takes.
var FetchErrors = []string{FetchTimeout, FetchUnreachable, FetchStatus, FetchInvalid, FetchCircuitOpen}

// FetchErrorVar is the variable a fetch node sets when it takes its error way.
const FetchErrorVar = "fetch_error"

// MaxFetchTimeout bounds a fetch node's timeout_ms.
const MaxFetchTimeout = 5 * time.Second

// MaxFetchesPerTurn bounds the fetches and messages one turn makes (Complete).
const MaxFetchesPerTurn = 8

// FetchRequest asks the edge to call a connection for a fetch node.
type FetchRequest struct {
	Node       string
	Connection string
	Method     string // GET or POST
	// Path is the path and query to request on the connection's base URL, its templates
	// filled and escaped; PathTemplate is the path as the flow writes it, which the
	// journey shows (never the filled one: it may hold personal data).
	Path, PathTemplate string
	Body               []byte        // POST: the JSON body; nil for GET
	Timeout            time.Duration // the node's timeout_ms; 0: the connection's own
	// Wait: the node says something while it looks (say_while_waiting). The turn's
	// Actions end with it; the edge answers at once, with a redirect back to the flow, and
	// performs the request meanwhile.
	Wait bool
	// Key is the edge's own: where the answer to a pending request is kept until the
	// redirect picks it up. The engine leaves it empty.
	Key string
}

// Fetched is the edge's answer to a FetchRequest.
type Fetched struct {
	Node     string        `json:"node"`
	Outcome  string        `json:"outcome"`          // FetchOK or one of FetchErrors
	Status   int           `json:"status,omitempty"` // the HTTP status, when there was an answer
	Answer   any           `json:"answer,omitempty"` // the decoded JSON answer, on FetchOK
	Duration time.Duration `json:"duration,omitempty"`
	// Note says where the answer came from when it was not the connection (a mock, a
	// replay), for the trace.
	Note string `json:"-"`
}

// FetchRecord is what a call's journey keeps of a fetch: never the filled path, the
// saved values or the answer, which may be personal data.
type FetchRecord struct {
	Node       string   `json:"node"`
	Connection string   `json:"connection"`
	Path       string   `json:"path"` // the path template
	Status     int      `json:"status,omitempty"`
	Outcome    string   `json:"outcome"`
	DurationMS int64    `json:"duration_ms"`
	Saved      []string `json:"saved,omitempty"` // the names of the variables saved
}

// cfetch is a fetch node compiled.
type cfetch struct {
	connection, method string
	pathSrc            string
	path               []pathPiece
	body               *cjson
	timeout            time.Duration
	save               []csave
	required           []string
	wait               ctext
	errorNext          string
}

// pathPiece is a literal piece of a fetch path, or a template whose value is escaped as
// one path segment (query false) or one query value (query true).
type pathPiece struct {
	lit   string
	tpl   *template
	query bool
}

// csave is one value a fetch node saves: a variable and its path in the answer.
type csave struct {
	name string
	path []string
}

// cjson is a fetch body compiled: a JSON value whose strings are templates.
type cjson struct {
	tpl  *template // a string
	keys []string  // an object, sorted
	vals []*cjson
	arr  []*cjson // an array
	lit  []byte   // a number, true, false or null
}

var fetchMethods = []string{"GET", "POST"}

// maxSavePath bounds a save path's segments.
const maxSavePath = 16

func (c *compiler) fetch(cn *cnode, n *Node, path string) {
	f := &cfetch{connection: strings.TrimSpace(n.Connection), method: n.Method, pathSrc: n.Path}
	cn.fetch = f
	switch {
	case f.connection == "":
		c.add(join(path, "connection"), "required: the id of a connection (Connections, admins only)")
	case c.opts.KnownConnection != nil && !c.opts.KnownConnection(f.connection):
		c.add(join(path, "connection"), "unknown connection %q", f.connection)
	}
	if f.method == "" {
		f.method = "GET"
	}
	if !slices.Contains(fetchMethods, f.method) {
		c.add(join(path, "method"), "must be GET or POST")
	}
	c.fetchPath(f, n.Path, join(path, "path"))
	if n.Body != nil {
		if f.method != "POST" {
			c.add(join(path, "body"), "only a POST carries a body")
		}
		f.body = c.jsonTemplate(n.Body, join(path, "body"), 0)
	}
	if n.TimeoutMS != 0 {
		if n.TimeoutMS < 1 || time.Duration(n.TimeoutMS)*time.Millisecond > MaxFetchTimeout {
			c.add(join(path, "timeout_ms"), "must be between 1 and %d milliseconds", MaxFetchTimeout.Milliseconds())
		}
		f.timeout = time.Duration(n.TimeoutMS) * time.Millisecond
	}
	for _, name := range slices.Sorted(maps.Keys(n.Save)) {
		sp := join(join(path, "save"), name)
		if !keyPattern.MatchString(name) {
			c.add(sp, "bad variable name %q: lower-case letters, digits and _, starting with a letter (at most 32)", name)
			continue
		}
		if name == FetchErrorVar {
			c.add(sp, "%s is set by the fetch node itself when it fails", FetchErrorVar)
			continue
		}
		segs, msg := splitSavePath(n.Save[name])
		if msg != "" {
			c.add(sp, "%s", msg)
			continue
		}
		c.sets[name] = true
		f.save = append(f.save, csave{name: name, path: segs})
	}
	for i, name := range n.Required {
		if _, ok := n.Save[name]; !ok {
			c.add(join(join(path, "required"), strconv.Itoa(i)), "%q is not a variable this node saves", name)
			continue
		}
		f.required = append(f.required, name)
	}
	f.wait = c.text(join(path, "say_while_waiting"), n.SayWhileWaiting, false, false)
	f.errorNext = c.ref(join(path, "error"), n.Error, true)
	cn.next = c.ref(join(path, "next"), n.Next, true)
	c.sets[FetchErrorVar] = true
}

// splitSavePath reads a save path: names and numeric indexes joined by dots
// ("bookings.0.gate").
func splitSavePath(p string) ([]string, string) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, "a path in the answer is required, like bookings.0.gate"
	}
	segs := strings.Split(p, ".")
	if len(segs) > maxSavePath {
		return nil, fmt.Sprintf("at most %d steps deep", maxSavePath)
	}
	for _, s := range segs {
		if s == "" || utf8.RuneCountInString(s) > 64 {
			return nil, "must be names and indexes joined by dots, like bookings.0.gate"
		}
	}
	return segs, ""
}

// fetchPath compiles a fetch path: it starts with /, and each {{ }} becomes one escaped
// path segment (before the ?) or query value (after it).
func (c *compiler) fetchPath(f *cfetch, src, path string) {
	switch {
	case src == "":
		c.add(path, "required: the path to request on the connection, like /members/{{ member.id }}")
		return
	case !strings.HasPrefix(src, "/"):
		c.add(path, "must start with /")
		return
	case len(src) > 2000:
		c.add(path, "longer than 2000 characters")
		return
	}
	query := false
	rest := src
	for rest != "" {
		i := strings.Index(rest, "{{")
		lit := rest
		if i >= 0 {
			lit = rest[:i]
		}
		if lit != "" {
			if strings.ContainsAny(lit, " #\\\"<>{}\t\r\n") || !utf8.ValidString(lit) {
				c.add(path, "the text around templates may not hold spaces, #, \\, quotes, < > or braces")
				return
			}
			if strings.Contains(lit, "?") {
				if query {
					c.add(path, "one ? starts the query")
					return
				}
				query = true
			}
			f.path = append(f.path, pathPiece{lit: lit})
		}
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			c.add(path, `"{{" is never closed by "}}"`)
			return
		}
		tpl, err := parseTemplate(rest[i:i+j+2], false)
		if err != nil {
			c.add(path, "template: %v", err)
			return
		}
		for _, v := range tpl.vars() {
			c.reads = append(c.reads, varRead{v, path})
		}
		f.path = append(f.path, pathPiece{tpl: tpl, query: query})
		rest = rest[i+j+2:]
	}
	if u, err := url.Parse("https://h" + strings.NewReplacer("{", "", "}", "").Replace(src)); err != nil || u.Host != "h" {
		c.add(path, "must be a path with an optional query, like /members/{{ member.id }}?upcoming=1")
	}
}

// jsonTemplate compiles a body value.
func (c *compiler) jsonTemplate(v any, path string, depth int) *cjson {
	if depth > 8 {
		c.add(path, "nested more than 8 deep")
		return &cjson{lit: []byte("null")}
	}
	switch v := v.(type) {
	case string:
		tpl, err := parseTemplate(v, false)
		if err != nil {
			c.add(path, "template: %v", err)
			return &cjson{lit: []byte(`""`)}
		}
		for _, name := range tpl.vars() {
			c.reads = append(c.reads, varRead{name, path})
		}
		return &cjson{tpl: tpl}
	case map[string]any:
		j := &cjson{keys: slices.Sorted(maps.Keys(v))}
		if j.keys == nil {
			j.keys = []string{}
		}
		for _, k := range j.keys {
			j.vals = append(j.vals, c.jsonTemplate(v[k], join(path, k), depth+1))
		}
		return j
	case []any:
		j := &cjson{arr: []*cjson{}}
		for i, e := range v {
			j.arr = append(j.arr, c.jsonTemplate(e, join(path, strconv.Itoa(i)), depth+1))
		}
		return j
	}
	lit, err := json.Marshal(v)
	if err != nil {
		c.add(path, "not a JSON value")
		lit = []byte("null")
	}
	return &cjson{lit: lit}
}

// FetchTimeout is the timeout of fetch node id (its timeout_ms), or 0 when it sets none
// or is not a fetch node.
func (f *Flow) FetchTimeout(id string) time.Duration {
	if f == nil || f.prog == nil {
		return 0
	}
	if n := f.prog.nodes[id]; n != nil && n.fetch != nil {
		return n.fetch.timeout
	}
	return 0
}

// The engine's side.

// fetchRequest is what a fetch node asks for; ok false when the path cannot be built (a
// value that is empty or a dot segment, which would change the path).
func (r *run) fetchRequest(n *cnode) (FetchRequest, string) {
	f := n.fetch
	req := FetchRequest{Node: n.id, Connection: f.connection, Method: f.method, PathTemplate: f.pathSrc, Timeout: f.timeout}
	s := r.plainScope()
	var b strings.Builder
	for _, p := range f.path {
		if p.tpl == nil {
			b.WriteString(p.lit)
			continue
		}
		v := plain(p.tpl, s)
		if p.query {
			b.WriteString(url.QueryEscape(v))
			continue
		}
		if v == "" || v == "." || v == ".." {
			return req, "a value in the path is empty or a dot segment"
		}
		b.WriteString(url.PathEscape(v))
	}
	req.Path = b.String()
	if f.body != nil {
		var buf bytes.Buffer
		f.body.write(&buf, s)
		req.Body = buf.Bytes()
	}
	return req, ""
}

// plainScope is the scope fetch values and set values render in: plain text in the
// default language.
func (r *run) plainScope() *scope {
	s := r.scope()
	s.lang, s.terms = r.p.defaultLang, r.p.terms[r.p.defaultLang]
	return s
}

// plain renders tpl as plain text.
func plain(tpl *template, s *scope) string {
	var b speechBuilder
	tpl.render(&b, s)
	return b.speech().String()
}

func (j *cjson) write(b *bytes.Buffer, s *scope) {
	switch {
	case j.tpl != nil:
		v, _ := json.Marshal(plain(j.tpl, s))
		b.Write(v)
	case j.keys != nil:
		b.WriteByte('{')
		for i, k := range j.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kk, _ := json.Marshal(k)
			b.Write(kk)
			b.WriteByte(':')
			j.vals[i].write(b, s)
		}
		b.WriteByte('}')
	case j.arr != nil:
		b.WriteByte('[')
		for i, e := range j.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			e.write(b, s)
		}
		b.WriteByte(']')
	default:
		b.Write(j.lit)
	}
}

// enterFetch stops the turn at a fetch node with its request for the edge; a request
// that cannot be built takes the error way at once (the next node to walk, or "" when
// the turn stops).
func (r *run) enterFetch(n *cnode) string {
	req, why := r.fetchRequest(n)
	if why != "" {
		r.trace("fetch %s: %s", n.id, why)
		return r.fetchFailed(n, Fetched{Node: n.id, Outcome: FetchInvalid})
	}
	r.st.Node, r.st.Attempts = n.id, 0
	if n.fetch.wait != nil {
		r.say(n, n.fetch.wait, &r.turn.Actions)
		req.Wait = true
	}
	r.turn.Fetch = &req
	r.trace("fetch %s: %s %s on %s", n.id, req.Method, n.fetch.pathSrc, n.fetch.connection)
	return ""
}

// resumeFetch goes on from a fetch node with the edge's answer; without one it asks for
// it again.
func (r *run) resumeFetch(n *cnode) error {
	res := r.call.Fetched
	if res == nil || res.Node != n.id {
		if next := r.enterFetch(n); next != "" {
			return r.walk(next)
		}
		r.turn.Actions = nil // no wait words: this turn is not the one that said them
		if r.turn.Fetch != nil {
			r.turn.Fetch.Wait = false
		}
		return nil
	}
	r.st.Attempts = 0
	return r.walk(r.fetched(n, *res))
}

// fetched reads a fetch's answer into the call's variables and returns where the call
// goes: next when it is a 2xx JSON answer with every required value, else error with
// vars.fetch_error.
func (r *run) fetched(n *cnode, res Fetched) string {
	f := n.fetch
	if res.Outcome == FetchOK && (res.Status != 0 && (res.Status < 200 || res.Status > 299)) {
		res.Outcome = FetchStatus
	}
	if !slices.Contains(FetchErrors, res.Outcome) && res.Outcome != FetchOK {
		res.Outcome = FetchInvalid
	}
	if res.Outcome != FetchOK {
		return r.fetchFailed(n, res)
	}
	vars := maps.Clone(r.st.Vars)
	if vars == nil {
		vars = map[string]string{}
	}
	var saved, missing []string
	for _, sv := range f.save {
		v, ok := answerValue(res.Answer, sv.path)
		if !ok {
			delete(vars, sv.name)
			if slices.Contains(f.required, sv.name) {
				missing = append(missing, sv.name)
			}
			continue
		}
		if utf8.RuneCountInString(v) > maxVarLen {
			v = string([]rune(v)[:maxVarLen])
		}
		vars[sv.name] = v
		saved = append(saved, sv.name)
	}
	if len(missing) > 0 {
		r.trace("fetch %s: the answer lacks %s", n.id, strings.Join(missing, ", "))
		res.Outcome = FetchInvalid
		return r.fetchFailed(n, res)
	}
	delete(vars, FetchErrorVar)
	if len(vars) == 0 {
		vars = nil
	}
	r.st.Vars = vars
	r.record(n, res, saved)
	r.trace("fetch %s: %d%s, saved %s → %s", n.id, res.Status, note(res.Note), first(strings.Join(saved, ", "), "nothing"), n.next)
	return n.next
}

func note(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// fetchFailed sets vars.fetch_error, forgets what the node saved before, and returns
// the node's error way.
func (r *run) fetchFailed(n *cnode, res Fetched) string {
	vars := maps.Clone(r.st.Vars)
	if vars == nil {
		vars = map[string]string{}
	}
	for _, sv := range n.fetch.save {
		delete(vars, sv.name)
	}
	vars[FetchErrorVar] = res.Outcome
	r.st.Vars = vars
	r.record(n, res, nil)
	status := ""
	if res.Status != 0 {
		status = " " + strconv.Itoa(res.Status)
	}
	r.trace("fetch %s: %s%s%s → %s", n.id, res.Outcome, status, note(res.Note), n.fetch.errorNext)
	return n.fetch.errorNext
}

func (r *run) record(n *cnode, res Fetched, saved []string) {
	r.turn.Fetches = append(r.turn.Fetches, FetchRecord{Node: n.id, Connection: n.fetch.connection, Path: n.fetch.pathSrc,
		Status: res.Status, Outcome: res.Outcome, DurationMS: res.Duration.Milliseconds(), Saved: saved})
}

// answerValue is the value at path in a decoded JSON answer, as text: strings as they
// are, numbers as written, true and false; ok false when the path leads nowhere, to null,
// or to an object or a list.
func answerValue(v any, path []string) (string, bool) {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) || seg != strconv.Itoa(i) {
				return "", false
			}
			v = x[i]
		default:
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	}
	return "", false
}
