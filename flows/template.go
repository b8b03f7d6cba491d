package flows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Prompt templates are text with tags: {{ field }}, {{ helper field }} and
// {{ first_name_or "text" }}. They are parsed once when a flow is loaded and rendered to
// Speech on every turn; rendering never fails, a missing value renders as nothing.

// field names a value a template or a branch condition can read.
type field uint8

const (
	fieldNone field = iota
	fieldMemberFirstName
	fieldMemberLastName
	fieldMemberTier
	fieldActivityKind
	fieldActivityPlace
	fieldActivitySummary
	fieldActivityReference
	fieldActivityRelation
	fieldActivityStatus
	fieldActivityStartsAt
	fieldActivityEndsAt
	fieldCallerMembers
	fieldChoiceDigit // choose_member items only
	fieldMember      // presence, conditions only
	fieldActivity    // presence, conditions only
	fieldCount
)

type valueKind uint8

const (
	kindString valueKind = iota
	kindTime
	kindNumber
	kindPresence
)

type fieldInfo struct {
	name string
	kind valueKind
}

var fieldTable = [fieldCount]fieldInfo{
	fieldMemberFirstName:   {"member.first_name", kindString},
	fieldMemberLastName:    {"member.last_name", kindString},
	fieldMemberTier:        {"member.tier", kindString},
	fieldActivityKind:      {"activity.kind", kindString},
	fieldActivityPlace:     {"activity.place", kindString},
	fieldActivitySummary:   {"activity.summary", kindString},
	fieldActivityReference: {"activity.reference", kindString},
	fieldActivityRelation:  {"activity.relation", kindString},
	fieldActivityStatus:    {"activity.status", kindString},
	fieldActivityStartsAt:  {"activity.starts_at", kindTime},
	fieldActivityEndsAt:    {"activity.ends_at", kindTime},
	fieldCallerMembers:     {"caller.members", kindNumber},
	fieldChoiceDigit:       {"choice.digit", kindString},
	fieldMember:            {"member", kindPresence},
	fieldActivity:          {"activity", kindPresence},
}

func (f field) String() string { return fieldTable[f].name }

func lookupField(name string) field {
	for f := fieldMemberFirstName; f < fieldCount; f++ {
		if fieldTable[f].name == name {
			return f
		}
	}
	return fieldNone
}

// scope is what a template or condition reads on one turn.
type scope struct {
	now     time.Time
	members int
	member  *Member
	lang    string            // the language being spoken: picks date and time words
	terms   map[string]string // the language's terms, see Language.Terms
	digit   string            // choice.digit while rendering a choose_member item
}

// value returns a string or number field as text, and whether it is present.
func (s *scope) value(f field) (string, bool) {
	var v string
	switch f {
	case fieldCallerMembers:
		return strconv.Itoa(s.members), true
	case fieldChoiceDigit:
		v = s.digit
	case fieldMember:
		return "", s.member != nil
	case fieldActivity:
		return "", s.activity() != nil
	case fieldMemberFirstName, fieldMemberLastName, fieldMemberTier:
		if s.member == nil {
			return "", false
		}
		switch f {
		case fieldMemberFirstName:
			v = s.member.FirstName
		case fieldMemberLastName:
			v = s.member.LastName
		default:
			v = s.member.Tier
		}
	case fieldActivityStartsAt, fieldActivityEndsAt:
		t := s.time(f)
		return "", !t.IsZero()
	default:
		a := s.activity()
		if a == nil {
			return "", false
		}
		switch f {
		case fieldActivityKind:
			v = a.Kind
		case fieldActivityPlace:
			v = a.Place
		case fieldActivitySummary:
			v = a.Summary
		case fieldActivityReference:
			v = a.Reference
		case fieldActivityRelation:
			v = a.Relation
		case fieldActivityStatus:
			v = a.Status
		}
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (s *scope) activity() *Activity {
	if s.member == nil {
		return nil
	}
	return s.member.Activity
}

func (s *scope) time(f field) time.Time {
	a := s.activity()
	if a == nil {
		return time.Time{}
	}
	if f == fieldActivityEndsAt {
		return a.EndsAt
	}
	return a.StartsAt
}

// spoken is a field's value as said aloud: kinds and tiers go through the language's terms
// ("trip" → "viaje").
func (s *scope) spoken(f field) string {
	v, _ := s.value(f)
	if v != "" && (f == fieldActivityKind || f == fieldMemberTier) {
		if t, ok := s.terms[v]; ok {
			return t
		}
		for k, t := range s.terms {
			if strings.EqualFold(k, v) {
				return t
			}
		}
	}
	return v
}

type tplOp uint8

const (
	opText tplOp = iota
	opField
	opDate
	opTime
	opSpell
	opFirstNameOr
)

var helpers = map[string]tplOp{
	"date":          opDate,
	"time":          opTime,
	"spell":         opSpell,
	"first_name_or": opFirstNameOr,
}

type tplPart struct {
	op    tplOp
	text  string // opText: the text; opFirstNameOr: the fallback
	field field
}

// template is a parsed prompt template.
type template struct {
	parts []tplPart
	words bool // uses date or time words, which exist for some languages only
}

// templateError locates a template problem by its column (in characters, from 1).
type templateError struct {
	col int
	msg string
}

func (e *templateError) Error() string { return fmt.Sprintf("%s (column %d)", e.msg, e.col) }

// parseTemplate parses src. choice allows {{ choice.digit }}, for choose_member items.
func parseTemplate(src string, choice bool) (*template, error) {
	t := &template{}
	rest := src
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tplPart{op: opText, text: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{op: opText, text: rest[:i]})
		}
		at := len(src) - len(rest) + i // byte offset of "{{"
		col := utf8.RuneCountInString(src[:at]) + 1
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, &templateError{col, `"{{" is never closed by "}}"`}
		}
		part, err := parseTag(rest[i+2:i+2+j], choice)
		if err != nil {
			return nil, &templateError{col, err.Error()}
		}
		if part.op == opDate || part.op == opTime {
			t.words = true
		}
		t.parts = append(t.parts, part)
		rest = rest[i+2+j+2:]
	}
	return t, nil
}

