package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/internal/testsupport/twiliotest"
	"github.com/memberline/memberline/lookup"
)

// Flow admin API, live pinning and simulation, against the real PostgreSQL and Redis.

func flowsDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	seed := fstest.MapFS{"default_flow.json": {Data: flows.DefaultJSON()}}
	return testenv.Postgres(t, testenv.Key("ivr-flows", lookup.Migrations, flowstore.Migrations, seed),
		testenv.All(lookup.Migrate, flowstore.Migrate))
}

// newFlowHarness is a server with a flow store; watch starts its change poller.
func newFlowHarness(t *testing.T, pool *pgxpool.Pool, watch bool) *harness {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	store := flowstore.NewStore(pool)
	if watch {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); store.Watch(ctx, 100*time.Millisecond, nil) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	st := newStack(cache)
	st.edgeDeps.Flows, st.apiDeps.Flows = store, store
	// These tests read what a member hears: a lookup that misses its budget on a busy
	// machine would make a member a stranger.
	st.edge.LookupTimeout = 2 * time.Second
	return st.build(t, cache, rdb)
}

// req sends an admin request with headers; it answers the recorder.
func (h *harness) req(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+testAdminToken)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r)
	return rec
}

// bindingsMatch is the If-Match header of a change to the bindings as they are now.
func (h *harness) bindingsMatch() []string {
	h.t.Helper()
	return []string{"If-Match", h.req(http.MethodGet, "/api/v1/bindings", "").Header().Get("ETag")}
}

// withGreeting is the default document with the recognized member's welcome replaced.
func withGreeting(t *testing.T, doc []byte, words string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range m["nodes"].([]any) {
		node := n.(map[string]any)
		if say, ok := node["say"].(map[string]any); ok && strings.Contains(say["en-US"].(string), "Welcome back") {
			say["en-US"] = words
			found = true
		}
	}
	if !found {
		t.Fatal("no welcome in the default flow")
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return string(b)
}

func errorOf(t *testing.T, body string) apiError {
	t.Helper()
	var e struct{ Error apiError }
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("not a JSON error: %s", body)
	}
	return e.Error
}

func TestFlowAPIErrors(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	etag := get.Header().Get("ETag")
	if get.Code != http.StatusOK || etag == "" {
		t.Fatalf("GET draft = %d, ETag %q", get.Code, etag)
	}
	doc := get.Body.String()
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		code, field              string
	}{
		{"no token", http.MethodGet, "/api/v1/flows", "", []string{"Authorization", ""}, 401, "unauthorized", ""},
		{"malformed json", http.MethodPut, "/api/v1/flows/default", "{", []string{"If-Match", etag}, 400, "malformed_json", ""},
		{"unknown field in create", http.MethodPost, "/api/v1/flows", `{"id":"x","doc":{}}`, nil, 400, "unknown_field", "doc"},
		{"unknown flow", http.MethodGet, "/api/v1/flows/nope", "", nil, 404, "not_found", "flowID"},
		{"unknown version", http.MethodGet, "/api/v1/flows/default/versions/9", "", nil, 404, "not_found", "version"},
		{"bad version", http.MethodGet, "/api/v1/flows/default/versions/x", "", nil, 422, "invalid", "version"},
		{"no if-match", http.MethodPut, "/api/v1/flows/default", doc, nil, 428, "if_match_required", "If-Match"},
		{"stale if-match", http.MethodPut, "/api/v1/flows/default", doc, []string{"If-Match", `"999"`}, 412, "stale", "If-Match"},
		{"undecodable document", http.MethodPut, "/api/v1/flows/default", `{"schema":"memberline.flow/v1","id":"default","colour":1}`, []string{"If-Match", etag}, 422, "invalid", "colour"},
		{"id mismatch", http.MethodPut, "/api/v1/flows/default", strings.Replace(doc, `"id": "default"`, `"id": "other"`, 1), []string{"If-Match", etag}, 422, "invalid", "id"},
		{"create without document", http.MethodPost, "/api/v1/flows", `{"id":"x"}`, nil, 422, "invalid", "document"},
		{"create existing", http.MethodPost, "/api/v1/flows", `{"id":"default","document":` + doc + `}`, nil, 409, "exists", "id"},
		{"rollback without version", http.MethodPost, "/api/v1/flows/default/rollback", `{}`, nil, 422, "invalid", "version"},
		{"rollback to missing version", http.MethodPost, "/api/v1/flows/default/rollback", `{"version":7}`, nil, 404, "not_found", "version"},
		{"diff without from", http.MethodGet, "/api/v1/flows/default/diff?to=1", "", nil, 422, "invalid", "from"},
		{"bad binding number", http.MethodPut, "/api/v1/bindings", `{"default":"default","numbers":{"call me":"default"}}`, h.bindingsMatch(), 422, "invalid", "numbers.call me"},
		{"binding to unknown flow", http.MethodPut, "/api/v1/bindings", `{"default":"nope"}`, h.bindingsMatch(), 422, "invalid", "default"},
		{"audit bad since", http.MethodGet, "/api/v1/audit?since=yesterday", "", nil, 422, "invalid", "since"},
		{"simulate bad input", http.MethodPost, "/api/v1/flows/default/simulate", `{"inputs":[1]}`, nil, 422, "invalid", "inputs.0"},
		{"simulate bad now", http.MethodPost, "/api/v1/flows/default/simulate", `{"now":"noon"}`, nil, 422, "invalid", "now"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.req(tc.method, tc.path, tc.body, tc.hdr...)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			e := errorOf(t, rec.Body.String())
			if string(e.Code) != tc.code || e.Field != tc.field {
				t.Errorf("error = %+v, want code %q field %q", e, tc.code, tc.field)
			}
		})
	}
}

