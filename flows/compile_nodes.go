package flows

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/memberline/memberline/experiments"
)

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
	case NodeSplit:
		c.split(cn, n, path)
	case NodeFetch:
		c.fetch(cn, n, path)
	case NodeMessage:
		c.message(cn, n, path)
	case NodeRecord:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		cn.maxSeconds = c.bounded(join(path, "max_seconds"), n.MaxSeconds, defaultMaxSeconds, 1, 3600, "")
		cn.timeout = c.bounded(join(path, "timeout"), n.Timeout, defaultTimeout, 1, 60, " seconds")
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
		c.hintsFit(path, cn.hints)
		for _, tpl := range cn.prompt {
			cn.asksActivity = cn.asksActivity || tpl.readsActivity()
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
		if NodeType(n.Type) == NodeIdentify {
			c.identifyOptions(cn, n, path)
		}
	case NodeRemember:
		cn.prompt = c.text(join(path, "prompt"), n.Prompt, true, false)
		c.asking(cn, n, path)
		cn.input, cn.numDigits, cn.retries = "dtmf", 1, 0
		cn.next = c.ref(join(path, "next"), n.Next, true)
	case NodeHandoff:
		cn.say = c.text(join(path, "say"), n.Say, false, false)
		c.handoffTarget(cn, n, path)
		cn.reason = strings.TrimSpace(n.Reason)
		c.compileQueue(cn, n, path)
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
		{"queue", !n.Queue.IsZero()}, {"reason", n.Reason != ""},
		{"priority", n.Priority != nil}, {"wait", n.Wait != nil}, {"callback", n.Callback != nil},
		{"url", n.URL != ""}, {"set", n.Set != nil}, {"no_input_prompt", n.NoInputPrompt != nil},
		{"no_match_prompt", n.NoMatchPrompt != nil}, {"workflow", n.Workflow != ""},
		{"sip", n.SIP != ""}, {"client", n.Client != ""}, {"max_seconds", n.MaxSeconds != 0},
		{"transcribe", n.Transcribe}, {"beep", n.Beep != nil}, {"flow", n.Flow != ""},
		{"safe", n.Safe != nil}, {"experiment", n.Experiment != ""}, {"arms", n.Arms != nil},
		{"connection", n.Connection != ""}, {"method", n.Method != ""}, {"path", n.Path != ""},
		{"body", n.Body != nil}, {"timeout_ms", n.TimeoutMS != 0}, {"save", n.Save != nil},
		{"required", n.Required != nil}, {"error", n.Error != ""}, {"say_while_waiting", n.SayWhileWaiting != nil},
		{"channel", n.Channel != ""}, {"template", n.Template != nil}, {"not_sent", n.NotSent != ""},
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
	cn.timeout = c.bounded(join(path, "timeout"), n.Timeout, defaultTimeout, 1, 60, " seconds")
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
		c.languageOption(&co, o, op)
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

// identifyOptions compiles an identify node's options: language choices only, each a key
// or two on the keypad ("Pour le français, appuyez sur 9"), taken instead of a member
// number with the same digits.
func (c *compiler) identifyOptions(cn *cnode, n *Node, path string) {
	seen := map[string]int{}
	for i, o := range n.Options {
		op := join(join(path, "options"), strconv.Itoa(i))
		co := coption{digits: o.Digits, next: c.ref(join(op, "next"), o.Next, true)}
		switch j, dup := seen[o.Digits]; {
		case !languageKeys.MatchString(o.Digits):
			c.add(join(op, "digits"), "an identify option is one or two keys (0-9, *), so no member number is taken for it")
		case dup:
			c.add(join(op, "digits"), "duplicate digits %q (also options.%d)", o.Digits, j)
		}
		seen[o.Digits] = i
		if len(o.Words) > 0 {
			c.add(join(op, "words"), "an identify node listens to the keypad only")
		}
		if o.Language == "" {
			c.add(join(op, "language"), "required: an identify node's options are language choices")
		}
		c.languageOption(&co, o, op)
		cn.options = append(cn.options, co)
	}
}

// languageOption checks an option's language choice: a declared language, announced in
// that language.
func (c *compiler) languageOption(co *coption, o Option, path string) {
	if o.Language == "" {
		if len(o.Announce) > 0 {
			c.add(join(path, "announce"), "an announcement belongs to a language option: set language")
		}
		return
	}
	if !c.declared(o.Language) {
		c.add(join(path, "language"), "language %q is not declared in languages", o.Language)
		return
	}
	co.language = o.Language
	for lang := range o.Announce {
		if lang != o.Language {
			c.add(join(join(path, "announce"), lang), "an option for %s is announced in %s only", o.Language, o.Language)
		}
	}
	if strings.TrimSpace(o.Announce[o.Language]) == "" {
		c.warn(join(join(path, "announce"), o.Language), "no %s announcement: callers are not told of this choice in %s", o.Language, o.Language)
		return
	}
	tpl, err := parseTemplate(o.Announce[o.Language], false)
	if err != nil {
		c.add(join(join(path, "announce"), o.Language), "template: %v", err)
		return
	}
	c.sayLength(join(join(path, "announce"), o.Language), o.Language, o.Announce[o.Language])
	co.announce = ctext{o.Language: tpl}
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
	cn.queue = strings.TrimSpace(n.Queue.Name)
	if ch := n.Queue.Choice; ch != nil {
		cn.queue = strings.TrimSpace(ch.Default)
	}
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
		} else {
			c.sipURI(join(path, "sip"), cn.sip)
		}
	}
	if utf8.RuneCountInString(cn.queue) > MaxQueueName {
		c.add(join(path, "queue"), "at most %d characters, as Twilio's queue names", MaxQueueName)
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
		if tpl.readsQueue() && !c.queueFields {
			c.add(lp, "queue.position and queue.wait_minutes are only known in a handoff's wait and callback texts")
		}
		c.sayLength(lp, lang, src)
		if c.needs(tpl) >= neverRank {
			c.warn(lp, "never spoken: it says %s, which the disclosure policy allows at no trust level (the node's safe text, if any, is said instead)", c.worst(tpl))
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

// split checks a split node: an experiment id, and 2 to 10 arms with unique ids, whole
// percent weights summing to 100, and a next each.
func (c *compiler) split(cn *cnode, n *Node, path string) {
	cn.experiment = n.Experiment
	if !idPattern.MatchString(n.Experiment) {
		c.add(join(path, "experiment"), "must be an experiment id: a letter then letters, digits, _ or - (at most 64)")
	}
	arms := make([]experiments.Arm, len(n.Arms))
	for i, a := range n.Arms {
		ap := join(join(path, "arms"), strconv.Itoa(i))
		if !idPattern.MatchString(a.ID) {
			c.add(join(ap, "id"), "must be an arm id: a letter then letters, digits, _ or - (at most 64)")
		}
		arms[i] = experiments.Arm{ID: a.ID, Weight: a.Weight}
		cn.armNext = append(cn.armNext, c.ref(join(ap, "next"), a.Next, true))
	}
	if err := experiments.CheckArms(arms); err != nil {
		c.add(join(path, "arms"), "%s", err.Error())
	}
	cn.arms = arms
	c.splits = append(c.splits, splitUse{experiment: n.Experiment, arms: arms, path: path})
}

// splitUse is a split node's experiment and arms, to check that every split of one
// experiment has the same arms and that each experiment's goal is declared.
type splitUse struct {
	experiment string
	arms       []experiments.Arm
	path       string
}

// experiments checks the flow's experiments: the splits of one experiment agree on its
// arms, and each declared experiment has a goal, is run by a split, and names a node or
// an outcome that exist.
func (c *compiler) experiments() {
	first := map[string]splitUse{}
	for _, s := range c.splits {
		f, seen := first[s.experiment]
		if !seen {
			first[s.experiment] = s
			continue
		}
		if !slices.Equal(f.arms, s.arms) {
			c.add(join(s.path, "arms"), "experiment %q has other arms at %s: one experiment, one set of arms", s.experiment, f.path)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(c.f.Experiments)) {
		e := c.f.Experiments[id]
		path := join("experiments", id)
		if _, ok := first[id]; !ok {
			c.add(path, "no split node runs experiment %q", id)
		}
		g, gp := e.Goal, join(path, "goal")
		n := 0
		for _, set := range []bool{g.Reached != "", g.Outcome != "", g.NotOutcome != ""} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			c.add(gp, `needs one of "reached" (a node), "outcome" or "not_outcome" (self_service, handoff, caller_hung_up, error)`)
		case g.Reached != "":
			c.ref(join(gp, "reached"), g.Reached, true)
		case !slices.Contains(goalOutcomes, g.Outcome+g.NotOutcome):
			c.add(gp, "an outcome is one of %s", strings.Join(goalOutcomes, ", "))
		}
		if e.MinCallsPerArm < 0 || e.MinCallsPerArm > 1_000_000 {
			c.add(join(path, "min_calls_per_arm"), "must be from 1 to 1,000,000")
		}
	}
	for id := range first {
		if _, ok := c.f.Experiments[id]; !ok && idPattern.MatchString(id) {
			c.warn(join("experiments", id), "experiment %q has no goal: the report can count its calls but give no verdict", id)
		}
	}
}

// goalOutcomes are the outcomes a goal may name (the call records' outcomes).
var goalOutcomes = []string{"self_service", "handoff", "caller_hung_up", "error"}

// checkPins reports pinned arms (experiment → arm) that no split node of the flow has.
func (c *compiler) checkPins(path string, pins map[string]string) {
	for _, exp := range slices.Sorted(maps.Keys(pins)) {
		i := slices.IndexFunc(c.splits, func(s splitUse) bool { return s.experiment == exp })
		if i < 0 {
			c.add(join(path, exp), "no split node runs experiment %q", exp)
			continue
		}
		var ids []string
		for _, a := range c.splits[i].arms {
			ids = append(ids, a.ID)
		}
		if !slices.Contains(ids, pins[exp]) {
			c.add(join(path, exp), "experiment %q has no arm %q (its arms: %s)", exp, pins[exp], strings.Join(ids, ", "))
		}
	}
}

// PinProblems reports the pinned arms (experiment → arm) that no split node of the flow
// has, at path.experiment.
func (f *Flow) PinProblems(path string, pins map[string]string) []Problem {
	c := &compiler{f: f}
	for i := range f.Nodes {
		if n := &f.Nodes[i]; n.Type == NodeSplit {
			arms := make([]experiments.Arm, len(n.Arms))
			for j, a := range n.Arms {
				arms[j] = experiments.Arm{ID: a.ID, Weight: a.Weight}
			}
			c.splits = append(c.splits, splitUse{experiment: n.Experiment, arms: arms})
		}
	}
	c.checkPins(path, pins)
	return c.probs
}

// bounded is a whole number of the document: def when it is 0 (left out), else v, which
// must be within lo..hi (a problem at path otherwise, "must be between lo and hi" and unit).
func (c *compiler) bounded(path string, v, def, lo, hi int, unit string) int {
	if v == 0 {
		return def
	}
	if v < lo || v > hi {
		c.add(path, "must be between %d and %d%s", lo, hi, unit)
	}
	return v
}
