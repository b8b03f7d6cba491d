package flows

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// The default flow at each trust level: the same member, the same trip, four callers.
func TestDefaultFlowTrustLevels(t *testing.T) {
	upcoming := trip("upcoming", at(11, 27, 8, 15), time.Time{})
	const (
		tripText = "I see you have a trip to Atlanta tomorrow."
		code     = "Your confirmation code is"
	)
	tests := []struct {
		name      string
		trust     string
		steps     []step
		wantHear  []string // said somewhere in the call
		wantNever []string // never said
	}{
		{
			name:  "suspicious: nothing about the member, asked who they are",
			trust: TrustSuspicious,
			steps: []step{
				{in: Input{Digits: "1001"}, want: askPINUnknown, wantNode: "verify_member"},
				{in: Input{Digits: "1234"}, want: "Sorry, that PIN doesn't match. " + askPINUnknown, wantNode: "verify_member", wantTry: 1},
			},
			wantHear:  []string{"Welcome to the Memberline member line."},
			wantNever: []string{"Dana", "Atlanta", "Diamond", "HX7Q2P", "H X 7"},
		},
		{
			// Most calls arrive without attestation: the member hears their first name and
			// is asked about "your upcoming trip", without its place, date or code.
			name:  "unverified: first name and the trip unnamed, then offered verification",
			trust: TrustUnverified,
			steps: []step{
				{in: Input{Digits: "2"}, want: offerVerify, wantNode: "offer_verify"},
				{in: Input{Digits: "2"}, want: menuText, wantNode: "menu"},
				{in: Input{Digits: "3"}, want: "I can tell you your member tier once I've made sure it's you: call from your own phone, or enter your PIN. Thank you for calling Memberline. Goodbye.", wantEnd: EndHangup},
			},
			wantHear:  []string{"Welcome back, Dana.", askUnverified, offerVerify},
			wantNever: []string{"Atlanta", "tomorrow", "Diamond", "HX7Q2P", "H X 7"},
		},
		{
			name:  "unverified, yes: handed off with the trip's whole context",
			trust: TrustUnverified,
			steps: []step{
				{in: Input{Speech: "yes"}, want: "One moment while I connect you with an agent.", wantEnd: EndHandoff},
			},
			wantHear:  []string{"Welcome back, Dana.", askUnverified},
			wantNever: []string{"Atlanta", "tomorrow", "HX7Q2P", offerVerify},
		},
		{
			name:  "verified number: the trip's place and date, no confirmation code",
			trust: TrustVerified,
			steps: []step{
				{in: Input{Digits: "2"}, want: menuText, wantNode: "menu"},
			},
			wantHear:  []string{"Welcome back, Dana.", "As a Diamond member", tripText},
			wantNever: []string{code, offerVerify},
		},
		{
			name:  "unverified, then the PIN: the trip and its confirmation code",
			trust: TrustUnverified,
			steps: []step{
				{in: Input{Digits: "2"}, want: offerVerify, wantNode: "offer_verify"},
				{in: Input{Digits: "1"}, want: "Please enter your PIN, followed by the pound key.", wantNode: "verify_pin"},
				{in: Input{Digits: testPIN}, want: "As a Diamond member, thank you for your loyalty. " + tripText + " " + code + " HX7Q2P. " + askTrip, wantNode: "about_activity"},
			},
			wantHear: []string{"Welcome back, Dana.", offerVerify, tripText, code},
		},
		{
			name:  "a wrong PIN three times: an agent, still no trip",
			trust: TrustUnverified,
			steps: []step{
				{in: Input{Digits: "2"}, want: offerVerify, wantNode: "offer_verify"},
				{in: Input{Digits: "1"}, want: "Please enter your PIN, followed by the pound key.", wantNode: "verify_pin"},
				{in: Input{Digits: "1111"}, want: "Sorry, that PIN doesn't match. Please enter your PIN, followed by the pound key.", wantNode: "verify_pin", wantTry: 1},
				{in: Input{Digits: "12"}, want: "Sorry, that PIN doesn't match. Please enter your PIN, followed by the pound key.", wantNode: "verify_pin", wantTry: 2},
				{in: Input{Digits: "9999"}, want: "Let me connect you with an agent who can confirm your identity.", wantEnd: EndHandoff},
			},
			wantNever: []string{"Atlanta", code},
		},
		{
			name:  "locked out: straight to an agent",
			trust: TrustUnverified,
			steps: []step{
				{in: Input{Digits: "2"}, want: offerVerify, wantNode: "offer_verify"},
				{in: Input{Digits: "1"}, want: "Please enter your PIN, followed by the pound key.", wantNode: "verify_pin"},
				{in: Input{Digits: lockedPIN}, want: "Let me connect you with an agent who can confirm your identity.", wantEnd: EndHandoff},
			},
			wantNever: []string{"Atlanta", code},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := callFrom(dana(upcoming))
			call.Caller.Trust = tt.trust
			first, err := Default().Start(call)
			if err != nil {
				t.Fatal(err)
			}
			heard := spoken(first)
			// converse starts the call again; its steps carry the rest.
			last := converse(t, Default(), call, map[string]Member{"1001": dana(upcoming)}, tt.steps)
			for _, s := range tt.steps {
				heard += " " + s.want
			}
			for _, w := range tt.wantHear {
				if !strings.Contains(heard, w) {
					t.Errorf("never heard %q in %q", w, heard)
				}
			}
			for _, w := range tt.wantNever {
				if strings.Contains(heard, w) {
					t.Errorf("heard %q in %q", w, heard)
				}
			}
			if h := handoffOf(last); h != nil && tt.trust != TrustVerified && strings.Contains(tt.name, "agent") && h.Reason != "unverified" {
				t.Errorf("handoff reason = %q, want unverified", h.Reason)
			}
		})
	}
}