func TestConcurrentEditorsOneGets412(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	etag, doc := get.Header().Get("ETag"), get.Body.Bytes()
	edits := []string{withGreeting(t, doc, "Hello from Ana, {{ member.first_name }}."), withGreeting(t, doc, "Hello from Ben, {{ member.first_name }}.")}
	recs := make([]*httptest.ResponseRecorder, 2)
	var wg sync.WaitGroup
	for i := range edits {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs[i] = h.req(http.MethodPut, "/api/v1/flows/default", edits[i], "If-Match", etag, ActorHeader, []string{"ana", "ben"}[i])
		}()
	}
	wg.Wait()
	winner, loser := 0, 1
	if recs[0].Code != http.StatusOK {
		winner, loser = 1, 0
	}
	if recs[winner].Code != http.StatusOK || recs[loser].Code != http.StatusPreconditionFailed {
		t.Fatalf("statuses = %d, %d; want one 200 and one 412", recs[0].Code, recs[1].Code)
	}
	var stale struct {
		Saved       bool   `json:"saved"`
		CurrentETag string `json:"current_etag"`
	}
	_ = json.Unmarshal(recs[loser].Body.Bytes(), &stale)
	newTag := recs[winner].Header().Get("ETag")
	if stale.Saved || stale.CurrentETag != newTag || recs[loser].Header().Get("ETag") != newTag || newTag == etag {
		t.Errorf("412 body %s, winner ETag %s", recs[loser].Body, newTag)
	}
	// Nothing lost: the winner's document is the draft; the loser still has theirs and can
	// retry against the new ETag.
	if got := h.req(http.MethodGet, "/api/v1/flows/default", "").Body.String(); got != edits[winner] {
		t.Fatalf("draft is not the winner's document")
	}
	if rec := h.req(http.MethodPut, "/api/v1/flows/default", edits[loser], "If-Match", newTag); rec.Code != http.StatusOK {
		t.Fatalf("retry = %d %s", rec.Code, rec.Body)
	}
}

func TestPublishInvalidDraftIs422WithLocatedErrors(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	bad := withGreeting(t, get.Body.Bytes(), "Hi {{ member.shoe_size }}")
	if rec := h.req(http.MethodPut, "/api/v1/flows/default", bad, "If-Match", get.Header().Get("ETag")); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"valid": false`) {
		t.Fatalf("save of an invalid draft = %d %s (it must save and say it is invalid)", rec.Code, rec.Body)
	}
	val := h.req(http.MethodPost, "/api/v1/flows/default/validate", "")
	rec := h.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"oops"}`)
	if rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("publish = %d %s", rec.Code, rec.Body)
	}
	var pub, v struct {
		Error  apiError
		Valid  bool
		Errors []flows.Problem
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &pub)
	_ = json.Unmarshal(val.Body.Bytes(), &v)
	if len(pub.Errors) == 0 || !strings.HasPrefix(pub.Errors[0].Path, "nodes.") || pub.Error.Field != pub.Errors[0].Path {
		t.Fatalf("publish errors = %+v", pub)
	}
	if v.Valid || len(v.Errors) != len(pub.Errors) || v.Errors[0] != pub.Errors[0] {
		t.Errorf("validate = %+v, want the same errors as publish %+v", v, pub.Errors)
	}
	if vs := h.req(http.MethodGet, "/api/v1/flows/default/versions", "").Body.String(); strings.Contains(vs, `"version": 2`) {
		t.Errorf("an invalid draft was published: %s", vs)
	}
}

