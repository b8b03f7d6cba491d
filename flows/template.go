package flows

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones for conditions, the same on every machine
	"unicode"
	"unicode/utf8"
)

// Prompt templates are text with tags: {{ field }}, {{ helper field }} and
// {{ first_name_or "text" }}. They are parsed once when a flow is loaded and rendered to
// Speech on every turn; rendering never fails, a missing value renders as nothing.

// field names a value a template or a branch condition can read. The keyed fields
// (member.attributes.<name>, vars.<name>) carry their key beside the field.
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
	fieldCallerPhoneLast4
	fieldCallerTrust
	fieldCallNow
	fieldCallWeekday      // conditions only
	fieldCallTime         // conditions only
	fieldCallDate         // conditions only
	fieldCallHoliday      // conditions only
	fieldMemberAttr       // member.attributes.<key>
	fieldVar              // vars.<key>
	fieldMemberID         // the member's id (member number), for a fetch node's path
	fieldQueuePosition    // the caller's place in the queue (wait and callback texts)
	fieldQueueWaitMinutes // the estimated wait, said with its unit
	fieldCount
)

type valueKind uint8

const (
	kindString valueKind = iota
	kindTime
	kindNumber
	kindPresence
	kindWeekday // mon..sun
	kindClock   // HH:MM
	kindDate    // YYYY-MM-DD
	kindBool    // true, false
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
	fieldCallerPhoneLast4:  {"caller.phone_last4", kindString},
	fieldCallerTrust:       {"caller.trust", kindString},
	fieldCallNow:           {"call.now", kindTime},
	fieldCallWeekday:       {"call.weekday", kindWeekday},
	fieldCallTime:          {"call.time", kindClock},
	fieldCallDate:          {"call.date", kindDate},
	fieldCallHoliday:       {"call.holiday", kindBool},
	fieldMemberAttr:        {"member.attributes.", kindString},
	fieldVar:               {"vars.", kindString},
	fieldMemberID:          {"member.id", kindString},
	fieldQueuePosition:     {"queue.position", kindNumber},
	fieldQueueWaitMinutes:  {"queue.wait_minutes", kindString},
}

// Keyed field prefixes and what a key may look like.
const (
	attrPrefix = "member.attributes."
	varsPrefix = "vars."
)

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

func (f field) String() string { return fieldTable[f].name }

// lookupField finds a field by name; keyed fields return their key. An unknown name, or a
// keyed field with a bad key, is fieldNone.
func lookupField(name string) (field, string) {
	for _, k := range []struct {
		prefix string
		f      field
	}{{attrPrefix, fieldMemberAttr}, {varsPrefix, fieldVar}} {
		if key, ok := strings.CutPrefix(name, k.prefix); ok {
			if !keyPattern.MatchString(key) {
				return fieldNone, ""
			}
			return k.f, key
		}
	}
	for f := fieldMemberFirstName; f < fieldCount; f++ {
		if f != fieldMemberAttr && f != fieldVar && fieldTable[f].name == name {
			return f, ""
		}
	}
	return fieldNone, ""
}

// callClock reports whether f is read from the call's clock in a time zone.
func callClock(f field) bool {
	return f == fieldCallWeekday || f == fieldCallTime || f == fieldCallDate || f == fieldCallHoliday
}

// scope is what a template or condition reads on one turn.
type scope struct {
	now      time.Time
	members  int
	member   *Member
	phone    string
	trust    string
	vars     map[string]string
	zone     *time.Location // the flow's time zone; nil is UTC
	holidays []dateValue
	lang     string            // the language being spoken: picks date and time words
	terms    map[string]string // the language's terms, see Language.Terms
	digit    string            // choice.digit while rendering a choose_member item
	queue    *QueueInfo        // a waiting caller's place in the queue
}

// value returns a string or number field as text, and whether it is present.
func (s *scope) value(f field, key string) (string, bool) {
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
	case fieldCallerPhoneLast4:
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s.phone)
		if len(digits) >= 4 {
			v = digits[len(digits)-4:]
		}
	case fieldCallerTrust:
		v = s.trust
		if v == "" {
			v = TrustUnverified
		}
	case fieldVar:
		v = s.vars[key]
	case fieldQueuePosition:
		if s.queue != nil && s.queue.Position > 0 {
			v = strconv.Itoa(s.queue.Position)
		}
	case fieldQueueWaitMinutes:
		if s.queue != nil {
			if m, ok := s.queue.WaitMinutes(); ok {
				v = waitWords(s.lang, m)
			}
		}
	case fieldMemberAttr:
		if s.member != nil {
			v = s.member.Attributes[key]
		}
	case fieldMemberFirstName, fieldMemberLastName, fieldMemberTier, fieldMemberID:
		if s.member == nil {
			return "", false
		}
		switch f {
		case fieldMemberID:
			v = s.member.ID
		case fieldMemberFirstName:
			v = s.member.FirstName
		case fieldMemberLastName:
			v = s.member.LastName
		default:
			v = s.member.Tier
		}
	case fieldActivityStartsAt, fieldActivityEndsAt, fieldCallNow:
		t := s.time(f)
		return "", !t.IsZero()
	case fieldCallWeekday, fieldCallTime, fieldCallDate, fieldCallHoliday:
		return "", true
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
	if f == fieldCallNow {
		if s.now.IsZero() {
			return s.now
		}
		return s.now.In(s.local(true))
	}
	a := s.activity()
	if a == nil {
		return time.Time{}
	}
	if f == fieldActivityEndsAt {
		return a.EndsAt
	}
	return a.StartsAt
}