type tagToken struct {
	text   string
	quoted bool
}

func parseTag(s string, choice bool) (tplPart, error) {
	var toks []tagToken
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			break
		}
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return tplPart{}, errors.New("text in quotes is never closed")
			}
			toks = append(toks, tagToken{s[1 : 1+end], true})
			s = s[2+end:]
			continue
		}
		end := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '"' })
		if end < 0 {
			end = len(s)
		}
		toks = append(toks, tagToken{s[:end], false})
		s = s[end:]
	}
	switch {
	case len(toks) == 0:
		return tplPart{}, errors.New("empty {{ }}")
	case toks[0].quoted:
		return tplPart{}, fmt.Errorf("quoted text %q must follow a helper, as in {{ first_name_or %q }}", toks[0].text, toks[0].text)
	case len(toks) > 2:
		return tplPart{}, fmt.Errorf("too many words in {{ %s ... }}", toks[0].text)
	}
	name := toks[0].text
	op, isHelper := helpers[name]
	if len(toks) == 1 {
		if isHelper {
			return tplPart{}, fmt.Errorf("%s needs an argument, as in {{ %s }}", name, helperExample(op))
		}
		f, err := templateField(name, choice)
		if err != nil {
			return tplPart{}, err
		}
		switch fieldTable[f].kind {
		case kindTime:
			return tplPart{}, fmt.Errorf("%s is a time: say it with {{ date %s }} or {{ time %s }}", name, name, name)
		}
		return tplPart{op: opField, field: f}, nil
	}
	if !isHelper {
		return tplPart{}, fmt.Errorf("unknown helper %q (helpers: date, time, spell, first_name_or)", name)
	}
	arg := toks[1]
	if op == opFirstNameOr {
		if !arg.quoted {
			return tplPart{}, fmt.Errorf("first_name_or takes text in quotes, as in {{ %s }}", helperExample(op))
		}
		return tplPart{op: op, text: arg.text}, nil
	}
	if arg.quoted {
		return tplPart{}, fmt.Errorf("%s takes a field, not quoted text, as in {{ %s }}", name, helperExample(op))
	}
	f, err := templateField(arg.text, choice)
	if err != nil {
		return tplPart{}, err
	}
	kind := fieldTable[f].kind
	if (op == opDate || op == opTime) && kind != kindTime {
		return tplPart{}, fmt.Errorf("%s takes a time (activity.starts_at or activity.ends_at), not %s", name, arg.text)
	}
	if op == opSpell && kind == kindTime {
		return tplPart{}, fmt.Errorf("spell takes text, not the time %s", arg.text)
	}
	return tplPart{op: op, field: f}, nil
}

func templateField(name string, choice bool) (field, error) {
	f := lookupField(name)
	switch {
	case f == fieldNone || fieldTable[f].kind == kindPresence:
		return fieldNone, fmt.Errorf("unknown field %q", name)
	case f == fieldChoiceDigit && !choice:
		return fieldNone, fmt.Errorf("%s is only known in a choose_member item", name)
	}
	return f, nil
}

func helperExample(op tplOp) string {
	switch op {
	case opDate:
		return "date activity.starts_at"
	case opTime:
		return "time activity.starts_at"
	case opSpell:
		return "spell activity.reference"
	default:
		return `first_name_or "there"`
	}
}

