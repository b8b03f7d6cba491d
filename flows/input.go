package flows

import (
	"strconv"
	"strings"
	"unicode"
)

// How the engine understands what the caller did at a node that waited: keys, words,
// silence, a member number, a PIN, a recording.

// accept drops what n does not listen for.
func accept(input string, in Input) (digits, speech string) {
	if strings.Contains(input, "dtmf") {
		digits = strings.TrimSpace(in.Digits)
	}
	if strings.Contains(input, "speech") {
		speech = strings.TrimSpace(in.Speech)
	}
	return digits, speech
}

// answered notes the option the caller took at a gather: a language choice, or a yes to
// a question about the activity.
func (r *run) answered(n *cnode, i int) {
	r.chooseLanguage(&n.options[i])
	if n.asksActivity && i == 0 {
		r.turn.ActivityYes = true
	}
}

func (r *run) resumeGather(n *cnode, in Input) error {
	digits, speech := accept(n.input, in)
	if digits == "" && speech == "" {
		return r.fail(n, "no input")
	}
	if digits != "" {
		for i, o := range n.options {
			if o.digits != "" && o.digits == digits {
				r.st.Attempts = 0
				r.heard(HeardDigits, digits)
				r.trace("gather %s: digits %s → option %d → %s", n.id, digits, i+1, o.next)
				r.answered(n, i)
				return r.walk(o.next)
			}
		}
		return r.fail(n, "no match")
	}
	toks := tokenize(speech)
	best, bestAt, bestLen, said := -1, len(toks), 0, ""
	for i, o := range n.options {
		lang := r.wordsLang(o)
		words := o.words[lang]
		// The option's words, then its digits said as a word.
		for k := 0; k <= len(words); k++ {
			ph := phrase{o.digits}
			if k < len(words) {
				ph = words[k]
			} else if o.digits == "" {
				break
			}
			at := find(toks, ph)
			if at < 0 {
				continue
			}
			// The earliest word wins ("yes, no problem" is yes); at the same word, the
			// longer phrase.
			if at < bestAt || (at == bestAt && len(ph) > bestLen) {
				best, bestAt, bestLen = i, at, len(ph)
				if k < len(o.hints[lang]) {
					said = o.hints[lang][k]
				} else {
					said = o.digits
				}
			}
		}
	}
	if best < 0 {
		return r.fail(n, "no match")
	}
	r.st.Attempts = 0
	next := n.options[best].next
	r.heard(HeardKeyword, said)
	r.trace("gather %s: said %q → option %d → %s", n.id, said, best+1, next)
	r.answered(n, best)
	return r.walk(next)
}

// enterChoose asks which member is calling, or decides without asking: the only member is
// chosen; with none, or more than there are keys, the way out is no_match.
func (r *run) enterChoose(n *cnode) (next string, wait bool) {
	ms := r.call.Caller.Members
	switch {
	case len(ms) == 1:
		r.choose(&ms[0])
		r.trace("choose_member %s: one member → %s", n.id, n.next)
		return n.next, false
	case len(ms) == 0 || len(ms) > maxChoices:
		next = first(n.noMatch, n.noInput)
		r.trace("choose_member %s: %d members, cannot list → %s", n.id, len(ms), next)
		return next, false
	}
	r.trace("choose_member %s: %d members, asking (%s)", n.id, len(ms), n.input)
	r.ask(n, "")
	return "", true
}

func (r *run) choose(m *Member) {
	r.st.Member = m.ID
	r.setMember(m)
}

