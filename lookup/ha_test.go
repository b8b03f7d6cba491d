package lookup

import (
	"testing"

	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// The tiers and the PIN lockout against a real Redis Cluster (three masters) and a real
// Sentinel setup (primary, replica, three sentinels), each client made as serve makes it
// (redisx.NewClient with REDIS_MODE cluster or sentinel): keys land on every master, and
// invalidation reaches every instance through the cluster's and the primary's pub/sub.
func TestTiersOnClusterAndSentinel(t *testing.T) {
	for _, m := range testenv.HAModes(t) {
		t.Run(m.Name+" invalidation", func(t *testing.T) {
			invalidationAcrossInstances(t, m.Client, "ha:"+m.Name+":inv:")
		})
		t.Run(m.Name+" PIN lockout", func(t *testing.T) {
			pinLockoutAcrossInstances(t, m.Client(), m.Client(), "ha:"+m.Name+":pin:")
		})
	}
}
