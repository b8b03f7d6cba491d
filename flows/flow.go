// Package flows owns call flows: the flow document contact-center admins edit (JSON,
// schema "memberline.flow/v1"), its validation with located problems, the prompt
// templates, and the engine that walks a flow for one webhook turn.
//
// The engine is pure: Start and Resume read a Call (and a State) and return a Turn of
// Actions; they do no I/O and never read the clock. The IVR edge does the lookups and turns
// Actions into TwiML.
package flows

import (
	"errors"
	"fmt"

	"github.com/memberline/memberline/internal/errs"
)

// Schema is the flow document format this package reads.
const Schema = "memberline.flow/v1"

// Errors callers branch on. A flow document that does not decode or does not validate
// is an errs.Invalid error (Problems, when validation found them): the engine refuses to
// run an invalid flow.
var (
	// ErrState: the state does not fit this flow (another flow or version, or a node that
	// does not wait for input).
	ErrState = errors.New("flows: state does not fit the flow")
	// ErrLoop: a turn visited too many nodes without waiting for input.
	ErrLoop = errors.New("flows: too many steps without input")
)

// Flow is a flow document. Load it with Load; a loaded Flow is immutable and safe for
// concurrent use (to edit a flow, edit the document and load it again).
type Flow struct {
	Schema string `json:"schema"` // must be Schema
	ID     string `json:"id"`
	// Version is set by the flow store when a flow is published; 0 for a draft. It travels
	// in State so a call finishes on the version it started with.
	Version         int                 `json:"version,omitempty"`
	Name            string              `json:"name,omitempty"`
	DefaultLanguage string              `json:"default_language"`
	Languages       map[string]Language `json:"languages"`
	StartNode       string              `json:"start"` // the node a call starts at
	// TimeZone is the IANA zone the call's clock is read in by branch conditions on
	// call.weekday, call.time, call.date and call.holiday (unless a condition says
	// otherwise) and by {{ time call.now }} for callers without a zone. Default "UTC".
	TimeZone string `json:"time_zone,omitempty"`
	// Holidays are the dates call.holiday is true on: "2026-12-25" once, "12-25" every
	// year.
	Holidays []string `json:"holidays,omitempty"`
	// MaxStepsWithoutInput bounds the nodes a caller can pass through between two inputs
	// (say, play, set, branch, ...); a longer path is a validation error. Default 25, at
	// most 100.
	MaxStepsWithoutInput int `json:"max_steps_without_input,omitempty"`
	// Vars declares variables the flow reads without setting them: set by a flow that
	// goes to this one (until then they read as nothing).
	Vars []string `json:"vars,omitempty"`
	// Disclosure is what the flow's prompts may say to whom: trust level (suspicious,
	// unverified, verified, verified_pin) → the member and activity fields it may hear,
	// e.g. {"unverified": ["member.first_name"], "verified": ["activity.place"]}. A field
	// allowed at a level is allowed at every level above it; a member or activity field
	// no level lists is never said ("member.attributes.*" lists every attribute). The
	// engine does not say a text that uses a field the call's level may not hear: it says
	// the node's safe text instead, or nothing. Caller, call, choice and vars fields are
	// not governed (a set node leaves out a variable whose value uses a field the level
	// may not hear). Nil: the built-in flow's policy (DefaultDisclosure).
	Disclosure map[string][]string `json:"disclosure,omitempty"`
	// Experiments are the goals of the experiments the flow's split nodes run, by
	// experiment id.
	Experiments map[string]Experiment `json:"experiments,omitempty"`
	Nodes       []Node                `json:"nodes"`
	// Tests are scripted calls and what must happen on them (see Test): validation
	// checks their shape, RunTests plays them, and a flow whose tests fail is not
	// published.
	Tests []Test `json:"tests,omitempty"`

	prog     *program  // compiled at Load
	problems []Problem // Validate's answer at Load
}

