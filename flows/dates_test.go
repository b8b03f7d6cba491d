package flows

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// shippedLanguages are the languages the default flow speaks.
var shippedLanguages = []string{"en-US", "es-US", "fr-CA", "pt-BR", "en-GB"}

// One trip spoken at every distance from the call, and clock times, in every shipped
// language; testdata/spoken_<lang>.golden holds what is said (go test -update rewrites).
func TestSpokenDatesInEveryLanguage(t *testing.T) {
	call := time.Date(2026, 11, 26, 9, 0, 0, 0, est) // a Thursday
	days := []struct {
		name string
		at   time.Time
	}{
		{"today", call.Add(5 * time.Hour)},
		{"tomorrow", call.Add(29 * time.Hour)},
		{"yesterday", call.Add(-20 * time.Hour)},
		{"in two days", call.AddDate(0, 0, 2)},
		{"in six days", call.AddDate(0, 0, 6)},
		{"three days ago", call.AddDate(0, 0, -3)},
		{"in a week", call.AddDate(0, 0, 7)},
		{"the first of the month", time.Date(2027, 1, 1, 9, 0, 0, 0, est)},
		{"the 22nd", time.Date(2026, 12, 22, 9, 0, 0, 0, est)},
		{"next summer", time.Date(2027, 7, 3, 9, 0, 0, 0, est)},
	}
	clocks := []struct {
		name string
		h, m int
	}{{"afternoon", 14, 5}, {"one o'clock", 13, 0}, {"morning", 9, 45}, {"just after midnight", 0, 30}, {"noon", 12, 0}}
	for _, lang := range shippedLanguages {
		t.Run(lang, func(t *testing.T) {
			var b strings.Builder
			fmt.Fprintf(&b, "# %s: dates relative to a call on Thursday, November 26th, 2026, 09:00 in New York\n", lang)
			for _, d := range days {
				fmt.Fprintf(&b, "%-24s %s\n", d.name, spokenDate(d.at, call, lang))
			}
			for _, c := range clocks {
				fmt.Fprintf(&b, "%-24s %s\n", c.name, spokenTime(time.Date(2026, 11, 27, c.h, c.m, 0, 0, est), lang))
			}
			golden(t, filepath.Join("testdata", "spoken_"+lang+".golden"), b.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

// Every language the date speaker claims has both halves of its data, and every CLDR
// pattern it uses holds only the pattern letters the speaker knows.
func TestDateDataIsWhole(t *testing.T) {
	for prim := range speechRules {
		if _, ok := cldrDates[prim]; !ok {
			t.Errorf("speech rules for %s but no CLDR locale %s: add it to the generator's -locales", prim, prim)
		}
	}
	for tag, loc := range cldrDates {
		if _, ok := speechRules[primaryLanguage(tag)]; !ok {
			t.Errorf("CLDR locale %s has no speech rules", tag)
		}
		for _, p := range []string{loc.Date, loc.DateWithYear, loc.Time} {
			unquoted := p
			for strings.Contains(unquoted, "'") {
				i := strings.Index(unquoted, "'")
				j := strings.Index(unquoted[i+1:], "'")
				if j < 0 {
					t.Fatalf("%s: unclosed quote in %q", tag, p)
				}
				unquoted = unquoted[:i] + unquoted[i+1+j+1:]
			}
			if strings.Trim(unquoted, "EMLdyhHma ,.:-/") != "" {
				t.Errorf("%s: pattern %q has letters the speaker does not know", tag, p)
			}
		}
	}
	if hasWords("de-DE") || !hasWords("fr-FR") || !hasWords("pt-BR") || !hasWords("en-GB") {
		t.Errorf("hasWords: de-DE %v, fr-FR %v, pt-BR %v, en-GB %v", hasWords("de-DE"), hasWords("fr-FR"), hasWords("pt-BR"), hasWords("en-GB"))
	}
}
