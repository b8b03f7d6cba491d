package flows

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Spoken dates and times come from data, not code per language: CLDR's names, relative
// days and patterns (cldrDates, generated into dates_cldr.go by `make cldr`) and, for what
// CLDR does not hold, a few speech rules per language (dateSpeech). Adding a language is
// adding its CLDR locale to the generator and its rules here.
//
// Dates and times are spoken in the time's own UTC offset (the activity's zone), with the
// call's moment converted to that zone to compare calendar days.

// dateLocale is how one CLDR locale writes dates and times.
type dateLocale struct {
	Weekdays                   [7]string  // wide format names, Sunday first
	Months                     [12]string // wide format names, January first
	Yesterday, Today, Tomorrow string     // the relative days -1, 0, 1
	// Date and DateWithYear are the full date pattern without and with its year; Time the
	// short time pattern (CLDR pattern letters: EEEE, MMMM, d, y, h, H, mm, a, 'text').
	Date, DateWithYear, Time string
	AM, PM                   string
}

// dateSpeech is what CLDR does not say about speaking a date in a sentence: the words
// before a weekday or a date ("on Friday", "el viernes", "na sexta-feira", "le vendredi
// 27 novembre" but "vendredi" alone), how day numbers are said when not as plain digits,
// and an article before a time.
type dateSpeech struct {
	// On is said before a weekday and a full date; OnWeekday (a weekday alone) and OnDate
	// (a full date), when set, instead, per weekday (Sunday first) for languages whose
	// article follows the weekday's gender.
	On                string
	OnWeekday, OnDate *[7]string
	// DayNumbers are how days 1, 2, … are said, as far as the list goes; digits after it.
	DayNumbers []string
	// TimeArticle is said before a time; TimeArticleOne before one o'clock.
	TimeArticle, TimeArticleOne string
}

var englishOrdinals = []string{"1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th",
	"11th", "12th", "13th", "14th", "15th", "16th", "17th", "18th", "19th", "20th",
	"21st", "22nd", "23rd", "24th", "25th", "26th", "27th", "28th", "29th", "30th", "31st"}

// portugueseOn is "no" before the masculine sábado and domingo, "na" before the feminine
// -feira days.
var portugueseOn = &[7]string{"no ", "na ", "na ", "na ", "na ", "na ", "no "}

// speechRules are keyed by primary language.
var speechRules = map[string]dateSpeech{
	"en": {On: "on ", DayNumbers: englishOrdinals},
	"es": {On: "el ", DayNumbers: []string{"primero"}, TimeArticle: "las ", TimeArticleOne: "la "},
	"fr": {On: "le ", OnWeekday: &[7]string{}, DayNumbers: []string{"1er"}},
	"pt": {OnWeekday: portugueseOn, OnDate: portugueseOn, DayNumbers: []string{"1º"}},
}

// speaker is a language's data for speaking dates: its CLDR locale (the tag, else its
// primary language) and its speech rules.
type speaker struct {
	loc   *dateLocale
	rules dateSpeech
}

// dateSpeaker finds the data for lang; ok is false when there is none.
func dateSpeaker(lang string) (speaker, bool) {
	prim := primaryLanguage(lang)
	rules, ok := speechRules[prim]
	if !ok {
		return speaker{}, false
	}
	for _, tag := range []string{strings.ToLower(lang), prim} {
		if l, ok := dateLocales[tag]; ok {
			return speaker{l, rules}, true
		}
	}
	return speaker{}, false
}

// dateLocales are cldrDates by lower-case tag, so that a template's date is one lookup.
var dateLocales = func() map[string]*dateLocale {
	m := make(map[string]*dateLocale, len(cldrDates))
	for tag := range cldrDates {
		l := cldrDates[tag]
		m[strings.ToLower(tag)] = &l
	}
	return m
}()

// hasWords reports whether dates and times can be spoken in lang.
func hasWords(lang string) bool {
	_, ok := dateSpeaker(lang)
	return ok
}

