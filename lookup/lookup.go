// Package lookup resolves a caller's phone number to the members behind it and the one
// activity worth asking each of them about. It owns phone normalization, the member
// directory in PostgreSQL, the cache tiers in front of it and their invalidation, and
// bulk import. The tiers (Directory, Cache in Redis, Local in memory) implement one
// interface, Tier, and each cache tier wraps the one below through it alone.
//
// lookup never imports ivr or flows: the IVR edge turns a Caller into the engine's plain
// caller data.
package lookup

import (
	"context"
	"time"

	"github.com/memberline/memberline/internal/errs"
)

// The package's errors are the service's coded errors (internal/errs): an invalid value
// names its field (JSON name, e.g. "phones[1]" or "time_zone") and its message starts
// with it; a missing member or activity is errs.NotFound; a write that was stored but
// whose numbers the cache tiers could not forget is errs.CacheUnavailable (writes are
// idempotent, so retrying is safe).

// fieldErr is an invalid value of field; the message names the field.
func fieldErr(field, msg string) *errs.Error { return errs.Field(field, "%s: %s", field, msg) }

// notFound says what was not found: "member \"9002\": not found".
func notFound(format string, args ...any) error {
	return errs.New(errs.NotFound, format+": not found", args...).In("lookup")
}

// notInvalidated is a write stored whose numbers the cache tiers could not forget.
func notInvalidated(op string, err error) error {
	return &errs.Error{Code: errs.CacheUnavailable, Op: "lookup: " + op, Err: err,
		Message: "the change was stored but the cache could not be invalidated; retrying the request is safe"}
}

// Member is one person in the directory.
type Member struct {
	ID        string   `json:"id"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Tier      string   `json:"tier"`
	Language  string   `json:"language"`  // BCP 47, e.g. "en-US"
	TimeZone  string   `json:"time_zone"` // IANA, e.g. "America/New_York"
	Phones    []string `json:"phones"`    // E.164
	// Set by the directory; absent from a member being written (an import record).
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Relation says how an activity stands to the moment of the call.
const (
	RelationUpcoming = "upcoming" // starts after now, within the upcoming window
	RelationCurrent  = "current"  // started, not yet ended
	RelationRecent   = "recent"   // ended before now, within the recent window
)

// Activity is something a member has booked: a trip, a stay, an order.
// StartsAt and EndsAt keep the UTC offset they were written with, so dates are spoken in
// the activity's own time zone.
type Activity struct {
	ID        string    `json:"id"`
	MemberID  string    `json:"member_id,omitempty"` // absent inside an import record
	Kind      string    `json:"kind"`                // "trip", "stay", ...
	Summary   string    `json:"summary"`
	Place     string    `json:"place"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Status    string    `json:"status"` // "confirmed", "cancelled", ...
	Reference string    `json:"reference"`
	Relation  string    `json:"relation,omitempty"` // set on lookup answers only
}

// CallerMember is a member as the IVR sees them: the profile and at most one activity.
type CallerMember struct {
	Member
	Activity *Activity `json:"activity"`
}

// Caller is everything the first prompt needs for one number. Members is empty for an
// unknown number.
type Caller struct {
	Phone   string         `json:"phone"`
	Members []CallerMember `json:"members"`
}

// Resolver answers "who is calling from this number?" at a given moment.
type Resolver interface {
	Resolve(ctx context.Context, phone string, now time.Time) (Caller, error)
	// ResolveMember answers for one member id, as after a keypad-entered member number.
	ResolveMember(ctx context.Context, memberID string, now time.Time) (CallerMember, error)
}

// Writer changes the directory. Every write through the cache invalidates what it touches
// before it returns.
type Writer interface {
	PutMember(ctx context.Context, m Member) (Member, error)
	GetMember(ctx context.Context, id string) (Member, error)
	DeleteMember(ctx context.Context, id string) error
	PutActivity(ctx context.Context, a Activity) (Activity, error)
	DeleteActivity(ctx context.Context, memberID, activityID string) error
}

// Tier is the one interface of the member directory's tiers: the Directory in
// PostgreSQL, the Cache in Redis over it, the Local tier in memory over that. A cache tier
// wraps the tier below through this interface alone (as upspin's key/usercache wraps a
// KeyServer), and answers the same questions.
type Tier interface {
	Resolver
	Writer
	// Entry is what Resolve picks from for an E.164 number: its members with every
	// activity that can matter from now to now+CandidateHorizon (see Entry.Caller).
	Entry(ctx context.Context, e164 string, now time.Time) (Entry, error)
	// Windows and Region are what every tier answers with: the directory's, or narrower
	// windows of a cache.
	Windows() Windows
	Region() string
	// Watch calls forget with the numbers whose answers changed (nil: every number) after
	// each write the tier learns of: through it, and through other instances where the
	// tier shares a cache with them. A write through the tier returns only after forget
	// has; its error makes the write errs.CacheUnavailable. stop ends the calls.
	Watch(forget func(ctx context.Context, phones []string) error) (stop func())
}

// Windows bound which activities are worth mentioning.
type Windows struct {
	Upcoming time.Duration // default 14 days
	Recent   time.Duration // default 3 days
}

// DefaultWindows are the windows used when none are configured.
var DefaultWindows = Windows{Upcoming: 14 * 24 * time.Hour, Recent: 3 * 24 * time.Hour}
