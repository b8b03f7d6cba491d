package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/errs"
)

// Fixed clock: Thursday, November 26th 2026, 10:00 in New York.
var (
	est = time.FixedZone("EST", -5*3600)
	now = time.Date(2026, 11, 26, 10, 0, 0, 0, est)
)

func at(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, est)
}

func trip(relation string, starts, ends time.Time) *Activity {
	return &Activity{ID: "act-9", Kind: "trip", Place: "Atlanta", StartsAt: starts, EndsAt: ends,
		Status: "confirmed", Reference: "HX7Q2P", Relation: relation}
}

func dana(a *Activity) Member {
	return Member{ID: "1001", FirstName: "Dana", LastName: "Reyes", Tier: "Diamond", Language: "en-US",
		TimeZone: "America/New_York", Activity: a}
}

func sam(a *Activity) Member {
	return Member{ID: "1002", FirstName: "Sam", LastName: "Reyes", Tier: "Silver", Language: "en-US",
		TimeZone: "America/New_York", Activity: a}
}

func lee() Member {
	return Member{ID: "2002", FirstName: "Lee", Tier: "Gold", Language: "en-US"}
}

// callFrom is a call whose number the network vouches for (STIR/SHAKEN A): the default
// flow's policy lets it hear the member's trip.
func callFrom(ms ...Member) Call {
	return Call{Now: now, Caller: Caller{Phone: "+14045550123", Members: ms, Trust: TrustVerified}}
}

// spoken is everything a turn says, in order, gather prompts included.
func spoken(t Turn) string {
	var parts []string
	for _, a := range t.Actions {
		switch a.Kind {
		case ActSay:
			parts = append(parts, a.Speech.String())
		case ActGather:
			for _, p := range a.Gather.Prompts {
				parts = append(parts, p.Speech.String())
			}
		}
	}
	return strings.Join(parts, " ")
}

func handoffOf(t Turn) *Handoff {
	for _, a := range t.Actions {
		if a.Kind == ActHandoff {
			return a.Handoff
		}
	}
	return nil
}

func gatherOf(t Turn) *Gather {
	for _, a := range t.Actions {
		if a.Kind == ActGather {
			return a.Gather
		}
	}
	return nil
}

const (
	askTrip  = "Are you calling about that trip? Press 1 or say yes. Press 2 or say no."
	menuText = "For reservations, press 1. For baggage, press 2. To hear your member tier, press 3. To speak with an agent, press 0."
	idText   = "If you know your member number, enter it now, followed by the pound key. Otherwise, stay on the line for an agent."
	// choices are the language choices announced at the first ask of the member number.
	choices = " Para español, marque 8. Pour le français, appuyez sur 9. Para português, digite 7."
)

