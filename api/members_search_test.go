package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

func TestSearchMembers(t *testing.T) {
	h := newSharedRedisHarness(t)
	h.seedMembers()
	for _, tc := range []struct {
		name   string
		path   string
		status int
		ids    []string // with status 200
		field  string   // with status 422
	}{
		{name: "by last name", path: "/api/v1/members?q=Whit", status: 200, ids: []string{"1001"}},
		{name: "by first name, any case", path: "/api/v1/members?q=dAn", status: 200, ids: []string{"1001"}},
		{name: "by full name", path: "/api/v1/members?q=Sam%20Or", status: 200, ids: []string{"1005"}},
		{name: "ordered by last then first name", path: "/api/v1/members?q=Ortiz", status: 200, ids: []string{"1006", "1005"}},
		{name: "limit", path: "/api/v1/members?q=Ortiz&limit=1", status: 200, ids: []string{"1006"}},
		{name: "nobody", path: "/api/v1/members?q=Zz", status: 200, ids: []string{}},
		{name: "missing q", path: "/api/v1/members", status: 422, field: "q"},
		{name: "q too short", path: "/api/v1/members?q=D", status: 422, field: "q"},
		{name: "bad limit", path: "/api/v1/members?q=Dana&limit=0", status: 422, field: "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := h.api(http.MethodGet, tc.path, "")
			if code != tc.status {
				t.Fatalf("GET %s = %d %s; want %d", tc.path, code, body, tc.status)
			}
			if tc.status != 200 {
				var e struct {
					Error struct{ Field string } `json:"error"`
				}
				if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Field != tc.field {
					t.Fatalf("error body %s; want field %q", body, tc.field)
				}
				return
			}
			var out struct {
				Members []memberMatch `json:"members"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, m := range out.Members {
				ids = append(ids, m.ID)
			}
			if !reflect.DeepEqual(ids, tc.ids) {
				t.Fatalf("members %v; want %v (%s)", ids, tc.ids, body)
			}
		})
	}

	// A match carries what the picker shows and calls from, nothing more.
	_, body := h.api(http.MethodGet, "/api/v1/members?q=Dana", "")
	want := `{"members":[{"id":"1001","first_name":"Dana","last_name":"Whitfield","tier":"Diamond","phones":["+14045550123","+14045550199"]}]}`
	if compactJSON(t, body) != want {
		t.Fatalf("body %s; want %s", body, want)
	}
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
