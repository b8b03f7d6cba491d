package flows

import (
	"strings"
	"time"
)

// The engine's inputs and outputs. They are plain data: the IVR edge fills a Caller from
// the member directory and turns Actions into TwiML; the engine does no I/O.

// Caller is who is on the line, as far as the directory knows. Members is empty for an
// unknown or withheld number.
type Caller struct {
	Phone   string   `json:"phone"`   // E.164, "" when withheld or not a phone number
	Members []Member `json:"members"` // 0: unknown; 1: recognized; 2..n: a shared (household) number
	// Trust is how far the network vouches for Phone: TrustVerified, TrustUnverified or
	// TrustSuspicious. The edge fills it from Twilio's StirVerstat (SHAKEN/STIR); ""
	// reads as TrustUnverified. Start copies it into State.Trust, which rules from then
	// on: a later webhook cannot raise it (see State.Trust).
	Trust string `json:"trust"`
}

// Caller trust levels (Caller.Trust), for branch conditions on caller.trust.
const (
	TrustVerified   = "verified"   // attestation A passed: the number is the caller's
	TrustUnverified = "unverified" // no attestation, or B/C: the number may be spoofed
	TrustSuspicious = "suspicious" // the attestation failed
	// TrustVerifiedPIN: the caller proved to be the member with their PIN (a verify node).
	// Only the engine sets it, never the edge's Caller.Trust.
	TrustVerifiedPIN = "verified_pin"
)

// TrustLevels are the trust levels from lowest to highest: a disclosure policy allows a
// field at a level and every level above it.
var TrustLevels = []string{TrustSuspicious, TrustUnverified, TrustVerified, TrustVerifiedPIN}

// trustRank orders trust levels; anything unknown (or "") ranks as unverified.
func trustRank(level string) int {
	switch level {
	case TrustSuspicious:
		return 0
	case TrustVerified:
		return 2
	case TrustVerifiedPIN:
		return 3
	}
	return 1
}

// normalTrust is level as one of TrustLevels: "" and unknown values are unverified, and
// the edge cannot claim verified_pin (only a verify node grants it).
func normalTrust(level string) string {
	switch level {
	case TrustSuspicious, TrustVerified:
		return level
	}
	return TrustUnverified
}

// TrustFromStirVerstat maps Twilio's StirVerstat parameter to a Caller.Trust: full (A)
// attestation that passed is verified; any failed validation is suspicious; partial (B,
// C) attestation, none, or an unknown value is unverified.
func TrustFromStirVerstat(v string) string {
	switch {
	case v == "TN-Validation-Passed-A":
		return TrustVerified
	case strings.HasPrefix(v, "TN-Validation-Failed"):
		return TrustSuspicious
	}
	return TrustUnverified
}

// Member is a member's profile with the one activity worth asking about.
type Member struct {
	ID        string    `json:"id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Tier      string    `json:"tier"`
	Language  string    `json:"language,omitempty"`  // BCP 47, e.g. "en-US"; "" means the flow's default
	TimeZone  string    `json:"time_zone,omitempty"` // IANA
	Activity  *Activity `json:"activity,omitempty"`
	// Attributes are the directory's free-form member data ("seat": "aisle"), read by
	// templates and conditions as member.attributes.<name>.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Activity is what the member has booked. Times keep their own UTC offset.
type Activity struct {
	ID        string    `json:"id"`
	Kind      string    `json:"kind"`
	Summary   string    `json:"summary,omitempty"`
	Place     string    `json:"place,omitempty"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at,omitzero"`
	Status    string    `json:"status,omitempty"`
	Reference string    `json:"reference,omitempty"`
	Relation  string    `json:"relation"` // "upcoming", "current" or "recent"
}

// Call is one turn's context.
type Call struct {
	Now    time.Time
	Caller Caller
	// Identified answers a pending identify request (see Turn.Identify).
	Identified *Identified
	// From, on Start, is the state of the flow the call comes from (see Turn.GotoFlow):
	// its member, trust and variables carry over. Nil for a new call.
	From *State
	// Verified answers a pending verify request (see Turn.Verify).
	Verified *Verified
	// Fetched answers a pending fetch request (see Turn.Fetch).
	Fetched *Fetched
	// Messaged answers a pending message request (see Turn.Message).
	Messaged *Messaged
	// CallSID is the call's id: a withheld caller's subject in experiments.
	CallSID string
	// ExperimentKey keys the assignment of callers to the arms of split nodes (package
	// experiments); secret, so that outsiders cannot choose their arm.
	ExperimentKey []byte
	// Arms pins arms, experiment → arm, for simulation and flow tests; an arm the
	// experiment does not have is ignored (validation of the pin reports it).
	Arms map[string]string
}