// local is the zone the call's clock is read in: the member's when asked for and known,
// else the flow's.
func (s *scope) local(member bool) *time.Location {
	if member && s.member != nil {
		if loc, ok := loadZone(s.member.TimeZone); ok {
			return loc
		}
	}
	if s.zone == nil {
		return time.UTC
	}
	return s.zone
}

var zones sync.Map // IANA name → *time.Location, zones that loaded only

// loadZone loads an IANA time zone, once per zone; the zone database is embedded
// (time/tzdata), so the answer does not depend on the machine. Only zones that load are
// kept, so odd names from documents or the directory cannot grow the cache.
func loadZone(name string) (*time.Location, bool) {
	if name == "" || len(name) > 64 || name == "Local" || strings.Trim(name, zoneChars) != "" {
		return nil, false
	}
	if v, ok := zones.Load(name); ok {
		return v.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, false
	}
	zones.Store(name, loc)
	return loc, true
}

const zoneChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-"

// spoken is a field's value as said aloud: kinds and tiers go through the language's terms
// ("trip" → "viaje").
func (s *scope) spoken(f field, key string) string {
	v, _ := s.value(f, key)
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
	text  literal // opText: the text; opFirstNameOr: the fallback
	field field
	key   string // keyed fields: the attribute or variable name
}

// template is a parsed prompt template.
type template struct {
	parts []tplPart
	// need is the lowest trust rank that may hear it under the flow's disclosure policy
	// (0 without a policy); set when the flow is compiled.
	need int8
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
			t.parts = append(t.parts, tplPart{op: opText, text: prepareLiteral(rest)})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{op: opText, text: prepareLiteral(rest[:i])})
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
		f, key, err := templateField(name, choice)
		if err != nil {
			return tplPart{}, err
		}
		switch fieldTable[f].kind {
		case kindTime:
			return tplPart{}, fmt.Errorf("%s is a time: say it with {{ date %s }} or {{ time %s }}", name, name, name)
		}
		return tplPart{op: opField, field: f, key: key}, nil
	}
	if !isHelper {
		return tplPart{}, fmt.Errorf("unknown helper %q (helpers: date, time, spell, first_name_or)", name)
	}
	arg := toks[1]
	if op == opFirstNameOr {
		if !arg.quoted {
			return tplPart{}, fmt.Errorf("first_name_or takes text in quotes, as in {{ %s }}", helperExample(op))
		}
		return tplPart{op: op, text: prepareLiteral(arg.text)}, nil
	}
	if arg.quoted {
		return tplPart{}, fmt.Errorf("%s takes a field, not quoted text, as in {{ %s }}", name, helperExample(op))
	}
	f, key, err := templateField(arg.text, choice)
	if err != nil {
		return tplPart{}, err
	}
	kind := fieldTable[f].kind
	if (op == opDate || op == opTime) && kind != kindTime {
		return tplPart{}, fmt.Errorf("%s takes a time (activity.starts_at, activity.ends_at or call.now), not %s", name, arg.text)
	}
	if op == opSpell && kind == kindTime {
		return tplPart{}, fmt.Errorf("spell takes text, not the time %s", arg.text)
	}
	return tplPart{op: op, field: f, key: key}, nil
}

func templateField(name string, choice bool) (field, string, error) {
	f, key := lookupField(name)
	switch {
	case f == fieldNone && (strings.HasPrefix(name, attrPrefix) || strings.HasPrefix(name, varsPrefix)):
		return fieldNone, "", fmt.Errorf("bad name in %q: lower-case letters, digits and _, starting with a letter (at most 32)", name)
	case f == fieldNone || fieldTable[f].kind == kindPresence:
		return fieldNone, "", fmt.Errorf("unknown field %q", name)
	case callClock(f):
		return fieldNone, "", fmt.Errorf("%s can only be tested in a branch condition", name)
	case f == fieldChoiceDigit && !choice:
		return fieldNone, "", fmt.Errorf("%s is only known in a choose_member item", name)
	}
	return f, key, nil
}

// vars lists the variables the template reads.
// readsActivity reports whether the template says anything of the call's activity.
func (t *template) readsActivity() bool {
	for _, p := range t.parts {
		if p.op != opText && p.field >= fieldActivityKind && p.field <= fieldActivityEndsAt {
			return true
		}
	}
	return false
}

