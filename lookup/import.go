package lookup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/memberline/memberline/internal/errs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ImportRecord is one line of an import: a member with their phones and every activity
// they have. A record replaces what the directory held for the member: profile, phones
// and activities.
type ImportRecord struct {
	Member
	Activities []Activity `json:"activities"`
}

// ImportOptions tune Import. Zero fields take the defaults in brackets.
type ImportOptions struct {
	BatchSize  int    // lines read, checked and merged at a time [20000]
	BatchBytes int    // and at most this many bytes of lines [16 MiB]: memory grows with both
	Region     string // of numbers written without a country code [DefaultRegion]
	Workers    int    // transactions merging at once, each on its own connection [2]
	// Strict stops the import at the first line that is refused; otherwise a refused line
	// is skipped, whole, and the import goes on.
	Strict bool
	// OnReject, if set, is told of each refused line: its number and why (an errs.Invalid
	// error, naming the field when one is at fault).
	OnReject func(line int64, err error)
	// Progress, if set, is called after each batch with the running totals.
	Progress func(ImportStats)
}

// ImportStats count what Import did.
type ImportStats struct {
	Lines       int64 // records read
	Rejected    int64 // lines refused and skipped (see ImportOptions.Strict)
	Members     int64 // members written
	Phones      int64 // member numbers written
	Activities  int64 // activities written
	Invalidated int64 // numbers invalidated in Redis (old and new numbers of each member)
	Elapsed     time.Duration
}

// Invalidator makes cached answers for numbers stale; *Cache is one.
type Invalidator interface {
	// InvalidateBulk invalidates many numbers at once, at the cost of emptying every
	// local tier instead of evicting number by number.
	InvalidateBulk(ctx context.Context, phones []string) error
}

