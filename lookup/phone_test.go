package lookup

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/errs"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, raw, region, want string
	}{
		{"e164", "+14045550123", "", "+14045550123"},
		{"us national with parens", "(404) 555-0199", "", "+14045550199"},
		{"us national with dots", "404.555.0199", "", "+14045550199"},
		{"us with trunk 1", "1-404-555-0199", "", "+14045550199"},
		{"surrounding space", "  +1 404 555 0123\t", "", "+14045550123"},
		{"uk international", "+44 20 7946 0958", "", "+442079460958"},
		{"uk national with region", "020 7946 0958", "GB", "+442079460958"},
		{"tel uri", "tel:+14045550123", "", "+14045550123"},
		{"region ignored with plus", "+44 20 7946 0958", "US", "+442079460958"},
		{"germany", "+49 30 901820", "", "+4930901820"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.raw, tc.region)
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want %q", tc.raw, tc.region, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeRejects(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"empty", ""},
		{"blank", "   "},
		{"anonymous", "anonymous"},
		{"Anonymous capitalized", "Anonymous"},
		{"restricted word", "Restricted"},
		{"garbage", "hello world"},
		{"punctuation only", "()-."},
		{"too short", "+1404"},
		{"invalid area code", "+1 000 555 0123"},
		{"invalid country code", "+999 1234 5678"},
		{"sip uri", "sip:+14045550123@example.com"},
		{"sip uri no plus", "sip:alice@example.com"},
		{"twilio client", "client:alice"},
		{"vanity letters", "1-800-FLOWERS"},
		{"extension", "404-555-0199 ext 12"},
		{"extension x", "404-555-0199x12"},
		{"twilio anonymous marker", "+266696687"},
		{"twilio restricted marker", "+7378742833"},
		{"twilio blocked marker", "+2562533"},
		{"twilio unknown marker", "+8656696"},
		{"twilio unavailable marker", "+86282452253"},
		{"plus in the middle", "404+5550199"},
		{"double plus", "++14045550123"},
		{"too long", "+1 404 555 0123 " + strings.Repeat("0", 60)},
		{"unicode digits", "+١٤٠٤٥٥٥٠١٢٣"},
		{"nul", "+1404555\x000123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(tc.raw, "")
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("Normalize(%q) = %q, %v; want an error wrapping errs.ErrInvalid", tc.raw, got, err)
			}
			if got != "" {
				t.Fatalf("Normalize(%q) returned %q with its error", tc.raw, got)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"nanp", "+14045550123", "+1404***0123"},
		{"uk", "+442079460958", "+44207***0958"},
		{"three digit country code", "+353861234567", "+353***4567"},
		{"short national number", "+4930901820", "+49***1820"},
		{"very short", "+35312345", "+353***45"},
		{"tiny", "+1234", "+1***"},
		{"empty", "", "***"},
		{"not e164", "4045550123", "***"},
		{"letters", "+1404CALLME", "***"},
		{"plus only", "+", "***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mask(tc.in); got != tc.want {
				t.Fatalf("Mask(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}

// The fast path for North American numbers in E.164 answers as phonenumbers' full parse
// does: for every area code and exchange class (including the invalid ones: N11, 555,
// 37X/96X, unassigned codes) and random numbers, in every region.
func TestNANPFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var numbers []string
	for npa := 200; npa <= 999; npa++ {
		for _, nxx := range []int{200, 211, 234, 311, 555, 800, 911, 958, 999, 200 + rng.IntN(800)} {
			numbers = append(numbers, fmt.Sprintf("+1%03d%03d%04d", npa, nxx, rng.IntN(10000)))
		}
	}
	for range 20000 {
		numbers = append(numbers, fmt.Sprintf("+1%d%02d%d%06d", 2+rng.IntN(8), rng.IntN(100), 2+rng.IntN(8), rng.IntN(1000000)))
	}
	valid := 0
	for _, n := range numbers {
		if !nanpE164(n) {
			t.Fatalf("%s is not taken by the fast path", n)
		}
		for _, region := range []string{"US", "CA", "GB"} {
			fast, ferr := validNANP(n)
			full, err := parsed(n, region)
			if fast != full || (ferr == nil) != (err == nil) {
				t.Fatalf("%s in %s: fast path %q, %v; full parse %q, %v", n, region, fast, ferr, full, err)
			}
			if err == nil {
				valid++
			}
		}
	}
	if valid == 0 || valid == 3*len(numbers) {
		t.Fatalf("%d of %d answers valid: the sample does not tell the paths apart", valid, 3*len(numbers))
	}
	for _, s := range []string{"+1404555012", "+140455501234", "+10045550123", "+14041550123", "+1404555012a", "+24045550123", "14045550123"} {
		if nanpE164(s) {
			t.Errorf("%s is taken by the fast path", s)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"+14045550123", "(404) 555-0199", "404.555.0199", "+44 20 7946 0958", "anonymous",
		"", "sip:+14045550123@example.com", "+266696687", "+7378742833", "tel:+1404",
		"0039 06 1234 5678", "+39 06 1234 5678", "+800 1234 5678", "1 (800) 555-0100",
		"+12125550000", "+19115550123", "+18005550100", " +14045550123 ",
	} {
		f.Add(s, "")
		f.Add(s, "GB")
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if s := strings.TrimPrefix(strings.TrimSpace(raw), "tel:"); nanpE164(s) {
			fast, ferr := validNANP(s)
			full, err := parsed(s, cmp.Or(region, DefaultRegion))
			if fast != full || (ferr == nil) != (err == nil) {
				t.Fatalf("%s in %q: fast path %q, %v; full parse %q, %v", s, region, fast, ferr, full, err)
			}
		}
		got, err := Normalize(raw, region)
		if err != nil {
			if !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("Normalize(%q, %q): error %v does not wrap errs.ErrInvalid", raw, region, err)
			}
			return
		}
		if !strings.HasPrefix(got, "+") {
			t.Fatalf("Normalize(%q, %q) = %q: not E.164", raw, region, got)
		}
		again, err := Normalize(got, region)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, %v; want it to give itself back", got, again, err)
		}

		if m := Mask(got); m == got || !strings.Contains(m, "***") {
			t.Fatalf("Mask(%q) = %q hides nothing", got, m)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize("+14045550123", ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNormalizeUncached is the cost the memo saves: validation of a North American
// number in E.164 (the fast path), and a full parse and validation of a number written
// any other way.
func BenchmarkNormalizeUncached(b *testing.B) {
	for _, bc := range []struct{ name, raw string }{
		{"e164_nanp", "+14045550123"},
		{"national", "(404) 555-0199"},
		{"e164_gb", "+442079460958"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := normalize(bc.raw, "US"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
