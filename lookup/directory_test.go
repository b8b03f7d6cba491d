package lookup

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/errs"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := newPool(t)
	for range 2 {
		if err := Migrate(ctxT(t), pool); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemberCRUD(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := newDirectory(t)

	in := dana()
	in.Phones = []string{"(404) 555-0123", "+44 20 7946 0958", "404.555.0123"} // one duplicate
	in.FirstName = "  Dana "
	in.Language = "en-us"
	created := mustPutMember(t, dir, in)
	want := Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond", Language: "en-US",
		TimeZone: "America/New_York", Phones: []string{"+14045550123", "+442079460958"}}
	if created.CreatedAt.IsZero() || !created.CreatedAt.Equal(created.UpdatedAt) {
		t.Fatalf("created_at %s, updated_at %s", created.CreatedAt, created.UpdatedAt)
	}
	if got := withoutTimes(created); !reflect.DeepEqual(got, want) {
		t.Fatalf("PutMember = %+v; want %+v", got, want)
	}
	got, err := dir.GetMember(ctx, "1001")
	if err != nil || !reflect.DeepEqual(got, created) {
		t.Fatalf("GetMember = %+v, %v; want %+v", got, err, created)
	}

	// Replace: profile and the whole set of phones; created_at stays.
	time.Sleep(2 * time.Millisecond) // updated_at must move
	replaced := mustPutMember(t, dir, Member{ID: "1001", FirstName: "Danielle", Phones: []string{"+14045550124"}})
	if !replaced.CreatedAt.Equal(created.CreatedAt) || !replaced.UpdatedAt.After(created.UpdatedAt) {
		t.Fatalf("replace: created_at %s → %s, updated_at %s → %s", created.CreatedAt, replaced.CreatedAt,
			created.UpdatedAt, replaced.UpdatedAt)
	}
	want = Member{ID: "1001", FirstName: "Danielle", Language: DefaultLanguage, TimeZone: DefaultTimeZone,
		Phones: []string{"+14045550124"}}
	if got := withoutTimes(replaced); !reflect.DeepEqual(got, want) {
		t.Fatalf("replaced = %+v; want %+v", got, want)
	}
	if phones, err := dir.PhonesOf(ctx, "1001"); err != nil || !reflect.DeepEqual(phones, []string{"+14045550124"}) {
		t.Fatalf("PhonesOf = %v, %v", phones, err)
	}
	if c, err := dir.Resolve(ctx, "+14045550123", now); err != nil || len(c.Members) != 0 {
		t.Fatalf("the old number still resolves: %+v, %v", c, err)
	}

	if err := dir.DeleteMember(ctx, "1001"); err != nil {
		t.Fatal(err)
	}
	if _, err := dir.GetMember(ctx, "1001"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("GetMember after delete = %v; want errs.ErrNotFound", err)
	}
	if err := dir.DeleteMember(ctx, "1001"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("second DeleteMember = %v; want errs.ErrNotFound", err)
	}
	if phones, err := dir.PhonesOf(ctx, "1001"); err != nil || len(phones) != 0 {
		t.Fatalf("phones outlived their member: %v, %v", phones, err)
	}
}

func withoutTimes(m Member) Member {
	m.CreatedAt, m.UpdatedAt = time.Time{}, time.Time{}
	return m
}

