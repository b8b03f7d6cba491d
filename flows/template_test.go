package flows

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSpokenDate(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	la := time.FixedZone("PST", -8*3600)
	tests := []struct {
		name   string
		t      time.Time
		en, es string
	}{
		{"today", at(11, 26, 18, 0), "today", "hoy"},
		{"earlier today", at(11, 26, 0, 5), "today", "hoy"},
		{"tomorrow", at(11, 27, 8, 15), "tomorrow", "mañana"},
		{"yesterday", at(11, 25, 23, 59), "yesterday", "ayer"},
		{"in two days", at(11, 28, 9, 0), "on Saturday", "el sábado"},
		{"in six days", at(12, 2, 9, 0), "on Wednesday", "el miércoles"},
		{"in a week", at(12, 3, 9, 0), "on Thursday, December 3rd", "el jueves, 3 de diciembre"},
		{"next week", at(12, 4, 9, 0), "on Friday, December 4th", "el viernes, 4 de diciembre"},
		{"in five days", at(12, 1, 9, 0), "on Tuesday", "el martes"},
		{"two days ago", at(11, 24, 18, 0), "on Tuesday", "el martes"},
		{"six days ago", at(11, 20, 18, 0), "on Friday", "el viernes"},
		{"a week ago", at(11, 19, 18, 0), "on Thursday, November 19th", "el jueves, 19 de noviembre"},
		{"ordinals", at(12, 22, 9, 0), "on Tuesday, December 22nd", "el martes, 22 de diciembre"},
		{"teens", at(12, 11, 9, 0), "on Friday, December 11th", "el viernes, 11 de diciembre"},
		{"first of the month", time.Date(2027, 1, 1, 9, 0, 0, 0, est), "on Friday, January 1st", "el viernes, primero de enero"},
		{"more than six months away", time.Date(2027, 7, 1, 9, 0, 0, 0, est), "on Thursday, July 1st, 2027", "el jueves, primero de julio de 2027"},
		// In the activity's own zone: 09:00 on the 27th in Tokyo is already "today" there
		// (the call is at 00:00 on the 27th in Tokyo).
		{"own zone ahead", time.Date(2026, 11, 27, 9, 0, 0, 0, tokyo), "today", "hoy"},
		// 23:30 on the 26th in Los Angeles is 02:30 on the 27th in New York, but today there.
		{"own zone behind", time.Date(2026, 11, 26, 23, 30, 0, 0, la), "today", "hoy"},
		{"no time", time.Time{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spokenDate(tt.t, now, "en-US"); got != tt.en {
				t.Errorf("en: %q, want %q", got, tt.en)
			}
			if got := spokenDate(tt.t, now, "es-US"); got != tt.es {
				t.Errorf("es: %q, want %q", got, tt.es)
			}
		})
	}
}

func TestSpokenTime(t *testing.T) {
	tests := []struct {
		name   string
		t      time.Time
		en, es string
	}{
		{"afternoon", at(11, 26, 14, 5), "2:05 PM", "las 2:05 p.m."},
		{"one o'clock", at(11, 26, 13, 0), "1:00 PM", "la 1:00 p.m."},
		{"midnight", at(11, 26, 0, 30), "12:30 AM", "las 12:30 a.m."},
		{"noon", at(11, 26, 12, 0), "12:00 PM", "las 12:00 p.m."},
		{"morning", at(11, 26, 9, 45), "9:45 AM", "las 9:45 a.m."},
		{"own zone", time.Date(2026, 11, 26, 7, 10, 0, 0, time.FixedZone("PST", -8*3600)), "7:10 AM", "las 7:10 a.m."},
		{"no time", time.Time{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spokenTime(tt.t, "en-US"); got != tt.en {
				t.Errorf("en: %q, want %q", got, tt.en)
			}
			if got := spokenTime(tt.t, "es-US"); got != tt.es {
				t.Errorf("es: %q, want %q", got, tt.es)
			}
		})
	}
}