// readsQueue reports whether the template reads the queue's figures; readsWait whether
// it says the estimated wait.
func (t *template) readsQueue() bool {
	for _, p := range t.parts {
		if p.op != opText && p.op != opFirstNameOr && (p.field == fieldQueuePosition || p.field == fieldQueueWaitMinutes) {
			return true
		}
	}
	return false
}

func (t *template) readsWait() bool {
	for _, p := range t.parts {
		if p.op != opText && p.op != opFirstNameOr && p.field == fieldQueueWaitMinutes {
			return true
		}
	}
	return false
}

func (t *template) vars() []string {
	var out []string
	for _, p := range t.parts {
		if p.field == fieldVar && p.op != opText && p.op != opFirstNameOr {
			out = append(out, p.key)
		}
	}
	return out
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
	b.grow()
	for i := range t.parts {
		switch p := &t.parts[i]; p.op {
		case opText:
			b.literal(&p.text)
		case opField:
			b.text(s.spoken(p.field, p.key))
		case opDate:
			b.text(spokenDate(s.time(p.field), s.now, s.lang))
		case opTime:
			b.text(spokenTime(s.time(p.field), s.lang))
		case opSpell:
			v, _ := s.value(p.field, p.key)
			b.sayAs(v, "characters")
		case opFirstNameOr:
			if v, ok := s.value(fieldMemberFirstName, ""); ok {
				b.text(v)
			} else {
				b.literal(&p.text)
			}
		}
	}
}

// speechBuilder assembles Speech from pieces: it collapses runs of white space, drops
// spaces before closing punctuation and at both ends, and merges adjacent plain text, so
// a missing value never leaves "Atlanta ." or a double space behind. Plain text stays in
// buf until the speech is taken: speech() makes strings of it, the engine copies it into
// the turn's text (run.takeSpeech).
type speechBuilder struct {
	segs    []builtSegment
	buf     []byte
	from    int  // where the plain text not yet in a segment starts in buf
	space   bool // a space is pending before the next visible character
	started bool // something visible was written
}

// builtSegment is a segment being built: plain text is buf[from:to]; a say-as piece
// (from < 0) has its Text already.
type builtSegment struct {
	seg      Segment
	from, to int
}

// closing reports whether r is punctuation that takes no space before it.
func closing(r rune) bool {
	switch r {
	case '.', ',', '!', '?', ';', ':':
		return true
	}
	return false
}

func (b *speechBuilder) text(s string) {
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			b.space = b.started
		case closing(r):
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

// literal is a template's constant text, prepared once when the template is parsed: core
// is the text as text() writes it (white space collapsed, spaces before punctuation
// dropped) without the white space at its ends, which lead and trail note. Writing it
// is a copy; the per-rune work of text() is left for values.
type literal struct {
	core        string
	lead, trail bool
}

func prepareLiteral(s string) literal {
	var b speechBuilder
	b.text(strings.TrimFunc(s, unicode.IsSpace))
	core := string(b.buf)
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return literal{core: core, lead: s != "" && unicode.IsSpace(first), trail: s != "" && unicode.IsSpace(last)}
}

// literal writes l exactly as text() would write the text it was prepared from.
func (b *speechBuilder) literal(l *literal) {
	if l.lead {
		b.space = b.started
	}
	if l.core != "" {
		if first, _ := utf8.DecodeRuneInString(l.core); b.space && !closing(first) {
			b.buf = append(b.buf, ' ')
		}
		b.space = false
		b.buf = append(b.buf, l.core...)
		b.started = true
	}
	if l.trail {
		b.space = b.started
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
	b.segs = append(b.segs, builtSegment{seg: Segment{Text: s, SayAs: as}, from: -1})
	b.started = true
}

// separate starts a new sentence or item: a space before whatever comes next.
func (b *speechBuilder) separate() { b.space = b.started }

func (b *speechBuilder) flush() {
	if len(b.buf) > b.from {
		b.segs = append(b.segs, builtSegment{from: b.from, to: len(b.buf)})
		b.from = len(b.buf)
	}
}

// speechSize fits a long prompt, so the builder's buffer grows once per turn.
const speechSize = 256

// grow makes room before the first write.
func (b *speechBuilder) grow() {
	if b.buf == nil {
		b.buf = make([]byte, 0, speechSize)
		b.segs = make([]builtSegment, 0, 4)
	}
}

// reset empties the builder for the next speech, keeping its memory.
func (b *speechBuilder) reset() {
	*b = speechBuilder{segs: b.segs[:0], buf: b.buf[:0]}
}

// speech returns what was built and resets the builder.
func (b *speechBuilder) speech() Speech {
	b.flush()
	var s Speech
	if len(b.segs) > 0 {
		s = make(Speech, len(b.segs))
	}
	for i, bs := range b.segs {
		s[i] = bs.seg
		if bs.from >= 0 {
			s[i].Text = string(b.buf[bs.from:bs.to])
		}
	}
	b.reset()
	return s
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