func TestPutMemberValidation(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	for _, tc := range []struct {
		name   string
		edit   func(*Member)
		field  string
		substr string
	}{
		{"id missing", func(m *Member) { m.ID = " " }, "id", "required"},
		{"id with spaces", func(m *Member) { m.ID = "10 01" }, "id", ""},
		{"id too long", func(m *Member) { m.ID = strings.Repeat("1", 65) }, "id", ""},
		{"first name missing", func(m *Member) { m.FirstName = "" }, "first_name", "required"},
		{"first name blank", func(m *Member) { m.FirstName = " \t" }, "first_name", "required"},
		{"first name too long", func(m *Member) { m.FirstName = strings.Repeat("a", 101) }, "first_name", "100"},
		{"first name control character", func(m *Member) { m.FirstName = "Da\x00na" }, "first_name", "control"},
		{"first name invalid utf-8", func(m *Member) { m.FirstName = "Da\xffna" }, "first_name", "UTF-8"},
		{"last name too long", func(m *Member) { m.LastName = strings.Repeat("a", 101) }, "last_name", ""},
		{"tier too long", func(m *Member) { m.Tier = strings.Repeat("a", 33) }, "tier", ""},
		{"no phones", func(m *Member) { m.Phones = nil }, "phones", "at least one"},
		{"too many phones", func(m *Member) { m.Phones = make([]string, 21) }, "phones", "at most"},
		{"second phone invalid", func(m *Member) { m.Phones = []string{"+14045550123", "anonymous"} }, "phones[1]", ""},
		{"first phone withheld", func(m *Member) { m.Phones = []string{"+266696687"} }, "phones[0]", ""},
		{"phone sip uri", func(m *Member) { m.Phones = []string{"+14045550123", "x", "sip:a@b"} }, "phones[1]", ""},
		{"language not bcp 47", func(m *Member) { m.Language = "english" }, "language", ""},
		{"language unknown", func(m *Member) { m.Language = "xx-YY" }, "language", ""},
		{"language private use only", func(m *Member) { m.Language = "x-foo" }, "language", ""},
		{"time zone unknown", func(m *Member) { m.TimeZone = "Mars/Olympus" }, "time_zone", ""},
		{"time zone local", func(m *Member) { m.TimeZone = "Local" }, "time_zone", ""},
		{"time zone lowercase", func(m *Member) { m.TimeZone = "america/new_york" }, "time_zone", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dana()
			tc.edit(&m)
			_, err := dir.PutMember(ctxT(t), m)
			var fe *errs.Error
			if !errors.As(err, &fe) || !errors.Is(err, errs.ErrInvalid) {
				t.Fatalf("PutMember = %v; want a *errs.Error wrapping errs.ErrInvalid", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Message, tc.substr) {
				t.Fatalf("field error = %q: %q; want field %q, message containing %q", fe.Field, fe.Message, tc.field, tc.substr)
			}
		})
	}
	if _, err := dir.GetMember(ctxT(t), "1001"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("an invalid write stored something: %v", err)
	}
}

func TestPutMemberAcceptsAndNormalizes(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	for _, tc := range []struct {
		name string
		edit func(*Member)
		want func(Member) bool
	}{
		{"language canonical", func(m *Member) { m.Language = "fr_ca" }, func(m Member) bool { return m.Language == "fr-CA" }},
		{"language default", func(m *Member) { m.Language = "" }, func(m Member) bool { return m.Language == "en-US" }},
		{"time zone default", func(m *Member) { m.TimeZone = "" }, func(m Member) bool { return m.TimeZone == "UTC" }},
		{"time zone kept", func(m *Member) { m.TimeZone = "Asia/Kolkata" }, func(m Member) bool { return m.TimeZone == "Asia/Kolkata" }},
		{"phones sorted and unique", func(m *Member) { m.Phones = []string{"+442079460958", "+14045550123", "+1 404 555 0123"} },
			func(m Member) bool { return reflect.DeepEqual(m.Phones, []string{"+14045550123", "+442079460958"}) }},
		{"unicode names", func(m *Member) { m.FirstName, m.LastName = "Lucía", "Fernández" },
			func(m Member) bool { return m.FirstName == "Lucía" && m.LastName == "Fernández" }},
		{"timestamps ignored on input", func(m *Member) { m.CreatedAt = time.Unix(0, 0) },
			func(m Member) bool { return m.CreatedAt.After(time.Unix(0, 0)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := dana()
			tc.edit(&m)
			got := mustPutMember(t, dir, m)
			if !tc.want(got) {
				t.Fatalf("PutMember = %+v", got)
			}
			if back, err := dir.GetMember(ctxT(t), m.ID); err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("GetMember = %+v, %v; want what PutMember returned, %+v", back, err, got)
			}
		})
	}
}

