package calls

import (
	"context"
	"fmt"
	"time"
)

// Insight over the call records: traffic through one flow version's nodes and edges,
// outcomes and repeat callers by day, and the member segments.

// NodeTraffic is how calls went through one node.
type NodeTraffic struct {
	Node    string `json:"node"`
	Entered int    `json:"entered"` // calls that reached it
	// HungUp, HandedOff and SelfService count calls that ended there that way.
	HungUp      int `json:"hung_up"`
	HandedOff   int `json:"handed_off"`
	SelfService int `json:"self_service"`
}

// EdgeTraffic is how many calls went from one node straight to another.
type EdgeTraffic struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Calls int    `json:"calls"`
}

// Traffic is one flow version's traffic in a period.
type Traffic struct {
	Calls int           `json:"calls"`
	Nodes []NodeTraffic `json:"nodes"`
	Edges []EdgeTraffic `json:"edges"`
}

// Traffic counts, for the calls on flow's version that started in [from, to), the calls
// that entered each node and ended there (by outcome), and the calls that took each edge.
// A gather a webhook resumes at, where the one before stopped, is one visit, not a loop.
func (s *Store) Traffic(ctx context.Context, flow string, version int, from, to time.Time) (Traffic, error) {
	t := Traffic{Nodes: []NodeTraffic{}, Edges: []EdgeTraffic{}}
	const scope = `WITH c AS (SELECT call_sid, nodes, outcome FROM calls
		WHERE flow = $1 AND flow_version = $2 AND started_at >= $3 AND started_at < $4)`
	if err := s.pool.QueryRow(ctx, scope+` SELECT count(*) FROM c`, flow, version, from, to).Scan(&t.Calls); err != nil {
		return t, fmt.Errorf("calls: traffic: %w", err)
	}
	rows, err := s.pool.Query(ctx, scope+`,
		visits AS (SELECT DISTINCT c.call_sid, n.node FROM c, unnest(c.nodes) AS n(node)),
		ends AS (SELECT nodes[cardinality(nodes)] AS node, outcome FROM c WHERE cardinality(nodes) > 0)
		SELECT v.node, count(DISTINCT v.call_sid),
		       (SELECT count(*) FROM ends e WHERE e.node = v.node AND e.outcome = '`+OutcomeHungUp+`'),
		       (SELECT count(*) FROM ends e WHERE e.node = v.node AND e.outcome = '`+OutcomeHandoff+`'),
		       (SELECT count(*) FROM ends e WHERE e.node = v.node AND e.outcome = '`+OutcomeSelfService+`')
		FROM visits v GROUP BY v.node ORDER BY 2 DESC, 1`, flow, version, from, to)
	if err != nil {
		return t, fmt.Errorf("calls: traffic: %w", err)
	}
	for rows.Next() {
		var n NodeTraffic
		if err := rows.Scan(&n.Node, &n.Entered, &n.HungUp, &n.HandedOff, &n.SelfService); err != nil {
			rows.Close()
			return t, fmt.Errorf("calls: traffic: %w", err)
		}
		t.Nodes = append(t.Nodes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("calls: traffic: %w", err)
	}
	rows, err = s.pool.Query(ctx, scope+`,
		steps AS (SELECT c.call_sid, n.node, lag(n.node) OVER (PARTITION BY c.call_sid ORDER BY n.i) AS prev
		          FROM c, unnest(c.nodes) WITH ORDINALITY AS n(node, i))
		SELECT prev, node, count(DISTINCT call_sid) FROM steps
		WHERE prev IS NOT NULL AND prev <> node GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`, flow, version, from, to)
	if err != nil {
		return t, fmt.Errorf("calls: traffic: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e EdgeTraffic
		if err := rows.Scan(&e.From, &e.To, &e.Calls); err != nil {
			return t, fmt.Errorf("calls: traffic: %w", err)
		}
		t.Edges = append(t.Edges, e)
	}
	if err := rows.Err(); err != nil {
		return t, fmt.Errorf("calls: traffic: %w", err)
	}
	return t, nil
}

// OutcomeDay is one day's outcomes of one flow version.
type OutcomeDay struct {
	Day     string `json:"day"`
	Flow    string `json:"flow"`
	Version int    `json:"version"`
	Outcomes
}

// OutcomesByDay counts how calls that started in [from, to) ended, per day in loc and
// flow version.
func (s *Store) OutcomesByDay(ctx context.Context, from, to time.Time, loc *time.Location) ([]OutcomeDay, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT to_char(started_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, flow, flow_version, count(*),
		       count(*) FILTER (WHERE outcome = '`+OutcomeSelfService+`'),
		       count(*) FILTER (WHERE outcome = '`+OutcomeHandoff+`'),
		       count(*) FILTER (WHERE outcome = '`+OutcomeHungUp+`'),
		       count(*) FILTER (WHERE outcome = '`+OutcomeError+`')
		FROM calls WHERE started_at >= $1 AND started_at < $2 AND flow <> ''
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, from, to, loc.String())
	if err != nil {
		return nil, fmt.Errorf("calls: outcomes by day: %w", err)
	}
	defer rows.Close()
	out := []OutcomeDay{}
	for rows.Next() {
		var d OutcomeDay
		if err := rows.Scan(&d.Day, &d.Flow, &d.Version, &d.Calls, &d.SelfService, &d.Handoff, &d.HungUp, &d.Error); err != nil {
			return nil, fmt.Errorf("calls: outcomes by day: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// RepeatDay is one day of the repeat-callers report.
type RepeatDay struct {
	Day   string `json:"day"`
	Calls int    `json:"calls"`
	// Repeat counts calls from a number that called before in the 7 days up to the call
	// (calls at the same instant are in call SID order).
	Repeat int     `json:"repeat"`
	Share  float64 `json:"repeat_share"`
}

// RepeatWindow is how far back a call looks for an earlier one from the same number.
const RepeatWindow = 7 * 24 * time.Hour

// RepeatCallers counts, per day in loc, calls that started in [from, to) and how many
// came from a number (withheld numbers never count) that had called within RepeatWindow.
func (s *Store) RepeatCallers(ctx context.Context, from, to time.Time, loc *time.Location) ([]RepeatDay, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT to_char(c.started_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, count(*),
		       count(*) FILTER (WHERE c.caller_hash <> '' AND EXISTS (
		           SELECT 1 FROM calls p WHERE p.caller_hash = c.caller_hash
		             AND (p.started_at, p.call_sid) < (c.started_at, c.call_sid)
		             AND p.started_at >= c.started_at - $4 * interval '1 second'))
		FROM calls c WHERE c.started_at >= $1 AND c.started_at < $2
		GROUP BY 1 ORDER BY 1`, from, to, loc.String(), int(RepeatWindow.Seconds()))
	if err != nil {
		return nil, fmt.Errorf("calls: repeat callers: %w", err)
	}
	defer rows.Close()
	out := []RepeatDay{}
	for rows.Next() {
		var d RepeatDay
		if err := rows.Scan(&d.Day, &d.Calls, &d.Repeat); err != nil {
			return nil, fmt.Errorf("calls: repeat callers: %w", err)
		}
		if d.Calls > 0 {
			d.Share = float64(d.Repeat) / float64(d.Calls)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}