// Import streams NDJSON records (ImportRecord, one per line) into the directory. Each
// batch is parsed and checked in parallel, copied into temporary staging tables with COPY
// and merged in one transaction, so memory is bounded by the batch size and a failed
// batch leaves the directory as the batches before it left it. After each batch commits,
// inv (if not nil) invalidates every number the batch changed.
//
// A line is read strictly: a field no member or activity has, a value of the wrong type
// or an invalid one refuses the whole line, so a misspelt key can never blank a field or
// drop activities. A refused line is skipped, counted and told to OnReject, and the
// import goes on; with Strict, it stops the import with an error naming its line (the
// batches before it stay imported; with several workers, some lines after it may be
// imported too). The statement timeout of pooled connections is lifted for the import's
// transactions.
func Import(ctx context.Context, pool *pgxpool.Pool, r io.Reader, inv Invalidator, opts ImportOptions) (ImportStats, error) {
	began := time.Now()
	if opts.BatchSize <= 0 {
		opts.BatchSize = 20000
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 16 << 20
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		st       ImportStats
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}

	// Members are spread over the workers by id, so each member's lines are merged in
	// order by one worker, and no two transactions touch one member's rows.
	parts := make([]chan part, opts.Workers)
	var workers sync.WaitGroup
	for w := range parts {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			cancel()
			for _, ch := range parts[:w] {
				close(ch)
			}
			workers.Wait()
			return st, fmt.Errorf("lookup: import: %w", err)
		}
		if _, err := conn.Exec(ctx, stagingDDL); err != nil {
			conn.Release()
			cancel()
			for _, ch := range parts[:w] {
				close(ch)
			}
			workers.Wait()
			return st, fmt.Errorf("lookup: import: staging tables: %w", err)
		}
		parts[w] = make(chan part, 1)
		workers.Add(1)
		go func(in <-chan part) {
			defer workers.Done()
			defer conn.Release()
			for p := range in {
				if ctx.Err() != nil {
					continue // drain
				}
				where := fmt.Sprintf("lines %d-%d", p.first, p.first+int64(p.lines)-1)
				touched, err := mergeBatch(ctx, conn.Conn(), p.records)
				if err != nil {
					fail(fmt.Errorf("lookup: import: %s: %w", where, err))
					continue
				}
				if inv != nil && len(touched) > 0 {
					if err := inv.InvalidateBulk(ctx, touched); err != nil {
						fail(notInvalidated("import: "+where, err))
						continue
					}
				}
				mu.Lock()
				st.Members += int64(len(p.records))
				for _, rec := range p.records {
					st.Phones += int64(len(rec.Phones))
					st.Activities += int64(len(rec.Activities))
				}
				st.Invalidated += int64(len(touched))
				st.Elapsed = time.Since(began)
				if opts.Progress != nil {
					opts.Progress(st)
				}
				mu.Unlock()
			}
		}(parts[w])
	}

	// Reading and checking the next batch overlaps with merging the current ones.
	batches := make(chan parsedBatch, 1)
	var reader sync.WaitGroup
	reader.Add(1)
	go func() {
		defer reader.Done()
		defer close(batches)
		if err := readBatches(ctx, r, opts, batches); err != nil && !errors.Is(err, context.Canceled) {
			fail(err)
		}
	}()
	var lines int64
	for b := range batches {
		if b.err != nil {
			fail(b.err)
			break
		}
		lines += int64(b.lines)
		for _, rj := range b.rejects {
			mu.Lock()
			st.Rejected++
			mu.Unlock()
			if opts.OnReject != nil {
				opts.OnReject(rj.line, rj.err)
			}
		}
		split := make([][]ImportRecord, len(parts))
		for _, rec := range b.records {
			k := maphash.String(importSeed, rec.ID) % uint64(len(parts))
			split[k] = append(split[k], rec)
		}
		for k, recs := range split {
			if len(recs) == 0 {
				continue
			}
			select {
			case parts[k] <- part{records: recs, first: b.first, lines: b.lines}:
			case <-ctx.Done():
			}
		}
	}
	for _, ch := range parts {
		close(ch)
	}
	workers.Wait()
	cancel()
	for range batches { // let the reader finish
	}
	reader.Wait()
	st.Lines = lines
	st.Elapsed = time.Since(began)
	if firstErr != nil {
		return st, firstErr
	}
	if err := parent.Err(); err != nil {
		return st, fmt.Errorf("lookup: import: %w", err)
	}
	if st.Members > 0 {
		if err := analyze(parent, pool); err != nil {
			return st, err
		}
		st.Elapsed = time.Since(began)
	}
	return st, nil
}

// analyze refreshes the planner's statistics of the tables an import filled, so that the
// calls right after it are planned for the data as it now is, not as autovacuum last saw
// it (often mid-import, when the tables were a fraction of their size).
func analyze(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "ANALYZE members, member_phones, activities")
		return err
	})
	if err != nil {
		return fmt.Errorf("lookup: import: analyze: %w", err)
	}
	return nil
}

var importSeed = maphash.MakeSeed()

// part is the share of one batch that one worker merges.
type part struct {
	records []ImportRecord
	first   int64
	lines   int
}

type parsedBatch struct {
	records []ImportRecord // checked, one per member (the last line wins)
	rejects []reject       // lines refused (not Strict)
	first   int64          // line number of the batch's first line
	lines   int
	err     error // the first line refused, with Strict
}

// reject is a line refused, and why.
type reject struct {
	line int64
	err  error
}

// maxImportLine bounds one record: a member with many activities fits easily.
const maxImportLine = 4 << 20

