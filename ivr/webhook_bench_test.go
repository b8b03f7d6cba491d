package ivr

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// BenchmarkVoiceWebhookLocalHit is the whole incoming-call webhook for a known member
// answered from the local tier: signature check, lookup, engine, TwiML, log line.
func BenchmarkVoiceWebhookLocalHit(b *testing.B) {
	handler := benchEdge(b, false)
	benchSameCall(b, handler)
}

// BenchmarkVoiceWebhookRetryCache is what keeping the answer for Twilio's retries costs:
// the same webhook as BenchmarkVoiceWebhookLocalHit, a new call (CallSid) each time, so
// every request is a first one, without and with the retry cache in Redis. Both sign
// each request, so the difference is the cache's Redis round trips.
func BenchmarkVoiceWebhookRetryCache(b *testing.B) {
	for _, tc := range []struct {
		name    string
		answers bool
	}{{"baseline without retry cache", false}, {"with retry cache", true}} {
		b.Run(tc.name, func(b *testing.B) {
			handler := benchEdge(b, tc.answers)
			form := twiliotest.Incoming("+14045550123")
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				form.Set("CallSid", fmt.Sprintf("CA%032x", n))
				serveBench(b, handler, form.Encode(), Sign(testToken, testPublicURL+"/twilio/voice", form))
			}
		})
	}
}

// benchEdge is the Twilio edge over a local tier holding Dana and her trip, with the
// retry cache in Redis when answers is set.
func benchEdge(b *testing.B, answers bool) http.Handler {
	rdb, prefix := testenv.Redis(b)
	pool := testenv.Postgres(b, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	b.Cleanup(local.Close)
	deps := Deps{Resolver: local, Members: local, Flow: flows.Default()}
	if answers {
		deps.Answers = RedisAnswers(rdb, prefix)
	}
	handler := New(Config{
		PublicURL: testPublicURL, TwilioAuthToken: testToken,
		Now: func() time.Time { return testNow },
	}, deps)
	ctx := b.Context()
	if _, err := local.PutMember(ctx, lookup.Member{ID: "1001", FirstName: "Dana", LastName: "Whitfield", Tier: "Diamond",
		TimeZone: "America/New_York", Phones: []string{"+14045550123"}}); err != nil {
		b.Fatal(err)
	}
	starts := time.Date(2026, 11, 27, 14, 5, 0, 0, time.FixedZone("", -5*3600))
	if _, err := local.PutActivity(ctx, lookup.Activity{MemberID: "1001", ID: "t1", Kind: "trip", Summary: "Flight DL1234 to Atlanta",
		Place: "Atlanta", StartsAt: starts, EndsAt: starts.Add(2 * time.Hour), Reference: "HX7Q2P"}); err != nil {
		b.Fatal(err)
	}
	return handler
}

// benchSameCall sends Dana's incoming-call webhook, the same request each time.
func benchSameCall(b *testing.B, handler http.Handler) {
	form := twiliotest.Incoming("+14045550123")
	body := form.Encode()
	sig := Sign(testToken, testPublicURL+"/twilio/voice", form)
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, handler, body, sig)
	}
}

// serveBench sends one signed incoming-call webhook and fails unless Dana is greeted.
func serveBench(b *testing.B, handler http.Handler, body, sig string) {
	req := httptest.NewRequest(http.MethodPost, "/twilio/voice", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Welcome back, Dana.") {
		b.Fatalf("%d %s", rec.Code, rec.Body.String())
	}
}
