package flows_test

import (
	"encoding/json"
	"testing"

	"github.com/memberline/memberline/flows"
)

// FuzzDiffDocuments: any two JSON documents diff without panicking, deterministically, and
// a document never differs from itself.
func FuzzDiffDocuments(f *testing.F) {
	f.Add(flows.DefaultJSON(), []byte(`{"nodes":[{"id":"a"},{"id":"a"},{"x":1}]}`))
	f.Add([]byte(`{"a":[1,2,{"b":null}]}`), []byte(`[1,"x",{"nodes":3}]`))
	f.Add([]byte(`{"nodes":[{"id":"x","say":{"en-US":"Hi"}}]}`), []byte(`{"nodes":[{"id":"x","say":{"en-US":"Hello"}},{"id":""}]}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		d1, err1 := flows.DiffDocuments(a, b)
		d2, err2 := flows.DiffDocuments(a, b)
		if (err1 == nil) != (err2 == nil) {
			t.Fatal("nondeterministic error")
		}
		if err1 != nil {
			return
		}
		j1, _ := json.Marshal(d1)
		j2, _ := json.Marshal(d2)
		if string(j1) != string(j2) {
			t.Fatalf("nondeterministic diff:\n%s\n%s", j1, j2)
		}
		if self, err := flows.DiffDocuments(a, a); err != nil || len(self.Changes) != 0 {
			t.Fatalf("a document differs from itself: %+v %v", self.Changes, err)
		}
	})
}

// TestDiffRepeatedNodeIDs: a document whose nodes repeat an id (an invalid draft can) does
// not differ from itself, and each side matches the first node with that id.
func TestDiffRepeatedNodeIDs(t *testing.T) {
	doc := []byte(`{"nodes":[{"id":"r","say":{"en-US":"first"}},{"id":"r","say":{"en-US":"second"}}]}`)
	if d, err := flows.DiffDocuments(doc, doc); err != nil || len(d.Changes) != 0 {
		t.Fatalf("a document with a repeated id differs from itself: %+v %v", d.Changes, err)
	}
	to := []byte(`{"nodes":[{"id":"r","say":{"en-US":"third"}},{"id":"r","say":{"en-US":"second"}}]}`)
	d, err := flows.DiffDocuments(doc, to)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(d.Changes)
	if want := `[{"path":"nodes.r.say.en-US","op":"changed","old":"first","new":"third"}]`; string(got) != want {
		t.Errorf("changes = %s, want %s", got, want)
	}
}
