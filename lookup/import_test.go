package lookup

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/memberline/memberline/internal/errs"
)

const importLines = `{"id":"1001","first_name":"Dana","last_name":"Whitfield","tier":"Diamond","time_zone":"America/New_York","phones":["(404) 555-0123"],"activities":[{"id":"t1","kind":"trip","summary":"ATL to LHR","place":"London","starts_at":"2026-03-10T17:00:00-05:00","ends_at":"2026-03-11T07:00:00Z"}]}
{"id":"1002","first_name":"Marcus","phones":["+13125550142","+13125550143"],"activities":[]}

{"id":"1003","first_name":"Lucía","language":"es-US","phones":["+13055550177"]}
`

func TestImport(t *testing.T) {
	h := newCacheHarness(t, CacheOptions{})
	l := NewLocal(h.cache, LocalOptions{})
	t.Cleanup(l.Close)
	waitSubscribed(t, []*Local{l})
	st, err := Import(ctxT(t), h.pool, strings.NewReader(importLines), h.cache, ImportOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 4 || st.Members != 3 || st.Phones != 4 || st.Activities != 1 || st.Invalidated != 4 {
		t.Fatalf("stats %+v", st)
	}
	c, err := l.Resolve(ctxT(t), "+14045550123", now)
	if err != nil || len(c.Members) != 1 || c.Members[0].FirstName != "Dana" || c.Members[0].Activity == nil {
		t.Fatalf("after import: %+v, %v", c, err)
	}
	if c, _ := l.Resolve(ctxT(t), "+13125550143", now); len(c.Members) != 1 {
		t.Fatalf("Marcus's second number: %+v", c)
	}
	// The planner's statistics were refreshed for the imported tables.
	var analyzed int
	if err := h.pool.QueryRow(ctxT(t), `SELECT count(*) FROM pg_stat_user_tables
		WHERE relname IN ('members', 'member_phones', 'activities') AND last_analyze IS NOT NULL`).Scan(&analyzed); err != nil {
		t.Fatal(err)
	}
	if analyzed != 3 {
		t.Fatalf("%d of the 3 imported tables analyzed", analyzed)
	}

	// A second import replaces the member: new number, no activity. Both numbers'
	// cached answers go.
	again := `{"id":"1001","first_name":"Dee","phones":["+14045550999"]}` + "\n"
	if _, err := Import(ctxT(t), h.pool, strings.NewReader(again), h.cache, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if c, _ := l.Resolve(ctxT(t), "+14045550123", now); len(c.Members) != 0 {
		t.Fatalf("old number still answers %+v", c)
	}
	if c, _ := l.Resolve(ctxT(t), "+14045550999", now); len(c.Members) != 1 || c.Members[0].FirstName != "Dee" || c.Members[0].Activity != nil {
		t.Fatalf("new number: %+v", c)
	}
}

func TestImportRejectsBadLines(t *testing.T) {
	pool := newPool(t)
	for _, tc := range []struct {
		name, input, want string
	}{
		{"not json", `{"id":"1"` + "\n", "line 1"},
		{"invalid phone", `{"id":"1","first_name":"A","phones":["+1404555"]}` + "\n", "line 1"},
		{"bad activity", `{"id":"1","first_name":"A","phones":["+13125550142"]}` + "\n" + `{"id":"2","first_name":"B","phones":["+13125550142"],"activities":[{"id":"x","kind":"trip"}]}` + "\n", "line 2: activities[0].starts_at"},
		{"unknown field", `{"id":"1","first_name":"A","last_nmae":"B","phones":["+13125550142"]}` + "\n", `line 1: last_nmae: is not a field`},
		{"unknown activity field", `{"id":"1","first_name":"A","phones":["+13125550142"],"activities":[{"id":"x","kind":"trip","starts_at":"2026-03-10T17:00:00Z","plase":"Rome"}]}` + "\n", `plase: is not a field`},
		{"wrong type", `{"id":"1","first_name":"A","phones":"+13125550142"}` + "\n", "line 1: phones: must be a list"},
		{"two values", `{"id":"1","first_name":"A","phones":["+13125550142"]} {}` + "\n", "more than one JSON value"},
		{"repeated activity", `{"id":"1","first_name":"A","phones":["+13125550142"],"activities":[{"id":"x","kind":"trip","starts_at":"2026-03-10T17:00:00Z"},{"id":"x","kind":"trip","starts_at":"2026-03-10T17:00:00Z"}]}` + "\n", "activities[1].id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Import(ctxT(t), pool, strings.NewReader(tc.input), nil, ImportOptions{Strict: true})
			if err == nil || !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want errs.ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}

// TestImportInRegion: numbers without a country code are read in ImportOptions.Region, and
// a directory in that region finds them written the same way.
func TestImportInRegion(t *testing.T) {
	pool := newPool(t)
	line := `{"id":"GB1","first_name":"Imogen","phones":["020 7946 0018"]}` + "\n"
	if _, err := Import(ctxT(t), pool, strings.NewReader(line), nil, ImportOptions{Strict: true}); err == nil {
		t.Fatal("a British number without its country code was imported as a US one")
	}
	if _, err := Import(ctxT(t), pool, strings.NewReader(line), nil, ImportOptions{Region: "GB"}); err != nil {
		t.Fatal(err)
	}
	dir := NewDirectory(pool, DefaultWindows).InRegion("GB")
	for _, number := range []string{"+442079460018", "020 7946 0018"} {
		if c, err := dir.Resolve(ctxT(t), number, now); err != nil || len(c.Members) != 1 || c.Members[0].FirstName != "Imogen" {
			t.Errorf("Resolve(%q) in GB = %+v, %v", number, c, err)
		}
	}
	if _, err := NewDirectory(pool, DefaultWindows).Resolve(ctxT(t), "020 7946 0018", now); err == nil {
		t.Error("a US directory read 020 7946 0018 as a valid number")
	}
}

// A misspelt key refuses its whole line: the member keeps their last name and activities
// (the data loss this guards against), the other lines are imported, and the refused
// line is counted and told with its number and field.
func TestImportSkipsRefusedLinesWhole(t *testing.T) {
	pool := newPool(t)
	ctx := ctxT(t)
	if _, err := Import(ctx, pool, strings.NewReader(importLines), nil, ImportOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	input := `{"id":"1001","first_name":"Dana","last_nmae":"Smith","phones":["+14045550123"],"activites":[]}
{"id":"1002","first_name":"Marcus","last_name":"Lee","phones":["+13125550142"]}
{"id":"1003","first_name":"Lucía","phones":["not a number"]}
`
	var told []string
	st, err := Import(ctx, pool, strings.NewReader(input), nil, ImportOptions{OnReject: func(line int64, err error) {
		fe := errs.Of(err)
		told = append(told, fmt.Sprintf("%d %s", line, fe.Field))
	}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lines != 3 || st.Members != 1 || st.Rejected != 2 {
		t.Errorf("stats %+v: want 3 lines, 1 member, 2 refused", st)
	}
	if strings.Join(told, ", ") != "1 last_nmae, 3 phones[0]" {
		t.Errorf("refused lines told: %v", told)
	}
	dir := NewDirectory(pool, DefaultWindows)
	dana, err := dir.GetMember(ctx, "1001")
	if err != nil || dana.LastName != "Whitfield" {
		t.Errorf("Dana after a refused line: %+v, %v; want her last name kept", dana, err)
	}
	if c, _ := dir.Resolve(ctx, "+14045550123", now); len(c.Members) != 1 || c.Members[0].Activity == nil {
		t.Errorf("Dana's trip after a refused line: %+v", c)
	}
	if m, _ := dir.GetMember(ctx, "1002"); m.LastName != "Lee" {
		t.Errorf("the good line was not imported: %+v", m)
	}
}

// Batches are bounded by bytes as well as lines: 3 MB lines come 3 or 4 to a 10 MB batch,
// never the whole file at once.
func TestImportBatchesAreBoundedByBytes(t *testing.T) {
	long := `{"id":"%d","first_name":"A","last_name":"` + strings.Repeat("x", 3<<20) + `","phones":["+13125550142"]}` + "\n"
	var input strings.Builder
	for i := range 10 {
		fmt.Fprintf(&input, long, i)
	}
	out := make(chan parsedBatch, 10)
	if err := readBatches(ctxT(t), strings.NewReader(input.String()), ImportOptions{BatchSize: 20000, BatchBytes: 10 << 20}, out); err != nil {
		t.Fatal(err)
	}
	close(out)
	var sizes []int
	for b := range out {
		sizes = append(sizes, b.lines)
	}
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("lines per batch %v, want [4 4 2]", sizes)
	}
}

// FuzzParseRecord: an import line never panics the parser; a refused line is an invalid
// error in words (no Go type names), and an accepted one has an id and a number.
func FuzzParseRecord(f *testing.F) {
	for _, l := range strings.Split(importLines, "\n") {
		f.Add(l)
	}
	f.Add(`{"id":"1","first_name":"A","last_nmae":"B","phones":["+13125550142"]}`)
	f.Add(`{"id":"1","first_name":"A","phones":"+13125550142","activities":[{"id":"x","kind":1}]}`)
	f.Add(`{"id":"1","activities":[{"starts_at":"yesterday"}]} []`)
	f.Fuzz(func(t *testing.T, line string) {
		rec, err := parseRecord([]byte(line), "US")
		if err != nil {
			e := errs.Of(err)
			if e == nil || e.Code != errs.Invalid {
				t.Fatalf("%q: %v is not an invalid error", line, err)
			}
			if strings.Contains(e.Message, "json:") || strings.Contains(e.Message, "lookup.") || strings.Contains(e.Message, "time.Time") {
				t.Fatalf("%q: %q speaks Go", line, e.Message)
			}
			return
		}
		if rec.ID == "" || len(rec.Phones) == 0 {
			t.Fatalf("%q accepted as %+v", line, rec)
		}
	})
}
