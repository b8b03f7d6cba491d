package ivr

import (
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
)

const (
	stateSID   = "CA0123456789abcdef0123456789abcdef"
	stateOther = "CAffffffffffffffffffffffffffffffff"
)

var stateAt = time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC)

func TestStateRoundTrip(t *testing.T) {
	c := newStateCodec("secret")
	in := flows.State{Flow: "default", Version: 3, Node: "menu", Member: "1001", Attempts: 1, Vars: map[string]string{"k": "v"}}
	s, err := c.encode(in, stateSID, stateAt.Add(DefaultStateTTL))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(s, "+/=&?# ") {
		t.Fatalf("state %q is not URL-safe", s)
	}
	if strings.Contains(s, stateSID) {
		t.Fatalf("state %q carries the call SID, which the MAC covers instead", s)
	}
	out, err := c.decode(s, stateSID, stateAt.Add(DefaultStateTTL))
	if err != nil {
		t.Fatal(err)
	}
	if out.Flow != in.Flow || out.Version != in.Version || out.Node != in.Node || out.Member != in.Member || out.Attempts != in.Attempts || out.Vars["k"] != "v" {
		t.Fatalf("decode(encode(%+v)) = %+v", in, out)
	}
}

func TestStateRejectsTampering(t *testing.T) {
	c := newStateCodec("secret")
	until := stateAt.Add(time.Hour)
	enc := func(st flows.State) string { s, _ := c.encode(st, stateSID, until); return s }
	good := enc(flows.State{Flow: "default", Node: "menu", Member: "1001"})
	other, _ := newStateCodec("other secret").encode(flows.State{Flow: "default", Node: "menu", Member: "1001"}, stateSID, until)
	cut := strings.LastIndexByte(good, '.')
	signed, sig := good[:cut], good[cut+1:]
	payload, _, _ := strings.Cut(signed, ".")
	forged := enc(flows.State{Flow: "default", Node: "menu", Member: "1002"})
	forgedPayload, _, _ := strings.Cut(forged, ".")
	later, _ := c.encode(flows.State{Flow: "default", Node: "menu", Member: "1001"}, stateSID, until.Add(time.Hour))
	_, laterExp, _ := strings.Cut(later[:strings.LastIndexByte(later, '.')], ".")
	for name, s := range map[string]string{
		"empty":              "",
		"no signature":       signed,
		"no expiry":          payload + "." + sig,
		"wrong key":          other,
		"swapped payload":    forgedPayload + signed[len(payload):] + "." + sig,
		"a later expiry":     payload + "." + laterExp + "." + sig,
		"truncated sig":      signed + "." + sig[:5],
		"garbage payload":    "!!!" + signed[len(payload):] + "." + sig,
		"valid but no node":  enc(flows.State{Flow: "x"}),
		"signature only dot": ".",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.decode(s, stateSID, stateAt); err == nil {
				t.Fatalf("decode(%q) accepted a state it should refuse", s)
			}
		})
	}
	if _, err := c.decode(good, stateOther, stateAt); err == nil {
		t.Error("a state continued another call")
	}
	if _, err := c.decode(good, stateSID, until.Add(time.Second)); err == nil {
		t.Error("an expired state was accepted")
	}
	if _, err := c.decode(good, stateSID, until); err != nil {
		t.Errorf("a state at its last second: %v", err)
	}
}

func FuzzStateDecode(f *testing.F) {
	c := newStateCodec("secret")
	good, _ := c.encode(flows.State{Flow: "default", Node: "menu"}, stateSID, stateAt)
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := c.decode(s, stateSID, stateAt)
		if err == nil && st.Node == "" {
			t.Fatalf("accepted a state without a node: %q", s)
		}
	})
}
