package lookup

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func codecEntries() map[string]Entry {
	ny := time.FixedZone("", -5*3600)
	kolkata := time.FixedZone("", 5*3600+1800)
	starts := time.Date(2026, 11, 27, 14, 5, 0, 0, ny)
	return map[string]Entry{
		"unknown": {Phone: "+12125550000", Members: []EntryMember{},
			From: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		"household": {Phone: "+16175550100", Members: []EntryMember{
			{Member: Member{ID: "2001", FirstName: "Alex", LastName: "Ortiz", Tier: "Gold", Language: "es-US",
				TimeZone: "America/Chicago", Phones: []string{"+16175550100", "+16175550101"},
				CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), UpdatedAt: time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)},
				Activities: []Activity{
					{ID: "t1", MemberID: "2001", Kind: "trip", Summary: "Flight DL1234 to Atlanta — Fenêtre ✈", Place: "Atlanta",
						StartsAt: starts, EndsAt: starts.Add(2 * time.Hour), Status: "confirmed", Reference: "HX7Q2P"},
					{ID: "s1", MemberID: "2001", Kind: "stay", Place: "Pune",
						StartsAt: time.Date(2026, 12, 1, 15, 0, 0, 0, kolkata), EndsAt: time.Date(2026, 12, 3, 11, 0, 0, 0, kolkata),
						Status: "confirmed", Relation: RelationUpcoming},
					{ID: "u1", MemberID: "2001", Kind: "trip", StartsAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
						EndsAt: time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC), Status: "confirmed"},
				}},
			{Member: Member{ID: "2002", FirstName: "Sam", Phones: []string{"+16175550100"}}, Activities: []Activity{}},
		}, From: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 26, 21, 30, 0, 0, time.UTC)},
	}
}

// An entry comes back exactly: strings, times to the nanosecond, and each activity
// time in its own offset, as the directory gives them.
func TestEntryCodecRoundTrip(t *testing.T) {
	fresh := time.Date(2026, 11, 26, 10, 5, 0, 123, time.UTC)
	for name, e := range codecEntries() {
		t.Run(name, func(t *testing.T) {
			raw := string(appendEntry(nil, fresh, e))
			gotFresh, got, err := decodeEntry(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !gotFresh.Equal(fresh) {
				t.Errorf("fresh until %v, want %v", gotFresh, fresh)
			}
			if !reflect.DeepEqual(got, e) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, e)
			}
			for i, m := range got.Members {
				for j, a := range m.Activities {
					want := e.Members[i].Activities[j]
					if a.StartsAt.Format(time.RFC3339Nano) != want.StartsAt.Format(time.RFC3339Nano) ||
						a.EndsAt.Format(time.RFC3339Nano) != want.EndsAt.Format(time.RFC3339Nano) {
						t.Errorf("activity %s: %v–%v, want %v–%v", a.ID, a.StartsAt, a.EndsAt, want.StartsAt, want.EndsAt)
					}
				}
			}
			// The JSON of earlier versions decodes to the same entry.
			old, err := json.Marshal(struct {
				FreshUntil time.Time `json:"fresh_until"`
				Entry
			}{fresh, e})
			if err != nil {
				t.Fatal(err)
			}
			oldFresh, fromJSON, err := decodeEntry(string(old))
			if err != nil || !oldFresh.Equal(fresh) {
				t.Fatalf("JSON: %v, fresh until %v", err, oldFresh)
			}
			if !reflect.DeepEqual(fromJSON.Caller(fresh, DefaultWindows), got.Caller(fresh, DefaultWindows)) {
				t.Errorf("JSON answers\n%+v\nbinary answers\n%+v", fromJSON.Caller(fresh, DefaultWindows), got.Caller(fresh, DefaultWindows))
			}
		})
	}
}

func TestEntryCodecRefusesMalformed(t *testing.T) {
	good := string(appendEntry(nil, time.Unix(1, 0), codecEntries()["household"]))
	for _, tc := range []struct{ name, raw string }{
		{"empty", ""},
		{"tombstone", tombstone},
		{"unknown version", "\x02" + good[1:]},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", good + "x"},
		{"huge count", "\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\x0f"},
		{"varint overflow", "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"},
		{"bad JSON", "{not json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decodeEntry(tc.raw); err == nil {
				t.Fatalf("%q decoded", tc.raw)
			}
		})
	}
}

// A value read from Redis is outside input: whatever it holds, decoding never panics,
// and what decodes encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range codecEntries() {
		f.Add(string(appendEntry(nil, time.Unix(1700000000, 5), e)))
	}
	f.Add(tombstone)
	f.Add(`{"fresh_until":"2026-11-26T10:05:00Z","phone":"+1","members":[]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		fresh, e, err := decodeEntry(raw)
		if err != nil || raw == "" || raw[0] != entryV1 {
			return
		}
		if again := string(appendEntry(nil, fresh, e)); again != raw {
			t.Fatalf("decoded %q, encodes back to %q", raw, again)
		}
	})
}

func BenchmarkDecodeEntry(b *testing.B) {
	e := codecEntries()["household"]
	fresh := time.Unix(1700000000, 0)
	raw := string(appendEntry(nil, fresh, e))
	old, _ := json.Marshal(struct {
		FreshUntil time.Time `json:"fresh_until"`
		Entry
	}{fresh, e})
	for _, bc := range []struct{ name, raw string }{{"binary", raw}, {"json", string(old)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.raw)))
			for b.Loop() {
				if _, _, err := decodeEntry(bc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
