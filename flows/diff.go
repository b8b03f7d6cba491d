package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
)

// Diff is a structural comparison of two flow documents: which nodes were added, removed
// or changed, and every changed value located by the same dotted paths validation uses
// ("nodes.greet.say.en-US"). Nodes are matched by id, so reordering nodes is not a change;
// other lists compare entry by entry. The result is deterministic: nodes in the order of
// the newer document (removed ones after, in the older one's order), keys sorted.
type Diff struct {
	Added   []string `json:"added"`   // node ids
	Removed []string `json:"removed"` // node ids
	Changed []string `json:"changed"` // node ids
	Changes []Change `json:"changes"`
}

// Change is one difference. Old is absent for an addition, New for a removal.
type Change struct {
	Path string `json:"path"`
	Op   string `json:"op"` // added, removed, changed
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

// Paths lists the changed paths, at most n (n <= 0: all), for short summaries.
func (d Diff) Paths(n int) []string {
	out := []string{}
	for _, c := range d.Changes {
		if n > 0 && len(out) == n {
			out = append(out, fmt.Sprintf("... and %d more", len(d.Changes)-n))
			break
		}
		out = append(out, c.Path)
	}
	return out
}

// DiffDocuments compares two flow documents (any JSON objects).
func DiffDocuments(from, to []byte) (Diff, error) {
	d := Diff{Added: []string{}, Removed: []string{}, Changed: []string{}, Changes: []Change{}}
	a, err := decodeAny(from)
	if err != nil {
		return d, fmt.Errorf("flows: diff: old document: %w", err)
	}
	b, err := decodeAny(to)
	if err != nil {
		return d, fmt.Errorf("flows: diff: new document: %w", err)
	}
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		d.walk("", a, b)
		return d, nil
	}
	an, bn := am["nodes"], bm["nodes"]
	delete(am, "nodes")
	delete(bm, "nodes")
	d.walk("", am, bm)
	d.nodes(an, bn)
	return d, nil
}

func decodeAny(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// nodes matches node lists by id; entries without a string id are matched by index.
func (d *Diff) nodes(a, b any) {
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if !aok || !bok {
		d.walk("nodes", a, b)
		return
	}
	key := func(i int, n any) string {
		if m, ok := n.(map[string]any); ok {
			if id, ok := m["id"].(string); ok && id != "" {
				return id
			}
		}
		return strconv.Itoa(i)
	}
	old := map[string]any{}
	var oldOrder []string
	// A repeated id is matched by its first node on both sides (validation reports the
	// repeat), so a document never differs from itself.
	for i, n := range al {
		k := key(i, n)
		if _, dup := old[k]; !dup {
			oldOrder = append(oldOrder, k)
			old[k] = n
		}
	}
	seen := map[string]bool{}
	for i, n := range bl {
		k := key(i, n)
		if seen[k] {
			continue
		}
		seen[k] = true
		path := "nodes." + k
		o, ok := old[k]
		switch {
		case !ok:
			d.Added = append(d.Added, k)
			d.Changes = append(d.Changes, Change{Path: path, Op: "added", New: n})
		case !reflect.DeepEqual(o, n):
			d.Changed = append(d.Changed, k)
			d.walk(path, o, n)
		}
	}
	for _, k := range oldOrder {
		if !seen[k] {
			d.Removed = append(d.Removed, k)
			d.Changes = append(d.Changes, Change{Path: "nodes." + k, Op: "removed", Old: old[k]})
		}
	}
}

func (d *Diff) walk(path string, a, b any) {
	switch av := a.(type) {
	case map[string]any:
		if bv, ok := b.(map[string]any); ok {
			keys := slices.Sorted(maps.Keys(av))
			for k := range bv {
				if _, ok := av[k]; !ok {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			for _, k := range keys {
				ov, inA := av[k]
				nv, inB := bv[k]
				p := join(path, k)
				switch {
				case !inA:
					d.Changes = append(d.Changes, Change{Path: p, Op: "added", New: nv})
				case !inB:
					d.Changes = append(d.Changes, Change{Path: p, Op: "removed", Old: ov})
				default:
					d.walk(p, ov, nv)
				}
			}
			return
		}
	case []any:
		if bv, ok := b.([]any); ok {
			for i := range max(len(av), len(bv)) {
				p := join(path, strconv.Itoa(i))
				switch {
				case i >= len(av):
					d.Changes = append(d.Changes, Change{Path: p, Op: "added", New: bv[i]})
				case i >= len(bv):
					d.Changes = append(d.Changes, Change{Path: p, Op: "removed", Old: av[i]})
				default:
					d.walk(p, av[i], bv[i])
				}
			}
			return
		}
	}
	if !reflect.DeepEqual(a, b) {
		d.Changes = append(d.Changes, Change{Path: path, Op: "changed", Old: a, New: b})
	}
}
