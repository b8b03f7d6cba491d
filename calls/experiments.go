package calls

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ArmCounts are what an experiment's arm did in a period: its calls, the distinct callers
// (a withheld number counts each call), the calls that reached the goal, those handed off,
// and the calls' mean length in seconds (of those that ended; 0 without).
type ArmCounts struct {
	Arm         string  `json:"arm"`
	Calls       int     `json:"calls"`
	Callers     int     `json:"distinct_callers"`
	GoalReached int     `json:"goal_reached"`
	HandedOff   int     `json:"handed_off"`
	MeanSeconds float64 `json:"mean_call_seconds"`
}

// Goal is what an experiment counts as success (flows.Goal): reaching a node, ending
// with an outcome, or ending with any outcome but one.
type Goal struct {
	Reached, Outcome, NotOutcome string
}

// ExperimentCounts counts, per arm of the experiment, the calls that started in [from,
// to) and went through it. Arms with no calls are not listed.
func (s *Store) ExperimentCounts(ctx context.Context, experiment string, goal Goal, from, to time.Time) ([]ArmCounts, error) {
	reached, arg := "$4::text IS NULL", "" // no goal: never reached ($4 is always bound)
	switch {
	case goal.Reached != "":
		reached, arg = "$4 = ANY(nodes)", goal.Reached
	case goal.Outcome != "":
		reached, arg = "outcome = $4", goal.Outcome
	case goal.NotOutcome != "":
		reached, arg = "outcome <> '' AND outcome <> $4", goal.NotOutcome
	}
	rows, err := s.pool.Query(ctx, `
		SELECT arms ->> $1, count(*), count(DISTINCT COALESCE(NULLIF(caller_hash, ''), call_sid)),
		       count(*) FILTER (WHERE `+reached+`),
		       count(*) FILTER (WHERE outcome = '`+OutcomeHandoff+`'),
		       COALESCE(avg(duration_s), 0)::float8
		FROM calls
		WHERE arms ? $1 AND started_at >= $2 AND started_at < $3
		GROUP BY 1 ORDER BY 1`, experiment, from, to, arg)
	if err != nil {
		return nil, fmt.Errorf("calls: experiment %s: %w", experiment, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ArmCounts, error) {
		var a ArmCounts
		err := r.Scan(&a.Arm, &a.Calls, &a.Callers, &a.GoalReached, &a.HandedOff, &a.MeanSeconds)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("calls: experiment %s: %w", experiment, err)
	}
	return out, nil
}
