package flows

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/errs"
)

// The example flow document (testdata/example_flow.json, also in docs/flows.md) uses every
// node type; simulating it is a test per node type through the same path as the API.
func loadExample(t testing.TB) *Flow {
	t.Helper()
	data, err := os.ReadFile("testdata/example_flow.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func salesFlow(t testing.TB) *Flow {
	f := flowOf(Node{ID: "hi", Type: NodeHangup, Say: en("Sales here; you came about {{ vars.topic }}.")})
	f.ID, f.Version, f.Vars = "sales", 2, []string{"topic"}
	return mustLoad(t, f)
}

func TestExampleFlow(t *testing.T) {
	f := loadExample(t)
	r := f.ValidateWith(ValidateOptions{KnownFlow: func(id string) bool { return id == "sales" }})
	if len(r.Errors) > 0 || len(r.Warnings) > 0 {
		t.Fatalf("example flow: %+v", r)
	}
	if r := f.ValidateWith(ValidateOptions{KnownFlow: func(string) bool { return false }}); r.Valid() ||
		r.Errors[0].Path != "nodes.to_sales.flow" {
		t.Errorf("goto an unknown flow: %+v", r)
	}
	sales := salesFlow(t)
	env := SimEnv{LoadFlow: func(id string) (*Flow, error) {
		if id == "sales" {
			return sales, nil
		}
		return nil, errors.New("no such flow")
	}}
	ny, _ := loadZone("America/New_York")
	wednesday := time.Date(2026, 11, 25, 10, 0, 0, 0, ny) // the day before Thanksgiving
	late := time.Date(2026, 11, 25, 21, 30, 0, 0, ny)
	saturday := time.Date(2026, 11, 28, 10, 0, 0, 0, ny)
	withTrust := func(c Call, trust string, at time.Time) Call {
		c.Caller.Trust, c.Now = trust, at
		return c
	}
	booked := sam(&Activity{ID: "a1", Kind: "trip", Reference: "HX7Q2P", Relation: "upcoming"})
	spanish := sam(nil)
	spanish.Language = "es-US"
	tests := []struct {
		name        string
		call        Call
		script      []Input
		wantSaid    []string // every step's, joined
		wantEnd     string
		wantFlow    string
		wantHandoff *SimHandoff
	}{
		{
			name:    "branch on trust: a suspicious caller goes to the fraud desk",
			call:    withTrust(callFrom(booked), TrustSuspicious, wednesday),
			wantEnd: EndHandoff, wantFlow: "support",
			wantHandoff: &SimHandoff{Client: "fraud-desk", Reason: "suspicious-caller", Context: []SimKV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"activity_id", "a1"}, {"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "suspicious-caller"}, {"trust", "suspicious"}}},
		},
		{
			name:   "set, say, gather by voice, branch on a variable, spelled code, handoff",
			call:   withTrust(callFrom(booked), TrustVerified, wednesday),
			script: []Input{{Speech: "about my trip please"}},
			wantSaid: []string{"Hi Sam, thanks for calling support.", "For your booking, press 1 or say booking. For sales, press 2. For an agent, press 0.",
				"Your booking code is HX7Q2P.", "One moment, please."},
			wantEnd: EndHandoff, wantFlow: "support",
			wantHandoff: &SimHandoff{Queue: "support", Reason: "menu", Context: []SimKV{
				{"member_id", "1002"}, {"tier", "Silver"}, {"activity_id", "a1"}, {"activity_reference", "HX7Q2P"}, {"language", "en-US"}, {"reason", "menu"}, {"trust", "verified"},
				{"var_code", "HX7Q2P"}, {"var_topic", "support"}}},
		},
		{
			name:   "gather retries with their own prompts, then no match",
			call:   withTrust(callFrom(), "", wednesday),
			script: []Input{{}, {Digits: "7"}, {Speech: "weather"}},
			wantSaid: []string{"Hi there, thanks for calling support.", "For your booking, press 1 or say booking. For sales, press 2. For an agent, press 0.",
				"I didn't hear anything. For your booking, press 1. For sales, press 2. For an agent, press 0.",
				"Sorry, I didn't get that. For your booking, press 1. For sales, press 2. For an agent, press 0.",
				"One moment, please."},
			wantEnd: EndHandoff, wantFlow: "support",
		},
		{
			name:     "goto another flow with the variables",
			call:     withTrust(callFrom(spanish), TrustVerified, wednesday),
			script:   []Input{{Speech: "ventas"}},
			wantSaid: []string{"Hola Sam, gracias por llamar a soporte.", "Para su reserva, marque 1 o diga reserva. Para ventas, marque 2. Para un agente, marque 0.", "Le comunico con ventas.", "Sales here; you came about support."},
			wantEnd:  EndHangup, wantFlow: "sales",
		},
		{
			name:     "holiday: play, then record a voicemail",
			call:     withTrust(callFrom(booked), TrustVerified, now),
			script:   []Input{{RecordingURL: "https://api.twilio.com/rec/RE1", RecordingSeconds: 12}},
			wantSaid: []string{"[play https://cdn.example.com/audio/closed.mp3]", "Leave a message after the tone.", "[record]", "Thank you. Goodbye."},
			wantEnd:  EndHangup, wantFlow: "support",
		},
		{
			name:     "after hours: nothing recorded",
			call:     withTrust(callFrom(), "", late),
			script:   []Input{{}},
			wantSaid: []string{"[play https://cdn.example.com/audio/closed.mp3]", "Leave a message after the tone.", "[record]", "Thank you. Goodbye."},
			wantEnd:  EndHangup, wantFlow: "support",
		},
		{
			name:     "weekend: closed until the script runs out",
			call:     withTrust(callFrom(), "", saturday),
			wantSaid: []string{"[play https://cdn.example.com/audio/closed.mp3]", "Leave a message after the tone.", "[record]"},
			wantEnd:  SimAwaiting, wantFlow: "support",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Simulate(f, tt.call, tt.script, env)
			if err != nil {
				t.Fatal(err)
			}
			var said []string
			var trace []string
			for _, s := range tr.Steps {
				said = append(said, s.Said...)
				trace = append(trace, s.Trace...)
			}
			if tt.wantSaid != nil && !reflect.DeepEqual(said, tt.wantSaid) {
				t.Errorf("said:\n got %q\nwant %q", said, tt.wantSaid)
			}
			if tr.End != tt.wantEnd || tr.Flow != tt.wantFlow {
				t.Errorf("end %q in %q, want %q in %q", tr.End, tr.Flow, tt.wantEnd, tt.wantFlow)
			}
			if tt.wantHandoff != nil && !reflect.DeepEqual(tr.Handoff, tt.wantHandoff) {
				t.Errorf("handoff:\n got %+v\nwant %+v", tr.Handoff, tt.wantHandoff)
			}
			if t.Failed() {
				t.Logf("trace:\n%s", strings.Join(trace, "\n"))
			}
		})
	}
}

func TestSimulateErrors(t *testing.T) {
	f := loadExample(t)
	call := callFrom(sam(nil))
	call.Now = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	// A goto without flows to go to fails, with the transcript so far.
	tr, err := Simulate(f, call, []Input{{Digits: "2"}}, SimEnv{})
	if err == nil || len(tr.Steps) != 1 || !strings.Contains(err.Error(), "input 1") {
		t.Errorf("err = %v, steps %d", err, len(tr.Steps))
	}
	// An invalid flow does not run.
	bad := testFlow()
	bad.StartNode = "nowhere"
	if _, err := Simulate(mustLoad(t, bad), call, nil, SimEnv{}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("invalid flow: err = %v", err)
	}
	if _, err := Simulate(nil, call, nil, SimEnv{}); !errors.Is(err, errs.ErrInvalid) {
		t.Errorf("nil flow: err = %v", err)
	}
}

func BenchmarkSimulateExample(b *testing.B) {
	f := loadExample(b)
	sales := salesFlow(b)
	env := SimEnv{LoadFlow: func(string) (*Flow, error) { return sales, nil }}
	call := callFrom(sam(&Activity{ID: "a1", Reference: "HX7Q2P"}))
	call.Now = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	script := []Input{{}, {Digits: "7"}, {Speech: "about my trip please"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Simulate(f, call, script, env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadExample(b *testing.B) {
	data, err := os.ReadFile("testdata/example_flow.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
