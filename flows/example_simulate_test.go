package flows_test

import (
	"fmt"
	"time"

	"github.com/memberline/memberline/flows"
)

// Simulate plays a scripted call through a flow with the engine a live call uses: here
// the built-in flow, a Diamond member whose number the carrier attested, flying to
// Atlanta tomorrow, who answers "yes please" to the question about the trip.
func ExampleSimulate() {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	dana := flows.Member{
		ID: "1001", FirstName: "Dana", Tier: "Diamond", TimeZone: "America/New_York",
		Activity: &flows.Activity{
			ID: "t1", Kind: "trip", Place: "Atlanta", Relation: "upcoming",
			StartsAt: now.Add(24 * time.Hour), EndsAt: now.Add(27 * time.Hour),
		},
	}
	call := flows.Call{Now: now, Caller: flows.Caller{
		Phone: "+14045550123", Members: []flows.Member{dana}, Trust: flows.TrustVerified,
	}}
	tr, err := flows.Simulate(flows.Default(), call, []flows.Input{{Speech: "yes please"}}, flows.SimEnv{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, step := range tr.Steps {
		fmt.Println("turn", i+1)
		for _, said := range step.Said {
			fmt.Println("  ", said)
		}
	}
	fmt.Println("ended:", tr.End, "in queue", tr.Handoff.Queue)
	// Output:
	// turn 1
	//    Welcome back, Dana.
	//    As a Diamond member, thank you for your loyalty.
	//    I see you have a trip to Atlanta tomorrow.
	//    Are you calling about that trip? Press 1 or say yes. Press 2 or say no.
	// turn 2
	//    One moment while I connect you with an agent.
	// ended: handoff in queue agents
}