// Language is one language a flow speaks, keyed by BCP 47 tag in Flow.Languages.
type Language struct {
	Voice string `json:"voice,omitempty"` // e.g. "Polly.Joanna-Neural"; "" for Twilio's default
	// Terms are how this language says data values: activity kinds and member tiers
	// ({"trip": "viaje", "Diamond": "Diamante"}). Values without a term are said as stored.
	Terms map[string]string `json:"terms,omitempty"`
}

// Text is a prompt template per language: {"en-US": "Welcome back, {{ member.first_name }}."}.
// The default language is required; a missing or blank translation falls back to it.
type Text map[string]string

// NodeType names what a node does.
type NodeType string

const (
	NodeSay          NodeType = "say"           // speak, then next
	NodePlay         NodeType = "play"          // play an audio file, then next
	NodeGather       NodeType = "gather"        // ask, then follow the option the caller picked
	NodeBranch       NodeType = "branch"        // follow the first case whose conditions hold
	NodeSet          NodeType = "set"           // set call variables, then next
	NodeChooseMember NodeType = "choose_member" // shared number: which member is calling?
	NodeIdentify     NodeType = "identify"      // a member number on the keypad
	NodeVerify       NodeType = "verify"        // the member's PIN on the keypad
	NodeRemember     NodeType = "remember"      // offer to recognize this number next time
	NodeRecord       NodeType = "record"        // record a voicemail, then next
	NodeHandoff      NodeType = "handoff"       // pass the call to a person; ends the flow
	NodeGoto         NodeType = "goto"          // go on in another flow; ends this one
	NodeHangup       NodeType = "hangup"        // say goodbye and hang up; ends the flow
	NodeSplit        NodeType = "split"         // an experiment: each caller to one arm, always the same
	NodeFetch        NodeType = "fetch"         // ask one of the company's APIs, then next (or error)
	NodeMessage      NodeType = "message"       // send an SMS or WhatsApp message to the caller, then next
)

const nodeTypes = "say, play, gather, branch, set, choose_member, identify, verify, remember, record, handoff, goto, hangup, split, fetch, message"

