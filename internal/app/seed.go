package app

import (
	"context"
	"fmt"
	"time"

	"github.com/memberline/memberline/lookup"
)

// demoMember is one seeded member and, optionally, their activity, placed relative to
// the day the seed runs so the demo always has a trip tomorrow.
type demoMember struct {
	member   lookup.Member
	activity *demoActivity
}

type demoActivity struct {
	id, kind, summary, place, reference string
	days                                func(today time.Time) int // days from today, in the member's zone
	hour, minute, hours                 int
}

// nextWeekday is the number of days from today to a weekday of next week.
func nextWeekday(today time.Time) int {
	d := 8
	for wd := today.AddDate(0, 0, d).Weekday(); wd == time.Saturday || wd == time.Sunday; wd = today.AddDate(0, 0, d).Weekday() {
		d++
	}
	return d
}

var demoMembers = []demoMember{
	{
		member: lookup.Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond",
			Language: "en-US", TimeZone: "America/New_York", Phones: []string{"+14045550123", "+14045550199"}}, // E.164: demo data is read in any DEFAULT_REGION
		activity: &demoActivity{id: "t1", kind: "trip", summary: "Flight DL1234 to Atlanta", place: "Atlanta",
			reference: "HX7Q2P", days: func(time.Time) int { return 1 }, hour: 14, minute: 5, hours: 2},
	},
	{
		member: lookup.Member{ID: "1002", FirstName: "Marcus", LastName: "Lee", Tier: "Gold",
			Language: "en-US", TimeZone: "America/Chicago", Phones: []string{"+13125550142"}},
		activity: &demoActivity{id: "t1", kind: "trip", summary: "Flight DL88 to Denver", place: "Denver",
			reference: "K9MZ4T", days: nextWeekday, hour: 9, minute: 30, hours: 3},
	},
	{
		member: lookup.Member{ID: "1003", FirstName: "Lucía", LastName: "Fernández", Tier: "Platinum",
			Language: "es-US", TimeZone: "America/New_York", Phones: []string{"+13055550177"}},
		activity: &demoActivity{id: "t1", kind: "trip", summary: "Flight DL110 to Madrid", place: "Madrid",
			reference: "QW3E8R", days: func(time.Time) int { return -2 }, hour: 18, minute: 0, hours: 26},
	},
	{
		member: lookup.Member{ID: "1004", FirstName: "Tom", LastName: "Becker", Tier: "Member",
			Language: "en-US", TimeZone: "America/Los_Angeles", Phones: []string{"+12065550111"}},
	},
	{
		member: lookup.Member{ID: "1005", FirstName: "Sam", LastName: "Ortiz", Tier: "Silver",
			Language: "en-US", TimeZone: "America/New_York", Phones: []string{"+16175550100"}},
		activity: &demoActivity{id: "t1", kind: "trip", summary: "Flight DL402 to Boston", place: "Boston",
			reference: "BOS4ME", days: func(time.Time) int { return 3 }, hour: 7, minute: 15, hours: 2},
	},
	{
		member: lookup.Member{ID: "1006", FirstName: "Alex", LastName: "Ortiz", Tier: "Member",
			Language: "en-US", TimeZone: "America/New_York", Phones: []string{"+16175550100", "+16175550101"}},
	},
	{
		member: lookup.Member{ID: "1007", FirstName: `O'Brien & <Sons> "Co"`, LastName: "Ltd", Tier: "Gold",
			Language: "en-US", TimeZone: "America/St_Johns", Phones: []string{"+17095550144"}},
		activity: &demoActivity{id: "t1", kind: "trip", summary: `Charter to St. John's <YYT> & "Gander"`, place: `St. John's & <Gander>`,
			reference: "OB&S<1>", days: func(time.Time) int { return 5 }, hour: 11, minute: 0, hours: 1},
	},
}

// SeedDemo writes the demo members through w (so caches are invalidated), their
// activities placed around now.
func SeedDemo(ctx context.Context, w lookup.Writer, now time.Time) error {
	for _, d := range demoMembers {
		if _, err := w.PutMember(ctx, d.member); err != nil {
			return fmt.Errorf("seed member %s: %w", d.member.ID, err)
		}
		if d.activity == nil {
			continue
		}
		loc, err := time.LoadLocation(d.member.TimeZone)
		if err != nil {
			return fmt.Errorf("seed member %s: %w", d.member.ID, err)
		}
		today := now.In(loc)
		day := today.AddDate(0, 0, d.activity.days(today))
		starts := time.Date(day.Year(), day.Month(), day.Day(), d.activity.hour, d.activity.minute, 0, 0, loc)
		a := d.activity
		if _, err := w.PutActivity(ctx, lookup.Activity{
			ID: a.id, MemberID: d.member.ID, Kind: a.kind, Summary: a.summary, Place: a.place,
			StartsAt: starts, EndsAt: starts.Add(time.Duration(a.hours) * time.Hour),
			Status: "confirmed", Reference: a.reference,
		}); err != nil {
			return fmt.Errorf("seed activity %s/%s: %w", d.member.ID, a.id, err)
		}
	}
	return nil
}

// The demo member with a PIN, for trying step-up verification (make call).
const (
	DemoPINMember = "1001"
	DemoPIN       = "2580"
)

// DemoMembers is how many members SeedDemo writes.
func DemoMembers() int { return len(demoMembers) }
