package ivr

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// The default flow in each shipped language, through real webhooks: an attested member
// with a trip in two days, one back from a trip yesterday, a household of two, and an
// unknown caller choosing French at the member-number prompt. The calls are at the
// harness's clock, Thursday 2026-11-26 10:00 in New York. Golden files call_lang_*.
func TestLanguagesGolden(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	type speaker struct {
		lang, first, household, place, code string
		// hear: what the first answer of each call must say, in the language
		upcoming, recent, who []string
		voice                 string
	}
	speakers := []speaker{
		{"en-US", "Jordan", "Riley", "Denver", "1", []string{"Welcome back, Jordan.", "As a Gold member", "trip to Denver on Saturday"},
			[]string{"returned from your trip to Denver yesterday"}, []string{"If this is Jordan, press 1.", "If this is Riley, press 2."}, "Polly.Joanna-Neural"},
		{"es-US", "Lucas", "Sofía", "Cancún", "2", []string{"Hola de nuevo, Lucas.", "Como miembro Oro", "viaje a Cancún el sábado"},
			[]string{"regresó de su viaje a Cancún ayer"}, []string{"Si es Lucas, marque 1.", "Si es Sofía, marque 2."}, "Polly.Lupe-Neural"},
		{"fr-CA", "Zoé", "Louis", "Lyon", "3", []string{"Rebonjour, Zoé.", "En tant que membre Or", "un voyage à Lyon samedi"},
			[]string{"votre voyage à Lyon s'est terminé hier"}, []string{"Si vous êtes Zoé, appuyez sur 1.", "Si vous êtes Louis, appuyez sur 2."}, "Polly.Gabrielle-Neural"},
		{"pt-BR", "João", "Ana", "Lisboa", "4", []string{"Olá de novo, João.", "Como membro Ouro", "uma viagem para Lisboa no sábado"},
			[]string{"voltou da sua viagem para Lisboa ontem"}, []string{"Se for João, digite 1.", "Se for Ana, digite 2."}, "Polly.Camila-Neural"},
		{"en-GB", "Oliver", "Amelia", "Edinburgh", "5", []string{"Welcome back, Oliver.", "As a Gold member", "trip to Edinburgh on Saturday"},
			[]string{"got back from your trip to Edinburgh yesterday"}, []string{"If this is Oliver, press 1.", "If this is Amelia, press 2."}, "Polly.Amy-Neural"},
	}
	ctx := context.Background()
	put := func(m lookup.Member, a *lookup.Activity) {
		t.Helper()
		if _, err := h.cache.PutMember(ctx, m); err != nil {
			t.Fatal(err)
		}
		if a != nil {
			a.MemberID = m.ID
			if _, err := h.cache.PutActivity(ctx, *a); err != nil {
				t.Fatal(err)
			}
		}
	}
	activity := func(starts, ends, place string) *lookup.Activity {
		var a lookup.Activity
		b := fmt.Sprintf(`{"kind":"trip","summary":"Flight to %s","place":%q,"starts_at":%q,"ends_at":%q,"status":"confirmed","reference":"LNG123"}`, place, place, starts, ends)
		if err := json.Unmarshal([]byte(b), &a); err != nil {
			t.Fatal(err)
		}
		a.ID = "trip"
		return &a
	}
	for _, s := range speakers {
		tag := strings.ToLower(strings.ReplaceAll(s.lang, "-", "_"))
		upcoming, recent, home := "+1303555"+s.code+"001", "+1303555"+s.code+"002", "+1303555"+s.code+"003"
		put(lookup.Member{ID: "9" + s.code + "01", FirstName: s.first, LastName: "Test", Tier: "Gold", Language: s.lang, TimeZone: "America/New_York", Phones: []string{upcoming}},
			activity("2026-11-28T09:00:00-05:00", "2026-11-28T11:00:00-05:00", s.place))
		put(lookup.Member{ID: "9" + s.code + "02", FirstName: s.first, LastName: "Test", Tier: "Gold", Language: s.lang, TimeZone: "America/New_York", Phones: []string{recent}},
			activity("2026-11-22T09:00:00-05:00", "2026-11-25T18:00:00-05:00", s.place))
		put(lookup.Member{ID: "9" + s.code + "03", FirstName: s.first, LastName: "Test", Tier: "Silver", Language: s.lang, TimeZone: "America/New_York", Phones: []string{home}}, nil)
		put(lookup.Member{ID: "9" + s.code + "04", FirstName: s.household, LastName: "Test", Tier: "Silver", Language: s.lang, TimeZone: "America/New_York", Phones: []string{home}}, nil)
		for _, c := range []struct {
			name, from string
			hear       []string
		}{{"upcoming", upcoming, s.upcoming}, {"recent", recent, s.recent}, {"household", home, s.who}} {
			t.Run(s.lang+" "+c.name, func(t *testing.T) {
				answers := h.Call(c.from)
				first := answers[0]
				said := twiliotest.Spoken(t, first)
				for _, p := range c.hear {
					if !strings.Contains(said, p) {
						t.Errorf("caller hears %q; want it to contain %q", said, p)
					}
				}
				// Every <Say> and the speech recognition are in the member's language.
				if n, want := strings.Count(first, "<Say "), strings.Count(first, fmt.Sprintf(`<Say voice=%q language=%q>`, s.voice, s.lang)); n == 0 || n != want {
					t.Errorf("%d of %d <Say>s in %s with %s:\n%s", want, n, s.lang, s.voice, first)
				}
				if strings.Contains(first, "<Gather") && !strings.Contains(first, `language="`+s.lang+`"`) {
					t.Errorf("the gather does not listen in %s:\n%s", s.lang, first)
				}
				checkGolden(t, "lang_"+tag+"_"+c.name, strings.Join(answers, "\n")+"\n")
			})
		}
	}

	// An unknown caller presses 9 at the member-number prompt: the rest is in French, and
	// stays French once the member number is known (the member's own language is English).
	t.Run("unknown caller chooses French", func(t *testing.T) {
		answers := h.Call("+12125550000", "9", "1001")
		if said := twiliotest.Spoken(t, answers[0]); !strings.Contains(said, "Pour le français, appuyez sur 9.") {
			t.Errorf("the first answer does not offer French: %q", said)
		}
		if said := twiliotest.Spoken(t, answers[1]); !strings.Contains(said, "Si vous connaissez votre numéro de membre") || strings.Contains(said, "Para español") {
			t.Errorf("after 9: %q", said)
		}
		if said := twiliotest.Spoken(t, answers[2]); !strings.Contains(said, "Pour votre sécurité, entrez votre NIP") {
			t.Errorf("after the member number: %q", said)
		}
		for i, a := range answers[1:] {
			if strings.Contains(a, `language="en-US"`) {
				t.Errorf("answer %d speaks English:\n%s", i+1, a)
			}
		}
		checkGolden(t, "lang_unknown_chooses_french", strings.Join(answers, "\n")+"\n")
	})
}