// Node is one step of a flow. Which fields a node uses depends on its type; Validate
// reports fields a type does not use. Fields naming nodes (next, default, no_input,
// no_match, not_found, options[].next, cases[].next) hold node ids.
type Node struct {
	ID   string   `json:"id"`
	Type NodeType `json:"type"`

	// say: what to say (required). record: optional words before the beep. handoff, goto
	// and hangup: optional words before leaving.
	Say Text `json:"say,omitempty"`
	// say, play, set, choose_member, identify, record: where to go next (required).
	Next string `json:"next,omitempty"`

	// play: an http(s) URL of an audio file Twilio can fetch (required).
	URL string `json:"url,omitempty"`

	// set: call variables, name → value template ("{{ activity.reference }}"), rendered
	// as plain text in the default language (at most 100 characters; empty removes the
	// variable) and kept for the rest of the call, also across a goto. Templates and
	// conditions read them as vars.<name>. Names: lower-case letters, digits and _.
	Set map[string]string `json:"set,omitempty"`

	// gather, choose_member, identify.
	Prompt   Text `json:"prompt,omitempty"`   // required for gather and identify
	Reprompt Text `json:"reprompt,omitempty"` // said on a retry instead of the prompt
	// gather, choose_member: said on a retry after no input, or after an answer that
	// matched nothing, instead of the reprompt.
	NoInputPrompt Text `json:"no_input_prompt,omitempty"`
	NoMatchPrompt Text `json:"no_match_prompt,omitempty"`
	// Input is "dtmf", "speech" or "dtmf speech" (gather, choose_member). Default: "dtmf
	// speech" when any option has words (always for choose_member), else "dtmf".
	Input     string `json:"input,omitempty"`
	Timeout   int    `json:"timeout,omitempty"`    // seconds, default 5 (record: the silence that ends it)
	NumDigits int    `json:"num_digits,omitempty"` // gather; default: the options' digit count when they all have the same
	// Retries is how many times a failed answer (no input or no match; for identify, a
	// number not found) is asked again before giving up; default 2. At identify, no input
	// gives up at once: its prompt offers waiting for an agent.
	Retries *int   `json:"retries,omitempty"`
	NoInput string `json:"no_input,omitempty"` // giving up after no input (else no_match); record: nothing recorded (else next)
	NoMatch string `json:"no_match,omitempty"` // giving up after an unrecognized answer (else no_input)

	// gather.
	Options []Option `json:"options,omitempty"`

	// branch.
	Cases   []Case `json:"cases,omitempty"`
	Default string `json:"default,omitempty"` // when no case holds (required)

	// choose_member: one line per member, with {{ choice.digit }} and the member's fields
	// ("If this is {{ member.first_name }}, press {{ choice.digit }}."). Required.
	Item Text `json:"item,omitempty"`

	// identify: said before the prompt when a number was not found and a retry is left.
	NotFoundPrompt Text `json:"not_found_prompt,omitempty"`
	// identify: after the last not-found retry (required); also for no input when
	// no_input is not set.
	//
	// verify asks for the PIN of the member the call is about (4 to 8 digits, ended by #)
	// and raises the call's trust to verified_pin when it is right, then goes to next
	// (at once when the call is verified already). not_found_prompt is said after a wrong
	// PIN while a retry is left; not_found (required) is where a call goes after the last
	// wrong PIN, when verification is locked after too many failures, or when there is no
	// member to verify.
	NotFound string `json:"not_found,omitempty"`

	// handoff: a target is required: a queue (the edge's configured way to reach people
	// decides how), or one override: a TaskRouter workflow SID to enqueue to, a sip: URI or
	// a Twilio Client identity to dial. The context (member, tier, activity, language,
	// reason, and the call's trust level, so the person knows how far the caller was
	// verified) goes along.
	Queue    QueueTarget `json:"queue,omitzero"`
	Workflow string      `json:"workflow,omitempty"`
	SIP      string      `json:"sip,omitempty"`
	Client   string      `json:"client,omitempty"`
	Reason   string      `json:"reason,omitempty"`
	// handoff: the call's priority, chosen by conditions (whole numbers 0 to 2^31-1;
	// TaskRouter's Task priority); queue may likewise be {"cases": [...], "default": ...}.
	// Wait says what callers hear in the queue and Callback offers them a callback
	// instead of waiting: with either, the edge enqueues the call with a wait URL.
	Priority *Choice[int]   `json:"priority,omitempty"`
	Wait     *Wait          `json:"wait,omitempty"`
	Callback *CallbackOffer `json:"callback,omitempty"`

	// record: the longest recording in seconds (default 120, at most 3600), whether to
	// ask for a transcription, and whether to beep first (default true).
	MaxSeconds int   `json:"max_seconds,omitempty"`
	Transcribe bool  `json:"transcribe,omitempty"`
	Beep       *bool `json:"beep,omitempty"`

	// remember offers a caller who proved with their PIN to be a member calling from a
	// number that is not theirs to have it recognized next time: prompt (required) says
	// to press 1; 1 adds the number to the member with the consent recorded, anything else
	// (or nothing) declines; either way the call goes to next. Callers who did not verify
	// with a PIN, withheld numbers and numbers the member already has go to next at once.

	// goto: the id of the flow to go on in (required); it starts at its start node with
	// the member and variables of this call.
	Flow string `json:"flow,omitempty"`

	// Safe is said instead of any of the node's texts that the call's trust level may not
	// hear under the flow's disclosure policy (see Flow.Disclosure); without it such a
	// text is left out. Any node that speaks may have one.
	Safe Text `json:"safe,omitempty"`

	// split: the experiment (an id, the same in the flow's experiments and reports) and its
	// arms, each with its share of the callers in whole percents (summing to 100) and
	// where it goes. A caller always lands in the same arm of an experiment: the member,
	// else the calling number, else (withheld) the call, hashed under a secret key
	// (package experiments); simulation and flow tests may pin an arm (Call.Arms).
	Experiment string     `json:"experiment,omitempty"`
	Arms       []SplitArm `json:"arms,omitempty"`

	// fetch: asks a connection (one of the company's APIs, which admins manage) and
	// saves values of its JSON answer as variables. Method is GET (the default) or POST;
	// Path (required) is requested on the connection's base URL, each {{ }} in it escaped
	// as one path segment, or one query value after the ?, so a value cannot change the
	// path, the query or the host. A POST may carry Body, a JSON object whose strings are
	// templates. TimeoutMS (at most 5000) shortens the connection's timeout. Save maps
	// variable names to paths in the answer ("bookings.0.gate": names and list indexes);
	// Required lists saved variables the answer must hold. A 2xx JSON answer with them
	// goes to next; anything else goes to Error (required) with vars.fetch_error set to
	// timeout, unreachable, status, invalid or circuit_open. SayWhileWaiting, when set, is
	// said at once while the request runs, so the caller hears no silence.
	Connection      string            `json:"connection,omitempty"`
	Method          string            `json:"method,omitempty"`
	Path            string            `json:"path,omitempty"`
	Body            map[string]any    `json:"body,omitempty"`
	TimeoutMS       int               `json:"timeout_ms,omitempty"`
	Save            map[string]string `json:"save,omitempty"`
	Required        []string          `json:"required,omitempty"`
	Error           string            `json:"error,omitempty"`
	SayWhileWaiting Text              `json:"say_while_waiting,omitempty"`

	// message: Channel (sms or whatsapp) and Body (per language, as a text: a template;
	// its SMS segments are counted) go to the caller's number through the outbox, never
	// twice for a call and node; Template is an approved WhatsApp template (sid and
	// variables) for outside the 24-hour window. Say is said once it is queued, then next;
	// a number that opted out, cannot take messages or is withheld, or a body that renders
	// empty goes to NotSent (else next) with vars.message_status set.
	Channel  string           `json:"channel,omitempty"`
	Template *MessageTemplate `json:"template,omitempty"`
	NotSent  string           `json:"not_sent,omitempty"`
}