// ArmChoice is the arm of an experiment a call went to.
type ArmChoice struct {
	Experiment string `json:"experiment"`
	Arm        string `json:"arm"`
}

// VerifyRequest asks the edge to check a PIN entered at a verify node. PIN is secret: the
// edge must not log it, and the engine never puts it in a trace or the state.
type VerifyRequest struct {
	MemberID string
	PIN      string
}

// RememberRequest is a caller's consent to have Phone recognized as MemberID's number.
type RememberRequest struct {
	MemberID string
	Phone    string
}

// Verified is the edge's answer to a VerifyRequest.
type Verified struct {
	MemberID string
	// OK: the PIN is the member's. Locked: too many failed attempts for this member or
	// this calling number; the PIN was not checked.
	OK     bool
	Locked bool
}

// Identified is the directory's answer for a keypad-entered member number.
type Identified struct {
	Number string  // the digits looked up
	Member *Member // nil: no member has that number
}

// Input is what the caller did at a gather: keys pressed or words said; both empty means
// no input (timeout).
type Input struct {
	Digits     string  `json:"digits,omitempty"`
	Speech     string  `json:"speech,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	// At a record node: the recording Twilio made (RecordingUrl, RecordingDuration); an
	// empty URL or zero seconds means nothing was recorded.
	RecordingURL     string `json:"recording_url,omitempty"`
	RecordingSeconds int    `json:"recording_seconds,omitempty"`
}

// How the engine understood the caller at the node a turn resumed (Heard.Kind).
const (
	HeardDigits       = "digits"        // keys that chose an option (Value: the keys)
	HeardKeyword      = "keyword"       // words that chose an option (Value: its keyword)
	HeardName         = "name"          // a member's first name, said at choose_member
	HeardSilence      = "silence"       // no input, or nothing recorded
	HeardNoMatch      = "no_match"      // input that chose nothing
	HeardMemberNumber = "member_number" // a member number keyed at identify
	HeardPIN          = "pin"           // a PIN keyed at verify
	HeardConsent      = "consent"       // an answer to remember (Value: "yes" or "no")
	HeardRecording    = "recording"     // a recording made at record
)

// Heard is how the engine understood what the caller did. Value never holds free speech,
// a member number or a PIN.
type Heard struct {
	Kind  string `json:"kind"`
	Value string `json:"value,omitempty"`
}

// State is everything the engine needs to resume a call at the next webhook. The IVR edge
// carries it between webhooks (signed), so it stays small.
type State struct {
	Flow     string            `json:"f"`
	Version  int               `json:"v,omitempty"`
	Node     string            `json:"n"`           // the node awaiting input
	Member   string            `json:"m,omitempty"` // the member the call is about, once chosen
	Attempts int               `json:"a,omitempty"` // failed tries at the current gather
	Vars     map[string]string `json:"x,omitempty"`
	// Trust is the call's trust level (TrustLevels), fixed at Start from Caller.Trust and
	// raised only by a verify node; the edge signs the state, so a later webhook cannot
	// change it. "" (a state from before trust was carried) reads as Caller.Trust.
	Trust string `json:"t,omitempty"`
	// Language is the language the caller chose at a language option; "" follows the
	// member's language, else the flow's default.
	Language string `json:"l,omitempty"`
}

// Speech is what a <Say> speaks: plain text and SSML pieces, in order.
type Speech []Segment

// Segment is one piece of Speech. Exactly one of Text (optionally with SayAs) or BreakMS
// is meaningful.
type Segment struct {
	Text    string // spoken as written; the encoder escapes it
	SayAs   string // when set, Text is wrapped in <say-as interpret-as="...">, e.g. "characters"
	BreakMS int    // when > 0, a pause of that many milliseconds
}

// ActionKind names what an Action does.
type ActionKind string

const (
	ActSay     ActionKind = "say"
	ActPlay    ActionKind = "play"
	ActGather  ActionKind = "gather"
	ActHandoff ActionKind = "handoff"
	ActHangup  ActionKind = "hangup"
	// ActRecord records a voicemail and waits: the edge renders <Record> whose action is
	// the gather route with State, and passes the recording as Input.Recording*. Twilio
	// skips the action when nothing was recorded, so the edge follows <Record> with a
	// <Redirect> to the same action: an empty recording goes on at the node's no_input.
	ActRecord ActionKind = "record"
)

// Action is one instruction for the call, independent of TwiML.
type Action struct {
	Kind     ActionKind
	Language string // say: BCP 47
	Voice    string // say: e.g. "Polly.Joanna-Neural"
	Speech   Speech // say
	URL      string // play
	Gather   *Gather
	Handoff  *Handoff
	Record   *Record
}

// Record is a voicemail recording.
type Record struct {
	MaxSeconds     int    // the longest recording, 1..3600
	TimeoutSeconds int    // silence that ends the recording
	FinishOnKey    string // keys that end the recording; "" keeps Twilio's default
	PlayBeep       bool
	Transcribe     bool // ask for a transcription (delivered later, out of the call)
}

// Gather collects keys or speech. Its prompts play while it listens.
type Gather struct {
	Input          string // "dtmf", "speech" or "dtmf speech"
	TimeoutSeconds int
	NumDigits      int    // 0: any number, ended by FinishOnKey or timeout
	FinishOnKey    string // "" keeps Twilio's default "#"
	Hints          []string
	Language       string   // speech recognition language
	Prompts        []Action // say and play actions only
}

// Handoff passes the call to a person with what they need to know.
type Handoff struct {
	Queue   string // e.g. "agents", "reservations"
	Reason  string // why the call is handed off, e.g. "trip", "no-input"
	Context []KV   // ordered: member_id, tier, activity_id, activity_reference, ...
	// Overrides of the edge's configured target, per node; at most one is set. Workflow
	// enqueues to that TaskRouter workflow SID; SIP dials that sip: URI; Client dials that
	// Twilio Client identity. None set: the edge's configuration decides.
	Workflow string
	SIP      string
	Client   string
	// Priority (with HasPriority) is the call's priority in the queue (a node's
	// "priority"): TaskRouter's Task priority.
	Priority    int
	HasPriority bool
	// Wait: the handoff node Node says what callers hear in the queue (the edge enqueues
	// with a wait URL that names Node); Callback: it offers a callback. Node is empty
	// without a wait.
	Node           string
	Wait, Callback bool
}

// KV is one ordered key/value pair.
type KV struct{ Key, Value string }

// Call outcomes, set on the turn that ends the call.
const (
	EndHandoff = "handoff"
	EndHangup  = "hangup"
	EndGoto    = "goto" // the call goes on in another flow: Turn.GotoFlow
)

// Turn is the engine's answer to one webhook.
type Turn struct {
	Actions []Action
	// Awaiting is true when the last action is a Gather or a Record: Twilio posts its
	// result to the gather route with State.
	Awaiting bool
	State    State
	// Identify, when set, asks the edge to look up this member number and call Resume again
	// with the same state and input and Call.Identified filled in.
	Identify string
	// Remember, when set, asks the edge to add the calling number to the member, with the
	// caller's consent (a remember node): the edge records the consent and carries on with
	// this turn as it is.
	Remember *RememberRequest
	// Verify, when set, asks the edge to check a PIN for a member (a verify node) and call
	// Resume again with the same state and input and Call.Verified filled in.
	Verify *VerifyRequest
	// Fetch, when set, asks the edge to call a company API (a fetch node, where State
	// waits) and call Resume with the same state, no input and Call.Fetched filled in
	// (Complete does). With Fetch.Wait the turn's Actions end with words to say meanwhile.
	Fetch *FetchRequest
	// Fetches are the fetches the turn's fetch nodes made, for the call's journey.
	Fetches []FetchRecord
	// Message, when set, asks the edge to queue a message (a message node, where State
	// waits) and call Resume with Call.Messaged (Complete does).
	Message *MessageRequest
	// Messages are the messages the turn queued, as the engine asked for them.
	Messages []MessageRequest
	End      string // EndHandoff, EndHangup or EndGoto when this flow is done with the call
	// GotoFlow, when set (End is EndGoto), hands the call to another flow. The contract:
	// the edge says this turn's Actions, loads the published flow GotoFlow and calls its
	// Start with Call.From set to this turn's State, so the member and variables carry
	// over; that turn's State names the new flow and version, which the call then keeps
	// (pinned) like any other. Follow does exactly this, bounded by MaxGotos so flows that
	// go to each other cannot loop.
	GotoFlow string
	// Visited are the nodes the turn went through, in order: on a resumed turn the node
	// that waited first. A node is listed again only when the turn comes back to it.
	Visited []string
	// Heard is how the caller's input was understood at the node a resumed turn started
	// at; zero on a call's first turn.
	Heard Heard
	// AskedActivity: the turn asked the caller about their activity (a gather whose prompt
	// names it), which the recognition report counts.
	AskedActivity bool
	// ActivityYes: the caller answered such a gather with its first option (the default
	// flow's "Press 1 or say yes"): the call is about the activity.
	ActivityYes bool
	// Arms are the arms of the experiments the turn's split nodes sent the call to, which
	// the call records keep.
	Arms []ArmChoice
	// Trace explains the path taken, one line per node, for simulation and tests. Records
	// and reports read Visited and Heard, never the trace.
	Trace []string
}
