package lookup

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func act(id string, startsIn, endsIn time.Duration, status string) Activity {
	return Activity{ID: id, MemberID: "m", Kind: "trip", StartsAt: now.Add(startsIn), EndsAt: now.Add(endsIn), Status: status}
}

const (
	h = time.Hour
	d = 24 * time.Hour
)

func TestSelect(t *testing.T) {
	w := Windows{Upcoming: 14 * d, Recent: 3 * d}
	for _, tc := range []struct {
		name       string
		activities []Activity
		wantID     string // "" for none
		wantRel    string
	}{
		{"none", nil, "", ""},
		{"upcoming soonest wins", []Activity{
			act("later", 5*d, 6*d, ""), act("soon", 2*d, 3*d, ""), act("latest", 10*d, 11*d, ""),
		}, "soon", RelationUpcoming},
		{"current beats upcoming", []Activity{
			act("soon", h, 2*h, ""), act("now", -h, h, ""),
		}, "now", RelationCurrent},
		{"current beats recent", []Activity{
			act("just-ended", -2*h, -time.Minute, ""), act("now", -d, d, ""),
		}, "now", RelationCurrent},
		{"upcoming beats recent", []Activity{
			act("ended", -2*d, -d, ""), act("next", 13*d, 14*d, ""),
		}, "next", RelationUpcoming},
		{"recent latest wins", []Activity{
			act("older", -3*d+h, -2*d, ""), act("newer", -2*d, -h, ""),
		}, "newer", RelationRecent},
		{"of two current, the latest started (a stay within a trip)", []Activity{
			act("trip", -3*d, 3*d, ""), act("stay", -d, d, ""),
		}, "stay", RelationCurrent},
		{"cancelled ignored", []Activity{
			act("cancelled-now", -h, h, StatusCancelled), act("next", d, 2*d, StatusConfirmed),
		}, "next", RelationUpcoming},
		{"only cancelled", []Activity{act("x", h, 2*h, StatusCancelled)}, "", ""},
		{"beyond the upcoming window", []Activity{act("far", 14*d+time.Second, 15*d, "")}, "", ""},
		{"at the edge of the upcoming window", []Activity{act("edge", 14*d, 15*d, "")}, "edge", RelationUpcoming},
		{"before the recent window", []Activity{act("old", -10*d, -3*d-time.Second, "")}, "", ""},
		{"at the edge of the recent window", []Activity{act("edge", -4*d, -3*d, "")}, "edge", RelationRecent},
		{"starting right now is current", []Activity{act("now", 0, h, "")}, "now", RelationCurrent},
		{"ending right now is recent", []Activity{act("ended", -h, 0, "")}, "ended", RelationRecent},
		{"a moment in the future is upcoming", []Activity{act("moment", h, h, "")}, "moment", RelationUpcoming},
		{"a moment in the past is recent", []Activity{act("moment", -h, -h, "")}, "moment", RelationRecent},
		{"no end means a moment", []Activity{{ID: "open", StartsAt: now.Add(-h)}}, "open", RelationRecent},
		{"tie on start goes to the smaller id", []Activity{
			act("b", d, 2*d, ""), act("a", d, 3*d, ""),
		}, "a", RelationUpcoming},
		{"other statuses count", []Activity{act("wait", d, 2*d, "waitlisted")}, "wait", RelationUpcoming},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.activities)
			got := Select(tc.activities, now, w)
			if fmt.Sprint(tc.activities) != before {
				t.Fatal("Select changed its input")
			}
			if tc.wantID == "" {
				if got != nil {
					t.Fatalf("Select = %s (%s); want none", got.ID, got.Relation)
				}
				return
			}
			if got == nil || got.ID != tc.wantID || got.Relation != tc.wantRel {
				t.Fatalf("Select = %+v; want %s (%s)", got, tc.wantID, tc.wantRel)
			}
		})
	}
}

func TestSelectZeroWindowsMeanDefaults(t *testing.T) {
	acts := []Activity{act("in 10 days", 10*d, 11*d, "")}
	if got := Select(acts, now, Windows{}); got == nil || got.ID != "in 10 days" {
		t.Fatalf("Select with zero windows = %+v; want the default 14-day window to take it", got)
	}
}

func TestEntryCallerPicksAtReadTime(t *testing.T) {
	e := Entry{
		Phone: "+14045550123",
		From:  now.Add(-candidateSkew),
		Until: now.Add(CandidateHorizon),
		Members: []EntryMember{
			{Member: Member{ID: "a", FirstName: "A"}, Activities: []Activity{act("trip", 2*h, 5*h, "")}},
			{Member: Member{ID: "b", FirstName: "B"}, Activities: []Activity{}},
		},
	}
	for _, tc := range []struct {
		name    string
		at      time.Time
		wantRel string
	}{
		{"before", now, RelationUpcoming},
		{"during", now.Add(3 * h), RelationCurrent},
		{"after", now.Add(6 * h), RelationRecent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.Caller(tc.at, DefaultWindows)
			if c.Phone != e.Phone || len(c.Members) != 2 || c.Members[0].ID != "a" || c.Members[1].ID != "b" {
				t.Fatalf("Caller = %+v", c)
			}
			if a := c.Members[0].Activity; a == nil || a.Relation != tc.wantRel {
				t.Fatalf("activity = %+v; want relation %s", a, tc.wantRel)
			}
			if c.Members[1].Activity != nil {
				t.Fatalf("member without activities got %+v", c.Members[1].Activity)
			}
			if !e.Covers(tc.at) {
				t.Fatalf("entry does not cover %s", tc.at)
			}
		})
	}
	if e.Covers(now.Add(CandidateHorizon + time.Second)) {
		t.Error("entry covers past its horizon")
	}
	if got := (Entry{}).Caller(now, DefaultWindows); got.Members == nil {
		t.Error("an unknown number's Caller has nil Members; want an empty list (JSON [])")
	}
}

func TestEntryJSONKeepsOffsets(t *testing.T) {
	e := Entry{Phone: "+14045550123", Members: []EntryMember{{
		Member:     Member{ID: "a", CreatedAt: now},
		Activities: []Activity{{ID: "x", StartsAt: now.In(est), EndsAt: now.Add(h).In(ist)}},
	}}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	back.keepOffsets()
	a := back.Members[0].Activities[0]
	if !sameInstantAndOffset(a.StartsAt, now.In(est)) || !sameInstantAndOffset(a.EndsAt, now.Add(h).In(ist)) {
		t.Fatalf("offsets lost: %s, %s", a.StartsAt, a.EndsAt)
	}
}

func BenchmarkSelect(b *testing.B) {
	acts := make([]Activity, 0, 12)
	for i := range 12 {
		start := time.Duration(i-4) * 2 * d
		acts = append(acts, act(fmt.Sprint("a", i), start, start+d, ""))
	}
	e := Entry{Members: []EntryMember{
		{Member: Member{ID: "a"}, Activities: acts},
		{Member: Member{ID: "b"}, Activities: acts[:3]},
	}}
	b.ReportAllocs()
	for b.Loop() {
		c := e.Caller(now, DefaultWindows)
		if c.Members[0].Activity == nil {
			b.Fatal("no activity")
		}
	}
}