func TestCallSpanningPublishFinishesOnItsVersion(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), true)
	h.seedMembers()
	code, first := h.Post("/twilio/voice", twiliotest.Incoming("+14045550123"))
	if code != http.StatusOK || !strings.Contains(twiliotest.Spoken(t, first), "Welcome back, Dana.") {
		t.Fatalf("first turn = %d %s", code, first)
	}
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	edited := withGreeting(t, get.Body.Bytes(), "Hi there, {{ member.first_name }}.")
	if rec := h.req(http.MethodPut, "/api/v1/flows/default", edited, "If-Match", get.Header().Get("ETag")); rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	if rec := h.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"new greeting"}`); rec.Code != http.StatusCreated {
		t.Fatal(rec.Body)
	}
	// The call in progress answers "no" and reaches the menu of version 1.
	form := twiliotest.Incoming("+14045550123")
	form.Set("Digits", "2")
	code, next := h.Post(strings.TrimPrefix(twiliotest.GatherAction(t, first), testPublicURL), form)
	if code != http.StatusOK || !strings.Contains(twiliotest.Spoken(t, next), "For reservations, press 1.") {
		t.Fatalf("mid-call turn = %d %s", code, next)
	}
	if a := twiliotest.GatherAction(t, next); !strings.Contains(decodeStateParam(t, a), `"v":1`) {
		t.Errorf("the call left version 1: %s", decodeStateParam(t, a))
	}
	// A new call hears the new words, on version 2.
	if got := eventually(t, h, "+14045550123"); !strings.Contains(got, "Hi there, Dana.") {
		t.Fatalf("a new call heard %q", got)
	}
}

// decodeStateParam returns the JSON call state inside a gather action URL (its payload,
// before the edge's MAC).
func decodeStateParam(t *testing.T, action string) string {
	t.Helper()
	i := strings.Index(action, "s=")
	payload, _, _ := strings.Cut(action[i+2:], ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// eventually places calls until one hears something other than the old greeting, for at
// most a second (the promise for every instance), and answers what the last one heard.
func eventually(t *testing.T, h *harness, from string) string {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		_, body := h.Post("/twilio/voice", twiliotest.Incoming(from))
		heard := twiliotest.Spoken(t, body)
		if !strings.Contains(heard, "Welcome back") || time.Now().After(deadline) {
			return heard
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPublishReachesAnotherInstanceWithinASecond(t *testing.T) {
	pool := flowsDB(t)
	a := newFlowHarness(t, pool, true)
	b := newFlowHarness(t, pool, true)
	a.seedMembers()
	if heard := twiliotest.Spoken(t, b.Call("+14045550123")[0]); !strings.Contains(heard, "Welcome back, Dana.") {
		t.Fatalf("instance b before = %q", heard)
	}
	get := a.req(http.MethodGet, "/api/v1/flows/default", "")
	edited := withGreeting(t, get.Body.Bytes(), "Good to hear from you, {{ member.first_name }}.")
	a.req(http.MethodPut, "/api/v1/flows/default", edited, "If-Match", get.Header().Get("ETag"))
	if rec := a.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"warmer"}`); rec.Code != http.StatusCreated {
		t.Fatal(rec.Body)
	}
	if heard := eventually(t, b, "+14045550123"); !strings.Contains(heard, "Good to hear from you, Dana.") {
		t.Fatalf("instance b did not pick up the publish within a second: %q", heard)
	}
	// Rebinding the called number to another flow, likewise.
	if rec := a.req(http.MethodPost, "/api/v1/flows", `{"id":"sales","document":`+strings.Replace(withGreeting(t, get.Body.Bytes(), "Sales here, {{ member.first_name }}."), `"id": "default"`, `"id": "sales"`, 1)+`}`); rec.Code != http.StatusCreated {
		t.Fatal(rec.Body)
	}
	a.req(http.MethodPost, "/api/v1/flows/sales/publish", "")
	if rec := a.req(http.MethodPut, "/api/v1/bindings", `{"default":"default","numbers":{"(800) 555-0100":"sales"}}`, a.bindingsMatch()...); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"+18005550100": "sales"`) {
		t.Fatalf("bindings = %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(time.Second)
	for heard := ""; !strings.Contains(heard, "Sales here, Dana."); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("instance b did not pick up the binding within a second: %q", heard)
		}
		heard = twiliotest.Spoken(t, b.Call("+14045550123")[0])
	}
	audit := a.req(http.MethodGet, "/api/v1/audit?flow=default", "").Body.String()
	if !strings.Contains(audit, `"action": "publish"`) || !strings.Contains(audit, `"message": "warmer"`) {
		t.Errorf("audit = %s", audit)
	}
}

func TestVersionsDiffRollbackAndList(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	get := h.req(http.MethodGet, "/api/v1/flows/default", "")
	h.req(http.MethodPut, "/api/v1/flows/default", withGreeting(t, get.Body.Bytes(), "Hey {{ member.first_name }}."), "If-Match", get.Header().Get("ETag"), ActorHeader, "ana")
	if list := h.req(http.MethodGet, "/api/v1/flows", "").Body.String(); !strings.Contains(list, `"draft_changed": true`) {
		t.Errorf("list = %s", list)
	}
	h.req(http.MethodPost, "/api/v1/flows/default/publish", `{"message":"hey"}`, ActorHeader, "ana")
	diff := h.req(http.MethodGet, "/api/v1/flows/default/diff?from=1&to=2", "").Body.String()
	if !strings.Contains(diff, `"op": "changed"`) || !strings.Contains(diff, `"new": "Hey {{ member.first_name }}."`) || !strings.Contains(diff, `"path": "nodes.`) {
		t.Errorf("diff = %s", diff)
	}
	rec := h.req(http.MethodPost, "/api/v1/flows/default/rollback", `{"version":1,"message":"too casual"}`, ActorHeader, "ben")
	if rec.Code != http.StatusCreated || !strings.Contains(rec.Body.String(), `"version": 3`) || !strings.Contains(rec.Body.String(), `"rollback_of": 1`) {
		t.Fatalf("rollback = %d %s", rec.Code, rec.Body)
	}
	v1 := h.req(http.MethodGet, "/api/v1/flows/default/versions/1", "").Body.String()
	v3 := h.req(http.MethodGet, "/api/v1/flows/default/versions/3", "").Body.String()
	doc := func(s string) string {
		var v flowstore.Version
		_ = json.Unmarshal([]byte(s), &v)
		return string(v.Document)
	}
	if doc(v1) == "" || doc(v1) != doc(v3) {
		t.Errorf("version 3 is not version 1's document")
	}
	if d := h.req(http.MethodGet, "/api/v1/flows/default/diff?from=1&to=3", "").Body.String(); !strings.Contains(d, `"changes": []`) {
		t.Errorf("diff 1..3 = %s", d)
	}
	vs := h.req(http.MethodGet, "/api/v1/flows/default/versions", "").Body.String()
	// The bootstrap token is the author; the name it was sent with is its claim beside it.
	if !strings.Contains(vs, `"author": "ADMIN_TOKEN (ben)"`) || !strings.Contains(vs, `"message": "too casual"`) {
		t.Errorf("versions = %s", vs)
	}
}