func TestActivityCRUD(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := newDirectory(t)
	mustPutMember(t, dir, dana())

	in := trip("1001", "t1", now.Add(2*d).In(est), now.Add(2*d+8*h).In(ist))
	in.StartsAt = in.StartsAt.Add(123 * time.Nanosecond) // below PostgreSQL's precision
	got := mustPutActivity(t, dir, in)
	if got.Status != StatusConfirmed {
		t.Errorf("status = %q; want the default %q", got.Status, StatusConfirmed)
	}
	if !sameInstantAndOffset(got.StartsAt, now.Add(2*d).In(est)) || !sameInstantAndOffset(got.EndsAt, in.EndsAt) {
		t.Errorf("stored times %s – %s; want %s – %s", got.StartsAt, got.EndsAt, now.Add(2*d).In(est), in.EndsAt)
	}

	cm, err := dir.ResolveMember(ctx, "1001", now)
	if err != nil {
		t.Fatal(err)
	}
	want := got
	want.Relation = RelationUpcoming
	if cm.Activity == nil || !reflect.DeepEqual(*cm.Activity, want) {
		t.Fatalf("ResolveMember activity = %+v; want %+v", cm.Activity, want)
	}

	// Replace it, cancelled (US spelling accepted): no longer offered.
	in.Status = "Canceled"
	if got := mustPutActivity(t, dir, in); got.Status != StatusCancelled {
		t.Fatalf("status = %q; want %q", got.Status, StatusCancelled)
	}
	if cm, err := dir.ResolveMember(ctx, "1001", now); err != nil || cm.Activity != nil {
		t.Fatalf("a cancelled activity is offered: %+v, %v", cm.Activity, err)
	}

	if err := dir.DeleteActivity(ctx, "1001", "t1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, member, activity string }{
		{"activity gone", "1001", "t1"},
		{"unknown member", "nobody", "t1"},
	} {
		if err := dir.DeleteActivity(ctx, tc.member, tc.activity); !errors.Is(err, errs.ErrNotFound) {
			t.Errorf("%s: DeleteActivity = %v; want errs.ErrNotFound", tc.name, err)
		}
	}
	if _, err := dir.PutActivity(ctx, trip("nobody", "t1", now, now)); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("PutActivity for an unknown member = %v; want errs.ErrNotFound", err)
	}
	if _, err := dir.ResolveMember(ctx, "nobody", now); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("ResolveMember(unknown) = %v; want errs.ErrNotFound", err)
	}
}

func TestPutActivityValidation(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	mustPutMember(t, dir, dana())
	for _, tc := range []struct {
		name  string
		edit  func(*Activity)
		field string
	}{
		{"member id missing", func(a *Activity) { a.MemberID = "" }, "member_id"},
		{"id missing", func(a *Activity) { a.ID = "" }, "id"},
		{"id invalid", func(a *Activity) { a.ID = "a/b" }, "id"},
		{"kind missing", func(a *Activity) { a.Kind = "" }, "kind"},
		{"kind not a word", func(a *Activity) { a.Kind = "Trip!" }, "kind"},
		{"starts_at missing", func(a *Activity) { a.StartsAt = time.Time{} }, "starts_at"},
		{"starts_at out of range", func(a *Activity) { a.StartsAt = time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC) }, "starts_at"},
		{"ends before start", func(a *Activity) { a.EndsAt = a.StartsAt.Add(-time.Second) }, "ends_at"},
		{"status not a word", func(a *Activity) { a.Status = "on hold!" }, "status"},
		{"summary too long", func(a *Activity) { a.Summary = strings.Repeat("s", 201) }, "summary"},
		{"place too long", func(a *Activity) { a.Place = strings.Repeat("p", 101) }, "place"},
		{"reference too long", func(a *Activity) { a.Reference = strings.Repeat("r", 65) }, "reference"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := trip("1001", "t1", now.Add(d), now.Add(2*d))
			tc.edit(&a)
			_, err := dir.PutActivity(ctxT(t), a)
			var fe *errs.Error
			if !errors.As(err, &fe) || !errors.Is(err, errs.ErrInvalid) || fe.Field != tc.field {
				t.Fatalf("PutActivity = %v; want a *errs.Error for %q", err, tc.field)
			}
		})
	}
}

func TestPutActivityDefaults(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	mustPutMember(t, dir, dana())
	a := trip("1001", "moment", now.Add(d).In(ist), time.Time{})
	got := mustPutActivity(t, dir, a)
	if !sameInstantAndOffset(got.EndsAt, got.StartsAt) {
		t.Fatalf("ends_at = %s; want starts_at %s", got.EndsAt, got.StartsAt)
	}
}

