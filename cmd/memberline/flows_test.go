package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

// flowsEnv is a getenv for a test database of its own.
func flowsEnv(t *testing.T) func(string) string {
	t.Helper()
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	env := map[string]string{"DATABASE_URL": testenv.URL(t, pool)}
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

// TestCallFlowAndVersion imports and publishes a new greeting, then places calls: the
// default one hears it, -flow/-version pick the old version or the draft.
func TestCallFlowAndVersion(t *testing.T) {
	base, env := startService(t, map[string]string{"DATABASE_URL": flowsEnv(t)("DATABASE_URL")})
	ctx := context.Background()

	dir := t.TempDir()
	path := filepath.Join(dir, "default.json")
	doc := bytes.Replace(flows.DefaultJSON(), []byte("Welcome back, {{ member.first_name }}."), []byte("Hello again, {{ member.first_name }}!"), 1)
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"flows", "import", "-publish", path}, envOf(env), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	call := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append([]string{"call", "-url", base, "-input", "1"}, args...)
		if err := run(ctx, append(args, "+14045550123"), envOf(env), strings.NewReader(""), &out, &errOut); err != nil {
			t.Fatalf("call %v: %v\n%s\n%s", args, err, out.String(), errOut.String())
		}
		return out.String()
	}
	for _, tc := range []struct {
		name string
		args []string
		hear string
	}{
		{"latest", nil, "Hello again, Dana!"},
		{"version 1", []string{"-flow", "default", "-version", "1"}, "Welcome back, Dana."},
		{"draft", []string{"-flow", "default", "-version", "draft"}, "Hello again, Dana!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := call(tc.args...)
			for deadline := time.Now().Add(time.Second); !strings.Contains(got, tc.hear) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond) // the instance polls for publishes
				got = call(tc.args...)
			}
			if !strings.Contains(got, tc.hear) || !strings.Contains(got, "handed off") {
				t.Errorf("transcript lacks %q or the handoff:\n%s", tc.hear, got)
			}
		})
	}
}

// flows test runs flow files' tests offline: no DATABASE_URL, exit status from the cases.
func TestFlowsTestCommand(t *testing.T) {
	dir := t.TempDir()
	withTests := func(name, tests string) string {
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(flows.DefaultJSON(), &doc); err != nil {
			t.Fatal(err)
		}
		doc["tests"] = json.RawMessage(tests)
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	flowsTest := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"flows", "test"}, args...), func(string) string { return "" }, strings.NewReader(""), &out, &errOut)
		return out.String(), err
	}
	dana := `{"profile": {"id": "1001", "first_name": "Dana", "tier": "Diamond",
		"activity": {"place": "Atlanta", "starts_at": "2026-11-27T14:05:00-05:00", "reference": "HX7Q2P"}}}`
	good := withTests("good.json", `[
		{"name": "dana-verified-yes", "caller": `+dana+`, "now": "2026-11-26T09:00:00-05:00", "trust": "verified",
		 "inputs": ["1"], "expect": {"end": "handoff", "says": ["Atlanta"], "never_says": ["HX7Q2P"]}},
		{"name": "by-number", "caller": {"phone": "+14045550123"}, "expect": {"end": "handoff"}}]`)
	out, err := flowsTest(good)
	if err != nil || !strings.Contains(out, "  PASS dana-verified-yes\n") || !strings.Contains(out, "  SKIP by-number: its caller is a directory number") ||
		!strings.HasSuffix(out, "1 passed, 0 failed, 1 skipped\n") {
		t.Fatalf("flows test of passing cases = %v:\n%s", err, out)
	}
	withTests("failing.json", `[{"name": "dana-unverified", "caller": `+dana+`, "now": "2026-11-26T09:00:00-05:00",
		"expect": {"never_says": ["Dana"]}}]`)
	out, err = flowsTest(dir) // a directory: both files
	if err == nil || !strings.Contains(out, "  FAIL dana-unverified\n       tests.dana-unverified.expect.never_says.0: the caller hears \"Dana\"") ||
		!strings.HasSuffix(out, "1 passed, 1 failed, 1 skipped\n") {
		t.Fatalf("flows test of a failing case = %v:\n%s", err, out)
	}
	bad := withTests("bad.json", `[{"name": "x", "expect": {"end": "transfer"}}]`)
	out, err = flowsTest(bad)
	if err == nil || !strings.Contains(out, bad+": tests.x.expect.end: must be handoff, hangup or awaiting") {
		t.Fatalf("flows test of an invalid file = %v:\n%s", err, out)
	}
	if _, err := flowsTest(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("flows test of a missing file succeeded")
	}
}

// flows replay: calls placed through the running service, a draft where "1" at
// about_activity goes to reservations, and the replay names the call that pressed 1.
func TestFlowsReplayCommand(t *testing.T) {
	base, env := startService(t, map[string]string{"DATABASE_URL": flowsEnv(t)("DATABASE_URL")})
	ctx := context.Background()
	for _, input := range []string{"1", "2,3"} {
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"call", "-url", base, "-input", input, "+14045550123"}, envOf(env), strings.NewReader(""), &out, &errOut); err != nil {
			t.Fatalf("call %s: %v\n%s", input, err, errOut.String())
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(flows.DefaultJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, n := range doc["nodes"].([]any) {
		if node := n.(map[string]any); node["id"] == "about_activity" {
			node["options"].([]any)[0].(map[string]any)["next"] = "agent_reservations"
		}
	}
	b, _ := json.Marshal(doc)
	path := filepath.Join(t.TempDir(), "default.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"flows", "import", path}, envOf(env), strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatalf("import: %v %s", err, errOut.String())
	}
	replay := func() (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, []string{"flows", "replay", "-url", base, "-from", "2000-01-01T00:00:00Z", "-to", "9000-01-01T00:00:00Z"}, envOf(env), strings.NewReader(""), &out, &errOut)
		return out.String() + errOut.String(), err
	}
	// The call records are written off the webhook's path: wait for both.
	deadline := time.Now().Add(10 * time.Second)
	got, err := replay()
	for (err != nil || !strings.HasPrefix(got, "2 calls")) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got, err = replay()
	}
	if err != nil || !strings.HasPrefix(got, "2 calls through default draft: 1 the same, 1 changed, 0 not replayed\n") ||
		!strings.Contains(got, " changed at webhook 1 after about_activity: agent_activity → agent_reservations; ended handoff at agent_activity, now handoff at agent_reservations\n") {
		t.Fatalf("flows replay = %v:\n%s", err, got)
	}
	// No period and no calls: the service's error, in its words.
	err = run(ctx, []string{"flows", "replay", "-url", base}, envOf(env), strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "give call_sids, or a period") {
		t.Errorf("flows replay without calls = %v", err)
	}
}
