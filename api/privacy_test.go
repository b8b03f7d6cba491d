package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
)

// The logs of whole calls (recognized, identified by number, a wrong and a right PIN, a
// hand-off, the admin API) carry no phone number, name, PIN, place or confirmation code.
func TestLogsCarryNoPII(t *testing.T) {
	var logs testenv.Buffer
	h := newSharedRedisHarness(t, func(st *stack) {
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		st.edge.Logger, st.api.Logger = log, log
	})
	h.seedMembers()
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	h.Call("+14045550123", "1")
	h.CallStir("+14045550123", "TN-Validation-Passed-C", "", "2", "1", "1111", "2580", "1")
	h.CallStir("+12125550000", "TN-Validation-Failed-A", "", "1001", "2580", "2", "0")
	h.Call("anonymous", "")
	h.mustAPI(http.MethodGet, "/api/v1/members/1001/export", "")
	out := logs.String()
	if !strings.Contains(out, `"msg":"webhook"`) || !strings.Contains(out, "pin check") {
		t.Fatalf("the calls logged nothing to scan:\n%s", out)
	}
	for _, pii := range []string{
		"+14045550123", "4045550123", "+12125550000", "2125550000", // numbers (masked ones keep 4 digits)
		"Dana", "Whitfield", // names
		"2580", "1111", // PINs
		"Atlanta", "HX7Q2P", // the trip
	} {
		if line, ok := logsCarry(t, out, pii); ok {
			t.Errorf("the logs carry %q: %s", pii, line)
		}
	}
}

// logsCarry reports the first JSON log line with pii in one of its values: inside a
// string, or as the whole of a number. The record's time is the logger's own and is not
// read (its digits hold any four-digit run now and then), nor are the digits of other
// numbers (a latency of 12.580 ms is not the PIN 2580).
func logsCarry(t *testing.T, logs, pii string) (string, bool) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("a log line is not JSON: %v: %s", err, line)
		}
		delete(rec, slog.TimeKey)
		var carries func(v any) bool
		carries = func(v any) bool {
			switch v := v.(type) {
			case string:
				return strings.Contains(v, pii)
			case float64:
				return strconv.FormatFloat(v, 'f', -1, 64) == pii
			case map[string]any:
				for k, e := range v {
					if strings.Contains(k, pii) || carries(e) {
						return true
					}
				}
			case []any:
				for _, e := range v {
					if carries(e) {
						return true
					}
				}
			}
			return false
		}
		if carries(rec) {
			return line, true
		}
	}
	return "", false
}

