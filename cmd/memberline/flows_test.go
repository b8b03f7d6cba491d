package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testenv"
	"github.com/memberline/memberline/lookup"
)

// flowsEnv is a getenv for a test database of its own.
func flowsEnv(t *testing.T) func(string) string {
	t.Helper()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	u, err := url.Parse(os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + pool.Config().ConnConfig.Database
	env := map[string]string{"DATABASE_URL": u.String()}
	return func(k string) string { return env[k] }
}

func TestFlowsExportImport(t *testing.T) {
	getenv := flowsEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	runOK := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, getenv, strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, _, err := runOK("flows", "export", "-dir", dir)
	if err != nil || !strings.Contains(out, "default.json: version 1") {
		t.Fatalf("export = %q, %v", out, err)
	}
	path := filepath.Join(dir, "default.json")
	doc, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(doc, []byte("{\n  \"schema\"")) {
		t.Fatalf("exported file is not pretty JSON: %.40q %v", doc, err)
	}
	if _, err := flows.CheckDocument("default", doc); err != nil {
		t.Fatalf("exported document does not load: %v", err)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, bytes.Replace(doc, []byte(`"start": "start"`), []byte(`"start": "nowhere"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runOK("flows", "import", "-publish", bad)
	if err == nil || !strings.Contains(errOut, bad+": start: ") {
		t.Fatalf("import of an invalid file = %v, stderr %q; want located errors", err, errOut)
	}

	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, bytes.Replace(doc, []byte(`"name": "Member line"`), []byte(`"name": "Member line, reviewed"`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runOK("flows", "import", "-publish", "-actor", "ana", good)
	if err != nil || !strings.Contains(out, "published as version 2") {
		t.Fatalf("import = %q %q %v", out, errOut, err)
	}
	out, _, err = runOK("flows", "export", "-dir", dir, "default")
	if err != nil || !strings.Contains(out, "version 2") {
		t.Fatalf("export after import = %q, %v", out, err)
	}
	if got, _ := os.ReadFile(path); !bytes.Contains(got, []byte("Member line, reviewed")) {
		t.Errorf("re-exported document lacks the imported change")
	}
}
