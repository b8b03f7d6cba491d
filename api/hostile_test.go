package api

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/memberline/memberline/connections"

	"github.com/memberline/memberline/auth"
	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/ivr"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

// newFullHarness serves every route: members, PINs, flows, call records and tokens.
func newFullHarness(t *testing.T) (h *harness, records *calls.Store) {
	t.Helper()
	seed := fstest.MapFS{"default_flow.json": {Data: flows.DefaultJSON()}}
	pool := testenv.Postgres(t, testenv.Key("api-all", []fs.FS{lookup.Migrations, flowstore.Migrations, calls.Migrations, auth.Migrations, connections.Migrations, outbound.Migrations, seed}...),
		testenv.All(lookup.Migrate, flowstore.Migrate, calls.Migrate, auth.Migrate, connections.Migrate, outbound.Migrate))
	rdb, prefix := testenv.Redis(t)
	cache := lookup.NewCache(lookup.NewDirectory(pool, lookup.DefaultWindows), rdb, lookup.CacheOptions{Prefix: prefix})
	st := newStack(cache)
	pins := lookup.NewPINs(pool, rdb, lookup.PINOptions{Prefix: prefix})
	records = calls.New(pool, calls.Options{HashKey: []byte("test")})
	t.Cleanup(func() { _ = records.Close(context.Background()) })
	store := flowstore.NewStore(pool)
	st.edgeDeps.PINs, st.apiDeps.PINs = pins, pins
	st.edgeDeps.Flows, st.apiDeps.Flows = store, store
	st.edgeDeps.Calls, st.apiDeps.Calls = records, records
	st.apiDeps.Admin = auth.NewStore(pool)
	conns, err := connections.NewStore(pool, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st.apiDeps.Connections = conns
	st.apiDeps.Callbacks = outbound.NewStore(pool)
	st.apiDeps.Messages = st.apiDeps.Callbacks
	st.apiDeps.Fetcher = connections.NewClient(connections.Options{})
	st.apiDeps.FlowFetcher = ivr.NewFetcher(conns, st.apiDeps.Fetcher, nil)
	st.edgeDeps.Fetcher = st.apiDeps.FlowFetcher
	st.api.AdminRate = -1 // the table sends hundreds of requests
	h = st.build(t, cache, rdb)
	h.callbacks = st.apiDeps.Callbacks
	return h, records
}

// send is one request with the admin token and a JSON content type.
func (h *harness) send(method, target, contentType, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.RawPath, req.URL.Path, req.URL.RawQuery = "", "", ""
	req.RequestURI = target
	u, err := req.URL.Parse(target)
	if err != nil {
		h.t.Fatalf("%s: %v", target, err)
	}
	req.URL = u
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, req)
	return rec
}

// goWords are what an error message for the API's users must never say.
var goWords = regexp.MustCompile(`\b(lookup|flows|flowstore|calls|auth|ivr|api|json|pgx|sql|strconv)[.:]|struct \{|\bint(8|16|32|64)?\b|\[\]string|\bmap\[|\bpq:|SQLSTATE|goroutine`)

