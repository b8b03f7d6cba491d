package lookup

import (
	"hash/maphash"
	"strconv"
	"strings"
	"sync"

	"github.com/memberline/memberline/internal/errs"

	"github.com/nyaruka/phonenumbers"
)

// DefaultRegion is the region assumed for numbers written without a country code.
const DefaultRegion = "US"

// maxRawPhone bounds the input Normalize looks at; no real way of writing a number is
// longer.
const maxRawPhone = 64

// withheld are the From values Twilio sends when the caller id is withheld: they spell
// ANONYMOUS, RESTRICTED, BLOCKED, UNKNOWN and UNAVAILABLE on a keypad. Some of them are
// otherwise plausible numbers, so they are refused by name.
var withheld = map[string]bool{
	"+266696687":   true, // ANONYMOUS
	"+7378742833":  true, // RESTRICTED
	"+2562533":     true, // BLOCKED
	"+8656696":     true, // UNKNOWN
	"+86282452253": true, // UNAVAILABLE
}

// Normalize returns raw as an E.164 number ("+14045550123"). Numbers without a country
// code are read as numbers of defaultRegion (an ISO 3166 code; "" means DefaultRegion).
// It refuses, with an error wrapping errs.ErrInvalid: the empty string, "anonymous" and other
// words, SIP and client addresses, extensions, numbers that are not valid for their
// country, and Twilio's markers for withheld caller ids.
//
// Answers are remembered (a bounded memo): Normalize is a pure function of its input, and
// parsing with full metadata costs tens of microseconds on every call.
func Normalize(raw, defaultRegion string) (string, error) {
	if defaultRegion == "" {
		defaultRegion = DefaultRegion
	}
	if len(raw) > maxRawPhone {
		return normalize(raw, defaultRegion)
	}
	return normalized.get(raw, defaultRegion)
}

func normalize(raw, defaultRegion string) (string, error) {
	s := strings.TrimSpace(raw)
	if len(s) > maxRawPhone {
		return "", errs.New(errs.Invalid, "invalid phone number: too long")
	}
	s = strings.TrimPrefix(s, "tel:")
	if s == "" {
		return "", errs.New(errs.Invalid, "invalid phone number: empty")
	}
	// Only digits and the punctuation people write numbers with: this keeps out words,
	// vanity numbers, SIP URIs ("sip:+1...@host"), Twilio Client ids and extensions.
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			return "", errs.New(errs.Invalid, "invalid phone number: unexpected character %q", c)
		}
	}
	if digits == 0 {
		return "", errs.New(errs.Invalid, "invalid phone number: no digits")
	}
	if withheld[s] {
		return "", errs.New(errs.Invalid, "invalid phone number: caller id withheld")
	}
	if nanpE164(s) {
		return validNANP(s)
	}
	return parsed(s, defaultRegion)
}

// errNotValid refuses a number that is well formed but not valid for its country.
var errNotValid = errs.New(errs.Invalid, "invalid phone number: not a valid number")

// parsed is s parsed, validated and formatted by phonenumbers with its full metadata.
func parsed(s, defaultRegion string) (string, error) {
	num, err := phonenumbers.Parse(s, defaultRegion)
	if err != nil {
		return "", errs.New(errs.Invalid, "invalid phone number: %v", err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", errNotValid
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if withheld[e164] {
		return "", errs.New(errs.Invalid, "invalid phone number: caller id withheld")
	}
	return e164, nil
}

// nanpE164 reports whether s is a North American number in E.164 form, as Twilio sends
// callers' numbers: +1, a ten-digit number whose area code and exchange start with 2-9.
func nanpE164(s string) bool {
	if len(s) != 12 || s[0] != '+' || s[1] != '1' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[2] >= '2' && s[5] >= '2'
}

// validNANP checks a number nanpE164 accepted with phonenumbers' own metadata, without
// parsing it: for such a number phonenumbers.Parse finds country code 1 and the ten
// digits as the national number (there is no extension, national prefix or leading zero
// to find), and E.164 formatting gives s back. Parsing is most of the cost of a number not
// seen before (TestNANPFastPath holds the two paths to the same answers).
func validNANP(s string) (string, error) {
	cc, nn := int32(1), uint64(0)
	for i := 2; i < len(s); i++ {
		nn = nn*10 + uint64(s[i]-'0')
	}
	if !phonenumbers.IsValidNumber(&phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}) {
		return "", errNotValid
	}
	return s, nil
}

// Mask hides the middle of an E.164 number for logs and traces: "+14045550123" becomes
// "+1404***0123". At least three digits stay hidden, so short numbers show less; anything
// that is not an E.164 number becomes "***".
func Mask(e164 string) string {
	if len(e164) < 2 || e164[0] != '+' {
		return "***"
	}
	for i := 1; i < len(e164); i++ {
		if e164[i] < '0' || e164[i] > '9' {
			return "***"
		}
	}
	cc := countryCodeLen(e164[1:])
	head, rest := e164[:1+cc], e164[1+cc:]
	switch {
	case len(rest) >= 10:
		return head + rest[:3] + "***" + rest[len(rest)-4:]
	case len(rest) >= 7:
		return head + "***" + rest[len(rest)-4:]
	case len(rest) >= 5:
		return head + "***" + rest[len(rest)-2:]
	default:
		return head + "***"
	}
}

// countryCodeLen is the length of the country calling code at the start of digits
// (1 to 3 digits: E.164 codes are prefix-free).
func countryCodeLen(digits string) int {
	for n := 1; n <= 3 && n <= len(digits); n++ {
		code, _ := strconv.Atoi(digits[:n])
		if phonenumbers.GetRegionCodeForCountryCode(code) != phonenumbers.UNKNOWN_REGION {
			return n
		}
	}
	return min(1, len(digits))
}

// normalizeMemo remembers Normalize's answers, in shards that are emptied when full: the
// numbers that call are few and repeat, and a full shard costs one re-parse per number.
type normalizeMemo struct {
	seed   maphash.Seed
	shards [16]struct {
		mu sync.RWMutex
		m  map[memoKey]memoAnswer
	}
}

type memoKey struct{ raw, region string }

type memoAnswer struct {
	e164 string
	err  error
}

const memoShardSize = 4096

var normalized = func() *normalizeMemo {
	m := &normalizeMemo{seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].m = make(map[memoKey]memoAnswer)
	}
	return m
}()

func (m *normalizeMemo) get(raw, region string) (string, error) {
	k := memoKey{raw, region}
	sh := &m.shards[maphash.String(m.seed, raw)%uint64(len(m.shards))]
	sh.mu.RLock()
	a, ok := sh.m[k]
	sh.mu.RUnlock()
	if ok {
		return a.e164, a.err
	}
	e164, err := normalize(raw, region)
	sh.mu.Lock()
	if len(sh.m) >= memoShardSize {
		clear(sh.m)
	}
	sh.m[k] = memoAnswer{e164, err}
	sh.mu.Unlock()
	return e164, err
}