func (r *run) resumeChoose(n *cnode, in Input) error {
	ms := r.call.Caller.Members
	if len(ms) == 0 || len(ms) > maxChoices {
		return r.fail(n, "no match")
	}
	digits, speech := accept(n.input, in)
	if digits == "" && speech == "" {
		return r.fail(n, "no input")
	}
	chosen, how, heard := -1, "", Heard{Kind: HeardDigits, Value: digits}
	if digits != "" {
		if k, err := strconv.Atoi(digits); err == nil && len(digits) == 1 && k >= 1 && k <= len(ms) {
			chosen, how = k-1, "digits "+digits
		}
	} else {
		// A first name (or the digit) said; two members named alike is no answer.
		toks := tokenize(speech)
		for i := range ms {
			name := tokenize(ms[i].FirstName)
			if (len(name) > 0 && find(toks, name) >= 0) || find(toks, phrase{strconv.Itoa(i + 1)}) >= 0 {
				if chosen >= 0 {
					chosen = -1
					break
				}
				chosen, how, heard = i, "said a first name", Heard{Kind: HeardName}
			}
		}
	}
	if chosen < 0 {
		return r.fail(n, "no match")
	}
	r.choose(&ms[chosen])
	r.st.Attempts = 0
	r.heard(heard.Kind, heard.Value)
	r.trace("choose_member %s: %s → member %d → %s", n.id, how, chosen+1, n.next)
	return r.walk(n.next)
}

func (r *run) resumeIdentify(n *cnode, in Input) error {
	digits := strings.TrimSpace(in.Digits)
	if digits == "" {
		next := first(n.noInput, n.notFound)
		r.st.Attempts = 0
		r.heard(HeardSilence, "")
		r.trace("identify %s: no input → %s", n.id, next)
		return r.walk(next)
	}
	for i, o := range n.options {
		if o.digits == digits {
			r.st.Attempts = 0
			r.heard(HeardDigits, digits)
			r.trace("identify %s: digits %s → option %d → %s", n.id, digits, i+1, o.next)
			r.chooseLanguage(&n.options[i])
			return r.walk(o.next)
		}
	}
	r.heard(HeardMemberNumber, "")
	if !isKeypadNumber(digits) {
		return r.fail(n, "not found")
	}
	idf := r.call.Identified
	if idf == nil || idf.Number != digits {
		r.turn.Identify = digits
		r.trace("identify %s: %d digits → lookup", n.id, len(digits))
		return nil
	}
	if idf.Member == nil {
		if next := r.p.nodes[n.next]; next != nil && next.typ == string(NodeVerify) {
			// The caller must not learn whether the number is a member's before a PIN is
			// checked: an unknown number goes on to the PIN like a known one, and no PIN
			// can verify it.
			r.st.Member = digits
			r.st.Attempts = 0
			if trustRank(r.st.Trust) > trustRank(TrustUnverified) {
				r.st.Trust = TrustUnverified
			}
			r.trace("identify %s: member number → %s", n.id, n.next)
			return r.walk(n.next)
		}
		return r.fail(n, "not found")
	}
	m := idf.Member
	r.st.Member = first(m.ID, digits)
	r.setMember(m)
	r.st.Attempts = 0
	// The calling number's attestation says nothing about a member chosen by keypad:
	// whoever knows a member number must still verify to hear more than the unverified.
	if trustRank(r.st.Trust) > trustRank(TrustUnverified) {
		r.trace("identify %s: trust %s → %s (member chosen by number)", n.id, r.st.Trust, TrustUnverified)
		r.st.Trust = TrustUnverified
	}
	r.trace("identify %s: member found → %s", n.id, n.next)
	return r.walk(n.next)
}

