package pgmigrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/pgmigrate"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func files(kv ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &fstest.MapFile{Data: []byte(kv[i+1])}
	}
	return m
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fs      fstest.MapFS
		want    []int // versions, in order
		wantErr string
	}{
		{"in version order, not name order", files(
			"0010_later.up.sql", "SELECT 10", "0010_later.down.sql", "",
			"0002_second.up.sql", "SELECT 2", "0002_second.down.sql", "",
			"0001_first.up.sql", "SELECT 1", "0001_first.down.sql", "",
		), []int{1, 2, 10}, ""},
		{"other files ignored", files(
			"0001_a.up.sql", "", "0001_a.down.sql", "", "README.md", "hi",
		), []int{1}, ""},
		{"empty", files(), []int{}, ""},
		{"bad name", files("0001-a.up.sql", ""), nil, "want NNNN_name.up.sql"},
		{"uppercase name", files("0001_A.up.sql", ""), nil, "want NNNN_name.up.sql"},
		{"zero version", files("0000_a.up.sql", "", "0000_a.down.sql", ""), nil, "positive"},
		{"shared version", files(
			"0001_a.up.sql", "", "0001_a.down.sql", "", "0001_b.up.sql", "", "0001_b.down.sql", "",
		), nil, "share version 1"},
		{"no down", files("0001_a.up.sql", ""), nil, "no 0001_a.down.sql"},
		{"down of another name", files("0001_a.up.sql", "", "0001_b.down.sql", ""), nil, "no 0001_a.down.sql"},
		{"down without up", files(
			"0001_a.up.sql", "", "0001_a.down.sql", "", "0002_b.down.sql", "",
		), nil, "has no up file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := pgmigrate.Read(tc.fs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Read = %v; want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []int{}
			for _, m := range ms {
				got = append(got, m.Version)
				if len(m.Checksum) != 64 {
					t.Errorf("version %d: checksum %q", m.Version, m.Checksum)
				}
			}
			if !equal(got, tc.want) {
				t.Fatalf("versions = %v; want %v", got, tc.want)
			}
		})
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// emptyDB is a database with no schema of its own.
func emptyDB(t *testing.T) *pgxpool.Pool {
	return testenv.Postgres(t, "pgmigrate-empty", func(context.Context, *pgxpool.Pool) error { return nil })
}

var (
	one = files(
		"0001_widgets.up.sql", "CREATE TABLE widgets (id int PRIMARY KEY); CREATE TABLE gadgets (id int);",
		"0001_widgets.down.sql", "DROP TABLE gadgets; DROP TABLE widgets;",
	)
	two = files(
		"0001_widgets.up.sql", "CREATE TABLE widgets (id int PRIMARY KEY); CREATE TABLE gadgets (id int);",
		"0001_widgets.down.sql", "DROP TABLE gadgets; DROP TABLE widgets;",
		"0002_name.up.sql", "ALTER TABLE widgets ADD COLUMN name text;",
		"0002_name.down.sql", "ALTER TABLE widgets DROP COLUMN name;",
	)
)

func applied(t *testing.T, pool *pgxpool.Pool, component string) []int {
	t.Helper()
	vs, err := pgmigrate.Applied(context.Background(), pool, component)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t)

	if err := pgmigrate.Apply(ctx, pool, "widgets", one); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO widgets VALUES (1); INSERT INTO gadgets VALUES (1)"); err != nil {
		t.Fatalf("the migration's statements did not all run: %v", err)
	}
	// Re-running is a no-op (CREATE TABLE would fail if it ran again).
	if err := pgmigrate.Apply(ctx, pool, "widgets", one); err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	// A new file applies just that file.
	if err := pgmigrate.Apply(ctx, pool, "widgets", two); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "UPDATE widgets SET name = 'w' WHERE id = 1"); err != nil {
		t.Fatalf("0002 did not run: %v", err)
	}
	if got := applied(t, pool, "widgets"); !equal(got, []int{1, 2}) {
		t.Fatalf("applied = %v; want [1 2]", got)
	}
	// An older release (knowing only 0001) starting after the newer one is fine.
	if err := pgmigrate.Apply(ctx, pool, "widgets", one); err != nil {
		t.Fatalf("older release: %v", err)
	}
}

func TestApplyComponentsShareOneDatabase(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t)
	flows := files("0001_flows.up.sql", "CREATE TABLE flows (id int)", "0001_flows.down.sql", "DROP TABLE flows")
	for _, step := range []struct {
		component string
		fs        fstest.MapFS
	}{{"widgets", two}, {"flows", flows}, {"widgets", two}, {"flows", flows}} {
		if err := pgmigrate.Apply(ctx, pool, step.component, step.fs); err != nil {
			t.Fatalf("%s: %v", step.component, err)
		}
	}
	if got := applied(t, pool, "widgets"); !equal(got, []int{1, 2}) {
		t.Errorf("widgets applied = %v", got)
	}
	if got := applied(t, pool, "flows"); !equal(got, []int{1}) {
		t.Errorf("flows applied = %v", got)
	}
}

func TestApplyFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t)
	bad := files(
		"0001_ok.up.sql", "CREATE TABLE ok (id int)", "0001_ok.down.sql", "DROP TABLE ok",
		"0002_bad.up.sql", "CREATE TABLE half (id int); SELECT no_such_function();",
		"0002_bad.down.sql", "DROP TABLE half",
	)
	err := pgmigrate.Apply(ctx, pool, "bad", bad)
	if err == nil || !strings.Contains(err.Error(), "0002_bad.up.sql") {
		t.Fatalf("Apply = %v; want an error naming 0002_bad.up.sql", err)
	}
	if got := applied(t, pool, "bad"); !equal(got, []int{1}) {
		t.Fatalf("applied = %v; want [1]", got)
	}
	var half bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('half') IS NOT NULL").Scan(&half); err != nil || half {
		t.Fatalf("half of the failed migration stayed (%v, %v)", half, err)
	}
}

func TestApplyRefusesEditedMigration(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t)
	if err := pgmigrate.Apply(ctx, pool, "widgets", one); err != nil {
		t.Fatal(err)
	}
	edited := files(
		"0001_widgets.up.sql", "CREATE TABLE widgets (id bigint PRIMARY KEY);",
		"0001_widgets.down.sql", "DROP TABLE widgets;",
	)
	if err := pgmigrate.Apply(ctx, pool, "widgets", edited); !errors.Is(err, pgmigrate.ErrChanged) {
		t.Fatalf("Apply(edited) = %v; want ErrChanged", err)
	}
}

func TestApplyConcurrentStarters(t *testing.T) {
	ctx := context.Background()
	pool := emptyDB(t)
	// Several pools: separate sessions, as separate processes would have.
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		p, err := pgxpool.NewWithConfig(ctx, pool.Config())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pgmigrate.Apply(ctx, p, "widgets", two)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("starter %d: %v", i, err)
		}
	}
	if got := applied(t, pool, "widgets"); !equal(got, []int{1, 2}) {
		t.Fatalf("applied = %v; want [1 2]", got)
	}
}

func TestApplyRejectsBadInput(t *testing.T) {
	pool := emptyDB(t)
	if err := pgmigrate.Apply(context.Background(), pool, "", one); err == nil {
		t.Error("empty component accepted")
	}
	if err := pgmigrate.Apply(context.Background(), pool, "x", files("1_a.up.sql", "")); err == nil {
		t.Error("up file without down file accepted")
	}
}