// SplitArm is one arm of a split: its id, its weight in percent, where it goes.
type SplitArm struct {
	ID     string `json:"id"`
	Weight int    `json:"weight"`
	Next   string `json:"next"`
}

// Experiment is what a flow measures of an experiment its split nodes run: the goal a
// call of an arm reaches or not, and how many calls an arm needs before a verdict.
type Experiment struct {
	Goal           Goal `json:"goal"`
	MinCallsPerArm int  `json:"min_calls_per_arm,omitempty"` // 200 when 0
}

// Goal is one of: the call reached a node, ended with an outcome, or did not end with one.
type Goal struct {
	Reached    string `json:"reached,omitempty"`
	Outcome    string `json:"outcome,omitempty"`
	NotOutcome string `json:"not_outcome,omitempty"`
}

// Option is one answer a gather accepts.
type Option struct {
	Digits string `json:"digits,omitempty"` // keys pressed, matched exactly
	// Words per language: said anywhere in the answer, case-insensitively, as whole words
	// ("yes please" matches "yes"). Also sent to speech recognition as hints.
	Words map[string][]string `json:"words,omitempty"`
	Next  string              `json:"next"`
	// Language, when set, makes the option a language choice: taking it switches the rest
	// of the call to that declared language (kept over the member's own). Announce is said
	// after the gather's prompt, in that language and its voice: "Pour le français,
	// appuyez sur 9."
	Language string `json:"language,omitempty"`
	Announce Text   `json:"announce,omitempty"`
}

// Case is one way out of a branch: all its conditions hold.
type Case struct {
	When []Condition `json:"when"`
	Next string      `json:"next"`
}

// Condition compares a field of the call with a value.
//
// Fields: the template fields (member.first_name, member.tier, member.attributes.<name>,
// activity.kind, activity.relation, ..., caller.trust, caller.phone_last4, vars.<name>);
// caller.members (how many members share the number, a number); member and activity (for
// exists and missing); and the call's clock: call.weekday (mon..sun), call.time (HH:MM,
// 24-hour), call.date (YYYY-MM-DD, or MM-DD every year, for eq, ne, in and not_in) and
// call.holiday ("true" on the flow's holidays).
//
// Ops: eq, ne (value), in, not_in (values), lt, lte, gt, gte (numbers, times and dates:
// value), between (times: values [from, to], from included, to not; wraps midnight when
// from is later), exists, missing. Text compares case-insensitively.
//
// TimeZone, for the clock fields only: "" reads the clock in the flow's time_zone,
// "member" in the member's (the flow's when unknown), else an IANA zone.
type Condition struct {
	Field    string   `json:"field"`
	Op       string   `json:"op"`
	Value    string   `json:"value,omitempty"`
	Values   []string `json:"values,omitempty"`
	TimeZone string   `json:"time_zone,omitempty"`
}