// dateLanguages lists the primary languages the date speaker has data for, for messages.
func dateLanguages() string {
	return strings.Join(slices.Sorted(maps.Keys(speechRules)), ", ")
}

func primaryLanguage(lang string) string {
	if i := strings.IndexByte(lang, '-'); i >= 0 {
		lang = lang[:i]
	}
	return strings.ToLower(lang)
}

// before is what is said before weekday wd alone, or before a full date on it.
func (s speaker) before(wd time.Weekday, date bool) string {
	if o := s.rules.OnWeekday; !date && o != nil {
		return o[wd]
	}
	if o := s.rules.OnDate; date && o != nil {
		return o[wd]
	}
	return s.rules.On
}

// spokenDate says t relative to now: today, tomorrow, yesterday, the weekday within six
// days either way, else the full date (with the year when more than about six months
// away), each in the language's words: "on Friday, November 27th", "vendredi", "le
// vendredi 4 décembre", "na sexta-feira, 4 de dezembro".
func spokenDate(t, now time.Time, lang string) string {
	sp, ok := dateSpeaker(lang)
	if t.IsZero() || !ok {
		return ""
	}
	days := civilDay(t) - civilDay(now.In(t.Location()))
	wd := t.Weekday()
	switch {
	case days == 0:
		return sp.loc.Today
	case days == 1:
		return sp.loc.Tomorrow
	case days == -1:
		return sp.loc.Yesterday
	case days >= -6 && days <= 6:
		return sp.before(wd, false) + sp.loc.Weekdays[wd]
	}
	pattern := sp.loc.Date
	if days > 180 || days < -180 {
		pattern = sp.loc.DateWithYear
	}
	return sp.before(wd, true) + sp.format(pattern, t)
}

// spokenTime says t's clock time in its own offset, with the language's article:
// "2:05 PM", "14 h 05", "las 2:05 p.m." (so a Spanish template says "a {{ time … }}").
func spokenTime(t time.Time, lang string) string {
	sp, ok := dateSpeaker(lang)
	if t.IsZero() || !ok {
		return ""
	}
	article := sp.rules.TimeArticle
	hour := t.Hour() // as the pattern says it: 12-hour (h) or 24-hour (H)
	if strings.Contains(sp.loc.Time, "h") {
		hour = (hour+11)%12 + 1
	}
	if hour == 1 && sp.rules.TimeArticleOne != "" {
		article = sp.rules.TimeArticleOne
	}
	return article + sp.format(sp.loc.Time, t)
}

// format writes t by a CLDR pattern: runs of a pattern letter are fields, 'quoted' text
// is literal (” is a quote), anything else is itself.
func (s speaker) format(pattern string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(pattern) && pattern[j] != '\'' {
				j++
			}
			if j == i+1 {
				b.WriteByte('\'')
			}
			b.WriteString(pattern[i+1 : min(j, len(pattern))])
			i = j + 1
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			b.WriteString(s.field(c, j-i, t))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func (s speaker) field(c byte, n int, t time.Time) string {
	two := func(v int) string { return strconv.Itoa(v/10) + strconv.Itoa(v%10) }
	switch c {
	case 'E':
		return s.loc.Weekdays[t.Weekday()]
	case 'M', 'L':
		return s.loc.Months[t.Month()-1]
	case 'd':
		d := t.Day()
		if d <= len(s.rules.DayNumbers) {
			return s.rules.DayNumbers[d-1]
		}
		if n == 2 {
			return two(d)
		}
		return strconv.Itoa(d)
	case 'y':
		return strconv.Itoa(t.Year())
	case 'h':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		if n == 2 {
			return two(h)
		}
		return strconv.Itoa(h)
	case 'H':
		if n == 2 {
			return two(t.Hour())
		}
		return strconv.Itoa(t.Hour())
	case 'm':
		return two(t.Minute())
	case 'a':
		if t.Hour() < 12 {
			return s.loc.AM
		}
		return s.loc.PM
	}
	return ""
}

func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