func TestStart(t *testing.T) {
	tomorrow := trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0))
	tests := []struct {
		name     string
		call     Call
		want     string
		wantNode string // awaiting at
		wantEnd  string
	}{
		{
			name:     "known elite member, trip tomorrow",
			call:     callFrom(dana(tomorrow)),
			want:     "Welcome back, Dana. As a Diamond member, thank you for your loyalty. I see you have a trip to Atlanta tomorrow. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name:     "known member, trip in three days",
			call:     callFrom(sam(trip("upcoming", at(11, 29, 7, 0), at(12, 1, 7, 0)))),
			want:     "Welcome back, Sam. I see you have a trip to Atlanta on Sunday. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name:     "known member, trip next week with the full date",
			call:     callFrom(sam(trip("upcoming", at(12, 4, 7, 0), at(12, 8, 7, 0)))),
			want:     "Welcome back, Sam. I see you have a trip to Atlanta on Friday, December 4th. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name:     "known member, current trip",
			call:     callFrom(sam(trip("current", at(11, 24, 7, 0), at(11, 28, 20, 0)))),
			want:     "Welcome back, Sam. I see you're on your trip to Atlanta. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name:     "known member, recent trip",
			call:     callFrom(sam(trip("recent", at(11, 20, 7, 0), at(11, 24, 18, 0)))),
			want:     "Welcome back, Sam. I see you recently returned from your trip to Atlanta on Tuesday. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name:     "known member, trip ended yesterday",
			call:     callFrom(sam(trip("recent", at(11, 20, 7, 0), at(11, 25, 18, 0)))),
			want:     "Welcome back, Sam. I see you recently returned from your trip to Atlanta yesterday. " + askTrip,
			wantNode: "about_activity",
		},
		{
			name: "known member, upcoming stay",
			call: callFrom(sam(&Activity{ID: "s1", Kind: "stay", Place: "Chicago", StartsAt: at(11, 27, 15, 0), Relation: "upcoming"})),
			want: "Welcome back, Sam. I see your stay in Chicago starts tomorrow. " +
				"Are you calling about that stay? Press 1 or say yes. Press 2 or say no.",
			wantNode: "about_activity",
		},
		{
			name:     "known member without activity",
			call:     callFrom(sam(nil)),
			want:     "Welcome back, Sam. " + menuText,
			wantNode: "menu",
		},
		{
			name:     "known elite member without activity",
			call:     callFrom(dana(nil)),
			want:     "Welcome back, Dana. As a Diamond member, thank you for your loyalty. " + menuText,
			wantNode: "menu",
		},
		{
			name:     "activity without a place",
			call:     callFrom(sam(&Activity{ID: "x", Kind: "trip", Relation: "upcoming", StartsAt: at(11, 27, 8, 0)})),
			want:     "Welcome back, Sam. " + menuText,
			wantNode: "menu",
		},
		{
			name:     "shared number",
			call:     callFrom(dana(tomorrow), sam(nil)),
			want:     "Welcome back. If this is Dana, press 1. If this is Sam, press 2.",
			wantNode: "who",
		},
		{
			name:     "unknown number",
			call:     callFrom(),
			want:     "Welcome to the Memberline member line. " + idText + choices,
			wantNode: "member_number",
		},
		{
			name:     "more than five members is unknown",
			call:     callFrom(dana(nil), sam(nil), lee(), lee(), lee(), lee()),
			want:     "Welcome to the Memberline member line. " + idText + choices,
			wantNode: "member_number",
		},
		{
			name: "Spanish member",
			call: func() Call {
				m := dana(tomorrow)
				m.Language = "es-US"
				return callFrom(m)
			}(),
			want: "Hola de nuevo, Dana. Como miembro Diamante, gracias por su lealtad. Veo que tiene un viaje a Atlanta mañana. " +
				"¿Nos llama por ese motivo? Marque 1 o diga sí. Marque 2 o diga no.",
			wantNode: "about_activity",
		},
		{
			name: "Spanish member, full date",
			call: func() Call {
				m := sam(trip("upcoming", at(12, 4, 7, 0), time.Time{}))
				m.Language = "es-MX" // not declared: same primary language
				return callFrom(m)
			}(),
			want: "Hola de nuevo, Sam. Veo que tiene un viaje a Atlanta el viernes, 4 de diciembre. " +
				"¿Nos llama por ese motivo? Marque 1 o diga sí. Marque 2 o diga no.",
			wantNode: "about_activity",
		},
		{
			name: "a regional variant the flow lacks speaks its language's texts",
			call: func() Call {
				m := sam(nil)
				m.Language = "fr-FR"
				return callFrom(m)
			}(),
			want: "Rebonjour, Sam. Pour les réservations, appuyez sur 1. Pour les bagages, appuyez sur 2. " +
				"Pour connaître votre niveau de membre, appuyez sur 3. Pour parler à un agent, appuyez sur 0.",
			wantNode: "menu",
		},
		{
			name: "an undeclared language falls back to the default",
			call: func() Call {
				m := sam(nil)
				m.Language = "de-DE"
				return callFrom(m)
			}(),
			want:     "Welcome back, Sam. " + menuText,
			wantNode: "menu",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn, err := Default().Start(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got := spoken(turn); got != tt.want {
				t.Errorf("spoken:\n got %q\nwant %q", got, tt.want)
			}
			if turn.Awaiting != (tt.wantNode != "") || turn.State.Node != tt.wantNode || turn.End != tt.wantEnd {
				t.Errorf("awaiting %v at %q, end %q; want node %q, end %q", turn.Awaiting, turn.State.Node, turn.End, tt.wantNode, tt.wantEnd)
			}
			if turn.State.Flow != "default" || turn.State.Attempts != 0 || turn.State.Member != "" {
				t.Errorf("state = %+v", turn.State)
			}
			if turn.Awaiting && turn.Actions[len(turn.Actions)-1].Kind != ActGather {
				t.Errorf("awaiting turn does not end with a gather: %+v", turn.Actions)
			}
		})
	}
}

// step is one webhook after the first: what the caller did and what the call answers.
type step struct {
	in       Input
	want     string
	wantNode string // awaiting at; "" when the call ends
	wantEnd  string
	wantTry  int // State.Attempts
}

// converse plays a call the way the IVR edge does: Start, then Resume per step; an
// identify request is answered from directory and Resume called again; a member
// identified earlier is passed as Call.Identified on later turns.
// testPIN is every test member's PIN in converse; lockedPIN answers as locked out.
const (
	testPIN   = "2580"
	lockedPIN = "0000"
)