func TestResolveHousehold(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := newDirectory(t)
	shared := "+14045550150"
	// Written out of order: answers come by id.
	mustPutMember(t, dir, Member{ID: "1006", FirstName: "Alex", LastName: "Ortiz", Phones: []string{shared}})
	mustPutMember(t, dir, Member{ID: "1005", FirstName: "Sam", LastName: "Ortiz", Phones: []string{shared, "+14045550151"}})
	mustPutMember(t, dir, Member{ID: "1001", FirstName: "Dana", Phones: []string{"+14045550123"}})
	mustPutActivity(t, dir, trip("1005", "sam-trip", now.Add(d), now.Add(2*d)))
	mustPutActivity(t, dir, trip("1006", "alex-trip", now.Add(-h), now.Add(h)))

	c, err := dir.Resolve(ctx, "(404) 555-0150", now)
	if err != nil {
		t.Fatal(err)
	}
	if c.Phone != shared || len(c.Members) != 2 || c.Members[0].ID != "1005" || c.Members[1].ID != "1006" {
		t.Fatalf("Resolve(shared) = %+v; want members 1005, 1006 on %s", c, shared)
	}
	if a := c.Members[0].Activity; a == nil || a.ID != "sam-trip" || a.Relation != RelationUpcoming {
		t.Errorf("1005's activity = %+v", a)
	}
	if a := c.Members[1].Activity; a == nil || a.ID != "alex-trip" || a.Relation != RelationCurrent {
		t.Errorf("1006's activity = %+v", a)
	}
	if !reflect.DeepEqual(c.Members[0].Phones, []string{"+14045550150", "+14045550151"}) {
		t.Errorf("1005's phones = %v; want all of them", c.Members[0].Phones)
	}
	// Sam's other number finds Sam alone.
	if c, err := dir.Resolve(ctx, "+14045550151", now); err != nil || len(c.Members) != 1 || c.Members[0].ID != "1005" {
		t.Fatalf("Resolve(+14045550151) = %+v, %v", c, err)
	}
}

func TestResolveOrdersByIDBytes(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	phone := "+14045550160"
	ids := []string{"b", "B", "a-1", "a.1", "a_1", "A", "10", "9"}
	for _, id := range ids {
		mustPutMember(t, dir, Member{ID: id, FirstName: "X", Phones: []string{phone}})
	}
	c, err := dir.Resolve(ctxT(t), phone, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range c.Members {
		got = append(got, m.ID)
	}
	want := []string{"10", "9", "A", "B", "a-1", "a.1", "a_1", "b"} // Go's string order
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order = %v; want %v", got, want)
	}
}

func TestResolveUnknownAndInvalid(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	c, err := dir.Resolve(ctxT(t), "+14045550199", now)
	if err != nil || c.Phone != "+14045550199" || c.Members == nil || len(c.Members) != 0 {
		t.Fatalf("Resolve(unknown) = %+v, %v; want no members and no error", c, err)
	}
	for _, raw := range []string{"anonymous", "+266696687", ""} {
		if _, err := dir.Resolve(ctxT(t), raw, now); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("Resolve(%q) = %v; want errs.ErrInvalid", raw, err)
		}
	}
}

func TestResolveKeepsOffsets(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	mustPutMember(t, dir, dana())
	starts := time.Date(2026, 3, 12, 9, 30, 0, 0, est) // written in New York
	ends := time.Date(2026, 3, 13, 7, 15, 0, 0, ist)   // landing in India
	mustPutActivity(t, dir, trip("1001", "t1", starts, ends))
	// A process in another zone reads them back as they were written.
	c, err := dir.Resolve(ctxT(t), "+14045550123", now)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Members[0].Activity
	if a == nil || !sameInstantAndOffset(a.StartsAt, starts) || !sameInstantAndOffset(a.EndsAt, ends) {
		t.Fatalf("activity = %+v; want %s – %s", a, starts, ends)
	}
	if got := a.StartsAt.Format("15:04 -07:00"); got != "09:30 -05:00" {
		t.Fatalf("starts_at formats as %q", got)
	}
}

func TestResolveRelevance(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	mustPutMember(t, dir, dana())
	for _, a := range []Activity{
		trip("1001", "long-ago", now.Add(-30*d), now.Add(-29*d)),
		trip("1001", "last-week", now.Add(-8*d), now.Add(-7*d)),
		trip("1001", "yesterday", now.Add(-2*d), now.Add(-d)),
		trip("1001", "next-week", now.Add(7*d), now.Add(8*d)),
		trip("1001", "next-month", now.Add(30*d), now.Add(31*d)),
	} {
		mustPutActivity(t, dir, a)
	}
	cancelled := trip("1001", "tomorrow-cancelled", now.Add(d), now.Add(2*d))
	cancelled.Status = StatusCancelled
	mustPutActivity(t, dir, cancelled)

	for _, tc := range []struct {
		name     string
		at       time.Time
		wantID   string
		wantRel  string
		wantCand []string
	}{
		{"upcoming beats recent", now, "next-week", RelationUpcoming, []string{"yesterday", "next-week"}},
		{"during the trip", now.Add(7*d + h), "next-week", RelationCurrent, []string{"next-week"}},
		{"recent after it", now.Add(9 * d), "next-week", RelationRecent, []string{"next-week"}},
		{"nothing in the windows", now.Add(13 * d), "", "", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dir.Resolve(ctxT(t), "+14045550123", tc.at)
			if err != nil {
				t.Fatal(err)
			}
			a := c.Members[0].Activity
			switch {
			case tc.wantID == "" && a != nil:
				t.Fatalf("activity = %s; want none", a.ID)
			case tc.wantID != "" && (a == nil || a.ID != tc.wantID || a.Relation != tc.wantRel):
				t.Fatalf("activity = %+v; want %s (%s)", a, tc.wantID, tc.wantRel)
			}
			e, err := dir.Candidates(ctxT(t), "+14045550123", tc.at)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, a := range e.Members[0].Activities {
				got = append(got, a.ID)
			}
			if !reflect.DeepEqual(got, tc.wantCand) {
				t.Fatalf("candidates = %v; want %v", got, tc.wantCand)
			}
		})
	}
}