// render appends the template's speech for s to b.
func (t *template) render(b *speechBuilder, s *scope) {
	for _, p := range t.parts {
		switch p.op {
		case opText:
			b.text(p.text)
		case opField:
			b.text(s.spoken(p.field))
		case opDate:
			b.text(spokenDate(s.time(p.field), s.now, s.lang))
		case opTime:
			b.text(spokenTime(s.time(p.field), s.lang))
		case opSpell:
			v, _ := s.value(p.field)
			b.sayAs(v, "characters")
		case opFirstNameOr:
			if v, ok := s.value(fieldMemberFirstName); ok {
				b.text(v)
			} else {
				b.text(p.text)
			}
		}
	}
}

// speechBuilder assembles Speech from pieces: it collapses runs of white space, drops
// spaces before closing punctuation and at both ends, and merges adjacent plain text, so
// a missing value never leaves "Atlanta ." or a double space behind.
type speechBuilder struct {
	segs    Speech
	buf     []byte
	space   bool // a space is pending before the next visible character
	started bool // something visible was written
}

func (b *speechBuilder) text(s string) {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			b.space = b.started
		case strings.ContainsRune(".,!?;:", r):
			b.space = false
			b.buf = utf8.AppendRune(b.buf, r)
			b.started = true
		default:
			if b.space {
				b.buf = append(b.buf, ' ')
				b.space = false
			}
			b.buf = utf8.AppendRune(b.buf, r)
			b.started = true
		}
	}
}

func (b *speechBuilder) sayAs(s, as string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	if b.space {
		b.buf = append(b.buf, ' ')
		b.space = false
	}
	b.flush()
	b.segs = append(b.segs, Segment{Text: s, SayAs: as})
	b.started = true
}

// separate starts a new sentence or item: a space before whatever comes next.
func (b *speechBuilder) separate() { b.space = b.started }

func (b *speechBuilder) flush() {
	if len(b.buf) > 0 {
		b.segs = append(b.segs, Segment{Text: string(b.buf)})
		b.buf = b.buf[:0]
	}
}

// speech returns what was built and resets the builder.
func (b *speechBuilder) speech() Speech {
	b.flush()
	s := b.segs
	*b = speechBuilder{buf: b.buf}
	return s
}

// Dates and times are spoken in the time's own UTC offset (the activity's zone), with the
// call's moment converted to that zone to compare calendar days.

func isSpanish(lang string) bool { return primaryLanguage(lang) == "es" }

// hasWords reports whether dates and times can be spoken in lang.
func hasWords(lang string) bool {
	p := primaryLanguage(lang)
	return p == "en" || p == "es"
}

func primaryLanguage(lang string) string {
	if i := strings.IndexByte(lang, '-'); i >= 0 {
		lang = lang[:i]
	}
	return strings.ToLower(lang)
}

var (
	enWeekdays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	esWeekdays = [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"}
	enMonths   = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	esMonths   = [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"}
)

// spokenDate says t relative to now: "today", "tomorrow", "yesterday", "on Friday" within
// six days either way, else "on Friday, November 27th" (with the year when more than about
// six months away). Spanish: "hoy", "mañana", "ayer", "el viernes", "el viernes 27 de
// noviembre".
func spokenDate(t, now time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	days := civilDay(t) - civilDay(now.In(t.Location()))
	es := isSpanish(lang)
	wd := t.Weekday()
	switch {
	case days == 0:
		return pick(es, "hoy", "today")
	case days == 1:
		return pick(es, "mañana", "tomorrow")
	case days == -1:
		return pick(es, "ayer", "yesterday")
	case days >= -6 && days <= 6:
		return pick(es, "el "+esWeekdays[wd], "on "+enWeekdays[wd])
	}
	year := days > 180 || days < -180
	_, m, d := t.Date()
	if es {
		day := strconv.Itoa(d)
		if d == 1 {
			day = "primero"
		}
		s := "el " + esWeekdays[wd] + " " + day + " de " + esMonths[m-1]
		if year {
			s += " de " + strconv.Itoa(t.Year())
		}
		return s
	}
	s := "on " + enWeekdays[wd] + ", " + enMonths[m-1] + " " + ordinal(d)
	if year {
		s += ", " + strconv.Itoa(t.Year())
	}
	return s
}

func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func ordinal(d int) string {
	suffix := "th"
	if d%100 < 11 || d%100 > 13 {
		switch d % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(d) + suffix
}

// spokenTime says t's clock time in its own offset: "2:05 PM"; Spanish with its article,
// "las 2:05 p. m." (so a template says "a {{ time activity.starts_at }}").
func spokenTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	h, m := t.Hour(), t.Minute()
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	clock := strconv.Itoa(h12) + ":" + strconv.Itoa(m/10) + strconv.Itoa(m%10)
	if isSpanish(lang) {
		article := "las "
		if h12 == 1 {
			article = "la "
		}
		return article + clock + pick(h < 12, " a. m.", " p. m.")
	}
	return clock + pick(h < 12, " AM", " PM")
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