// readBatches cuts the input into batches of opts.BatchSize lines or opts.BatchBytes
// bytes, whichever comes first (a line longer than that is a batch of its own), and
// parses each.
func readBatches(ctx context.Context, r io.Reader, opts ImportOptions, out chan<- parsedBatch) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	line := int64(0)
	for {
		first := line + 1
		raw := make([][]byte, 0, min(opts.BatchSize, 4096))
		for size := 0; len(raw) < opts.BatchSize && size < opts.BatchBytes && sc.Scan(); {
			line++
			b := sc.Bytes()
			if len(b) == 0 {
				raw = append(raw, nil)
				continue
			}
			size += len(b)
			raw = append(raw, append([]byte(nil), b...))
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("lookup: import: line %d: %w", line+1, err)
		}
		if len(raw) == 0 {
			return nil
		}
		b := parseBatch(raw, first, opts.Region, opts.Strict)
		select {
		case out <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return nil
		}
	}
}

// parseBatch decodes and checks lines on every CPU: phone normalization dominates.
func parseBatch(raw [][]byte, first int64, region string, strict bool) parsedBatch {
	recs := make([]ImportRecord, len(raw))
	errs := make([]error, len(raw))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(raw); i += workers {
				if raw[i] == nil {
					continue
				}
				recs[i], errs[i] = parseRecord(raw[i], region)
			}
		}()
	}
	wg.Wait()
	b := parsedBatch{first: first, lines: len(raw)}
	seen := make(map[string]int, len(raw))
	for i := range raw {
		if errs[i] != nil {
			if strict {
				b.err = fmt.Errorf("lookup: import: line %d: %w", first+int64(i), errs[i])
				return b
			}
			b.rejects = append(b.rejects, reject{line: first + int64(i), err: errs[i]})
			continue
		}
		if raw[i] == nil {
			continue
		}
		if j, ok := seen[recs[i].ID]; ok {
			b.records[j] = recs[i]
			continue
		}
		seen[recs[i].ID] = len(b.records)
		b.records = append(b.records, recs[i])
	}
	return b
}

func parseRecord(line []byte, region string) (ImportRecord, error) {
	var rec ImportRecord
	if err := decodeStrict(line, &rec); err != nil {
		return rec, err
	}
	m, err := cleanMember(rec.Member, region)
	if err != nil {
		return rec, err
	}
	rec.Member = m
	ids := make(map[string]bool, len(rec.Activities))
	for i, a := range rec.Activities {
		a.MemberID = m.ID
		if a, err = cleanActivity(a); err != nil {
			if fe := errs.Of(err); fe != nil && fe.Field != "" {
				return rec, fieldErr(fmt.Sprintf("activities[%d].%s", i, fe.Field), strings.TrimPrefix(fe.Message, fe.Field+": "))
			}
			return rec, err
		}
		if ids[a.ID] {
			return rec, fieldErr(fmt.Sprintf("activities[%d].id", i), "repeats an earlier activity's id")
		}
		ids[a.ID] = true
		rec.Activities[i] = a
	}
	return rec, nil
}

// stagingDDL makes the session's staging tables, emptied at each commit.
const stagingDDL = `
CREATE TEMP TABLE IF NOT EXISTS import_members (
    id text, first_name text, last_name text, tier text, language text, time_zone text
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_phones (phone text, member_id text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS import_activities (
    member_id text, id text, kind text, summary text, place text,
    starts_at timestamptz, starts_offset integer, ends_at timestamptz, ends_offset integer,
    status text, reference text
) ON COMMIT DELETE ROWS;
`