const (
	askPINUnknown = "For your security, please enter your PIN, followed by the pound key. If you don't have a PIN, stay on the line for an agent."
	offerVerify   = "To hear about your bookings, I need to make sure it's you. To enter your PIN, press 1. For the main menu, press 2."
	askUnverified = "Are you calling about your upcoming trip? Press 1 or say yes. Press 2 or say no."
)

// A later webhook's caller trust does not change the call's: it is fixed at Start and
// travels in the (signed) state.
func TestTrustFixedAtStart(t *testing.T) {
	f := Default()
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))
	call.Caller.Trust = TrustUnverified
	first, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	if first.State.Trust != TrustUnverified || first.State.Node != "ask_activity_unverified" {
		t.Fatalf("state = %+v", first.State)
	}
	later := call
	later.Caller.Trust = TrustVerified // a replayed or forged StirVerstat
	offer, err := f.Resume(later, first.State, Input{Digits: "2"})
	if err != nil || offer.State.Trust != TrustUnverified || offer.State.Node != "offer_verify" {
		t.Fatalf("after no: %+v, %v", offer.State, err)
	}
	turn, err := f.Resume(later, offer.State, Input{Digits: "1"})
	if err != nil {
		t.Fatal(err)
	}
	if turn.State.Trust != TrustUnverified || turn.State.Node != "verify_pin" {
		t.Errorf("state = %+v, want trust unverified at verify_pin", turn.State)
	}
	// The edge cannot claim verified_pin either.
	claim := call
	claim.Caller.Trust = TrustVerifiedPIN
	turn, err = f.Start(claim)
	if err != nil {
		t.Fatal(err)
	}
	if turn.State.Trust != TrustUnverified {
		t.Errorf("claimed verified_pin → %q, want unverified", turn.State.Trust)
	}
}

func policyFlow(nodes ...Node) *Flow {
	f := flowOf(nodes...)
	f.Disclosure = map[string][]string{
		"unverified":   {"member.first_name"},
		"verified":     {"activity.place", "activity.starts_at"},
		"verified_pin": {"activity.reference", "member.attributes.*"},
	}
	return f
}

