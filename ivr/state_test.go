package ivr

import (
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
)

func TestStateRoundTrip(t *testing.T) {
	c := newStateCodec("secret")
	in := flows.State{Flow: "default", Version: 3, Node: "menu", Member: "1001", Attempts: 1, Vars: map[string]string{"k": "v"}}
	s, err := c.encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(s, "+/=&?# ") {
		t.Fatalf("state %q is not URL-safe", s)
	}
	out, err := c.decode(s)
	if err != nil {
		t.Fatal(err)
	}
	if out.Flow != in.Flow || out.Version != in.Version || out.Node != in.Node || out.Member != in.Member || out.Attempts != in.Attempts || out.Vars["k"] != "v" {
		t.Fatalf("decode(encode(%+v)) = %+v", in, out)
	}
}

func TestStateRejectsTampering(t *testing.T) {
	c := newStateCodec("secret")
	good, _ := c.encode(flows.State{Flow: "default", Node: "menu", Member: "1001"})
	other, _ := newStateCodec("other secret").encode(flows.State{Flow: "default", Node: "menu", Member: "1001"})
	payload, sig, _ := strings.Cut(good, ".")
	forged, _ := c.encode(flows.State{Flow: "default", Node: "menu", Member: "1002"})
	forgedPayload, _, _ := strings.Cut(forged, ".")
	for name, s := range map[string]string{
		"empty":              "",
		"no signature":       payload,
		"wrong key":          other,
		"swapped payload":    forgedPayload + "." + sig,
		"truncated sig":      payload + "." + sig[:5],
		"garbage payload":    "!!!." + sig,
		"valid but no node":  func() string { s, _ := c.encode(flows.State{Flow: "x"}); return s }(),
		"signature only dot": ".",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.decode(s); err == nil {
				t.Fatalf("decode(%q) accepted a state it should refuse", s)
			}
		})
	}
}

func FuzzStateDecode(f *testing.F) {
	c := newStateCodec("secret")
	good, _ := c.encode(flows.State{Flow: "default", Node: "menu"})
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := c.decode(s)
		if err == nil && st.Node == "" {
			t.Fatalf("accepted a state without a node: %q", s)
		}
	})
}
