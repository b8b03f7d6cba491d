package calls

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Segments turn the call records into lists the business can act on: members who call
// about their trips, members who call often with nothing booked, members the line
// recognizes but never serves, and numbers that call often and are never recognized.

// Segment names.
const (
	SegmentActivityCallers     = "activity_callers"
	SegmentFrequentNoActivity  = "frequent_no_activity"
	SegmentAlwaysHandedOff     = "always_handed_off"
	SegmentUnrecognizedNumbers = "unrecognized_numbers"
)

// SegmentLine is one member (or, for numbers, one caller) of a segment.
type SegmentLine struct {
	MemberID    string    `json:"member_id,omitempty"`
	Caller      string    `json:"caller,omitempty"`      // numbers: masked, +1404***0123
	CallerHash  string    `json:"caller_hash,omitempty"` // numbers: the keyed hash the calls list filters by
	Calls       int       `json:"calls"`
	LastCall    time.Time `json:"last_call"`
	SelfService int       `json:"self_service"`
	Handoff     int       `json:"handoff"`
	HungUp      int       `json:"caller_hung_up"`
}

// Segment is one segment: how many belong to it in the period and the first of them,
// most calls first.
type Segment struct {
	Name       string        `json:"name"`
	Title      string        `json:"title"`
	Definition string        `json:"definition"`
	Count      int           `json:"count"`
	Lines      []SegmentLine `json:"lines"`
}

// segmentQueries are the segments: a filter of the period's calls and a condition on each
// member's (or number's) calls, where MIN_CALLS is min_calls; a definition says the same
// in words, with the number.
var segmentQueries = []struct {
	name, title, definition, where, having string
}{
	{SegmentActivityCallers, "Members who called about their activity",
		"members who, in the period, had an upcoming, current or recent activity and said yes when the line asked whether they were calling about it",
		"member_id IS NOT NULL", "count(*) FILTER (WHERE activity_yes) > 0"},
	{SegmentFrequentNoActivity, "Members who call often with no activity",
		"members with at least MIN_CALLS calls in the period, none of them while they had an activity",
		"member_id IS NOT NULL", "count(*) >= MIN_CALLS AND NOT bool_or(had_activity)"},
	{SegmentAlwaysHandedOff, "Members recognized but always handed off",
		"members recognized by their number on at least two calls in the period that ended, every one of them handed off to a person",
		"member_id IS NOT NULL AND recognized IN ('member', 'household') AND outcome <> ''", "count(*) >= 2 AND bool_and(outcome = '" + OutcomeHandoff + "')"},
	{SegmentUnrecognizedNumbers, "Numbers that call often and are never recognized",
		"caller numbers (never withheld ones) with at least MIN_CALLS calls in the period, none recognized or tied to a member: candidates for remembering the number",
		"caller_hash <> ''", "count(*) >= MIN_CALLS AND NOT bool_or(recognized IN ('member', 'household') OR member_id IS NOT NULL)"},
}

// IsSegment reports whether name is a segment's.
func IsSegment(name string) bool {
	for _, q := range segmentQueries {
		if q.name == name {
			return true
		}
	}
	return false
}

// Segments lists the segments for calls that started in [from, to), with at most limit
// lines each: every one, or only the one named only.
func (s *Store) Segments(ctx context.Context, from, to time.Time, minCalls, limit int, only string) ([]Segment, error) {
	out := make([]Segment, 0, len(segmentQueries))
	for _, q := range segmentQueries {
		if only != "" && q.name != only {
			continue
		}
		key := "member_id, '', ''"
		group := "member_id"
		if q.name == SegmentUnrecognizedNumbers {
			key, group = "'', max(caller_masked), caller_hash", "caller_hash"
		}
		rows, err := s.pool.Query(ctx, `
			SELECT `+key+`, count(*), max(started_at),
			       count(*) FILTER (WHERE outcome = '`+OutcomeSelfService+`'),
			       count(*) FILTER (WHERE outcome = '`+OutcomeHandoff+`'),
			       count(*) FILTER (WHERE outcome = '`+OutcomeHungUp+`'),
			       count(*) OVER ()
			FROM calls WHERE started_at >= $1 AND started_at < $2 AND `+q.where+`
			GROUP BY `+group+` HAVING `+strings.ReplaceAll(q.having, "MIN_CALLS", strconv.Itoa(minCalls))+`
			ORDER BY 4 DESC, 5 DESC, `+group+` LIMIT $3`, from, to, limit)
		if err != nil {
			return nil, fmt.Errorf("calls: segment %s: %w", q.name, err)
		}
		seg := Segment{Name: q.name, Title: q.title, Lines: []SegmentLine{},
			Definition: strings.ReplaceAll(q.definition, "MIN_CALLS", strconv.Itoa(minCalls))}
		for rows.Next() {
			var l SegmentLine
			if err := rows.Scan(&l.MemberID, &l.Caller, &l.CallerHash, &l.Calls, &l.LastCall, &l.SelfService, &l.Handoff, &l.HungUp, &seg.Count); err != nil {
				rows.Close()
				return nil, fmt.Errorf("calls: segment %s: %w", q.name, err)
			}
			seg.Lines = append(seg.Lines, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("calls: segment %s: %w", q.name, err)
		}
		out = append(out, seg)
	}
	return out, nil
}