func TestDisclosureEnforced(t *testing.T) {
	f := mustLoad(t, policyFlow(
		Node{ID: "hi", Type: NodeSay, Say: en("Hi {{ member.first_name }}."), Safe: en("Hi."), Next: "where"},
		Node{ID: "where", Type: NodeSay, Say: en("Off to {{ activity.place }} {{ date activity.starts_at }}."), Next: "code"},
		Node{ID: "code", Type: NodeSet, Set: map[string]string{"code": "{{ activity.reference }}"}, Next: "tell"},
		Node{ID: "tell", Type: NodeSay, Say: en("Code {{ vars.code }}. Seat {{ member.attributes.seat }}."), Safe: en("No code for you."), Next: "tier"},
		Node{ID: "tier", Type: NodeSay, Say: en("Tier {{ member.tier }}."), Next: "bye"},
		Node{ID: "bye", Type: NodeHangup, Say: en("Bye.")},
	))
	m := dana(trip("upcoming", at(11, 27, 8, 15), time.Time{}))
	m.Attributes = map[string]string{"seat": "aisle"}
	tests := []struct {
		trust string
		want  string
	}{
		{TrustSuspicious, "Hi. No code for you. Bye."},
		{TrustUnverified, "Hi Dana. No code for you. Bye."},
		{TrustVerified, "Hi Dana. Off to Atlanta tomorrow. No code for you. Bye."},
	}
	for _, tt := range tests {
		t.Run(tt.trust, func(t *testing.T) {
			call := callFrom(m)
			call.Caller.Trust = tt.trust
			turn, err := f.Start(call)
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn); got != tt.want {
				t.Errorf("spoken = %q, want %q\ntrace %q", got, tt.want, turn.Trace)
			}
			if turn.State.Vars["code"] != "" {
				t.Errorf("vars.code = %q: a variable carried what the caller may not hear", turn.State.Vars["code"])
			}
		})
	}
	// A verified_pin call (from a goto after verification) hears the code; member.tier is
	// in no level: never said.
	st := State{Trust: TrustVerifiedPIN}
	call := callFrom(m)
	call.From = &st
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spoken(turn), "Hi Dana. Off to Atlanta tomorrow. Code HX7Q2P. Seat aisle. Bye."; got != want {
		t.Errorf("verified_pin: spoken = %q, want %q", got, want)
	}
}

// A flow that sets no policy is held to the built-in flow's: a caller whose number failed
// attestation hears nothing about the member, an attested one the trip but not its code,
// and only after the PIN the code.
func TestNoPolicyIsTheBuiltInPolicy(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "tell", Type: NodeSay, Say: en("Your code is {{ activity.reference }} for your trip to {{ activity.place }}."),
			Safe: en("I can tell you more once you have entered your PIN."), Next: "bye"},
		Node{ID: "bye", Type: NodeHangup},
	))
	m := dana(trip("upcoming", at(11, 27, 8, 15), time.Time{}))
	for _, tt := range []struct{ trust, want string }{
		{TrustSuspicious, "I can tell you more once you have entered your PIN."},
		{TrustUnverified, "I can tell you more once you have entered your PIN."},
		{TrustVerified, "I can tell you more once you have entered your PIN."},
		{TrustVerifiedPIN, "Your code is HX7Q2P for your trip to Atlanta."},
	} {
		call := callFrom(m)
		call.Caller.Trust = tt.trust
		if tt.trust == TrustVerifiedPIN {
			call.Caller.Trust = TrustVerified
			call.From = &State{Trust: TrustVerifiedPIN}
		}
		turn, err := f.Start(call)
		if err != nil {
			t.Fatal(err)
		}
		if got := spoken(turn); got != tt.want {
			t.Errorf("%s: spoken %q, want %q", tt.trust, got, tt.want)
		}
	}
	if !reflect.DeepEqual(f.Disclosure, map[string][]string(nil)) {
		t.Errorf("the document was given a policy it does not have: %v", f.Disclosure)
	}
}

func TestDisclosureValidation(t *testing.T) {
	tests := []struct {
		name     string
		policy   map[string][]string
		nodes    []Node
		wantErr  string // a path: message fragment
		wantWarn string
	}{
		{
			name:    "unknown level",
			policy:  map[string][]string{"trusted": {"member.first_name"}},
			wantErr: `disclosure.trusted: unknown trust level "trusted"`,
		},
		{
			name:    "not a member or activity field",
			policy:  map[string][]string{"verified": {"caller.phone_last4"}},
			wantErr: `disclosure.verified.0: "caller.phone_last4" is not a member or activity field`,
		},
		{
			name:     "a prompt no level may hear",
			policy:   map[string][]string{"verified": {"member.first_name"}},
			nodes:    []Node{{ID: "a", Type: NodeSay, Say: en("Tier {{ member.tier }}."), Next: "b"}},
			wantWarn: "nodes.a.say.en-US: never spoken: it says member.tier",
		},
		{
			name:     "a safe text that itself needs a level",
			policy:   map[string][]string{"verified": {"member.first_name", "member.tier"}},
			nodes:    []Node{{ID: "a", Type: NodeSay, Say: en("Tier {{ member.tier }}."), Safe: en("Hi {{ member.first_name }}."), Next: "b"}},
			wantWarn: "nodes.a.safe.en-US: callers below verified hear nothing here",
		},
		{
			name:     "a gather whose prompt no level may hear",
			policy:   map[string][]string{},
			nodes:    []Node{{ID: "a", Type: NodeGather, Prompt: en("{{ activity.place }}? Press 1."), Options: []Option{{Digits: "1", Next: "b"}}, NoInput: "b"}},
			wantWarn: "nodes.a.prompt.en-US: never spoken: it says activity.place",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := append(tt.nodes, Node{ID: "b", Type: NodeHangup, Say: en("Bye.")})
			if len(tt.nodes) == 0 {
				nodes = []Node{{ID: "a", Type: NodeSay, Say: en("Hi."), Next: "b"}, nodes[0]}
			}
			f := flowOf(nodes...)
			f.Disclosure = tt.policy
			r := f.ValidateWith(ValidateOptions{})
			check := func(list []Problem, want, kind string) {
				if want == "" {
					return
				}
				for _, p := range list {
					if strings.Contains(p.Error(), want) {
						return
					}
				}
				t.Errorf("%s = %v, want one containing %q", kind, list, want)
			}
			check(r.Errors, tt.wantErr, "errors")
			check(r.Warnings, tt.wantWarn, "warnings")
			if tt.wantErr == "" && !r.Valid() {
				t.Errorf("errors = %v", r.Errors)
			}
		})
	}
}

