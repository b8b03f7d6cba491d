package calls

import (
	"context"
	"fmt"
	"time"
)

// RecognitionDay is one day of the recognition report.
type RecognitionDay struct {
	Day       string `json:"day"` // YYYY-MM-DD in the report's time zone
	Calls     int    `json:"calls"`
	Member    int    `json:"member"`    // recognized by number: one member
	Household int    `json:"household"` // recognized by number: a shared number
	Unknown   int    `json:"unknown"`
	Anonymous int    `json:"anonymous"` // no caller id
	Error     int    `json:"error"`     // the lookup failed
	// Identified counts calls tied to a member by the end (by number, choice or member
	// number entered).
	Identified int `json:"identified"`
	// Share is (member + household) / calls: the share recognized by number alone.
	Share float64 `json:"recognized_share"`
}

// Recognition counts calls by how the caller was recognized, per day in loc, for calls
// that started in [from, to).
func (s *Store) Recognition(ctx context.Context, from, to time.Time, loc *time.Location) ([]RecognitionDay, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT to_char(started_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, count(*),
		       count(*) FILTER (WHERE recognized = 'member'),
		       count(*) FILTER (WHERE recognized = 'household'),
		       count(*) FILTER (WHERE recognized = 'unknown'),
		       count(*) FILTER (WHERE recognized = 'anonymous'),
		       count(*) FILTER (WHERE recognized = 'error'),
		       count(*) FILTER (WHERE member_id IS NOT NULL)
		FROM calls WHERE started_at >= $1 AND started_at < $2
		GROUP BY day ORDER BY day`, from, to, loc.String())
	if err != nil {
		return nil, fmt.Errorf("calls: recognition report: %w", err)
	}
	defer rows.Close()
	days := []RecognitionDay{}
	for rows.Next() {
		var d RecognitionDay
		if err := rows.Scan(&d.Day, &d.Calls, &d.Member, &d.Household, &d.Unknown, &d.Anonymous, &d.Error, &d.Identified); err != nil {
			return nil, fmt.Errorf("calls: recognition report: %w", err)
		}
		if d.Calls > 0 {
			d.Share = float64(d.Member+d.Household) / float64(d.Calls)
		}
		days = append(days, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls: recognition report: %w", err)
	}
	return days, nil
}

// TrustLine is the recognition report's line for one trust level: of the recognized calls
// (by number: one member or a household) with that trust at their start, how many the
// flow asked about the member's activity, and how many of those said yes.
type TrustLine struct {
	Trust         string  `json:"trust"`
	Recognized    int     `json:"recognized"`
	AskedActivity int     `json:"asked_activity"`
	Share         float64 `json:"asked_share"`
	ActivityYes   int     `json:"activity_yes"`
	YesShare      float64 `json:"yes_share"` // of those asked
}

// RecognizedByTrust is the recognition report's lines by trust level, for calls that
// started in [from, to); most calls first.
func (s *Store) RecognizedByTrust(ctx context.Context, from, to time.Time) ([]TrustLine, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT CASE WHEN trust = '' THEN 'unknown' ELSE trust END AS t, count(*), count(*) FILTER (WHERE asked_activity),
		       count(*) FILTER (WHERE asked_activity AND activity_yes)
		FROM calls WHERE started_at >= $1 AND started_at < $2 AND recognized IN ('member', 'household')
		GROUP BY t ORDER BY count(*) DESC, t`, from, to)
	if err != nil {
		return nil, fmt.Errorf("calls: recognition by trust: %w", err)
	}
	defer rows.Close()
	lines := []TrustLine{}
	for rows.Next() {
		var l TrustLine
		if err := rows.Scan(&l.Trust, &l.Recognized, &l.AskedActivity, &l.ActivityYes); err != nil {
			return nil, fmt.Errorf("calls: recognition by trust: %w", err)
		}
		if l.Recognized > 0 {
			l.Share = float64(l.AskedActivity) / float64(l.Recognized)
		}
		if l.AskedActivity > 0 {
			l.YesShare = float64(l.ActivityYes) / float64(l.AskedActivity)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls: recognition by trust: %w", err)
	}
	return lines, nil
}

// Outcomes counts calls by how they ended.
type Outcomes struct {
	Calls       int `json:"calls"`
	SelfService int `json:"self_service"`
	Handoff     int `json:"handoff"`
	HungUp      int `json:"caller_hung_up"`
	Error       int `json:"error"`
}

// FlowOutcomes is one flow version's line of the outcomes report.
type FlowOutcomes struct {
	Flow    string `json:"flow"`
	Version int    `json:"version"`
	Outcomes
	InProgress int     `json:"in_progress"` // no outcome (yet)
	Share      float64 `json:"self_service_share"`
	// Exits are the nodes calls were at when they ended, by outcome, most first.
	Exits []Exit `json:"exits"`
}

// Exit counts calls that ended at one node with one outcome.
type Exit struct {
	Node    string `json:"node"`
	Outcome string `json:"outcome"`
	Calls   int    `json:"calls"`
}

// Outcomes reports how calls that started in [from, to) ended, by flow and version, and
// the node where callers left.
func (s *Store) Outcomes(ctx context.Context, from, to time.Time) ([]FlowOutcomes, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT flow, flow_version, COALESCE(nodes[cardinality(nodes)], '') AS node, outcome, count(*)
		FROM calls WHERE started_at >= $1 AND started_at < $2 AND flow <> ''
		GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 5 DESC, 3, 4`, from, to)
	if err != nil {
		return nil, fmt.Errorf("calls: outcomes report: %w", err)
	}
	defer rows.Close()
	out := []FlowOutcomes{}
	for rows.Next() {
		var (
			flow, node, outcome string
			version, n          int
		)
		if err := rows.Scan(&flow, &version, &node, &outcome, &n); err != nil {
			return nil, fmt.Errorf("calls: outcomes report: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Flow != flow || out[len(out)-1].Version != version {
			out = append(out, FlowOutcomes{Flow: flow, Version: version, Exits: []Exit{}})
		}
		f := &out[len(out)-1]
		f.Calls += n
		switch outcome {
		case OutcomeSelfService:
			f.SelfService += n
		case OutcomeHandoff:
			f.Handoff += n
		case OutcomeHungUp:
			f.HungUp += n
		case OutcomeError:
			f.Error += n
		default:
			f.InProgress += n
			outcome = "in_progress"
		}
		f.Exits = append(f.Exits, Exit{Node: node, Outcome: outcome, Calls: n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls: outcomes report: %w", err)
	}
	for i := range out {
		if ended := out[i].Calls - out[i].InProgress; ended > 0 {
			out[i].Share = float64(out[i].SelfService) / float64(ended)
		}
	}
	return out, nil
}

// MemberCalls is what one member's calls in a period were about.
type MemberCalls struct {
	MemberID    string    `json:"member_id"`
	Calls       int       `json:"calls"`
	LastCall    time.Time `json:"last_call"`
	SelfService int       `json:"self_service"`
	Handoff     int       `json:"handoff"`
	// Inputs are the distinct option words and digits the member chose; ExitNodes the
	// distinct nodes their calls ended at.
	Inputs    []string `json:"inputs"`
	ExitNodes []string `json:"exit_nodes"`
}

// Members lists the members who called in [from, to), most calls first, at most limit.
func (s *Store) Members(ctx context.Context, from, to time.Time, limit int) ([]MemberCalls, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.member_id, count(*), max(c.started_at),
		       count(*) FILTER (WHERE c.outcome = 'self_service'),
		       count(*) FILTER (WHERE c.outcome = 'handoff'),
		       COALESCE((SELECT array_agg(DISTINCT i ORDER BY i) FROM calls c2, unnest(c2.inputs) AS i
		                 WHERE c2.member_id = c.member_id AND c2.started_at >= $1 AND c2.started_at < $2
		                   AND i NOT IN ('none', 'unmatched')), '{}'),
		       array_remove(array_agg(DISTINCT c.nodes[cardinality(c.nodes)]), NULL)
		FROM calls c
		WHERE c.member_id IS NOT NULL AND c.started_at >= $1 AND c.started_at < $2
		GROUP BY c.member_id ORDER BY 2 DESC, 1 LIMIT $3`, from, to, limit)
	if err != nil {
		return nil, fmt.Errorf("calls: members report: %w", err)
	}
	defer rows.Close()
	out := []MemberCalls{}
	for rows.Next() {
		var m MemberCalls
		if err := rows.Scan(&m.MemberID, &m.Calls, &m.LastCall, &m.SelfService, &m.Handoff, &m.Inputs, &m.ExitNodes); err != nil {
			return nil, fmt.Errorf("calls: members report: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls: members report: %w", err)
	}
	return out, nil
}
