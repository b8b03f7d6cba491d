package connections

import (
	"net/url"
	"path"
	"strings"
	"testing"
)

// FuzzTarget: whatever path a flow or an admin gives, an accepted target stays on the
// connection's host, under its base path (no . or .. segment), with no user.
func FuzzTarget(f *testing.F) {
	for _, p := range []string{"/members/1001?x=1", "@evil.example/", "//evil.example/", "/../../admin", "/%2e%2e/x", "/a#b", "\\\\evil", "/a\r\nHost: x", ":80@evil/"} {
		f.Add(p)
	}
	conn := Connection{ID: "crm", BaseURL: "https://crm.example.com/v2"}
	f.Fuzz(func(t *testing.T, pathQuery string) {
		got, err := target(conn, pathQuery)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q as %q, which does not parse: %v", pathQuery, got, err)
		}
		if u.Host != "crm.example.com" || u.User != nil || u.Scheme != "https" || !strings.HasPrefix(got, "https://crm.example.com/v2/") ||
			(path.Clean(u.Path) != "/v2" && !strings.HasPrefix(path.Clean(u.Path), "/v2/")) {
			t.Fatalf("accepted %q as %q: host %q, user %v", pathQuery, got, u.Host, u.User)
		}
	})
}