type simResult struct {
	Flow    string
	Version int
	End     string
	Error   string
	Steps   []struct {
		Said  []string
		Trace []string
		TwiML string
	}
}

func TestSimulate(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	h.seedMembers()
	for _, tc := range []struct {
		name, body string
		end        string
		hear       string // in the last step
		twiml      string // in the last step's TwiML
	}{
		{"directory caller, draft", `{"caller":{"phone":"+14045550123"}}`, "awaiting", "Welcome back, Dana.", "<Gather"},
		{"yes hands off", `{"version":1,"caller":{"phone":"+14045550123","trust":"verified"},"inputs":["1"]}`, "handoff", "", "<Dial>"},
		{"speech", `{"version":1,"caller":{"phone":"+14045550123","trust":"verified"},"inputs":["yes please"]}`, "handoff", "", "<Dial>"},
		{"menu then hang up", `{"caller":{"phone":"+14045550123","trust":"verified"},"inputs":["2","3"]}`, "hangup", "Diamond", "<Hangup/>"},
		{"inline profile on another day", `{"caller":{"profile":{"first_name":"Zoe","tier":"Gold","language":"es-US","activity":{"kind":"trip","place":"Lima","starts_at":"2026-12-01T09:00:00-05:00","ends_at":"2026-12-01T15:00:00-05:00"}}},"now":"2026-11-30T09:00:00-05:00"}`, "awaiting", "Zoe", `language="es-US"`},
		{"household chooses", `{"caller":{"phone":"+16175550100"},"inputs":["1"]}`, "awaiting", "Sam", "<Gather"},
		{"unknown identifies", `{"caller":{"phone":"+12125550000","pin":"2580"},"inputs":["1001","2580","2"]}`, "awaiting", "Dana", "<Gather"},
		{"unverified hears no trip", `{"caller":{"phone":"+14045550123","trust":"unverified"},"inputs":["2","2"]}`, "awaiting", "For reservations", "<Gather"},
		{"withheld, no input thrice", `{"caller":{},"inputs":["","",""]}`, "handoff", "", "<Dial>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := h.req(http.MethodPost, "/api/v1/flows/default/simulate", tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("simulate = %d %s", rec.Code, rec.Body)
			}
			var res simResult
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			last := res.Steps[len(res.Steps)-1]
			if res.End != tc.end || res.Error != "" || !strings.Contains(strings.Join(last.Said, " "), tc.hear) ||
				!strings.Contains(last.TwiML, tc.twiml) || len(last.Trace) == 0 {
				t.Fatalf("simulation = %s", rec.Body)
			}
		})
	}
	// The simulated first turn is the same TwiML a live call gets.
	rec := h.req(http.MethodPost, "/api/v1/flows/default/simulate", `{"version":1,"caller":{"phone":"+14045550123","stir_verstat":"TN-Validation-Passed-A"},"call_sid":"`+twiliotest.CallSID+`"}`)
	var res simResult
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if live := h.Call("+14045550123")[0]; res.Steps[0].TwiML != live {
		t.Errorf("simulated TwiML differs from the live call's:\n sim: %s\nlive: %s", res.Steps[0].TwiML, live)
	}
}