func isKeypadNumber(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// hears reports whether the call's trust level may hear what tpl says.
func (r *run) hears(tpl *template) bool {
	return tpl == nil || int(tpl.need) <= trustRank(r.st.Trust)
}

// isPIN: 4 to 8 keypad digits (SetPIN's rule).
func isPIN(s string) bool {
	return len(s) >= 4 && len(s) <= 8 && isKeypadNumber(s)
}

// verifyingID is whom a verify node checks a PIN for: the call's member, or a member number
// keyed in, known or not (see resumeIdentify).
func (r *run) verifyingID() string {
	if m := r.member; m != nil && m.ID != "" {
		return m.ID
	}
	return r.st.Member
}

// resumeVerify checks a PIN for the call's member through the edge (Turn.Verify): right
// raises the call's trust to verified_pin; wrong asks again while retries are left;
// locked (too many failures) goes to not_found at once.
func (r *run) resumeVerify(n *cnode, in Input) error {
	digits := strings.TrimSpace(in.Digits)
	if digits == "" {
		return r.fail(n, "no input")
	}
	memberID := r.verifyingID()
	if memberID == "" {
		r.st.Attempts = 0
		r.trace("verify %s: no member to verify → %s", n.id, n.notFound)
		return r.walk(n.notFound)
	}
	r.heard(HeardPIN, "")
	if !isPIN(digits) {
		return r.fail(n, "wrong PIN")
	}
	v := r.call.Verified
	if v == nil || v.MemberID != memberID {
		r.turn.Verify = &VerifyRequest{MemberID: memberID, PIN: digits}
		r.trace("verify %s: %d digits → check", n.id, len(digits))
		return nil
	}
	switch {
	case v.Locked:
		r.st.Attempts = 0
		r.trace("verify %s: locked → %s", n.id, n.notFound)
		return r.walk(n.notFound)
	case !v.OK:
		return r.fail(n, "wrong PIN")
	}
	r.st.Attempts = 0
	r.st.Trust = TrustVerifiedPIN
	r.trace("verify %s: PIN right, trust %s → %s", n.id, TrustVerifiedPIN, n.next)
	return r.walk(n.next)
}

// cannotRemember says why a remember node has nothing to offer, or "".
func (r *run) cannotRemember() string {
	switch {
	case r.st.Trust != TrustVerifiedPIN:
		return "not verified with a PIN"
	case r.member == nil || r.member.ID == "":
		return "no member"
	case r.call.Caller.Phone == "":
		return "no number"
	case hasCallerMember(r.call.Caller, r.member.ID):
		return "already the member's number"
	}
	return ""
}

// resumeRemember asks the edge to remember the number on 1, and goes on to next.
func (r *run) resumeRemember(n *cnode, in Input) error {
	r.st.Attempts = 0
	if strings.TrimSpace(in.Digits) == "1" && r.cannotRemember() == "" {
		r.turn.Remember = &RememberRequest{MemberID: r.member.ID, Phone: r.call.Caller.Phone}
		r.heard(HeardConsent, "yes")
		r.trace("remember %s: consented → %s", n.id, n.next)
	} else {
		r.heard(HeardConsent, "no")
		r.trace("remember %s: declined → %s", n.id, n.next)
	}
	return r.walk(n.next)
}

// resumeRecord goes on after a recording: next, or no_input when nothing was recorded.
func (r *run) resumeRecord(n *cnode, in Input) error {
	r.st.Attempts = 0
	if strings.TrimSpace(in.RecordingURL) == "" {
		next := first(n.noInput, n.next)
		r.heard(HeardSilence, "")
		r.trace("record %s: nothing recorded → %s", n.id, next)
		return r.walk(next)
	}
	r.heard(HeardRecording, "")
	r.trace("record %s: %d s recorded → %s", n.id, in.RecordingSeconds, n.next)
	return r.walk(n.next)
}

// tokenize splits speech into lower-case words: letters, digits and inner apostrophes.
func tokenize(s string) phrase {
	var toks phrase
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool { return !word(r) && r != '\'' && r != '’' }) {
		f = strings.Trim(f, "'’")
		if f != "" {
			toks = append(toks, strings.ToLower(strings.ReplaceAll(f, "’", "'")))
		}
	}
	return toks
}

// find returns where ph occurs in toks as consecutive whole words, or -1.
func find(toks, ph phrase) int {
	if len(ph) == 0 {
		return -1
	}
	for i := 0; i+len(ph) <= len(toks); i++ {
		match := true
		for j := range ph {
			if toks[i+j] != ph[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