func TestLogsCarry(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{`{"time":"2026-12-01T04:35:42.111136917Z","msg":"pin check","outcome":"ok"}`, false},
		{`{"time":"2026-12-01T04:35:42Z","msg":"webhook","latency_ms":12.1111}`, false},
		{`{"time":"2026-12-01T04:35:42Z","msg":"pin check","digits":"1111"}`, true},
		{`{"time":"2026-12-01T04:35:42Z","msg":"pin check","pin":1111}`, true},
		{`{"time":"2026-12-01T04:35:42Z","msg":"entered 1111#"}`, true},
		{`{"time":"2026-12-01T04:35:42Z","msg":"x","call":{"inputs":["1111"]}}`, true},
	} {
		if _, got := logsCarry(t, tc.line+"\n", "1111"); got != tc.want {
			t.Errorf("%s: carries 1111 = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func TestExportMember(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	h.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	h.CallStir("+14045550123", "TN-Validation-Passed-C", "", "2", "1", "1111")
	var ex struct {
		Member struct {
			ID     string   `json:"id"`
			Phones []string `json:"phones"`
		} `json:"member"`
		Activities []struct {
			Reference string `json:"reference"`
			StartsAt  string `json:"starts_at"`
		} `json:"activities"`
		PINSet   bool `json:"pin_set"`
		Attempts []struct {
			Outcome    string `json:"outcome"`
			CallerHash string `json:"caller_hash"`
		} `json:"verification_attempts"`
		Consents []any `json:"consents"`
		Calls    []any `json:"calls"`
	}
	body := h.mustAPI(http.MethodGet, "/api/v1/members/1001/export", "")
	if err := json.Unmarshal([]byte(body), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Member.ID != "1001" || len(ex.Member.Phones) != 2 || len(ex.Activities) != 1 || ex.Activities[0].Reference != "HX7Q2P" ||
		ex.Activities[0].StartsAt != "2026-11-27T14:05:00-05:00" || !ex.PINSet || len(ex.Attempts) != 1 ||
		ex.Attempts[0].Outcome != lookup.PINWrong || ex.Attempts[0].CallerHash == "" || ex.Consents == nil || ex.Calls == nil {
		t.Errorf("export = %s", body)
	}
	if strings.Contains(body, "2580") || strings.Contains(body, "argon2") {
		t.Errorf("the export carries the PIN or its hash: %s", body)
	}
	if code, _ := h.api(http.MethodGet, "/api/v1/members/9999/export", ""); code != http.StatusNotFound {
		t.Errorf("unknown member: %d, want 404", code)
	}
}

// DELETE reaches every tier: PostgreSQL, Redis, and the local tier of another instance
// that had the number in memory.
func TestDeleteMemberReachesEveryTier(t *testing.T) {
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	_, prefix := testenv.Redis(t)
	var (
		locals   []*lookup.Local
		handlers []*harness
	)
	for range 2 {
		rdb, _ := testenv.Redis(t) // each instance its own client
		l := lookup.NewLocal(lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix}),
			lookup.LocalOptions{TTL: time.Hour, NegativeTTL: time.Hour})
		t.Cleanup(l.Close)
		locals = append(locals, l)
		st := newStack(l)
		pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})
		st.edgeDeps.PINs, st.apiDeps.PINs = pins, pins
		handlers = append(handlers, st.build(t, nil, rdb))
	}
	a, b := handlers[0], handlers[1]
	a.seedMembers()
	a.mustAPI(http.MethodPut, "/api/v1/members/1001/pin", `{"pin":"2580"}`)
	ctx := context.Background()
	members := func(l *lookup.Local) int {
		c, err := l.Resolve(ctx, "+14045550123", testNow)
		if err != nil {
			t.Fatal(err)
		}
		return len(c.Members)
	}
	// Both instances' local tiers hold Dana's number (and so does Redis).
	if !strings.Contains(twiliotest.Spoken(t, b.Call("+14045550123")[0]), "Dana") || members(locals[0]) != 1 || members(locals[1]) != 1 {
		t.Fatal("Dana is not in every tier to begin with")
	}
	if code, body := a.api(http.MethodDelete, "/api/v1/members/1001", ""); code != http.StatusNoContent {
		t.Fatalf("delete = %d %s", code, body)
	}
	// The other instance hears of it through the invalidation channel.
	deadline := time.Now().Add(5 * time.Second)
	for members(locals[1]) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if members(locals[0]) != 0 || members(locals[1]) != 0 {
		t.Fatal("a cache tier still answers with the deleted member")
	}
	if said := twiliotest.Spoken(t, b.Call("+14045550123")[0]); strings.Contains(said, "Dana") {
		t.Errorf("a call after the delete hears %q", said)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM members WHERE id = '1001') + (SELECT count(*) FROM member_phones WHERE member_id = '1001')
		+ (SELECT count(*) FROM activities WHERE member_id = '1001') + (SELECT count(*) FROM member_pins WHERE member_id = '1001')
		+ (SELECT count(*) FROM verification_attempts WHERE member_id = '1001')`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows left in PostgreSQL: %d (%v)", n, err)
	}
}

// A deleted member's calls stay for the reports but no longer point at them: the export
// shows the call while the member exists, and after DELETE the record has no member id and
// no caller hash or masked number left to join on.
func TestDeleteMemberAnonymizesCallRecords(t *testing.T) {
	o := newObserved(t)
	o.placeCall("CAbefore", "+14045550123", "1")
	if err := o.records.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	export := o.mustAPI(http.MethodGet, "/api/v1/members/1001/export", "")
	if !strings.Contains(export, `"CAbefore"`) {
		t.Fatalf("the export lacks the member's call: %s", export)
	}
	o.mustAPI(http.MethodDelete, "/api/v1/members/1001", "")
	rec, err := o.records.Get(context.Background(), "CAbefore")
	if err != nil {
		t.Fatalf("the call record is gone rather than anonymized: %v", err)
	}
	if rec.MemberID != "" || rec.CallerHash != "" || strings.Contains(rec.CallerMasked, "0123") {
		t.Fatalf("after deleting the member the record still identifies them: %+v", rec)
	}
	if rec.Outcome == "" || len(rec.Nodes) == 0 {
		t.Fatalf("anonymizing lost the journey the reports need: %+v", rec)
	}
	if body := o.mustAPI(http.MethodGet, "/api/v1/calls?member=1001", ""); strings.Contains(body, "CAbefore") {
		t.Fatalf("the call is still listed under the deleted member: %s", body)
	}
}

// The end-to-end deletion: Dana is on a call when she is deleted. Afterwards nothing of
// hers is readable: not through any route, not in the retry cache (a retry of the
// webhook that greeted her gets no greeting back), not in the call's record, even as the
// call goes on (its next webhooks name her member id in their signed state) and ends.
func TestDeletedMemberIsGoneEvenMidCall(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("lookup+calls", lookup.Migrations, calls.Migrations), testenv.All(lookup.Migrate, calls.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	records := calls.New(pool, calls.Options{HashKey: []byte("test"), FlushEvery: 20 * time.Millisecond})
	t.Cleanup(func() { _ = records.Close(context.Background()) })
	answers := ivr.RedisAnswers(rdb, prefix)
	st := newStack(cache)
	st.edgeDeps.Calls, st.apiDeps.Calls = records, records
	st.edgeDeps.Answers, st.apiDeps.Answers = answers, answers
	st.api.ForgetAfter = 100 * time.Millisecond
	h := st.build(t, cache, rdb)
	h.seedMembers()
	personal := regexp.MustCompile(`Dana|Whitfield|Atlanta|HX7Q2P|DL1234|Diamond`)

	// The call begins: Dana is greeted and asked about her trip.
	const sid = "CAdeleted000000000000000000000001"
	form := twiliotest.Incoming("+14045550123")
	form.Set("CallSid", sid)
	sig := ivr.Sign(testToken, testPublicURL+"/twilio/voice", form)
	first := postSigned(h, "/twilio/voice", form, sig)
	if !strings.Contains(first, "Welcome back, Dana.") {
		t.Fatalf("the greeting: %s", first)
	}
	action := strings.TrimPrefix(twiliotest.GatherAction(t, first), testPublicURL)
	testenv.WaitFor(t, "the call's record", func() bool {
		c, err := records.Get(context.Background(), sid)
		return err == nil && c.MemberID == "1001"
	})

	h.mustAPI(http.MethodDelete, "/api/v1/members/1001", "")

	// A retry of the greeted webhook: its answer is forgotten, so it is answered anew, as
	// for a caller nobody knows.
	if again := postSigned(h, "/twilio/voice", form, sig); personal.MatchString(again) {
		t.Errorf("a retry of the first webhook after the deletion: %s", again)
	}
	// The call goes on: Dana presses 1, then hangs up.
	next := twiliotest.Incoming("+14045550123")
	next.Set("CallSid", sid)
	next.Set("Digits", "1")
	if body := postSigned(h, action, next, ivr.Sign(testToken, testPublicURL+action, next)); personal.MatchString(body) {
		t.Errorf("the call's next webhook after the deletion: %s", body)
	}
	end := url.Values{"CallSid": {sid}, "CallStatus": {"completed"}, "CallDuration": {"42"}, "From": {"+14045550123"}, "To": {"+18005550100"}}
	postSigned(h, "/twilio/status", end, ivr.Sign(testToken, testPublicURL+"/twilio/status", end))
	testenv.WaitFor(t, "the call's end in its record", func() bool {
		c, err := records.Get(context.Background(), sid)
		return err == nil && c.Status == "completed"
	})

	// The record stays, anonymous.
	c, err := records.Get(context.Background(), sid)
	if err != nil || c.MemberID != "" || c.CallerHash != "" || c.CallerMasked != "" {
		t.Errorf("the call's record after the deletion: %+v, %v", c, err)
	}
	// No route tells anything of her.
	for _, path := range []string{
		"/api/v1/members/1001", "/api/v1/members/1001/export", "/api/v1/members/1001/calls",
		"/api/v1/lookup?phone=%2B14045550123", "/api/v1/calls?member=1001", "/api/v1/calls?number=%2B14045550123",
		"/api/v1/calls/" + sid, "/api/v1/calls/" + sid + "/journey", "/api/v1/members?q=Dana",
	} {
		code, body := h.api(http.MethodGet, path, "")
		if personal.MatchString(body) || strings.Contains(body, `"1001"`) {
			t.Errorf("GET %s = %d %s", path, code, body)
		}
	}
	// Nothing in Redis holds her: not the lookup tiers, not the retry cache.
	keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if typ, _ := rdb.Type(context.Background(), k).Result(); typ != "string" {
			continue
		}
		if v, _ := rdb.Get(context.Background(), k).Result(); personal.MatchString(v) {
			t.Errorf("Redis %s still holds %q", k, personal.FindString(v))
		}
	}
}

// postSigned posts form with the signature given, as Twilio would (a retry sends the
// same one again), and returns the body.
func postSigned(h *harness, path string, form url.Values, sig string) string {
	h.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK && rec.Code != http.StatusNoContent {
		h.t.Fatalf("%s = %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}
