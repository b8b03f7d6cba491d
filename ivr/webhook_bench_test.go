package ivr

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/internal/testenv"
	"github.com/memberline/memberline/internal/twiliosim"
	"github.com/memberline/memberline/lookup"
)

// BenchmarkVoiceWebhookLocalHit is the whole incoming-call webhook for a known member
// answered from the local tier: signature check, lookup, engine, TwiML, log line.
func BenchmarkVoiceWebhookLocalHit(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	pool := testenv.Postgres(b, "lookup", lookup.Migrate)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	local := lookup.NewLocal(cache, lookup.LocalOptions{})
	b.Cleanup(local.Close)
	handler := New(Config{
		PublicURL: testPublicURL, TwilioAuthToken: testToken,
		Now: func() time.Time { return testNow },
	}, Deps{Resolver: local, Members: local, Flow: flows.Default()})
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
	form := twiliosim.Incoming("+14045550123")
	body := form.Encode()
	sig := Sign(testToken, testPublicURL+"/twilio/voice", form)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/twilio/voice", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Welcome back, Dana.") {
			b.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	}
}
