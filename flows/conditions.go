package flows

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Branch conditions: how validation reads them (fields, operators, values, time zones)
// and how the engine evaluates them.

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
		case ordered && (f == fieldVar || f == fieldMemberAttr):
			// A value from the directory or an answer: compared as a number, and false
			// when it is not one.
			n, err := strconv.ParseFloat(cc.value, 64)
			if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
				c.add(join(path, "value"), "%s compares numbers: must be a number", w.Op)
			}
			cc.fnum, cc.numeric = n, true
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
		if s == w || s == strings.ToLower(time.Weekday(i).String()) {
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

// Conditions as the engine evaluates them, at the call's moment.

func (c *ccond) holds(s *scope) bool {
	if callClock(c.field) && c.op != "exists" && c.op != "missing" {
		return c.clockHolds(s)
	}
	v, present := s.value(c.field, c.key)
	if c.numeric {
		n, err := strconv.ParseFloat(v, 64)
		if !present || err != nil || math.IsNaN(n) {
			return false
		}
		switch c.op {
		case "lt":
			return n < c.fnum
		case "lte":
			return n <= c.fnum
		case "gt":
			return n > c.fnum
		default:
			return n >= c.fnum
		}
	}
	switch c.op {
	case "exists":
		return present
	case "missing":
		return !present
	case "eq", "ne":
		eq := present && strings.EqualFold(v, c.value)
		if c.field == fieldCallerMembers {
			eq = s.members == c.num
		}
		return eq == (c.op == "eq")
	case "in", "not_in":
		in := false
		if c.field == fieldCallerMembers {
			in = slices.Contains(c.nums, s.members)
		}
		for _, w := range c.values {
			if in || (present && strings.EqualFold(v, w)) {
				in = true
				break
			}
		}
		return in == (c.op == "in")
	}
	return compare(c.op, s.members, c.num)
}

// compare applies an ordering op; false for anything else.
func compare(op string, a, b int) bool {
	switch op {
	case "eq":
		return a == b
	case "ne":
		return a != b
	case "lt":
		return a < b
	case "lte":
		return a <= b
	case "gt":
		return a > b
	case "gte":
		return a >= b
	}
	return false
}

// clock is the call's moment in the condition's zone.
func (c *ccond) clock(s *scope) time.Time {
	loc := c.zone
	if loc == nil {
		loc = s.local(c.member)
	}
	return s.now.In(loc)
}

func (c *ccond) clockHolds(s *scope) bool {
	t := c.clock(s)
	neg := c.op == "ne" || c.op == "not_in"
	switch c.field {
	case fieldCallWeekday:
		d := int(t.Weekday())
		if c.op == "in" || c.op == "not_in" {
			return slices.Contains(c.nums, d) != neg
		}
		return compare(c.op, d, c.num)
	case fieldCallTime:
		m := t.Hour()*60 + t.Minute()
		if c.op == "between" {
			if len(c.nums) != 2 {
				return false
			}
			from, to := c.nums[0], c.nums[1]
			if from <= to {
				return from <= m && m < to
			}
			return m >= from || m < to // wraps midnight: 22:00–06:00
		}
		return compare(c.op, m, c.num)
	case fieldCallDate:
		y, mo, d := t.Date()
		today := dateValue{year: y, month: int(mo), day: d}
		switch c.op {
		case "eq", "ne", "in", "not_in":
			return slices.ContainsFunc(c.dates, today.matches) != neg
		}
		if len(c.dates) == 0 {
			return false
		}
		return compare(c.op, today.ordinal(), c.dates[0].ordinal())
	case fieldCallHoliday:
		y, mo, d := t.Date()
		today := dateValue{year: y, month: int(mo), day: d}
		holiday := slices.ContainsFunc(s.holidays, today.matches)
		return (holiday == (c.value == "true")) != neg
	}
	return false
}

// matches reports whether d is the date p names (p's year 0: any year).
func (d dateValue) matches(p dateValue) bool {
	return d.month == p.month && d.day == p.day && (p.year == 0 || p.year == d.year)
}

func (d dateValue) ordinal() int { return d.year*10000 + d.month*100 + d.day }
