// Package memberdata generates member data sets in the import format
// (lookup.ImportRecord): `memberline gen-members` writes them, and the load benchmark
// imports and calls them.
package memberdata

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/memberline/memberline/lookup"
)

// Members describes a generated data set: N members, 1.5 numbers and 2 activities each.
type Members struct {
	N   int
	Now time.Time // activities are placed around it
}

// Numbers is how many distinct numbers the data set has.
func (m Members) Numbers() int { return m.N + m.N/2 }

var areaCodes = [...]string{"404", "212", "312", "415", "617", "206", "305", "713", "214", "702",
	"303", "503", "612", "615", "704", "801", "813", "816", "919", "972"}

// Phone is the k-th number of the data set (0 <= k < Numbers() <= 150,000,000), in
// E.164: spread over real area codes and exchanges, so they are valid North American
// numbers.
func Phone(k int) string {
	ac := areaCodes[k%len(areaCodes)]
	k /= len(areaCodes)
	ex := exchanges[k%len(exchanges)]
	line := k / len(exchanges) % 10000
	return fmt.Sprintf("+1%s%03d%04d", ac, ex, line)
}

// exchanges are 200-998 without the N11 service codes and 555; 999 is UnknownPhone's.
var exchanges = func() []int {
	var out []int
	for ex := 200; ex < 999; ex++ {
		if ex%100 != 11 && ex != 555 {
			out = append(out, ex)
		}
	}
	return out
}()

// UnknownPhone is a valid number that no member has.
func UnknownPhone(k int) string {
	return fmt.Sprintf("+1%s999%04d", areaCodes[k%len(areaCodes)], k/len(areaCodes)%10000)
}

// MemberID is the id of the i-th member.
func MemberID(i int) string { return fmt.Sprintf("M%07d", i) }

var (
	firstNames = [...]string{"Dana", "Marcus", "Lucía", "Tom", "Sam", "Alex", "Rosa", "Priya", "Wei", "Omar", "Grace", "Noah"}
	lastNames  = [...]string{"Whitfield", "Lee", "Fernández", "Becker", "Ortiz", "Diaz", "Patel", "Chen", "Haddad", "Kim"}
	tiers      = [...]string{"Member", "Silver", "Gold", "Platinum", "Diamond"}
	zones      = [...]string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"}
	places     = [...]string{"Atlanta", "London", "Paris", "Denver", "Boston", "Madrid", "Tokyo", "Lima"}
)

// Write writes the data set as NDJSON, one member a line: member i has number i and,
// for even i, number N+i/2 too; one trip near Now (from 3 days before to 14 days after)
// and one stay further out.
func (m Members) Write(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	base := m.Now.Truncate(time.Hour)
	for i := 0; i < m.N; i++ {
		r := lookup.ImportRecord{Member: lookup.Member{
			ID:        MemberID(i),
			FirstName: firstNames[i%len(firstNames)],
			LastName:  lastNames[i/len(firstNames)%len(lastNames)],
			Tier:      tiers[i%len(tiers)],
			Language:  "en-US",
			TimeZone:  zones[i%len(zones)],
			Phones:    []string{Phone(i)},
		}}
		if i%2 == 0 {
			r.Phones = append(r.Phones, Phone(m.N+i/2))
		}
		place := places[i%len(places)]
		start := base.Add(time.Duration(i%408-72) * time.Hour) // -3d .. +14d
		r.Activities = []lookup.Activity{{
			ID: "t1", Kind: "trip", Summary: "Flight to " + place, Place: place,
			StartsAt: start, EndsAt: start.Add(3 * time.Hour), Status: "confirmed",
			Reference: fmt.Sprintf("R%06d", i%1000000),
		}, {
			ID: "s1", Kind: "stay", Summary: "Hotel in " + place, Place: place,
			StartsAt: start.Add(40 * 24 * time.Hour), EndsAt: start.Add(43 * 24 * time.Hour), Status: "confirmed",
			Reference: fmt.Sprintf("H%06d", i%1000000),
		}}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return bw.Flush()
}
