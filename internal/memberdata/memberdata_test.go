package memberdata

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/memberline/memberline/lookup"
)

func TestPhonesAreValidAndDistinct(t *testing.T) {
	m := Members{N: 20000}
	seen := map[string]bool{}
	for k := 0; k < m.Numbers(); k++ {
		p := Phone(k)
		if seen[p] {
			t.Fatalf("Phone(%d) = %s repeats", k, p)
		}
		seen[p] = true
		if k < len(areaCodes)*len(exchanges) { // every area code and exchange once
			if got, err := lookup.Normalize(p, "US"); err != nil || got != p {
				t.Fatalf("Phone(%d) = %s: Normalize = %q, %v", k, p, got, err)
			}
		}
	}
	for k := range 50 {
		p := UnknownPhone(k)
		if seen[p] {
			t.Fatalf("UnknownPhone(%d) = %s is a member's", k, p)
		}
		if _, err := lookup.Normalize(p, "US"); err != nil {
			t.Fatalf("UnknownPhone(%d) = %s: %v", k, p, err)
		}
	}
}

func TestWrite(t *testing.T) {
	var b bytes.Buffer
	if err := (Members{N: 10, Now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}).Write(&b); err != nil {
		t.Fatal(err)
	}
	n := 0
	for sc := bufio.NewScanner(&b); sc.Scan(); n++ {
	}
	if n != 10 {
		t.Fatalf("%d lines, want 10", n)
	}
}
