package lookup

import "time"

// CandidateHorizon is how far past its read an Entry stays exact: Candidates takes in
// the activities that can become relevant within this span.
const CandidateHorizon = 24 * time.Hour

// candidateSkew lets an Entry answer for moments slightly before its read, as on a
// server whose clock is a little behind the one that filled the cache.
const candidateSkew = 5 * time.Minute

// Entry is what the directory knows about one number, in a form that can be cached and
// asked again later: the members behind the number, each with every activity that can be
// relevant to a call between From and Until. Caller picks the relevant one at the moment
// of the call, so a cached Entry stays right as time passes.
type Entry struct {
	Phone   string        `json:"phone"`
	Members []EntryMember `json:"members"` // by ID; empty for an unknown number
	From    time.Time     `json:"from"`
	Until   time.Time     `json:"until"`
}

// EntryMember is a member with their candidate activities, by start.
type EntryMember struct {
	Member
	Activities []Activity `json:"activities"`
}

// Covers reports whether Caller is exact at now.
func (e Entry) Covers(now time.Time) bool {
	return !now.Before(e.From) && !now.After(e.Until)
}

// Caller answers the call at now: each member with their most relevant activity.
func (e Entry) Caller(now time.Time, w Windows) Caller {
	c := Caller{Phone: e.Phone, Members: make([]CallerMember, len(e.Members))}
	for i, m := range e.Members {
		c.Members[i] = m.CallerMember(now, w)
	}
	return c
}

// CallerMember is the member with their most relevant activity at now.
func (m EntryMember) CallerMember(now time.Time, w Windows) CallerMember {
	return CallerMember{Member: m.Member, Activity: Select(m.Activities, now, w)}
}

// WithDefaults returns w with zero fields set from DefaultWindows.
func (w Windows) WithDefaults() Windows {
	if w.Upcoming <= 0 {
		w.Upcoming = DefaultWindows.Upcoming
	}
	if w.Recent <= 0 {
		w.Recent = DefaultWindows.Recent
	}
	return w
}

// Relation ranks, best last.
const (
	rankNone = iota
	rankRecent
	rankUpcoming
	rankCurrent
)

var relations = [...]string{rankRecent: RelationRecent, rankUpcoming: RelationUpcoming, rankCurrent: RelationCurrent}

// Select returns a copy of the activity worth mentioning at now, with Relation set, or
// nil. A current activity (started, not ended) comes first, the latest-started if
// several; then the soonest one starting within w.Upcoming; then the latest one that
// ended within w.Recent. Cancelled activities never count. Zero windows mean the
// defaults.
func Select(activities []Activity, now time.Time, w Windows) *Activity {
	w = w.WithDefaults()
	upcomingEnd, recentStart := now.Add(w.Upcoming), now.Add(-w.Recent)
	best, bestRank := -1, rankNone
	for i := range activities {
		a := &activities[i]
		if a.Status == StatusCancelled {
			continue
		}
		rank := relation(a, now, upcomingEnd, recentStart)
		if rank == rankNone || rank < bestRank {
			continue
		}
		if rank > bestRank || better(rank, a, &activities[best]) {
			best, bestRank = i, rank
		}
	}
	if best < 0 {
		return nil
	}
	out := activities[best]
	out.Relation = relations[bestRank]
	return &out
}

func relation(a *Activity, now, upcomingEnd, recentStart time.Time) int {
	end := endOf(a)
	switch {
	case a.StartsAt.After(now):
		if !a.StartsAt.After(upcomingEnd) {
			return rankUpcoming
		}
	case now.Before(end):
		return rankCurrent
	case !end.Before(recentStart):
		return rankRecent
	}
	return rankNone
}

// better reports whether a beats b, both of relation rank.
func better(rank int, a, b *Activity) bool {
	switch rank {
	case rankCurrent: // the most specific: a stay within a trip
		if !a.StartsAt.Equal(b.StartsAt) {
			return a.StartsAt.After(b.StartsAt)
		}
		if ae, be := endOf(a), endOf(b); !ae.Equal(be) {
			return ae.Before(be)
		}
	case rankUpcoming:
		if !a.StartsAt.Equal(b.StartsAt) {
			return a.StartsAt.Before(b.StartsAt)
		}
	case rankRecent:
		if ae, be := endOf(a), endOf(b); !ae.Equal(be) {
			return ae.After(be)
		}
	}
	return a.ID < b.ID
}

// endOf is when a ends; an activity without an end is a moment.
func endOf(a *Activity) time.Time {
	if a.EndsAt.IsZero() {
		return a.StartsAt
	}
	return a.EndsAt
}
