package flowstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// Store tests run against the real PostgreSQL of `make test`.

func storeDB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	// The seeded default flow is part of the schema: a change to it rebuilds the template.
	seed := fstest.MapFS{"default_flow.json": {Data: flows.DefaultJSON()}}
	return testenv.Postgres(t, testenv.Key("flows", flowstore.Migrations, seed), flowstore.Migrate)
}

// docWith returns the default document with id replaced and edit applied to its decoded
// form.
func docWith(t *testing.T, id string, edit func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(flows.DefaultJSON(), &m); err != nil {
		t.Fatal(err)
	}
	m["id"] = id
	if edit != nil {
		edit(m)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMigrateSeedsDefaultOnce(t *testing.T) {
	pool := storeDB(t)
	ctx := context.Background()
	s := flowstore.NewStore(pool)
	// Editing the draft and migrating again must not reset it.
	d, err := s.Draft(ctx, flowstore.DefaultID)
	if err != nil {
		t.Fatal(err)
	}
	edited := docWith(t, flowstore.DefaultID, func(m map[string]any) { m["name"] = "Edited" })
	if _, err := s.SaveDraft(ctx, flowstore.DefaultID, edited, d.Rev, "ana"); err != nil {
		t.Fatal(err)
	}
	if err := flowstore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	vs, err := s.Versions(ctx, flowstore.DefaultID)
	if err != nil || len(vs) != 1 || vs[0].Version != 1 || vs[0].Author != flowstore.SystemActor {
		t.Fatalf("versions = %+v, %v; want the seeded version 1 only", vs, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "Edited" || !list[0].DraftChanged || !list[0].Default {
		t.Fatalf("list = %+v, %v", list, err)
	}
	b, err := s.Bindings(ctx)
	if err != nil || b.Default != flowstore.DefaultID {
		t.Fatalf("bindings = %+v, %v", b, err)
	}
}

func TestConcurrentDraftsOneWins(t *testing.T) {
	pool := storeDB(t)
	ctx := context.Background()
	s := flowstore.NewStore(pool)
	d, err := s.Draft(ctx, flowstore.DefaultID)
	if err != nil {
		t.Fatal(err)
	}
	docs := [][]byte{
		docWith(t, flowstore.DefaultID, func(m map[string]any) { m["name"] = "Ana's" }),
		docWith(t, flowstore.DefaultID, func(m map[string]any) { m["name"] = "Ben's" }),
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.SaveDraft(ctx, flowstore.DefaultID, docs[i], d.Rev, []string{"ana", "ben"}[i])
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		var stale *flowstore.StaleError
		switch {
		case err == nil:
			if won >= 0 {
				t.Fatal("both saves won")
			}
			won = i
		case errors.As(err, &stale):
			if stale.Current.Rev != d.Rev+1 {
				t.Errorf("stale error carries rev %d, want %d", stale.Current.Rev, d.Rev+1)
			}
		default:
			t.Fatalf("save %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no save won")
	}
	got, err := s.Draft(ctx, flowstore.DefaultID)
	if err != nil || string(got.Document) != string(docs[won]) || got.Rev != d.Rev+1 {
		t.Fatalf("draft = rev %d %.60s, %v; want the winner's document", got.Rev, got.Document, err)
	}
}

func TestPublishInvalidRefusedWithLocatedErrors(t *testing.T) {
	pool := storeDB(t)
	ctx := context.Background()
	s := flowstore.NewStore(pool)
	bad := docWith(t, "broken", func(m map[string]any) { m["start"] = "nowhere" })
	if _, err := s.Create(ctx, "broken", bad, "ana"); err != nil {
		t.Fatalf("an invalid draft must still save: %v", err)
	}
	_, err := s.Publish(ctx, "broken", "ana", "try", nil)
	var probs flows.Problems
	if !errors.As(err, &probs) || !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("publish = %v, want Problems", err)
	}
	found := false
	for _, p := range probs {
		found = found || p.Path == "start"
	}
	if !found {
		t.Errorf("problems %v do not locate the bad start", probs)
	}
	if vs, _ := s.Versions(ctx, "broken"); len(vs) != 0 {
		t.Errorf("versions = %v, want none", vs)
	}
}

func TestCreateRefusesUndecodableAndMismatchedDocuments(t *testing.T) {
	pool := storeDB(t)
	ctx := context.Background()
	s := flowstore.NewStore(pool)
	for _, tc := range []struct {
		name, id string
		doc      []byte
		path     string
	}{
		{"unknown field", "x", []byte(`{"schema":"memberline.flow/v1","id":"x","colour":"red"}`), "colour"},
		{"id mismatch", "x", docWith(t, "y", nil), "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Create(ctx, tc.id, tc.doc, "ana")
			var probs flows.Problems
			if !errors.As(err, &probs) || !strings.Contains(probs[0].Path, tc.path) {
				t.Fatalf("create = %v, want a problem at %q", err, tc.path)
			}
		})
	}
	if _, err := s.Create(ctx, flowstore.DefaultID, flows.DefaultJSON(), "ana"); !errors.Is(err, errs.ErrExists) {
		t.Fatalf("create existing = %v, want ErrExists", err)
	}
}

func TestPublishRollbackLiveAndAudit(t *testing.T) {
	pool := storeDB(t)
	ctx := context.Background()
	s := flowstore.NewStore(pool)
	live := func() *flows.Flow {
		t.Helper()
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		f, err := s.Live(ctx, "+18005550100")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := live(); f.ID != flowstore.DefaultID || f.Version != 1 {
		t.Fatalf("live = %s v%d, want default v1", f.ID, f.Version)
	}
	d, _ := s.Draft(ctx, flowstore.DefaultID)
	if _, err := s.SaveDraft(ctx, flowstore.DefaultID, docWith(t, flowstore.DefaultID, func(m map[string]any) { m["name"] = "Two" }), d.Rev, "ana"); err != nil {
		t.Fatal(err)
	}
	v2, err := s.Publish(ctx, flowstore.DefaultID, "ana", "rename", nil)
	if err != nil || v2.Version != 2 || v2.Author != "ana" || v2.Message != "rename" {
		t.Fatalf("publish = %+v, %v", v2, err)
	}
	if f := live(); f.Version != 2 || f.Name != "Two" {
		t.Fatalf("live = v%d %q, want v2", f.Version, f.Name)
	}
	v3, err := s.Rollback(ctx, flowstore.DefaultID, 1, "ben", "")
	if err != nil || v3.Version != 3 || v3.RollbackOf != 1 {
		t.Fatalf("rollback = %+v, %v", v3, err)
	}
	if f := live(); f.Version != 3 || f.Name == "Two" {
		t.Fatalf("live after rollback = v%d %q, want v3 with version 1's document", f.Version, f.Name)
	}
	// Version 2 is unchanged and still loadable for calls pinned to it.
	if f, err := s.Flow(ctx, flowstore.DefaultID, 2); err != nil || f.Name != "Two" || f.Version != 2 {
		t.Fatalf("version 2 = %v, %v", f, err)
	}
	if _, err := s.Rollback(ctx, flowstore.DefaultID, 9, "ben", ""); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("rollback to a missing version = %v", err)
	}
	// A second flow bound to one number; everything else stays on the default.
	if _, err := s.Create(ctx, "sales", docWith(t, "sales", nil), "ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBindings(ctx, flowstore.Bindings{Default: flowstore.DefaultID, Numbers: map[string]string{"+18005550199": "sales"}}, "", "ana"); err == nil {
		t.Fatal("binding an unpublished flow was accepted")
	}
	if _, err := s.Publish(ctx, "sales", "ana", "first", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetBindings(ctx, flowstore.Bindings{Default: flowstore.DefaultID, Numbers: map[string]string{"+18005550199": "sales"}}, "", "ana"); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Live(ctx, "+18005550199"); err != nil || f.ID != "sales" {
		t.Fatalf("live for the bound number = %v, %v", f, err)
	}
	entries, err := s.History(ctx, flowstore.HistoryFilter{Flow: flowstore.DefaultID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	if got, want := strings.Join(actions, " "), "system:publish ana:save ana:publish ben:rollback"; got != want {
		t.Errorf("audit = %q, want %q", got, want)
	}
	all, _ := s.History(ctx, flowstore.HistoryFilter{})
	if later, err := s.History(ctx, flowstore.HistoryFilter{Since: all[len(all)-1].At.Add(time.Second)}); err != nil || len(later) != 0 {
		t.Errorf("audit since after the last entry = %v, %v", later, err)
	}
	if since, _ := s.History(ctx, flowstore.HistoryFilter{Since: all[len(all)-1].At}); len(since) == 0 {
		t.Error("audit since the last entry's time lacks it")
	}
	if last := all[len(all)-1]; last.Action != "bindings" || !strings.Contains(string(last.Detail), "+18005550199") {
		t.Errorf("last audit entry = %+v", last)
	}
}

func TestDiffDocuments(t *testing.T) {
	from := []byte(`{"name":"a","nodes":[{"id":"x","type":"say","say":{"en-US":"Hi"}},{"id":"y","type":"hangup"}]}`)
	to := []byte(`{"name":"b","nodes":[{"id":"z","type":"hangup"},{"id":"x","type":"say","say":{"en-US":"Hello"}}]}`)
	d, err := flows.DiffDocuments(from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(d)
	want := `{"added":["z"],"removed":["y"],"changed":["x"],"changes":[{"path":"name","op":"changed","old":"a","new":"b"},{"path":"nodes.z","op":"added","new":{"id":"z","type":"hangup"}},{"path":"nodes.x.say.en-US","op":"changed","old":"Hi","new":"Hello"},{"path":"nodes.y","op":"removed","old":{"id":"y","type":"hangup"}}]}`
	if string(got) != want {
		t.Errorf("diff =\n%s\nwant\n%s", got, want)
	}
}

// BenchmarkLive is what an incoming call pays to pick its flow: a snapshot read and a
// cached compiled version.
func BenchmarkLive(b *testing.B) {
	s := flowstore.NewStore(storeDB(b))
	ctx := context.Background()
	if _, err := s.Live(ctx, "+18005550100"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Live(ctx, "+18005550100"); err != nil {
			b.Fatal(err)
		}
	}
}