// TestHostileInputsGet4xx sends every route of the table a set of hostile inputs: path
// segments that are NUL, invalid UTF-8, dotted, encoded or huge; query values that are
// huge or negative numbers, NUL, invalid UTF-8, unknown time zones, dates past 9999; and
// bodies of the wrong shape, with NUL, invalid UTF-8, repeated keys, huge numbers or the
// wrong content type. Every answer is a 4xx with a JSON error that says what is wrong in
// words for the API's users: a field, or the body or the path, never a Go type.
func TestHostileInputsGet4xx(t *testing.T) {
	h, _ := newFullHarness(t)
	h.seedMembers()
	pathValues := []string{"%00x", "%ff", "%2e%2e", "a%2Fb", "..%2F", strings.Repeat("9", 300)}
	queries := map[string][]string{
		"/members": {"q=a%00", "q=%ff%fe", "q=Dana&limit=-1", "q=Dana&limit=99999999999999999999"},
		"/lookup":  {"phone=%00", "phone=%ff", "phone=" + strings.Repeat("1", 300), "phone="},
		"/calls": {"member=%ff", "member=%00", "number=%00", "called=x", "from=10000-01-01", "to=9999-12-31", "from=-1", "outcome=%00", "limit=-1", "limit=99999999999999999999", "cursor=%00", "cursor=%ff",
			"recognized=maybe", "recognized=%00", "flow=%2e%2e", "flow=%00", "version=1", "flow=default&version=0", "flow=default&version=99999999999999999999"},
		"/flows/{flowID}/traffic":             {"version=abc", "version=0", "version=-1", "version=2147483648", "version=999", "from=x", "tz=Mars%2FBase", "from=2026-11-27&to=2026-11-26"},
		"/reports/repeat":                     {"tz=Local", "tz=%00", "from=x", "to=9999-12-31"},
		"/reports/segments":                   {"min_calls=0", "min_calls=abc", "min_calls=99999999999999999999", "limit=0", "limit=100000", "segment=%00", "segment=nope", "format=csv", "tz=Mars%2FBase"},
		"/members/{memberID}/calls":           {"from=10000-01-01", "to=9999-12-31", "limit=-1", "cursor=%00"},
		"/reports/recognition":                {"tz=Local", "tz=Mars%2FBase", "tz=%00", "to=9999-12-31", "from=10000-01-01", "from=2026-11-27&to=2026-11-26"},
		"/reports/outcomes":                   {"tz=Local", "to=9999-12-31", "from=x"},
		"/reports/members":                    {"min_calls=-5", "min_calls=1001", "min_calls=99999999999999999999", "to=9999-12-31", "tz=Local"},
		"/flows/{flowID}/diff":                {"from=2147483648&to=draft", "from=-1&to=1", "from=%00&to=1", "from=1"},
		"/audit":                              {"flow=%00", "flow=%ff", "since=x", "since=99999-01-01T00:00:00Z", "limit=-1", "limit=99999999999999999999"},
		"/flows/{flowID}/versions":            {},
		"/members/{memberID}/export":          {},
		"/reports/experiments/{experimentID}": {"from=x", "tz=Mars%2FBase", "from=2026-11-27&to=2026-11-26", "to=9999-12-31"},
		"/callbacks":                          {"status=nope", "status=%00", "limit=0", "limit=99999999999999999999"},
		"/reports/messages":                   {"tz=Local", "tz=Mars%2FBase", "from=x", "to=9999-12-31", "from=2026-11-27&to=2026-11-26"},
	}
	bodies := []struct{ name, contentType, body string }{
		{"array", "application/json", `[1]`},
		{"string", "application/json", `"x"`},
		{"NUL", "application/json", `{"first_name":"\u0000","phones":["\u0000"],"version":1,"name":"\u0000","id":"\u0000","pin":"\u0000","document":{"id":"\u0000"}}`},
		{"invalid UTF-8", "application/json", "{\"first_name\":\"\xff\"}"},
		{"repeated key", "application/json", `{"version":1,"version":2}`},
		{"huge number", "application/json", `{"version":2147483648,"pin":99999999999999999999}`},
		{"negative number", "application/json", `{"version":-1}`},
		{"deep", "application/json", strings.Repeat("[", 10000) + strings.Repeat("]", 10000)},
		{"text/plain", "text/plain", `{"first_name":"Dana"}`},
		{"empty", "application/json", ``},
	}
	// Bodies that are a valid request for these routes: publishing, validating or testing
	// the draft takes no body, and validation answers a document of any shape with its
	// problems.
	legit := map[string]bool{"/do-not-call/{phone} empty": true, "/flows/{flowID}/publish empty": true, "/flows/{flowID}/validate empty": true, "/flows/{flowID}/tests empty": true}
	for _, b := range []string{"array", "string", "huge number", "negative number", "deep"} {
		legit["/flows/{flowID}/validate "+b] = true
	}
	type result struct{ route, input string }
	statuses := map[result]int{}
	answers := map[string]string{}
	check := func(t *testing.T, rt route, input string, rec *httptest.ResponseRecorder) {
		t.Helper()
		statuses[result{rt.method + " " + rt.path, input}] = rec.Code
		answers[fmt.Sprintf("%s %s with %s", rt.method, rt.path, input)] = fmt.Sprintf("%d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
		if rec.Code < 400 || rec.Code > 499 {
			t.Errorf("%s %s with %s = %d %s, want a 4xx", rt.method, rt.path, input, rec.Code, rec.Body)
			return
		}
		var e struct {
			Error apiError `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Errorf("%s %s with %s = %d %q: not a JSON error", rt.method, rt.path, input, rec.Code, rec.Body)
			return
		}
		if e.Error.Field == "" && !regexp.MustCompile(`\b(body|document)\b`).MatchString(e.Error.Message) {
			t.Errorf("%s %s with %s: %+v names no field", rt.method, rt.path, input, e.Error)
		}
		if goWords.MatchString(e.Error.Message) {
			t.Errorf("%s %s with %s: %q speaks Go", rt.method, rt.path, input, e.Error.Message)
		}
	}
	param := regexp.MustCompile(`\{[A-Za-z]+\}`)
	for _, rt := range New(Config{}, Deps{}).table() {
		fill := func(v string) string { return param.ReplaceAllString(rt.path, v) }
		good := strings.NewReplacer("{memberID}", "1001", "{activityID}", "t1", "{flowID}", "default",
			"{version}", "1", "{callSID}", "CAnone", "{name}", "nobody", "{phone}", "%2B14045550123", "{experimentID}", "nope").Replace(rt.path)
		if param.MatchString(rt.path) {
			for _, v := range pathValues {
				rec := h.send(rt.method, Prefix+fill(v), "application/json", `{}`)
				check(t, rt, "path "+v, rec)
			}
		}
		for _, q := range queries[rt.path] {
			if rt.method != http.MethodGet {
				continue
			}
			check(t, rt, "?"+q, h.send(rt.method, Prefix+good+"?"+q, "", ""))
		}
		if rt.method == http.MethodPut || rt.method == http.MethodPost {
			for _, b := range bodies {
				if legit[rt.path+" "+b.name] {
					continue
				}
				target := Prefix + good
				if rt.path == "/flows/{flowID}" || rt.path == "/bindings" { // a draft or bindings save needs If-Match to reach its body
					req := httptest.NewRequest(rt.method, target, strings.NewReader(b.body))
					req.Header.Set("Authorization", "Bearer "+testAdminToken)
					req.Header.Set("If-Match", `"1"`)
					if b.contentType != "" {
						req.Header.Set("Content-Type", b.contentType)
					}
					rec := httptest.NewRecorder()
					h.handler.ServeHTTP(rec, req)
					check(t, rt, "body "+b.name, rec)
					continue
				}
				check(t, rt, "body "+b.name, h.send(rt.method, target, b.contentType, b.body))
			}
		}
	}
	// The table of routes and inputs with the statuses they got, for the record.
	var lines []string
	for r, code := range statuses {
		lines = append(lines, fmt.Sprintf("%-50s %-36s %d", r.route, r.input, code))
	}
	sort.Strings(lines)
	t.Logf("%d hostile requests:\n%s", len(lines), strings.Join(lines, "\n"))
	checkGolden(t, "testdata/hostile_answers.golden", answers)
}

var update = flag.Bool("update", false, "rewrite golden files")

// checkGolden holds answers (a request's description → its status and body) to a golden
// file, one request a line in sorted order; -update rewrites it.
func checkGolden(t *testing.T, path string, answers map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\n\t%s\n", k, answers[k])
	}
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./api -run %s -update writes it)", err, t.Name())
	}
	if got := b.String(); got != string(want) {
		gotLines, wantLines := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gotLines), len(wantLines)) {
			var g, w string
			if i < len(gotLines) {
				g = gotLines[i]
			}
			if i < len(wantLines) {
				w = wantLines[i]
			}
			if g != w {
				t.Fatalf("answers differ from %s at line %d:\n got  %s\n want %s", path, i+1, g, w)
			}
		}
	}
}

// The errors the stores return reach the API's users as the same codes, fields and
// words: not found, invalid values, conflicts, a stale draft. Each answer is held
// byte for byte in a golden file.
func TestErrorAnswers(t *testing.T) {
	h, _ := newFullHarness(t)
	h.seedMembers()
	get := h.send(http.MethodGet, Prefix+"/flows/default", "", "")
	etag := get.Header().Get("ETag")
	answers := map[string]string{}
	for _, tc := range []struct{ name, method, path, body, ifMatch string }{
		{"member not found", http.MethodGet, "/members/9999", "", ""},
		{"delete a member not found", http.MethodDelete, "/members/9999", "", ""},
		{"activity of a member not found", http.MethodPut, "/members/9999/activities/t1", `{"kind":"trip","starts_at":"2026-11-27T14:05:00-05:00"}`, ""},
		{"delete an activity not found", http.MethodDelete, "/members/1001/activities/nope", "", ""},
		{"member without a first name", http.MethodPut, "/members/2001", `{"last_name":"X","phones":["+14045550100"]}`, ""},
		{"member with a bad phone", http.MethodPut, "/members/2001", `{"first_name":"A","phones":["+14045550100","12"]}`, ""},
		{"member with a bad time zone", http.MethodPut, "/members/2001", `{"first_name":"A","time_zone":"Mars/Base","phones":["+14045550100"]}`, ""},
		{"activity with a bad kind", http.MethodPut, "/members/1001/activities/t9", `{"kind":"","starts_at":"2026-11-27T14:05:00-05:00"}`, ""},
		{"lookup of a withheld number", http.MethodGet, "/lookup?phone=anonymous", "", ""},
		{"search too short", http.MethodGet, "/members?q=D", "", ""},
		{"PIN too short", http.MethodPut, "/members/1001/pin", `{"pin":"12"}`, ""},
		{"PIN of a member not found", http.MethodPut, "/members/9999/pin", `{"pin":"2580"}`, ""},
		{"consent not found", http.MethodDelete, "/members/1001/consents/%2B14045550999", "", ""},
		{"token with a bad name", http.MethodPost, "/tokens", `{"name":"a b","role":"viewer"}`, ""},
		{"token with a bad role", http.MethodPost, "/tokens", `{"name":"ci","role":"root"}`, ""},
		{"revoke a token not found", http.MethodDelete, "/tokens/nobody", "", ""},
		{"call not found", http.MethodGet, "/calls/CA0000000000000000000000000000dead", "", ""},
		{"journey of a call not found", http.MethodGet, "/calls/CA0000000000000000000000000000dead/journey", "", ""},
		{"a cursor the API never gave", http.MethodGet, "/calls?cursor=bm9wZQ", "", ""},
		{"flow not found", http.MethodGet, "/flows/nope", "", ""},
		{"versions of a flow not found", http.MethodGet, "/flows/nope/versions", "", ""},
		{"version not found", http.MethodGet, "/flows/default/versions/99", "", ""},
		{"flow exists", http.MethodPost, "/flows", `{"id":"default","document":` + string(flows.DefaultJSON()) + `}`, ""},
		{"stale draft", http.MethodPut, "/flows/default", string(flows.DefaultJSON()), `"0"`},
		{"rollback to a version not found", http.MethodPost, "/flows/default/rollback", `{"version":99,"message":"x"}`, ""},
		{"bind a flow not found", http.MethodPut, "/bindings", `{"default":"default","numbers":{"+18005550100":"nope"}}`, h.bindingsMatch()[1]},
		{"bindings without If-Match", http.MethodPut, "/bindings", `{"default":"default"}`, ""},
		{"bindings changed since read", http.MethodPut, "/bindings", `{"default":"default"}`, `"b-0000000000000000"`},
		{"diff from a version not found", http.MethodGet, "/flows/default/diff?from=99&to=draft", "", ""},
	} {
		req := httptest.NewRequest(tc.method, Prefix+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if tc.ifMatch != "" {
			req.Header.Set("If-Match", tc.ifMatch)
		}
		rec := httptest.NewRecorder()
		h.handler.ServeHTTP(rec, req)
		if rec.Code < 400 || rec.Code > 499 {
			t.Errorf("%s: %d %s, want a 4xx", tc.name, rec.Code, rec.Body)
		}
		body := strings.ReplaceAll(strings.TrimSpace(rec.Body.String()), etag, `"ETAG"`)
		answers[tc.name] = fmt.Sprintf("%d %s", rec.Code, body)
	}
	checkGolden(t, "testdata/error_answers.golden", answers)
}