// Problem is one thing wrong with a flow document, located by a dotted path: node list
// entries by their id ("nodes.greet.say.en-US"), other list entries by index
// ("nodes.menu.options.0.digits"). A node without a usable id is addressed by index too.
// Whether a problem is an error or a warning depends on the list it is in (Report).
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) Error() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems is Load's error for a document that does not decode.
type Problems []Problem

func (ps Problems) Error() string {
	switch len(ps) {
	case 0:
		return "flows: no problems"
	case 1:
		return "flows: " + ps[0].Error()
	}
	return fmt.Sprintf("flows: %s (and %d more problems)", ps[0].Error(), len(ps)-1)
}

func (ps Problems) Unwrap() error { return errs.ErrInvalid }

// Load decodes a flow document strictly (unknown and duplicate fields, wrong types and
// trailing data are errors, returned as Problems) and compiles its templates. A document
// that decodes is returned even when it does not validate, so an editor can show every
// problem: check Validate before publishing. Start and Resume refuse an invalid flow.
func Load(data []byte) (*Flow, error) {
	f := new(Flow)
	if err := decodeStrict(data, f); err != nil {
		return nil, err
	}
	var r Report
	f.prog, r = compile(f, ValidateOptions{})
	f.problems = r.Errors
	return f, nil
}

// Validate reports the errors in the document, in document order; empty when it is fine
// to run. It reads the exported fields, so it also checks a document built in code. It does
// not check that goto targets exist, and leaves out warnings: see ValidateWith.
func (f *Flow) Validate() []Problem {
	_, r := compile(f, ValidateOptions{})
	return r.Errors
}

// ValidateOptions is what validation needs to know beyond the document.
type ValidateOptions struct {
	// KnownFlow reports whether a flow with this id exists, to check goto nodes. Nil: goto
	// targets are not checked.
	KnownFlow func(id string) bool
	// KnownConnection reports whether a connection with this id exists, to check fetch
	// nodes. Nil: connections are not checked.
	KnownConnection func(id string) bool
	// NoCallbacks: the service cannot place callbacks (no Twilio credentials or caller
	// ID), so a callback offer is a warning: it is not made.
	NoCallbacks bool
	// Tests, when set, runs the document's tests once it has no other error: a failed
	// expectation is an error at its path, a test that could not run a warning. Nil: the
	// tests' shape is checked, not their outcome.
	Tests *TestEnv
}

// Report is a validation's answer. Errors block publishing (and running); warnings are
// worth a look but do not: a node no path reaches, a text without a translation for a
// declared language (its callers hear the default language), a gather that hangs up
// after its last retry because it has no no_input or no_match.
type Report struct {
	Errors   []Problem `json:"errors"`
	Warnings []Problem `json:"warnings"`
}

// Valid reports whether there are no errors.
func (r Report) Valid() bool { return len(r.Errors) == 0 }

// ValidateWith reports errors and warnings, each in document order (never nil lists).
func (f *Flow) ValidateWith(opts ValidateOptions) Report {
	_, r := compile(f, opts)
	if opts.Tests == nil || !r.Valid() || len(f.Tests) == 0 {
		return r
	}
	paths := f.testPaths()
	for i, res := range f.runTests(*opts.Tests, paths) {
		r.Errors = append(r.Errors, res.Failures...)
		if res.Skipped != "" {
			r.Warnings = append(r.Warnings, Problem{Path: paths[i], Message: "not run: " + res.Skipped})
		}
	}
	return r
}