func converse(t *testing.T, f *Flow, call Call, directory map[string]Member, steps []step) Turn {
	t.Helper()
	identified := func(number string) *Identified {
		id := &Identified{Number: number}
		if m, ok := directory[number]; ok {
			id.Member = &m
		}
		return id
	}
	turn, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		if !turn.Awaiting {
			t.Fatalf("step %d: the call already ended (%s)", i, turn.End)
		}
		// The state travels through a URL: only its JSON survives.
		b, err := json.Marshal(turn.State)
		if err != nil {
			t.Fatal(err)
		}
		var st State
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		c := call
		if st.Member != "" && !hasMember(c.Caller, st.Member) {
			c.Identified = identified(st.Member)
		}
		turn, err = f.Resume(c, st, s.in)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if turn.Identify != "" {
			if len(turn.Actions) != 0 || turn.Awaiting || turn.End != "" || !reflect.DeepEqual(turn.State, st) {
				t.Fatalf("step %d: identify turn = %+v", i, turn)
			}
			c.Identified = identified(turn.Identify)
			turn, err = f.Resume(c, st, s.in)
			if err != nil {
				t.Fatalf("step %d (identified): %v", i, err)
			}
		}
		if v := turn.Verify; v != nil {
			if len(turn.Actions) != 0 || turn.Awaiting || turn.End != "" || !reflect.DeepEqual(turn.State, st) {
				t.Fatalf("step %d: verify turn = %+v", i, turn)
			}
			// As the PIN store: only a member in the directory has a PIN to match.
			_, known := directory[v.MemberID]
			known = known || hasMember(call.Caller, v.MemberID)
			c.Verified = &Verified{MemberID: v.MemberID, OK: known && v.PIN == testPIN, Locked: v.PIN == lockedPIN}
			turn, err = f.Resume(c, st, s.in)
			if err != nil {
				t.Fatalf("step %d (verified): %v", i, err)
			}
			if turn.Verify != nil {
				t.Fatalf("step %d: asked to verify twice", i)
			}
		}
		if got := spoken(turn); got != s.want {
			t.Errorf("step %d spoken:\n got %q\nwant %q", i, got, s.want)
		}
		if turn.State.Node != s.wantNode || turn.Awaiting != (s.wantNode != "") || turn.End != s.wantEnd || turn.State.Attempts != s.wantTry {
			t.Errorf("step %d: awaiting %v at %q (attempts %d), end %q; want %q (attempts %d), end %q",
				i, turn.Awaiting, turn.State.Node, turn.State.Attempts, turn.End, s.wantNode, s.wantTry, s.wantEnd)
		}
		if t.Failed() {
			t.Logf("trace:\n%s", strings.Join(turn.Trace, "\n"))
			t.FailNow()
		}
	}
	return turn
}

func hasMember(c Caller, id string) bool {
	for _, m := range c.Members {
		if m.ID == id {
			return true
		}
	}
	return false
}

