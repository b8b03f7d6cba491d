package flows

import (
	"strconv"
	"strings"
)

// ask puts n's prompt in a Gather and waits. why is "" on the first ask, else what went
// wrong: a retry says the no-input or no-match prompt, else the reprompt, else the
// prompt; "not found" (identify) says the not-found prompt first.
func (r *run) ask(n *cnode, why string) {
	retry := why != ""
	if !retry {
		r.st.Attempts = 0
	}
	r.st.Node = n.id
	r.turn.AskedActivity = r.turn.AskedActivity || n.asksActivity
	r.actions()
	g := &Gather{
		Input:          n.input,
		TimeoutSeconds: n.timeout,
		NumDigits:      n.numDigits,
		Language:       r.lang,
	}
	if why == "not found" || why == "wrong PIN" {
		r.say(n, n.notFoundPrompt, &g.Prompts)
	}
	prompt := n.prompt
	switch {
	case why == "no input" && len(n.noInputPrompt) > 0:
		prompt = n.noInputPrompt
	case why == "no match" && len(n.noMatchPrompt) > 0:
		prompt = n.noMatchPrompt
	case retry && len(n.reprompt) > 0:
		prompt = n.reprompt
	}
	r.say(n, prompt, &g.Prompts)
	// Language choices are announced at the first ask, until the caller has chosen.
	for _, o := range n.options {
		if o.announce != nil && o.language != r.lang && !retry && r.st.Language == "" {
			r.sayIn(o.language, o.announce[o.language], &g.Prompts)
		}
	}
	switch NodeType(n.typ) {
	case NodeIdentify, NodeVerify:
		g.FinishOnKey = "#"
	case NodeGather:
		if strings.Contains(n.input, "speech") {
			g.Hints = r.hints(n)
		}
	case NodeChooseMember:
		r.listMembers(n, g)
	}
	r.turn.Actions = append(r.turn.Actions, Action{Kind: ActGather, Gather: g})
	r.turn.Awaiting = true
}

// hints are the gather's speech hints for the call's language, worked out when the flow
// was compiled. They are shared by every call: capped, so an append copies them.
func (r *run) hints(n *cnode) []string {
	if h, ok := n.hints[r.lang]; ok {
		return h[:len(h):len(h)]
	}
	return n.speechHints(r.lang, r.p.defaultLang)
}

// speechHints lists every option's words, as written, in the language they are matched
// with for a call in lang (see wordsLang); nil when there are none.
func (n *cnode) speechHints(lang, defaultLang string) []string {
	var hints []string
	for _, o := range n.options {
		hints = append(hints, o.hints[o.wordsLang(lang, defaultLang)]...)
	}
	return hints
}

// wordsLang is the language whose words an option is matched with: the call's, else the
// default language's.
func (r *run) wordsLang(o coption) string {
	return o.wordsLang(r.lang, r.p.defaultLang)
}

func (o coption) wordsLang(lang, defaultLang string) string {
	if _, ok := o.words[lang]; ok {
		return lang
	}
	return defaultLang
}

// listMembers adds "If this is Dana, press 1. ..." to a choose_member gather.
func (r *run) listMembers(n *cnode, g *Gather) {
	lang, tpl := r.template(n.item)
	if !r.hears(tpl) {
		slang, safe := r.template(n.safe)
		if safe == nil || !r.hears(safe) {
			r.trace("%s %s: item withheld at trust %s", n.typ, n.id, r.st.Trust)
			return
		}
		lang, tpl = slang, safe
	}
	s := r.scope()
	s.lang, s.terms = lang, r.p.terms[lang]
	for i := range r.call.Caller.Members {
		m := &r.call.Caller.Members[i]
		s.member, s.digit = m, strconv.Itoa(i+1)
		r.b.separate()
		tpl.render(&r.b, s)
		if strings.Contains(n.input, "speech") && strings.TrimSpace(m.FirstName) != "" {
			g.Hints = append(g.Hints, strings.TrimSpace(m.FirstName))
		}
	}
	r.emit(lang, &g.Prompts)
}