// TestGotoPlaySetNodes simulates and then calls a flow that sets a variable, plays audio
// and goes to another flow; the live call lands on that flow's published version.
func TestGotoPlaySetNodes(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), true)
	mini := func(id, nodes string) string {
		return `{"id":"` + id + `","document":{"schema":"memberline.flow/v1","id":"` + id + `","default_language":"en-US","vars":["topic"],` +
			`"languages":{"en-US":{}},"start":"a","nodes":[` + nodes + `]}}`
	}
	sales := mini("sales", `{"id":"a","type":"hangup","say":{"en-US":"Sales is closed, {{ vars.topic }} caller."}}`)
	front := mini("front", `{"id":"a","type":"set","set":{"topic":"billing"},"next":"b"},`+
		`{"id":"b","type":"play","url":"https://cdn.example.com/hi.mp3","next":"c"},`+
		`{"id":"c","type":"goto","flow":"sales"}`)
	for _, body := range []string{sales, front} {
		if rec := h.req(http.MethodPost, "/api/v1/flows", body); rec.Code != http.StatusCreated {
			t.Fatalf("create = %d %s", rec.Code, rec.Body)
		}
	}
	// A goto must name a published flow: front cannot publish before sales.
	if rec := h.req(http.MethodPost, "/api/v1/flows/front/publish", ""); rec.Code != http.StatusUnprocessableEntity {
		t.Fatalf("publish with an unpublished goto target = %d %s", rec.Code, rec.Body)
	}
	for _, id := range []string{"sales", "front"} {
		if rec := h.req(http.MethodPost, "/api/v1/flows/"+id+"/publish", ""); rec.Code != http.StatusCreated {
			t.Fatalf("publish %s = %d %s", id, rec.Code, rec.Body)
		}
	}
	rec := h.req(http.MethodPost, "/api/v1/flows/front/simulate", `{"version":1}`)
	var res simResult
	_ = json.Unmarshal(rec.Body.Bytes(), &res)
	if rec.Code != http.StatusOK || res.End != "hangup" || res.Flow != "sales" || len(res.Steps) != 1 ||
		!strings.Contains(strings.Join(res.Steps[0].Said, " "), "billing caller") ||
		!strings.Contains(res.Steps[0].TwiML, "<Play>https://cdn.example.com/hi.mp3</Play>") {
		t.Fatalf("simulation = %d %s", rec.Code, rec.Body)
	}
	if rec := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"front"}`, h.bindingsMatch()...); rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	deadline := time.Now().Add(time.Second)
	for {
		live := h.Call("+12125550000")[0]
		if live == res.Steps[0].TwiML {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live call = %s\nwant the simulated %s", live, res.Steps[0].TwiML)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRecordTrustAndHandoffTargetNodes: a branch on caller trust, a voicemail recording
// and a handoff to a node's own target, simulated and then live (the same TwiML).
func TestRecordTrustAndHandoffTargetNodes(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), true)
	body := `{"id":"vm","document":{"schema":"memberline.flow/v1","id":"vm","default_language":"en-US","languages":{"en-US":{}},"start":"a","nodes":[
		{"id":"a","type":"branch","cases":[{"when":[{"field":"caller.trust","op":"eq","value":"suspicious"}],"next":"fraud"}],"default":"vm"},
		{"id":"fraud","type":"handoff","client":"fraud-desk","reason":"suspicious-caller"},
		{"id":"vm","type":"record","say":{"en-US":"Leave a message after the tone."},"max_seconds":60,"next":"bye","no_input":"bye"},
		{"id":"bye","type":"hangup","say":{"en-US":"Thank you. Goodbye."}}]}}`
	if rec := h.req(http.MethodPost, "/api/v1/flows", body); rec.Code != http.StatusCreated {
		t.Fatalf("create = %d %s", rec.Code, rec.Body)
	}
	if rec := h.req(http.MethodPost, "/api/v1/flows/vm/publish", ""); rec.Code != http.StatusCreated {
		t.Fatalf("publish = %d %s", rec.Code, rec.Body)
	}
	sim := func(body string) simResult {
		t.Helper()
		rec := h.req(http.MethodPost, "/api/v1/flows/vm/simulate", body)
		var res simResult
		if err := json.Unmarshal(rec.Body.Bytes(), &res); rec.Code != http.StatusOK || err != nil || res.Error != "" {
			t.Fatalf("simulate = %d %s", rec.Code, rec.Body)
		}
		return res
	}
	res := sim(`{"version":1,"caller":{"trust":"suspicious"}}`)
	if res.End != "handoff" || !strings.Contains(res.Steps[0].TwiML, `<Identity>fraud-desk</Identity>`) {
		t.Fatalf("suspicious caller: %+v", res)
	}
	res = sim(`{"version":1,"caller":{"trust":"verified"},"call_sid":"` + twiliotest.CallSID + `","inputs":[{"recording_url":"https://api.twilio.com/rec/RE1","recording_seconds":12}]}`)
	first := res.Steps[0].TwiML
	if res.End != "hangup" || !strings.Contains(first, `<Record action="`) || !strings.Contains(first, `maxLength="60"`) ||
		!strings.Contains(first, "<Redirect") || !strings.Contains(strings.Join(res.Steps[1].Said, " "), "Goodbye") {
		t.Fatalf("voicemail: %+v", res)
	}
	if rec := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"vm"}`, h.bindingsMatch()...); rec.Code != http.StatusOK {
		t.Fatal(rec.Body)
	}
	// Live: StirVerstat passed-A is verified, so the call records; the redirect after an
	// empty recording goes on at no_input.
	var live string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, live = h.Post("/twilio/voice", twiliotest.Incoming("+12125550000"))
		if strings.Contains(live, "<Record") || time.Now().After(deadline) {
			break
		}
	}
	if live != first {
		t.Fatalf("live TwiML differs from the simulation:\nlive: %s\n sim: %s", live, first)
	}
	m := regexp.MustCompile(`<Redirect method="POST">([^<]+)</Redirect>`).FindStringSubmatch(live)
	if m == nil {
		t.Fatalf("no redirect in %s", live)
	}
	_, next := h.Post(strings.TrimPrefix(strings.ReplaceAll(m[1], "&amp;", "&"), testPublicURL), twiliotest.Incoming("+12125550000"))
	if !strings.Contains(twiliotest.Spoken(t, next), "Thank you. Goodbye.") || !strings.Contains(next, "<Hangup/>") {
		t.Fatalf("after an empty recording: %s", next)
	}
	form := twiliotest.Incoming("+12125550000")
	form.Set("StirVerstat", "TN-Validation-Failed-A")
	if _, body := h.Post("/twilio/voice", form); !strings.Contains(body, "<Identity>fraud-desk</Identity>") {
		t.Fatalf("a failed attestation did not reach the fraud desk: %s", body)
	}
}

// TestSimulationHearsWhatALiveCallHears: with no trust chosen, a simulated call has the
// trust a live call with the same parameters would: unverified without StirVerstat,
// verified with attestation A; the answer says which, and names the caller in the API's
// words.
func TestSimulationHearsWhatALiveCallHears(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	h.seedMembers()
	for _, tc := range []struct{ body, trust, source string }{
		{`{"caller":{"phone":"+14045550123"}}`, "unverified", "stir_verstat"},
		{`{"caller":{"phone":"+14045550123","stir_verstat":"TN-Validation-Passed-A"}}`, "verified", "stir_verstat"},
		{`{"caller":{"phone":"+14045550123","stir_verstat":"TN-Validation-Failed-B"}}`, "suspicious", "stir_verstat"},
		{`{"caller":{"phone":"+14045550123","trust":"verified"}}`, "verified", "chosen"},
	} {
		rec := h.req(http.MethodPost, "/api/v1/flows/default/simulate", tc.body)
		var res struct {
			Caller      map[string]json.RawMessage `json:"caller"`
			TrustSource string                     `json:"trust_source"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("simulate %s = %d %s", tc.body, rec.Code, rec.Body)
		}
		if string(res.Caller["trust"]) != `"`+tc.trust+`"` || res.TrustSource != tc.source {
			t.Errorf("%s: trust %s from %q, want %q from %q", tc.body, res.Caller["trust"], res.TrustSource, tc.trust, tc.source)
		}
		for _, goName := range []string{"Phone", "Members", "FirstName", "Trust"} {
			if _, ok := res.Caller[goName]; ok {
				t.Errorf("the caller has the Go field name %s: %s", goName, rec.Body)
			}
		}
		if !strings.Contains(string(res.Caller["members"]), `"first_name": "Dana"`) {
			t.Errorf("caller = %s", rec.Body)
		}
	}
}