// The candidate query must be the index's: a guard against a rewrite that scans.
func TestCandidatesUseTheIndexes(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	conn, err := newPool(t).Acquire(ctx) // one session for the SET and the EXPLAIN
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	// The tables are empty: tell the planner that scanning them is not an option.
	if _, err := conn.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := conn.Query(ctx, "EXPLAIN "+qCandidatesByPhone, "+14045550123", now, now.Add(d))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	for _, idx := range []string{"member_phones_pkey", "activities_relevant"} {
		if !strings.Contains(plan.String(), idx) {
			t.Errorf("plan does not use %s:\n%s", idx, plan.String())
		}
	}
}

func TestWritesReportTouchedPhones(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	dir := newDirectory(t)
	_, touched, err := dir.putMember(ctx, Member{ID: "1", FirstName: "A", Phones: []string{"+14045550101", "+14045550102"}})
	if err != nil || !sameSet(touched, "+14045550101", "+14045550102") {
		t.Fatalf("create touched %v, %v", touched, err)
	}
	_, touched, err = dir.putMember(ctx, Member{ID: "1", FirstName: "A", Phones: []string{"+14045550102", "+14045550103"}})
	if err != nil || !sameSet(touched, "+14045550101", "+14045550102", "+14045550103") {
		t.Fatalf("replace touched %v, %v; want old ∪ new", touched, err)
	}
	_, touched, err = dir.putActivity(ctx, trip("1", "t", now, now))
	if err != nil || !sameSet(touched, "+14045550102", "+14045550103") {
		t.Fatalf("put activity touched %v, %v", touched, err)
	}
	touched, err = dir.deleteActivity(ctx, "1", "t")
	if err != nil || !sameSet(touched, "+14045550102", "+14045550103") {
		t.Fatalf("delete activity touched %v, %v", touched, err)
	}
	touched, err = dir.deleteMember(ctx, "1")
	if err != nil || !sameSet(touched, "+14045550102", "+14045550103") {
		t.Fatalf("delete member touched %v, %v", touched, err)
	}
}

func sameSet(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	m := map[string]bool{}
	for _, s := range got {
		m[s] = true
	}
	for _, s := range want {
		if !m[s] {
			return false
		}
	}
	return true
}

func TestDirectoryCancelledContext(t *testing.T) {
	t.Parallel()
	dir := newDirectory(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dir.Resolve(ctx, "+14045550123", now); !errors.Is(err, context.Canceled) {
		t.Fatalf("Resolve with a cancelled context = %v", err)
	}
}

func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	pool := newPool(t)
	// Every migration down, newest first, then every one up again.
	read := func(pattern string, reverse bool) string {
		names, err := fs.Glob(Migrations, pattern)
		if err != nil {
			t.Fatal(err)
		}
		if reverse {
			slices.Reverse(names)
		}
		var b strings.Builder
		for _, n := range names {
			sql, err := fs.ReadFile(Migrations, n)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(sql)
			b.WriteString("\n")
		}
		return b.String()
	}
	down, up := read("*.down.sql", true), read("*.up.sql", false)
	for _, step := range []struct {
		name, sql string
		want      bool // the tables exist after
	}{{"down", string(down), false}, {"up", string(up), true}} {
		if _, err := pool.Exec(ctx, step.sql); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_tables
			WHERE tablename IN ('members', 'member_phones', 'activities')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if (n == 3) != step.want || (n == 0) == step.want {
			t.Fatalf("after %s: %d of the 3 tables", step.name, n)
		}
	}
}