func TestVerifyNode(t *testing.T) {
	f := mustLoad(t, flowOf(
		Node{ID: "v", Type: NodeVerify, Prompt: en("PIN?"), NotFoundPrompt: en("Wrong."), Next: "ok", NotFound: "no"},
		Node{ID: "ok", Type: NodeHangup, Say: en("Verified.")},
		Node{ID: "no", Type: NodeHangup, Say: en("Not verified.")},
	))
	t.Run("asks by keypad, ended by pound", func(t *testing.T) {
		turn, err := f.Start(callFrom(sam(nil)))
		if err != nil {
			t.Fatal(err)
		}
		g := gatherOf(turn)
		if g == nil || g.Input != "dtmf" || g.FinishOnKey != "#" || turn.State.Node != "v" {
			t.Fatalf("gather = %+v, state %+v", g, turn.State)
		}
		// The PIN goes to the edge only, never into the trace or the state.
		turn, err = f.Resume(callFrom(sam(nil)), turn.State, Input{Digits: "482913"})
		if err != nil {
			t.Fatal(err)
		}
		if turn.Verify == nil || turn.Verify.MemberID != "1002" || turn.Verify.PIN != "482913" || len(turn.Actions) != 0 {
			t.Fatalf("verify request = %+v", turn)
		}
		if strings.Contains(strings.Join(turn.Trace, " "), "482913") || strings.Contains(turn.State.Trust+turn.State.Node, "482913") {
			t.Errorf("the PIN leaked into %q / %+v", turn.Trace, turn.State)
		}
	})
	t.Run("no member to verify", func(t *testing.T) {
		turn, err := f.Start(callFrom())
		if err != nil {
			t.Fatal(err)
		}
		if got := spoken(turn); got != "Not verified." {
			t.Errorf("spoken = %q", got)
		}
	})
	t.Run("already verified", func(t *testing.T) {
		call := callFrom(sam(nil))
		call.From = &State{Trust: TrustVerifiedPIN}
		turn, err := f.Start(call)
		if err != nil {
			t.Fatal(err)
		}
		if got := spoken(turn); got != "Verified." {
			t.Errorf("spoken = %q", got)
		}
	})
	t.Run("an answer for another member is stale", func(t *testing.T) {
		first, _ := f.Start(callFrom(sam(nil)))
		call := callFrom(sam(nil))
		call.Verified = &Verified{MemberID: "1001", OK: true}
		turn, err := f.Resume(call, first.State, Input{Digits: "2580"})
		if err != nil {
			t.Fatal(err)
		}
		if turn.Verify == nil || turn.State.Trust == TrustVerifiedPIN {
			t.Errorf("turn = %+v", turn)
		}
	})
}

func TestIdentifyLowersTrust(t *testing.T) {
	// A verified number that is nobody's: keypad member numbers are not vouched for.
	call := callFrom()
	first, err := Default().Start(call)
	if err != nil {
		t.Fatal(err)
	}
	call.Identified = &Identified{Number: "1001", Member: ptr(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))}
	turn, err := Default().Resume(call, first.State, Input{Digits: "1001"})
	if err != nil {
		t.Fatal(err)
	}
	if turn.State.Trust != TrustUnverified || strings.Contains(spoken(turn), "Atlanta") {
		t.Errorf("trust %q, spoken %q", turn.State.Trust, spoken(turn))
	}
}

func ptr[T any](v T) *T { return &v }

