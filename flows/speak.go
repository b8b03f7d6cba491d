package flows

// template picks the call's language variant of t, else the default language's.
func (r *run) template(t ctext) (string, *template) {
	if tpl := t[r.lang]; tpl != nil {
		return r.lang, tpl
	}
	return r.p.defaultLang, t[r.p.defaultLang]
}

// say renders t, one of n's texts, as a say action appended to to; it returns the
// language spoken. A text the flow's disclosure policy does not let this call's trust level
// hear is not said: n's safe text is, when it has one the level may hear.
func (r *run) say(n *cnode, t ctext, to *[]Action) string {
	lang, tpl := r.template(t)
	if tpl == nil {
		return lang
	}
	if !r.hears(tpl) {
		slang, safe := r.template(n.safe)
		if safe == nil || !r.hears(safe) {
			r.trace("%s %s: withheld at trust %s", n.typ, n.id, r.st.Trust)
			return lang
		}
		r.trace("%s %s: safe text at trust %s", n.typ, n.id, r.st.Trust)
		lang, tpl = slang, safe
	}
	s := r.scope()
	s.lang, s.terms = lang, r.p.terms[lang]
	tpl.render(&r.b, s)
	r.emit(lang, to)
	return lang
}

// sayIn renders tpl in lang, whatever the call's language, as a say action appended to to.
func (r *run) sayIn(lang string, tpl *template, to *[]Action) {
	s := r.scope()
	s.lang, s.terms = lang, r.p.terms[lang]
	tpl.render(&r.b, s)
	r.emit(lang, to)
}

// emit appends what the builder holds as one say action.
func (r *run) emit(lang string, to *[]Action) {
	if sp := r.takeSpeech(); len(sp) > 0 {
		*to = append(*to, Action{Kind: ActSay, Language: lang, Voice: r.p.voices[lang], Speech: sp})
	}
}

// takeSpeech moves what the builder holds into the turn: its segments into room from
// segments, its plain text into the turn's text (the segments' Text is filled in by done).
func (r *run) takeSpeech() Speech {
	b := &r.b
	b.flush()
	if len(b.segs) == 0 {
		b.reset()
		return nil
	}
	r.text.grow()
	base := r.text.len()
	r.text.writeBytes(b.buf)
	sp := r.segments(len(b.segs))
	for i, bs := range b.segs {
		sp[i] = bs.seg
		if bs.from >= 0 {
			r.text.fill(&sp[i].Text, base+bs.from, base+bs.to)
		}
	}
	b.reset()
	return sp
}

// segments returns room for n segments from a block shared by the turn's speeches. A
// full block is not grown but replaced: the speeches holding it keep it, and done fills
// in their segments where they are.
func (r *run) segments(n int) Speech {
	if cap(r.segs)-len(r.segs) < n {
		r.segs = make(Speech, 0, max(n, 8))
	}
	k := len(r.segs)
	r.segs = r.segs[:k+n]
	return r.segs[k : k+n : k+n]
}
