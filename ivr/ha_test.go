package ivr

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/redisx"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// The retry cache against a real Redis Cluster and a real Sentinel setup: a repeat gets
// the first answer on any instance, and concurrent claims of a key have one winner.
func TestRetryCacheOnClusterAndSentinel(t *testing.T) {
	for _, m := range testenv.HAModes(t) {
		t.Run(m.Name, func(t *testing.T) {
			rdb := m.Client()
			repeatGetsTheSameAnswer(t, newEdgePairOn(t, Config{RetryWindow: 300 * time.Millisecond}, rdb, "ha:"+m.Name+":edge:"))
			answersConcurrent(t, RedisAnswers(rdb, "ha:"+m.Name+":answers:"))
		})
	}
}

// Killing the Sentinel primary during a stream of calls loses no call: every webhook gets
// valid TwiML greeting the member (from PostgreSQL while the replica is promoted), and
// afterwards a member change through one instance is heard through the other.
func TestSentinelFailoverLosesNoCall(t *testing.T) {
	sentinel := testenv.StartSentinel(t)
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	const prefix = "ha:failover:"
	type instance struct {
		edge  *Edge
		local *lookup.Local
	}
	var inst []instance
	for range 2 {
		rdb, err := redisx.NewClient(redisx.Sentinel, sentinel.URL(), testenv.MasterName)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		local := lookup.NewLocal(lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix}), lookup.LocalOptions{TTL: time.Hour})
		t.Cleanup(local.Close)
		edge := New(Config{PublicURL: testPublicURL, TwilioAuthToken: testToken, Now: func() time.Time { return testNow }},
			Deps{Resolver: local, Members: local, Flow: flows.Default(), Answers: RedisAnswers(rdb, prefix)})
		inst = append(inst, instance{edge, local})
	}
	dana := lookup.Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond", Language: "en-US", TimeZone: "America/New_York", Phones: []string{"+14045550123"}}
	if _, err := inst[0].local.PutMember(context.Background(), dana); err != nil {
		t.Fatal(err)
	}
	n := 0
	call := func(want string) {
		t.Helper()
		n++
		form := twiliotest.Incoming("+14045550123")
		form.Set("CallSid", fmt.Sprintf("CA%032d", n))
		h := newEdgeHarness(t, inst[n%2].edge, nil, nil)
		code, body := h.Post("/twilio/voice", form)
		if code != http.StatusOK || !strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?><Response>`) || !strings.HasSuffix(body, "</Response>") {
			t.Fatalf("call %d: %d %s", n, code, body)
		}
		if !strings.Contains(body, want) {
			t.Fatalf("call %d does not hear %q: %s", n, want, body)
		}
	}
	for range 20 {
		call("Welcome back, Dana.")
	}
	sentinel.Primary.Stop()
	during := 0
	for deadline := time.Now().Add(30 * time.Second); !sentinel.Promoted(); during++ {
		if time.Now().After(deadline) {
			t.Fatal("the sentinels did not promote the replica within 30 s")
		}
		call("Welcome back, Dana.")
	}
	for range 20 {
		call("Welcome back, Dana.")
	}
	t.Logf("%d calls, %d of them while the replica was promoted", n, during)
	// After the failover, a rename through one instance reaches the other's local tier.
	dana.FirstName = "Dee"
	if _, err := inst[0].local.PutMember(context.Background(), dana); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := inst[1].local.Resolve(context.Background(), "+14045550123", testNow)
		if err == nil && len(c.Members) == 1 && c.Members[0].FirstName == "Dee" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second instance still resolves %+v (%v) 10 s after the rename", c.Members, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	call("Welcome back, Dee.")
}