func TestRememberNode(t *testing.T) {
	lee := lee()
	directory := map[string]Member{"2002": lee}
	call := callFrom() // a number nobody has
	t.Run("consent after the PIN asks the edge to remember", func(t *testing.T) {
		last := converse(t, Default(), call, directory, []step{
			{in: Input{Digits: "2002"}, want: askPINUnknown, wantNode: "verify_member"},
			{in: Input{Digits: testPIN}, want: "Thank you. To have us recognize this phone number next time you call, press 1. Otherwise, press 2.", wantNode: "remember_number"},
		})
		turn, err := Default().Resume(withIdentified(call, &lee), last.State, Input{Digits: "1"})
		if err != nil {
			t.Fatal(err)
		}
		if r := turn.Remember; r == nil || r.MemberID != "2002" || r.Phone != call.Caller.Phone || turn.State.Node != "menu" {
			t.Errorf("remember = %+v, node %q", turn.Remember, turn.State.Node)
		}
		turn, err = Default().Resume(withIdentified(call, &lee), last.State, Input{Digits: "2"})
		if err != nil || turn.Remember != nil {
			t.Errorf("declined: remember = %+v, %v", turn.Remember, err)
		}
	})
	t.Run("not offered without a PIN or for the member's own number", func(t *testing.T) {
		f := mustLoad(t, flowOf(
			Node{ID: "r", Type: NodeRemember, Prompt: en("Press 1."), Next: "bye"},
			Node{ID: "bye", Type: NodeHangup, Say: en("Bye.")},
		))
		own := callFrom(sam(nil))
		own.From = &State{Trust: TrustVerifiedPIN}
		for name, c := range map[string]Call{"verified number, no PIN": callFrom(sam(nil)), "own number": own} {
			turn, err := f.Start(c)
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn); got != "Bye." {
				t.Errorf("%s: spoken %q", name, got)
			}
		}
	})
}

func withIdentified(c Call, m *Member) Call {
	c.Identified = &Identified{Number: m.ID, Member: m}
	return c
}

// TestUnverifiedYesHandsOffWithContext: an unattested member who says yes to "your
// upcoming trip" reaches an agent with the trip's whole context: the agent may see what
// the caller was not told.
func TestUnverifiedYesHandsOffWithContext(t *testing.T) {
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))
	call.Caller.Trust = TrustUnverified
	last := converse(t, Default(), call, nil, []step{{in: Input{Digits: "1"}, want: "One moment while I connect you with an agent.", wantEnd: EndHandoff}})
	h := handoffOf(last)
	if h == nil || h.Reason != "activity" || !hasKV(h.Context, "activity_reference", "HX7Q2P") || !hasKV(h.Context, "member_id", "1001") || !hasKV(h.Context, "trust", TrustUnverified) {
		t.Fatalf("handoff = %+v, want the activity's context with trust unverified", h)
	}
}

func hasKV(kvs []KV, k, v string) bool {
	for _, kv := range kvs {
		if kv.Key == k && kv.Value == v {
			return true
		}
	}
	return false
}

// TestAskedActivity: a turn that asks about the caller's activity says so, whatever the
// trust level's words: the recognition report counts it.
func TestAskedActivity(t *testing.T) {
	for trust, want := range map[string]bool{TrustUnverified: true, TrustVerified: true, TrustSuspicious: false} {
		call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))
		call.Caller.Trust = trust
		turn, err := Default().Start(call)
		if err != nil {
			t.Fatal(err)
		}
		if turn.AskedActivity != want {
			t.Errorf("%s: asked about the activity = %v, want %v", trust, turn.AskedActivity, want)
		}
	}
	turn, err := Default().Start(callFrom(dana(nil)))
	if err != nil || turn.AskedActivity {
		t.Errorf("no activity: asked = %v, %v", turn.AskedActivity, err)
	}
	// Yes (key 1 or the word) to the question is a call about the activity; no is not.
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))
	call.Caller.Trust = TrustVerified
	for _, tc := range []struct {
		in  Input
		yes bool
	}{{Input{Digits: "1"}, true}, {Input{Speech: "yeah", Confidence: 0.9}, true}, {Input{Digits: "2"}, false}, {Input{}, false}} {
		tr, err := Simulate(Default(), call, []Input{tc.in}, SimEnv{})
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.Steps[1].Turn.ActivityYes; got != tc.yes || tr.Steps[0].Turn.ActivityYes {
			t.Errorf("%+v: activity yes = %v, want %v", tc.in, got, tc.yes)
		}
	}
}