func TestConversations(t *testing.T) {
	tomorrow := trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0))
	spanish := dana(tomorrow)
	spanish.Language = "es-US"
	lee := lee()
	directory := map[string]Member{"2002": lee}
	const (
		connect       = "One moment while I connect you with an agent."
		retryTrip     = "Sorry, I didn't get that. Are you calling about your trip? Press 1 or say yes. Press 2 or say no."
		notFound      = "Sorry, I couldn't find that member number. " + idText
		unidentify    = "Please stay on the line for the next available agent."
		noInputBye    = "Let me connect you with an agent."
		noMatchBye    = "Sorry, I'm having trouble understanding. Let me connect you with an agent."
		retryMenu     = "Sorry, I didn't get that. " + menuText
		leeGreeting   = "Welcome back, Lee. As a Gold member, thank you for your loyalty. " + menuText
		rememberOffer = "Thank you. To have us recognize this phone number next time you call, press 1. Otherwise, press 2."
		askPIN        = "For your security, please enter your PIN, followed by the pound key. If you don't have a PIN, stay on the line for an agent."
		pinWrong      = "Sorry, that PIN doesn't match. " + askPIN
		unverifiedBye = "Let me connect you with an agent who can confirm your identity."
	)
	tests := []struct {
		name        string
		call        Call
		steps       []step
		wantHandoff *Handoff
	}{
		{
			name:  "yes by key",
			call:  callFrom(dana(tomorrow)),
			steps: []step{{in: Input{Digits: "1"}, want: connect, wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "activity", Context: []KV{
				{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"},
				{"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "activity"}, {"trust", "verified"}}},
		},
		{
			name:        "yes please by voice",
			call:        callFrom(dana(tomorrow)),
			steps:       []step{{in: Input{Speech: "Yes please.", Confidence: 0.9}, want: connect, wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "activity", Context: []KV{{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"}, {"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "activity"}, {"trust", "verified"}}},
		},
		{
			name:        "a phrase with a curly apostrophe",
			call:        callFrom(dana(tomorrow)),
			steps:       []step{{in: Input{Speech: "That’s right"}, want: connect, wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "activity", Context: []KV{{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"}, {"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "activity"}, {"trust", "verified"}}},
		},
		{
			name:  "Spanish yes",
			call:  callFrom(spanish),
			steps: []step{{in: Input{Speech: "Sí, por favor"}, want: "Un momento, por favor. Le comunico con un agente.", wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "activity", Context: []KV{
				{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"},
				{"activity_reference", "HX7Q2P"}, {"language", "es-US"}, {"reason", "activity"}, {"trust", "verified"}}},
		},
		{
			name: "no, then the member tier",
			call: callFrom(dana(tomorrow)),
			steps: []step{
				{in: Input{Speech: "no"}, want: menuText, wantNode: "menu"},
				{in: Input{Digits: "3"}, want: "You are a Diamond member. Thank you for calling Memberline. Goodbye.", wantEnd: EndHangup},
			},
		},
		{
			name: "no, then reservations",
			call: callFrom(dana(tomorrow)),
			steps: []step{
				{in: Input{Digits: "2"}, want: menuText, wantNode: "menu"},
				{in: Input{Digits: "1"}, want: "One moment while I connect you with reservations.", wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "reservations", Reason: "reservations", Context: []KV{
				{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"},
				{"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "reservations"}, {"trust", "verified"}}},
		},
		{
			name:  "menu: baggage by voice",
			call:  callFrom(sam(nil)),
			steps: []step{{in: Input{Speech: "my bags please"}, want: "One moment while I connect you with baggage services.", wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "baggage", Reason: "baggage", Context: []KV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"language", "en-US"}, {"reason", "baggage"}, {"trust", "verified"}}},
		},
		{
			name:  "menu: an agent",
			call:  callFrom(sam(nil)),
			steps: []step{{in: Input{Digits: "0"}, want: connect, wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "agent-request", Context: []KV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"language", "en-US"}, {"reason", "agent-request"}, {"trust", "verified"}}},
		},
		{
			name: "no input twice, then an agent",
			call: callFrom(dana(tomorrow)),
			steps: []step{
				{in: Input{}, want: retryTrip, wantNode: "about_activity", wantTry: 1},
				{in: Input{}, want: retryTrip, wantNode: "about_activity", wantTry: 2},
				{in: Input{}, want: noInputBye, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "no-input", Context: []KV{
				{"member_id", "1001"}, {"tier", "Diamond"}, {"activity_id", "act-9"},
				{"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "no-input"}, {"trust", "verified"}}},
		},
		{
			name: "unrecognized answers, then an agent",
			call: callFrom(sam(nil)),
			steps: []step{
				{in: Input{Digits: "9"}, want: retryMenu, wantNode: "menu", wantTry: 1},
				{in: Input{Speech: "purple elephants"}, want: retryMenu, wantNode: "menu", wantTry: 2},
				{in: Input{Digits: "7"}, want: noMatchBye, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "no-match", Context: []KV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"language", "en-US"}, {"reason", "no-match"}, {"trust", "verified"}}},
		},
		{
			name: "the last failure decides the way out",
			call: callFrom(sam(nil)),
			steps: []step{
				{in: Input{Digits: "9"}, want: retryMenu, wantNode: "menu", wantTry: 1},
				{in: Input{Digits: "9"}, want: retryMenu, wantNode: "menu", wantTry: 2},
				{in: Input{}, want: noInputBye, wantEnd: EndHandoff},
			},
		},
		{
			name: "a good answer after a retry",
			call: callFrom(dana(tomorrow)),
			steps: []step{
				{in: Input{Speech: "hmm"}, want: retryTrip, wantNode: "about_activity", wantTry: 1},
				{in: Input{Speech: "nope"}, want: menuText, wantNode: "menu"},
			},
		},
		{
			name: "shared number: choose by key, then go on as that member",
			call: callFrom(dana(tomorrow), sam(trip("current", at(11, 24, 7, 0), at(11, 28, 20, 0)))),
			steps: []step{
				{in: Input{Digits: "2"}, want: "Welcome back, Sam. I see you're on your trip to Atlanta. " + askTrip, wantNode: "about_activity"},
				{in: Input{Digits: "1"}, want: connect, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "activity", Context: []KV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"activity_id", "act-9"},
				{"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "activity"}, {"trust", "verified"}}},
		},
		{
			name: "shared number: choose by name",
			call: callFrom(dana(tomorrow), sam(nil)),
			steps: []step{
				{in: Input{Speech: "This is Dana."}, want: "Welcome back, Dana. As a Diamond member, thank you for your loyalty. I see you have a trip to Atlanta tomorrow. " + askTrip, wantNode: "about_activity"},
			},
		},
		{
			name: "shared number: no such member, then a member",
			call: callFrom(dana(tomorrow), sam(nil)),
			steps: []step{
				{in: Input{Digits: "3"}, want: "Sorry, I didn't get that. If this is Dana, press 1. If this is Sam, press 2.", wantNode: "who", wantTry: 1},
				{in: Input{Digits: "2"}, want: "Welcome back, Sam. " + menuText, wantNode: "menu"},
			},
		},
		{
			name: "shared number: nobody answers",
			call: callFrom(dana(tomorrow), sam(nil)),
			steps: []step{
				{in: Input{}, want: "Sorry, I didn't get that. If this is Dana, press 1. If this is Sam, press 2.", wantNode: "who", wantTry: 1},
				{in: Input{}, want: "Sorry, I didn't get that. If this is Dana, press 1. If this is Sam, press 2.", wantNode: "who", wantTry: 2},
				{in: Input{}, want: noInputBye, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "no-input", Context: []KV{{"language", "en-US"}, {"reason", "no-input"}, {"trust", "verified"}}},
		},
		{
			name: "unknown number: identified, then personalized",
			call: callFrom(),
			steps: []step{
				{in: Input{Digits: "2002"}, want: askPIN, wantNode: "verify_member"},
				{in: Input{Digits: testPIN}, want: rememberOffer, wantNode: "remember_number"},
				{in: Input{Digits: "2"}, want: leeGreeting, wantNode: "menu"},
				{in: Input{Digits: "3"}, want: "You are a Gold member. Thank you for calling Memberline. Goodbye.", wantEnd: EndHangup},
			},
		},
		{
			name: "unknown number: identified, then an agent with the member's context",
			call: callFrom(),
			steps: []step{
				{in: Input{Digits: "2002"}, want: askPIN, wantNode: "verify_member"},
				{in: Input{Digits: testPIN}, want: rememberOffer, wantNode: "remember_number"},
				{in: Input{Digits: "2"}, want: leeGreeting, wantNode: "menu"},
				{in: Input{Speech: "agent"}, want: connect, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "agent-request", Context: []KV{
				{"member_id", "2002"}, {"tier", "Gold"}, {"language", "en-US"}, {"reason", "agent-request"}, {"trust", "verified_pin"}}},
		},
		{
			// Whether a member number exists is not told before a PIN is checked: a number
			// no member has is asked for a PIN like a member's, and no PIN verifies it.
			name: "unknown number: a member number that is no member's is asked for a PIN, which never matches",
			call: callFrom(),
			steps: []step{
				{in: Input{Digits: "9999"}, want: askPIN, wantNode: "verify_member"},
				{in: Input{Digits: testPIN}, want: pinWrong, wantNode: "verify_member", wantTry: 1},
				{in: Input{Digits: "1111"}, want: pinWrong, wantNode: "verify_member", wantTry: 2},
				{in: Input{Digits: "2222"}, want: unverifiedBye, wantEnd: EndHandoff},
			},
			// The agent hears the number keyed, as for a member whose PIN failed.
			wantHandoff: &Handoff{Queue: "agents", Reason: "unverified", Context: []KV{{"member_id", "9999"}, {"language", "en-US"}, {"reason", "unverified"}, {"trust", "unverified"}}},
		},
		{
			name: "unknown number: not a member number at all",
			call: callFrom(),
			steps: []step{
				{in: Input{Digits: "12*4"}, want: notFound, wantNode: "member_number", wantTry: 1},
				{in: Input{Digits: "12*5"}, want: notFound, wantNode: "member_number", wantTry: 2},
				{in: Input{Digits: "12*6"}, want: unidentify, wantEnd: EndHandoff},
			},
			wantHandoff: &Handoff{Queue: "agents", Reason: "unidentified", Context: []KV{{"language", "en-US"}, {"reason", "unidentified"}, {"trust", "verified"}}},
		},
		{
			name:        "unknown number: stays on the line",
			call:        callFrom(),
			steps:       []step{{in: Input{}, want: unidentify, wantEnd: EndHandoff}},
			wantHandoff: &Handoff{Queue: "agents", Reason: "unidentified", Context: []KV{{"language", "en-US"}, {"reason", "unidentified"}, {"trust", "verified"}}},
		},
		{
			name: "unknown number: not a number, then stays on the line",
			call: callFrom(),
			steps: []step{
				{in: Input{Digits: "12*4"}, want: notFound, wantNode: "member_number", wantTry: 1},
				{in: Input{}, want: unidentify, wantEnd: EndHandoff},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			last := converse(t, Default(), tt.call, directory, tt.steps)
			if tt.wantHandoff != nil {
				if got := handoffOf(last); !reflect.DeepEqual(got, tt.wantHandoff) {
					t.Errorf("handoff:\n got %+v\nwant %+v", got, tt.wantHandoff)
				}
			}
			if last.End != "" && (last.State.Node != "" || last.State.Attempts != 0) {
				t.Errorf("ended with state %+v", last.State)
			}
		})
	}
}

func TestIdentifyRequest(t *testing.T) {
	f := Default()
	first, err := f.Start(callFrom())
	if err != nil {
		t.Fatal(err)
	}
	g := gatherOf(first)
	if g == nil || g.Input != "dtmf" || g.FinishOnKey != "#" || g.NumDigits != 0 || g.TimeoutSeconds != 5 {
		t.Fatalf("identify gather = %+v", g)
	}
	tests := []struct {
		name       string
		identified *Identified
		wantLookup string
		wantNode   string
	}{
		{"asks the edge to look up", nil, "2002", ""},
		{"an answer for other digits is stale", &Identified{Number: "1001", Member: &Member{ID: "1001"}}, "2002", ""},
		{"found", &Identified{Number: "2002", Member: &Member{ID: "2002", FirstName: "Lee"}}, "", "verify_member"},
		{"not found: asked for a PIN all the same", &Identified{Number: "2002"}, "", "verify_member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := callFrom()
			call.Identified = tt.identified
			turn, err := f.Resume(call, first.State, Input{Digits: "2002"})
			if err != nil {
				t.Fatal(err)
			}
			if turn.Identify != tt.wantLookup || turn.State.Node != tt.wantNode && tt.wantLookup == "" {
				t.Errorf("identify %q, node %q; want %q, %q", turn.Identify, turn.State.Node, tt.wantLookup, tt.wantNode)
			}
			if tt.wantLookup != "" && !reflect.DeepEqual(turn.State, first.State) {
				t.Errorf("lookup turn changed the state: %+v", turn.State)
			}
			if tt.wantNode == "verify_member" && (turn.State.Member != "2002" || turn.State.Trust != TrustUnverified) {
				t.Errorf("state member = %q, trust %q; want 2002, unverified", turn.State.Member, turn.State.Trust)
			}
		})
	}
}

func TestGatherShape(t *testing.T) {
	tomorrow := trip("upcoming", at(11, 27, 8, 15), time.Time{})
	say := func(text string) []Action {
		return []Action{{Kind: ActSay, Language: "en-US", Voice: "Polly.Joanna-Neural", Speech: Speech{{Text: text}}}}
	}
	tests := []struct {
		name string
		call Call
		want *Gather
	}{
		{
			name: "activity question",
			call: callFrom(dana(tomorrow)),
			want: &Gather{Input: "dtmf speech", TimeoutSeconds: 5, NumDigits: 1, Language: "en-US",
				Hints:   []string{"yes", "yeah", "yep", "correct", "sure", "that's right", "no", "nope", "not really"},
				Prompts: say(askTrip)},
		},
		{
			name: "shared number",
			call: callFrom(dana(tomorrow), sam(nil)),
			want: &Gather{Input: "dtmf speech", TimeoutSeconds: 5, NumDigits: 1, Language: "en-US",
				Hints: []string{"Dana", "Sam"}, Prompts: say("If this is Dana, press 1. If this is Sam, press 2.")},
		},
		{
			name: "member number",
			call: callFrom(),
			// Each language choice is announced in its own language and voice.
			want: &Gather{Input: "dtmf", TimeoutSeconds: 5, FinishOnKey: "#", Language: "en-US", Prompts: append(say(idText),
				Action{Kind: ActSay, Language: "es-US", Voice: "Polly.Lupe-Neural", Speech: Speech{{Text: "Para español, marque 8."}}},
				Action{Kind: ActSay, Language: "fr-CA", Voice: "Polly.Gabrielle-Neural", Speech: Speech{{Text: "Pour le français, appuyez sur 9."}}},
				Action{Kind: ActSay, Language: "pt-BR", Voice: "Polly.Camila-Neural", Speech: Speech{{Text: "Para português, digite 7."}}})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn, err := Default().Start(tt.call)
			if err != nil {
				t.Fatal(err)
			}
			if got := gatherOf(turn); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("gather:\n got %+v\nwant %+v", got, tt.want)
			}
			for _, a := range turn.Actions[:len(turn.Actions)-1] {
				if a.Kind != ActSay || a.Language != "en-US" || a.Voice != "Polly.Joanna-Neural" {
					t.Errorf("action before the gather = %+v", a)
				}
			}
		})
	}
}

func TestTrace(t *testing.T) {
	turn, err := Default().Start(callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{}))))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"branch start: caller.trust eq suspicious → false; caller.members eq 0 → false; caller.members gt 5 → false; caller.members gt 1 → false; default → greet",
		"say greet (en-US) → trust",
		"branch trust: caller.trust eq suspicious → false; caller.trust eq unverified → false; default → tier",
		"branch tier: member.tier in Gold|Platinum|Diamond → true → thanks_elite",
		"say thanks_elite (en-US) → activity",
		"branch activity: activity missing → false; activity.place missing → false; activity.relation eq upcoming and activity.kind eq trip → true → upcoming_trip",
		"say upcoming_trip (en-US) → reference",
		"branch reference: caller.trust eq verified_pin and activity.reference exists → false; default → about_activity",
		"gather about_activity: asking (dtmf speech)",
	}
	if !reflect.DeepEqual(turn.Trace, want) {
		t.Errorf("trace:\n got %q\nwant %q", turn.Trace, want)
	}
	turn, err = Default().Resume(callFrom(dana(nil)), turn.State, Input{Speech: "yeah sure"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{
		`gather about_activity: said "yeah" → option 1 → agent_activity`,
		"handoff agent_activity: queue agents, reason activity",
	}
	if !reflect.DeepEqual(turn.Trace, want) {
		t.Errorf("trace:\n got %q\nwant %q", turn.Trace, want)
	}
}

// The engine formats trace lines itself (no fmt); they read as fmt.Sprintf would write them.
func TestTraceFormat(t *testing.T) {
	tests := []struct {
		name   string
		format string
		args   []any
	}{
		{"strings", "say %s (%s) → %s", []any{"greet", "en-US", "trust"}},
		{"numbers", "%s %s: %s → retry %d of %d", []any{"gather", "menu", "no match", 1, 2}},
		{"quoted", "gather %s: said %q → option %d → %s", []any{"ask", `that's "it"`, 12, "next"}},
		{"no verbs", "hangup", nil},
		{"negative and large", "record %s: %d s recorded", []any{"vm", -3600}},
		{"unicode", "%s: %q", []any{"mañana", "sí\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r run
			r.trace(tt.format, tt.args...)
			r.trace("next line")
			want := []string{fmt.Sprintf(tt.format, tt.args...), "next line"}
			if got := r.text.finish(); !reflect.DeepEqual(got, want) {
				t.Errorf("trace = %q, want %q", got, want)
			}
		})
	}
}

// Speech hints are worked out once per flow and shared by every call: one turn's
// changes to them must not reach the next.
func TestHintsAreNotShared(t *testing.T) {
	f := Default()
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})))
	first, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	g := gatherOf(first)
	want := slices.Clone(g.Hints)
	_ = append(g.Hints, "extra")
	again, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	if got := gatherOf(again).Hints; !reflect.DeepEqual(got, want) || len(want) == 0 {
		t.Errorf("hints = %q, want %q", got, want)
	}
}

func TestStateRoundTrip(t *testing.T) {
	f := Default()
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), time.Time{})), sam(nil))
	first, err := f.Start(call)
	if err != nil {
		t.Fatal(err)
	}
	chose, err := f.Resume(call, first.State, Input{Digits: "1"})
	if err != nil {
		t.Fatal(err)
	}
	retry, err := f.Resume(call, chose.State, Input{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(retry.State)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"f":"default","n":"about_activity","m":"1001","a":1,"t":"verified"}`; string(b) != want {
		t.Errorf("state JSON = %s, want %s", b, want)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, retry.State) {
		t.Errorf("round trip: %+v, want %+v", st, retry.State)
	}
	a, errA := f.Resume(call, st, Input{Digits: "1"})
	b2, errB := f.Resume(call, retry.State, Input{Digits: "1"})
	if errA != nil || errB != nil || !reflect.DeepEqual(a, b2) {
		t.Errorf("resume after the round trip differs: %v %v", errA, errB)
	}
	if h := handoffOf(a); h == nil || h.Context[0] != (KV{"member_id", "1001"}) {
		t.Errorf("handoff = %+v", h)
	}
}

func TestResumeRejectsForeignState(t *testing.T) {
	f := Default()
	tests := []struct {
		name string
		st   State
	}{
		{"another flow", State{Flow: "other", Node: "menu"}},
		{"another version", State{Flow: "default", Version: 3, Node: "menu"}},
		{"unknown node", State{Flow: "default", Node: "nope"}},
		{"a node that does not wait", State{Flow: "default", Node: "greet"}},
		{"no node", State{Flow: "default"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := f.Resume(callFrom(), tt.st, Input{Digits: "1"}); !errors.Is(err, ErrState) {
				t.Errorf("err = %v, want ErrState", err)
			}
		})
	}
}

func TestEngineRefusesInvalidFlows(t *testing.T) {
	f := testFlow()
	f.Nodes[0].Next = "missing"
	loaded := mustLoad(t, f)
	if _, err := loaded.Start(callFrom()); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Start: err = %v, want errs.ErrInvalid", err)
	}
	if _, err := (&Flow{}).Start(callFrom()); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("Start on an unloaded flow: err = %v, want errs.ErrInvalid", err)
	}
}

func TestStepLimit(t *testing.T) {
	chain := func(n, max int) *Flow {
		f := testFlow()
		f.MaxStepsWithoutInput = max
		f.Nodes = nil
		for i := range n - 1 {
			f.Nodes = append(f.Nodes, Node{ID: fmt.Sprintf("s%d", i), Type: NodeSay, Say: Text{"en-US": "Hi."}, Next: fmt.Sprintf("s%d", i+1)})
		}
		f.Nodes = append(f.Nodes, Node{ID: fmt.Sprintf("s%d", n-1), Type: NodeHangup})
		f.StartNode = "s0"
		return f
	}
	tests := []struct {
		name     string
		nodes    int
		max      int
		wantPath string
	}{
		{"the default limit", defaultMaxSteps, 0, ""},
		{"one more than the default", defaultMaxSteps + 1, 0, "nodes.s0"},
		{"a lower limit", 4, 3, "nodes.s0"},
		{"a higher limit", 60, 60, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustLoad(t, chain(tt.nodes, tt.max))
			probs := f.Validate()
			turn, err := f.Start(callFrom())
			if tt.wantPath == "" {
				if len(probs) > 0 || err != nil || turn.End != EndHangup || len(turn.Trace) != tt.nodes {
					t.Fatalf("problems %v, err %v, end %q after %d nodes", probs, err, turn.End, len(turn.Trace))
				}
				return
			}
			if got := paths(probs); !reflect.DeepEqual(got, []string{tt.wantPath}) || !strings.Contains(probs[0].Message, "steps without caller input") {
				t.Fatalf("problems = %v", probs)
			}
			if !errors.Is(err, errs.ErrInvalid) {
				t.Errorf("Start: err = %v, want errs.ErrInvalid", err)
			}
		})
	}
	// The engine's own guard, for a flow that escaped validation.
	f := mustLoad(t, chain(10, 0))
	f.prog.maxSteps = 5
	if _, err := f.Start(callFrom()); !errors.Is(err, ErrLoop) {
		t.Errorf("guard: err = %v, want ErrLoop", err)
	}
}

func TestGatherWithoutWayForwardHangsUp(t *testing.T) {
	f := testFlow()
	f.Nodes = []Node{
		{ID: "ask", Type: NodeGather, Prompt: Text{"en-US": "Press 1."}, Retries: new(int),
			Options: []Option{{Digits: "1", Next: "bye"}}},
		{ID: "bye", Type: NodeHangup},
	}
	f.StartNode = "ask"
	loaded := mustLoad(t, f)
	first, err := loaded.Start(callFrom())
	if err != nil {
		t.Fatal(err)
	}
	turn, err := loaded.Resume(callFrom(), first.State, Input{Digits: "5"})
	if err != nil {
		t.Fatal(err)
	}
	if turn.End != EndHangup || turn.Actions[len(turn.Actions)-1].Kind != ActHangup {
		t.Errorf("turn = %+v", turn)
	}
}

func TestSpeechString(t *testing.T) {
	s := Speech{{Text: "Your code is "}, {Text: "HX7Q2P", SayAs: "characters"}, {BreakMS: 300}, {Text: "."}}
	if got := s.String(); got != "Your code is HX7Q2P." {
		t.Errorf("got %q", got)
	}
}

// BenchmarkStartKnownMember is the first turn of the incoming-call webhook for a recognized
// member with an upcoming trip: greeting, tier, trip and the question about it.
func BenchmarkStartKnownMember(b *testing.B) {
	f := Default()
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0))))
	want := "Welcome back, Dana. As a Diamond member, thank you for your loyalty. I see you have a trip to Atlanta tomorrow. " + askTrip
	b.ReportAllocs()
	for b.Loop() {
		turn, err := f.Start(call)
		if err != nil {
			b.Fatal(err)
		}
		if turn.State.Node != "about_activity" || len(turn.Actions) != 4 || len(turn.Trace) != 9 {
			b.Fatalf("turn = %+v", turn)
		}
	}
	if turn, _ := f.Start(call); spoken(turn) != want {
		b.Fatalf("spoken = %q", spoken(turn))
	}
}

// BenchmarkResumeKnownMember is the member's answer to that question: "yes" said, handed
// off to an agent with the call's context.
func BenchmarkResumeKnownMember(b *testing.B) {
	f := Default()
	call := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0))))
	first, err := f.Start(call)
	if err != nil {
		b.Fatal(err)
	}
	in := Input{Speech: "yeah sure", Confidence: 0.9}
	b.ReportAllocs()
	for b.Loop() {
		turn, err := f.Resume(call, first.State, in)
		if err != nil {
			b.Fatal(err)
		}
		if turn.End != EndHandoff || len(turn.Trace) != 2 {
			b.Fatalf("turn = %+v", turn)
		}
	}
	turn, _ := f.Resume(call, first.State, in)
	if h := handoffOf(turn); h == nil || h.Queue != "agents" || spoken(turn) != "One moment while I connect you with an agent." {
		b.Fatalf("turn = %+v", turn)
	}
}

// TestTurnsSayWhereTheyWentAndWhatTheyHeard: every turn lists the nodes it went through
// and how the caller's input was understood, as fields (records and reports read them,
// never the trace).
func TestTurnsSayWhereTheyWentAndWhatTheyHeard(t *testing.T) {
	f := Default()
	member := callFrom(dana(trip("upcoming", at(11, 27, 8, 15), at(11, 30, 18, 0))))
	first := []string{"start", "greet", "trust", "tier", "thanks_elite", "activity", "upcoming_trip", "reference", "about_activity"}
	stranger := Call{Now: now, Caller: Caller{Phone: "+12125550000"}}
	env := SimEnv{
		Identify: func(string) *Member { m := sam(nil); return &m },
		Verify:   func(_, pin string) bool { return pin == "2580" },
	}
	type step struct {
		visited []string
		heard   Heard
	}
	for _, tc := range []struct {
		name   string
		call   Call
		inputs []Input
		want   []step
	}{
		{"keys", member, []Input{{Digits: "1"}}, []step{{first, Heard{}}, {[]string{"about_activity", "agent_activity"}, Heard{HeardDigits, "1"}}}},
		{"words", member, []Input{{Speech: "yes please"}}, []step{{first, Heard{}}, {[]string{"about_activity", "agent_activity"}, Heard{HeardKeyword, "yes"}}}},
		{"no match", member, []Input{{Digits: "7"}}, []step{{first, Heard{}}, {[]string{"about_activity"}, Heard{HeardNoMatch, ""}}}},
		{"silence", member, []Input{{}}, []step{{first, Heard{}}, {[]string{"about_activity"}, Heard{HeardSilence, ""}}}},
		{"menu", member, []Input{{Digits: "2"}, {Digits: "3"}}, []step{{first, Heard{}},
			{[]string{"about_activity", "menu"}, Heard{HeardDigits, "2"}}, {[]string{"menu", "tell_tier", "goodbye"}, Heard{HeardDigits, "3"}}}},
		{"member number and PIN", stranger, []Input{{Digits: "2002"}, {Digits: "2580"}}, []step{
			{[]string{"start", "welcome_unknown", "member_number"}, Heard{}},
			{[]string{"member_number", "verify_member"}, Heard{HeardMemberNumber, ""}},
			{[]string{"verify_member", "remember_number"}, Heard{HeardPIN, ""}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Simulate(f, tc.call, tc.inputs, env)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Steps) != len(tc.want) {
				t.Fatalf("%d turns, want %d", len(tr.Steps), len(tc.want))
			}
			for i, st := range tr.Steps {
				if !reflect.DeepEqual(st.Turn.Visited, tc.want[i].visited) || st.Turn.Heard != tc.want[i].heard {
					t.Errorf("turn %d: visited %q, heard %+v; want %q, %+v", i, st.Turn.Visited, st.Turn.Heard, tc.want[i].visited, tc.want[i].heard)
				}
			}
		})
	}
}
