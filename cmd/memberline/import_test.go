package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

func TestGenMembersThenImport(t *testing.T) {
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	rdb, _ := testenv.Redis(t)
	env := map[string]string{
		"DATABASE_URL": testenv.URL(t, pool),
		"REDIS_URL":    "redis://" + rdb.Options().Addr + "/0",
	}
	getenv := func(k string) string { return env[k] }
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	file := filepath.Join(t.TempDir(), "members.ndjson")
	var out, errOut strings.Builder
	if err := run(ctx, []string{"gen-members", "-n", "300", "-o", file}, getenv, nil, &out, &errOut); err != nil {
		t.Fatalf("gen-members: %v\n%s", err, errOut.String())
	}
	if err := run(ctx, []string{"import", "-quiet", "-batch", "100", file}, getenv, nil, &out, &errOut); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut.String())
	}
	if want := "imported 300 members, 450 numbers, 600 activities"; !strings.Contains(out.String(), want) {
		t.Fatalf("import said %q, want %q", out.String(), want)
	}

	// stdin, and a bad line named by number: skipped whole, the others imported, and the
	// command fails so that a script notices.
	bad := `{"id":"X1","first_name":"A","phones":["+14045550123"]}` + "\n" + `{"id":"X2","first_name":"B","phones":["nope"]}` + "\n" +
		`{"id":"X3","first_name":"C","last_nmae":"D","phones":["+14045550124"]}` + "\n"
	out.Reset()
	errOut.Reset()
	err := run(ctx, []string{"import", "-"}, getenv, strings.NewReader(bad), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "2 of 3 lines refused") || !strings.Contains(out.String(), "imported 1 members") ||
		!strings.Contains(errOut.String(), "line 2 refused, nothing of it written: phones[0]: is not a valid phone number") ||
		!strings.Contains(errOut.String(), "line 3 refused, nothing of it written: last_nmae: is not a field of a member or an activity") {
		t.Fatalf("bad lines: err = %v\n%s\n%s", err, out.String(), errOut.String())
	}
	// With -strict the first refused line stops the import.
	err = run(ctx, []string{"import", "-strict", "-"}, getenv, strings.NewReader(bad), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("strict: err = %v", err)
	}
}