func TestRender(t *testing.T) {
	d := dana(&Activity{ID: "a1", Kind: "trip", Place: "Atlanta", Summary: "ATL–JFK", Reference: "HX7Q2P",
		Relation: "upcoming", StartsAt: at(11, 27, 14, 5), EndsAt: at(11, 30, 9, 0)})
	noName := Member{ID: "1"}
	esTerms := map[string]string{"trip": "viaje", "Diamond": "Diamante"}
	tests := []struct {
		name   string
		src    string
		member *Member
		lang   string
		terms  map[string]string
		want   Speech
	}{
		{"plain text", "Hello.", &d, "en-US", nil, Speech{{Text: "Hello."}}},
		{"fields", "{{ member.first_name }} {{member.last_name}}, {{ member.tier }}.", &d, "en-US", nil, Speech{{Text: "Dana Reyes, Diamond."}}},
		{"activity fields", "{{ activity.kind }} to {{ activity.place }} ({{ activity.summary }}), {{ activity.relation }}", &d, "en-US", nil,
			Speech{{Text: "trip to Atlanta (ATL–JFK), upcoming"}}},
		{"date and time", "{{ date activity.starts_at }} at {{ time activity.starts_at }}, back {{ date activity.ends_at }}", &d, "en-US", nil,
			Speech{{Text: "tomorrow at 2:05 PM, back on Monday"}}},
		{"Spanish date and time", "{{ date activity.starts_at }} a {{ time activity.starts_at }}", &d, "es-US", nil,
			Speech{{Text: "mañana a las 2:05 p.m."}}},
		{"spell", "Your code is {{ spell activity.reference }}.", &d, "en-US", nil,
			Speech{{Text: "Your code is "}, {Text: "HX7Q2P", SayAs: "characters"}, {Text: "."}}},
		{"spell first", "{{ spell activity.reference }} is it", &d, "en-US", nil,
			Speech{{Text: "HX7Q2P", SayAs: "characters"}, {Text: " is it"}}},
		{"first_name_or with a name", `Hi {{ first_name_or "there" }}!`, &d, "en-US", nil, Speech{{Text: "Hi Dana!"}}},
		{"first_name_or without a name", `Hi {{ first_name_or "there" }}!`, &noName, "en-US", nil, Speech{{Text: "Hi there!"}}},
		{"first_name_or without a member", `Hi {{ first_name_or "there" }}!`, nil, "en-US", nil, Speech{{Text: "Hi there!"}}},
		{"caller members", "{{ caller.members }} members", nil, "en-US", nil, Speech{{Text: "2 members"}}},
		{"terms", "{{ activity.kind }}, {{ member.tier }}, {{ activity.place }}", &d, "es-US", esTerms, Speech{{Text: "viaje, Diamante, Atlanta"}}},
		{"terms ignore case", "{{ member.tier }}", &Member{Tier: "DIAMOND"}, "es-US", esTerms, Speech{{Text: "Diamante"}}},
		{"missing values leave no gaps", "I see you have a {{ activity.kind }} to {{ activity.place }} {{ date activity.starts_at }}.", &noName, "en-US", nil,
			Speech{{Text: "I see you have a to."}}},
		{"missing spell", "Code {{ spell activity.reference }}.", nil, "en-US", nil, Speech{{Text: "Code."}}},
		{"white space collapses", "  Hello,\n\n   world  !  ", nil, "en-US", nil, Speech{{Text: "Hello, world!"}}},
		{"empty", "", &d, "en-US", nil, nil},
		{"only a missing value", "{{ activity.place }}", nil, "en-US", nil, nil},
		{"braces without a tag", "a }} b {", nil, "en-US", nil, Speech{{Text: "a }} b {"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := parseTemplate(tt.src, false)
			if err != nil {
				t.Fatal(err)
			}
			var b speechBuilder
			tpl.render(&b, &scope{now: now, members: 2, member: tt.member, lang: tt.lang, terms: tt.terms})
			if got := b.speech(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRenderCallFields(t *testing.T) {
	d := dana(nil)
	d.Attributes = map[string]string{"seat": "aisle"}
	la := d
	la.TimeZone = "America/Los_Angeles"
	ny, _ := loadZone("America/New_York")
	tests := []struct {
		name   string
		src    string
		member *Member
		want   Speech
	}{
		{"last four digits of the phone", "Calling from a number ending in {{ spell caller.phone_last4 }}.", &d,
			Speech{{Text: "Calling from a number ending in "}, {Text: "0123", SayAs: "characters"}, {Text: "."}}},
		{"trust", "{{ caller.trust }}", nil, Speech{{Text: "verified"}}},
		{"variables", "Your {{ vars.topic }} request, {{ vars.missing }}done.", &d, Speech{{Text: "Your refund request, done."}}},
		{"attributes", "An {{ member.attributes.seat }} seat{{ member.attributes.meal }}.", &d, Speech{{Text: "An aisle seat."}}},
		{"attributes without a member", "[{{ member.attributes.seat }}]", nil, Speech{{Text: "[]"}}},
		{"the time now in the flow's zone", "It is {{ time call.now }} {{ date call.now }}.", nil, Speech{{Text: "It is 10:00 AM today."}}},
		{"the time now in the member's zone", "It is {{ time call.now }}.", &la, Speech{{Text: "It is 7:00 AM."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := parseTemplate(tt.src, false)
			if err != nil {
				t.Fatal(err)
			}
			var b speechBuilder
			tpl.render(&b, &scope{now: now.UTC(), member: tt.member, phone: "+1 (404) 555-0123", trust: TrustVerified,
				vars: map[string]string{"topic": "refund"}, zone: ny, lang: "en-US"})
			if got := b.speech(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRenderChoiceDigit(t *testing.T) {
	tpl, err := parseTemplate("If this is {{ member.first_name }}, press {{ choice.digit }}.", true)
	if err != nil {
		t.Fatal(err)
	}
	var b speechBuilder
	d := dana(nil)
	tpl.render(&b, &scope{member: &d, digit: "1"})
	if got := b.speech().String(); got != "If this is Dana, press 1." {
		t.Errorf("got %q", got)
	}
}

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"unknown field", "Hi {{ member.nmae }}", `unknown field "member.nmae" (column 4)`},
		{"presence is not a value", "{{ member }}", `unknown field "member" (column 1)`},
		{"unknown helper", "{{ upper member.first_name }}", `unknown helper "upper"`},
		{"unclosed", "Hi {{ member.first_name", `"{{" is never closed by "}}" (column 4)`},
		{"column counts characters", "¿Sí? {{ nope }}", "(column 6)"},
		{"empty tag", "{{ }}", "empty {{ }}"},
		{"quoted text alone", `{{ "there" }}`, "must follow a helper"},
		{"unclosed quote", `{{ first_name_or "there }}`, "never closed"},
		{"too many words", "{{ date activity.starts_at please }}", "too many words"},
		{"helper without argument", "{{ date }}", "date needs an argument"},
		{"date of text", "{{ date activity.place }}", "date takes a time"},
		{"time of a number", "{{ time caller.members }}", "time takes a time"},
		{"a time alone", "{{ activity.starts_at }}", "is a time: say it with {{ date activity.starts_at }}"},
		{"spell a time", "{{ spell activity.ends_at }}", "spell takes text"},
		{"spell quoted", `{{ spell "ABC" }}`, "takes a field"},
		{"first_name_or a field", "{{ first_name_or member.last_name }}", "takes text in quotes"},
		{"choice digit outside items", "{{ choice.digit }}", "only known in a choose_member item"},
		{"unknown call field", "{{ call.then }}", `unknown field "call.then"`},
		{"a clock field", "{{ call.time }}", "only be tested in a branch"},
		{"call.now alone", "{{ call.now }}", "is a time: say it with {{ date call.now }}"},
		{"bad variable name", "{{ vars.2fast }}", `bad name in "vars.2fast"`},
		{"bad attribute name", "{{ member.attributes.Seat }}", `bad name in "member.attributes.Seat"`},
		{"no attribute name", "{{ member.attributes. }}", "bad name"},
		{"spell call.now", "{{ spell call.now }}", "spell takes text"},
		{"second tag", "{{ member.tier }} and {{ member.teir }}", "(column 23)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseTemplate(tt.src, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Welcome back, {{ member.first_name }}.",
		`Hi {{ first_name_or "there" }}, {{ spell activity.reference }} {{ date activity.starts_at }} {{ time activity.ends_at }}`,
		"{{ choice.digit }} {{ caller.members }} {{ activity.kind }} {{ member.tier }}",
		"{{", "}}", "{{}}", `{{ "`, "a {{ b }} c {{ d", "¿Sí? {{ activity.place }} ,.!",
		"{{ vars.topic }} {{ spell vars.code }} {{ member.attributes.seat }} {{ caller.trust }}",
		"{{ time call.now }} {{ date call.now }} {{ spell caller.phone_last4 }} {{ call.weekday }}",
	} {
		f.Add(s)
	}
	members := []*Member{
		nil,
		{ID: "1", TimeZone: "Nowhere/Else", Attributes: map[string]string{"seat": " aisle "}},
		func() *Member {
			d := dana(trip("recent", at(11, 20, 7, 0), at(11, 24, 18, 0)))
			return &d
		}(),
	}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := parseTemplate(src, true)
		if err != nil {
			return
		}
		for _, m := range members {
			for _, lang := range []string{"en-US", "es-US", "fr-FR"} {
				var b speechBuilder
				tpl.render(&b, &scope{now: now, members: 3, member: m, lang: lang, digit: "2",
					terms: map[string]string{"trip": "viaje"}, phone: "+14045550123", vars: map[string]string{"topic": "a  b"}})
				for _, seg := range b.speech() {
					if seg.Text == "" || (utf8.ValidString(src) && !utf8.ValidString(seg.Text)) {
						t.Fatalf("bad segment %#v from %q", seg, src)
					}
					if seg.SayAs == "" && strings.Contains(seg.Text, "  ") {
						t.Fatalf("double space in %q from %q", seg.Text, src)
					}
				}
			}
		}
	})
}

// FuzzLiteral checks that a template's prepared text writes exactly what text() writes
// for the same text, whatever the builder holds before it.
func FuzzLiteral(f *testing.F) {
	for _, s := range []string{"", " ", "  \t", "Welcome back, ", ", press ", ".", " . ", " ,a  b .c ", "¿Sí? ", "\u00a0x\u00a0", "a\xffb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit := prepareLiteral(s)
		for _, before := range []string{"", "Hi", "Hi "} {
			var want, got speechBuilder
			want.text(before)
			got.text(before)
			want.text(s)
			got.literal(&lit)
			want.text("x")
			got.text("x")
			if w, g := want.speech(), got.speech(); !reflect.DeepEqual(w, g) {
				t.Fatalf("after %q, %q: literal wrote %q, text %q", before, s, g, w)
			}
		}
	})
}
