package flows

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A prompt without a text in a declared language is a warning that names its node (the
// errors of languages and language choices are in TestValidate).
func TestMissingTranslationWarns(t *testing.T) {
	f := mustLoad(t, Default())
	for i := range f.Nodes {
		if f.Nodes[i].ID == "goodbye" {
			delete(f.Nodes[i].Say, "pt-BR")
		}
	}
	rep := f.ValidateWith(ValidateOptions{})
	if len(rep.Errors) > 0 || !slices.ContainsFunc(rep.Warnings, func(p Problem) bool {
		return p.Path == "nodes.goodbye.say.pt-BR" && strings.Contains(p.Message, "pt-BR callers hear the en-US text")
	}) {
		t.Errorf("a missing pt-BR text: errors %v, warnings %v", rep.Errors, rep.Warnings)
	}
}

// Every Polly voice Twilio offers has its language on record, so no voice goes unchecked.
func TestPollyVoicesHaveLanguages(t *testing.T) {
	for v := range sayVoices {
		if strings.HasPrefix(v, "Polly.") && len(voiceLanguages(v)) == 0 {
			t.Errorf("%s: no language in polly_voices.txt", v)
		}
	}
}

// An unknown caller who presses 9 hears the rest of the call in French, in the French
// voice, listened to in French, even once identified as a member whose language is English.
func TestCallerChoosesALanguage(t *testing.T) {
	env := leeEnv()
	tr, err := Simulate(Default(), callFrom(), []Input{{Digits: "9"}, {Digits: "2002"}, {Digits: testPIN}, {Digits: "2"}}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Si vous connaissez votre numéro de membre, entrez-le maintenant, suivi du carré. Sinon, restez en ligne pour parler à un agent."},
		{"Pour votre sécurité, entrez votre NIP, suivi du carré. Si vous n'avez pas de NIP, restez en ligne pour parler à un agent."},
		{"Merci. Pour que nous reconnaissions ce numéro de téléphone à votre prochain appel, appuyez sur 1. Sinon, appuyez sur 2."},
	}
	for i, w := range want {
		if got := tr.Steps[i+1].Said; !reflect.DeepEqual(got, w) {
			t.Errorf("step %d said %q, want %q", i+1, got, w)
		}
	}
	if !slices.Contains(tr.Steps[1].Trace, "language: the caller chose fr-CA") {
		t.Errorf("the trace does not say the caller chose French: %q", tr.Steps[1].Trace)
	}
	last := tr.Steps[len(tr.Steps)-1]
	if !strings.HasPrefix(strings.Join(last.Said, " "), "Rebonjour, Lee.") {
		t.Errorf("the identified member is greeted in %q", last.Said)
	}
	for _, a := range last.Turn.Actions {
		if a.Kind == ActGather && (a.Gather.Language != "fr-CA" || a.Gather.Prompts[0].Voice != "Polly.Gabrielle-Neural" || !slices.Contains(a.Gather.Hints, "réservations")) {
			t.Errorf("the menu listens in %s with hints %v, says in %s", a.Gather.Language, a.Gather.Hints, a.Gather.Prompts[0].Voice)
		}
	}
	if tr.Steps[len(tr.Steps)-1].Turn.State.Language != "fr-CA" {
		t.Errorf("the call state does not keep the choice: %+v", last.Turn.State)
	}
}

// A member whose regional variant the flow lacks hears the same language's texts, and the
// trace says so.
func TestRegionalVariantFallsBackToItsLanguage(t *testing.T) {
	m := sam(nil)
	m.Language = "fr-FR"
	turn, err := Default().Start(callFrom(m))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(turn.Trace, "language: the member's fr-FR is not in the flow; speaking fr-CA") {
		t.Errorf("trace: %q", turn.Trace)
	}
	for _, a := range turn.Actions {
		if a.Kind == ActSay && a.Language != "fr-CA" {
			t.Errorf("a say in %s", a.Language)
		}
	}
}
