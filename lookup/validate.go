package lookup

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time_zone validation must not depend on the host's zoneinfo files
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Activity statuses the lookup treats specially. Other lowercase words are stored as
// they are.
const (
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled" // never offered on a call
)

// Defaults for fields a write leaves empty.
const (
	DefaultLanguage = "en-US"
	DefaultTimeZone = "UTC"
)

const maxPhonesPerMember = 20

var (
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$`)
	wordPattern   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	statusAliases = map[string]string{"canceled": StatusCancelled}
)

// cleanMember checks m as a write and returns it normalized: text trimmed, defaults
// filled in, language canonical, phones in E.164, without duplicates, sorted.
func cleanMember(m Member, region string) (Member, error) {
	m.ID = strings.TrimSpace(m.ID)
	if err := checkID("id", m.ID); err != nil {
		return Member{}, err
	}
	var err error
	if m.FirstName, err = cleanText("first_name", m.FirstName, 100, true); err != nil {
		return Member{}, err
	}
	if m.LastName, err = cleanText("last_name", m.LastName, 100, false); err != nil {
		return Member{}, err
	}
	if m.Tier, err = cleanText("tier", m.Tier, 32, false); err != nil {
		return Member{}, err
	}
	if m.Language, err = cleanLanguage(m.Language); err != nil {
		return Member{}, err
	}
	if m.TimeZone, err = cleanTimeZone(m.TimeZone); err != nil {
		return Member{}, err
	}
	if m.Phones, err = cleanPhones(m.Phones, region); err != nil {
		return Member{}, err
	}
	// Set by the directory.
	m.CreatedAt, m.UpdatedAt = time.Time{}, time.Time{}
	return m, nil
}

// ValidID reports whether id can name a member or an activity.
func ValidID(id string) bool { return idPattern.MatchString(id) }

func checkID(field, id string) error {
	if id == "" {
		return fieldErr(field, "is required")
	}
	if !idPattern.MatchString(id) {
		return fieldErr(field, "must be 1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit")
	}
	return nil
}

func cleanText(field, s string, maxRunes int, required bool) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", fieldErr(field, "is required")
	}
	if !utf8.ValidString(s) {
		return "", fieldErr(field, "is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxRunes {
		return "", fieldErr(field, "must be at most "+strconv.Itoa(maxRunes)+" characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", fieldErr(field, "must not contain control characters")
		}
	}
	return s, nil
}

func cleanLanguage(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultLanguage, nil
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", fieldErr("language", "is not a BCP 47 language tag")
	}
	if _, conf := tag.Base(); conf == language.No {
		return "", fieldErr("language", "names no language")
	}
	return tag.String(), nil
}

func cleanTimeZone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultTimeZone, nil
	}
	// "Local" would mean whatever zone the server runs in.
	if s == "Local" {
		return "", fieldErr("time_zone", "is not an IANA time zone")
	}
	if _, known := knownZones.Load(s); known {
		return s, nil
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", fieldErr("time_zone", "is not an IANA time zone")
	}
	// Loading a zone parses its tzdata each time; an import checks a million members.
	// Only valid names are kept, so the set is bounded by the zone database.
	knownZones.Store(s, true)
	return s, nil
}

var knownZones sync.Map // IANA names LoadLocation accepted

func cleanPhones(phones []string, region string) ([]string, error) {
	if len(phones) == 0 {
		return nil, fieldErr("phones", "at least one phone number is required")
	}
	if len(phones) > maxPhonesPerMember {
		return nil, fieldErr("phones", "at most "+strconv.Itoa(maxPhonesPerMember)+" phone numbers")
	}
	out := make([]string, 0, len(phones))
	seen := make(map[string]bool, len(phones))
	for i, p := range phones {
		e164, err := Normalize(p, region)
		if err != nil {
			return nil, fieldErr("phones["+strconv.Itoa(i)+"]", "is not a valid phone number")
		}
		if !seen[e164] {
			seen[e164] = true
			out = append(out, e164)
		}
	}
	sort.Strings(out)
	return out, nil
}

// cleanActivity checks a as a write and returns it normalized: ends_at defaults to
// starts_at, status to "confirmed", times are cut to microseconds (what PostgreSQL keeps)
// and keep their UTC offset.
func cleanActivity(a Activity) (Activity, error) {
	a.MemberID = strings.TrimSpace(a.MemberID)
	if err := checkID("member_id", a.MemberID); err != nil {
		return Activity{}, err
	}
	a.ID = strings.TrimSpace(a.ID)
	if err := checkID("id", a.ID); err != nil {
		return Activity{}, err
	}
	a.Kind = strings.TrimSpace(a.Kind)
	if a.Kind == "" {
		return Activity{}, fieldErr("kind", "is required")
	}
	if !wordPattern.MatchString(a.Kind) {
		return Activity{}, fieldErr("kind", "must be a lowercase word such as \"trip\" or \"stay\"")
	}
	var err error
	if a.Summary, err = cleanText("summary", a.Summary, 200, false); err != nil {
		return Activity{}, err
	}
	if a.Place, err = cleanText("place", a.Place, 100, false); err != nil {
		return Activity{}, err
	}
	if a.Reference, err = cleanText("reference", a.Reference, 64, false); err != nil {
		return Activity{}, err
	}
	if a.StartsAt.IsZero() {
		return Activity{}, fieldErr("starts_at", "is required")
	}
	if a.EndsAt.IsZero() {
		a.EndsAt = a.StartsAt
	}
	if a.StartsAt, err = cleanTime("starts_at", a.StartsAt); err != nil {
		return Activity{}, err
	}
	if a.EndsAt, err = cleanTime("ends_at", a.EndsAt); err != nil {
		return Activity{}, err
	}
	if a.EndsAt.Before(a.StartsAt) {
		return Activity{}, fieldErr("ends_at", "must not be before starts_at")
	}
	a.Status = strings.ToLower(strings.TrimSpace(a.Status))
	if alias, ok := statusAliases[a.Status]; ok {
		a.Status = alias
	}
	if a.Status == "" {
		a.Status = StatusConfirmed
	}
	if !wordPattern.MatchString(a.Status) {
		return Activity{}, fieldErr("status", "must be a lowercase word such as \"confirmed\" or \"cancelled\"")
	}
	a.Relation = ""
	return a, nil
}

// PostgreSQL's timestamptz spans 4713 BC to 294276 AD; stay well inside.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

func cleanTime(field string, t time.Time) (time.Time, error) {
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, fieldErr(field, "is out of range")
	}
	_, off := t.Zone()
	if off < -86400 || off > 86400 {
		return time.Time{}, fieldErr(field, "has an impossible UTC offset")
	}
	return inOffset(t.Truncate(time.Microsecond), off), nil
}

// zones holds one *time.Location per UTC offset, so that times read back from
// PostgreSQL or from the cache share their locations.
var zones sync.Map // int → *time.Location

// inOffset returns t in a fixed zone offset seconds east of UTC. The zone has no name, as
// in times that encoding/json or time.Parse read from "+02:00".
func inOffset(t time.Time, offset int) time.Time {
	if offset == 0 {
		return t.In(time.UTC)
	}
	z, ok := zones.Load(offset)
	if !ok {
		z, _ = zones.LoadOrStore(offset, time.FixedZone("", offset))
	}
	return t.In(z.(*time.Location))
}

// keepOffset returns t in a fixed zone with t's own offset.
func keepOffset(t time.Time) time.Time {
	_, off := t.Zone()
	return inOffset(t, off)
}