// Two admins who read the bindings and each add a number: the first change is saved, the
// second is refused (412, nothing saved, the current ETag given), so neither number is
// lost without a word; re-read, the second goes in beside the first.
func TestConcurrentBindingEditsConflict(t *testing.T) {
	h := newFlowHarness(t, flowsDB(t), false)
	read := h.bindingsMatch()
	first := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"default","numbers":{"+18005550101":"default"}}`, read...)
	second := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"default","numbers":{"+18005550102":"default"}}`, read...)
	if first.Code != http.StatusOK {
		t.Fatalf("the first change = %d %s", first.Code, first.Body)
	}
	if second.Code != http.StatusPreconditionFailed || !strings.Contains(second.Body.String(), `"saved": false`) ||
		second.Header().Get("ETag") != first.Header().Get("ETag") {
		t.Fatalf("the second change, made from the same read = %d (ETag %q, first's %q) %s",
			second.Code, second.Header().Get("ETag"), first.Header().Get("ETag"), second.Body)
	}
	if rec := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"default"}`); rec.Code != http.StatusPreconditionRequired {
		t.Errorf("a change without If-Match = %d, want 428", rec.Code)
	}
	both := h.req(http.MethodPut, "/api/v1/bindings", `{"default":"default","numbers":{"+18005550101":"default","+18005550102":"default"}}`,
		"If-Match", second.Header().Get("ETag"))
	if both.Code != http.StatusOK || !strings.Contains(both.Body.String(), "+18005550101") || !strings.Contains(both.Body.String(), "+18005550102") {
		t.Errorf("re-read and merged = %d %s", both.Code, both.Body)
	}
}