// mergeBatch copies the records into the staging tables and replaces the members' rows
// with them, in one transaction. It returns the numbers whose answers may have changed:
// the members' numbers before and after.
func mergeBatch(ctx context.Context, conn *pgx.Conn, recs []ImportRecord) ([]string, error) {
	var touched []string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_members"},
			[]string{"id", "first_name", "last_name", "tier", "language", "time_zone"},
			pgx.CopyFromSlice(len(recs), func(i int) ([]any, error) {
				m := &recs[i].Member
				return []any{m.ID, m.FirstName, m.LastName, m.Tier, m.Language, m.TimeZone}, nil
			})); err != nil {
			return fmt.Errorf("copy members: %w", err)
		}
		var phones, acts [][]any
		for i := range recs {
			for _, p := range recs[i].Phones {
				phones = append(phones, []any{p, recs[i].ID})
			}
			for _, a := range recs[i].Activities {
				_, so := a.StartsAt.Zone()
				_, eo := a.EndsAt.Zone()
				acts = append(acts, []any{a.MemberID, a.ID, a.Kind, a.Summary, a.Place,
					a.StartsAt, so, a.EndsAt, eo, a.Status, a.Reference})
			}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_phones"}, []string{"phone", "member_id"},
			pgx.CopyFromRows(phones)); err != nil {
			return fmt.Errorf("copy phones: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_activities"},
			[]string{"member_id", "id", "kind", "summary", "place", "starts_at", "starts_offset",
				"ends_at", "ends_offset", "status", "reference"},
			pgx.CopyFromRows(acts)); err != nil {
			return fmt.Errorf("copy activities: %w", err)
		}
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, qImportMembers)
		if err != nil {
			return fmt.Errorf("merge members: %w", err)
		}
		existed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("merge members: %w", err)
		}
		var old []string
		if len(existed) > 0 { // new members have nothing to replace
			rows, err := tx.Query(ctx, qImportPhonesDelete, existed)
			if err != nil {
				return fmt.Errorf("merge phones: %w", err)
			}
			if old, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
				return fmt.Errorf("merge phones: %w", err)
			}
			if _, err := tx.Exec(ctx, qImportActivitiesDelete, existed); err != nil {
				return fmt.Errorf("merge activities: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, qImportPhonesInsert); err != nil {
			return fmt.Errorf("merge phones: %w", err)
		}
		if _, err := tx.Exec(ctx, qImportActivitiesInsert); err != nil {
			return fmt.Errorf("merge activities: %w", err)
		}
		seen := make(map[string]bool, len(phones)+len(old))
		for _, p := range old {
			seen[p] = true
		}
		for _, row := range phones {
			seen[row[0].(string)] = true
		}
		touched = make([]string, 0, len(seen))
		for p := range seen {
			touched = append(touched, p)
		}
		return nil
	})
	return touched, err
}

var (
	qImportMembers          = query("import_members")
	qImportPhonesDelete     = query("import_phones_delete")
	qImportPhonesInsert     = query("import_phones_insert")
	qImportActivitiesDelete = query("import_activities_delete")
	qImportActivitiesInsert = query("import_activities_insert")
)

// decodeStrict decodes one JSON value into v, refusing fields v does not have, and says
// what is wrong in words: the field, and the kind of value it takes.
func decodeStrict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		return errs.New(errs.Invalid, "more than one JSON value on the line")
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errs.New(errs.Invalid, "not valid JSON")
	case errors.As(err, &typ):
		kind := "a number"
		switch k := typ.Type.Kind(); {
		case typ.Type == reflect.TypeFor[time.Time]():
			kind = "an RFC 3339 time"
		case k == reflect.String:
			kind = "a string"
		case k == reflect.Slice || k == reflect.Array:
			kind = "a list"
		case k == reflect.Struct || k == reflect.Map:
			kind = "an object"
		case k == reflect.Bool:
			kind = "true or false"
		}
		// The path is JSON names, but an embedded struct adds its Go name (Member.phones).
		var path []string
		for seg := range strings.SplitSeq(typ.Field, ".") {
			if seg != "" && !unicode.IsUpper(rune(seg[0])) {
				path = append(path, seg)
			}
		}
		return fieldErr(strings.Join(path, "."), "must be "+kind)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return fieldErr(name, "is not a field of a member or an activity (misspelt?)")
	}
	if strings.Contains(err.Error(), "time") {
		return errs.New(errs.Invalid, "a time is not RFC 3339 (2026-11-27T14:05:00-05:00)")
	}
	return errs.New(errs.Invalid, "not valid JSON")
}
