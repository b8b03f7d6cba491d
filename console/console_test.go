package console

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandlerServesTheConsoleWithSecurityHeaders(t *testing.T) {
	h := Handler()
	tests := []struct {
		name        string
		method      string
		path        string
		status      int
		contentType string
	}{
		{"index", http.MethodGet, "/admin/", http.StatusOK, "text/html; charset=utf-8"},
		{"module", http.MethodGet, "/admin/js/app.js", http.StatusOK, "text/javascript; charset=utf-8"},
		{"stylesheet", http.MethodGet, "/admin/app.css", http.StatusOK, "text/css; charset=utf-8"},
		{"icon", http.MethodGet, "/admin/icon.svg", http.StatusOK, "image/svg+xml"},
		{"head", http.MethodHead, "/admin/", http.StatusOK, "text/html; charset=utf-8"},
		{"missing file", http.MethodGet, "/admin/nope.js", http.StatusNotFound, ""},
		{"no directory listing", http.MethodGet, "/admin/js/", http.StatusNotFound, ""},
		{"post refused", http.MethodPost, "/admin/", http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s %s: status %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			}
			if tc.contentType != "" && rec.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.contentType)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": CSP,
				"X-Frame-Options":         "DENY",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			} {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestCSPForbidsInlineCodeAndFraming(t *testing.T) {
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "connect-src 'self'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q: %s", want, CSP)
		}
	}
	if strings.Contains(CSP, "unsafe") {
		t.Errorf("CSP allows something unsafe: %s", CSP)
	}
}

// The assets must work under the CSP and on a network with no way out: no inline scripts,
// styles or handlers, and nothing fetched from another origin.
func TestAssetsAreSelfContained(t *testing.T) {
	checks := []struct {
		name string
		re   *regexp.Regexp
		ext  string
	}{
		{"inline script", regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), ".html"},
		{"script without src", regexp.MustCompile(`<script[^>]*>`), ".html-nosrc"},
		{"inline style element", regexp.MustCompile(`<style`), ".html"},
		{"style attribute", regexp.MustCompile(`\sstyle=`), ".html"},
		{"inline event handler", regexp.MustCompile(`\son[a-z]+=`), ".html"},
		{"remote URL in markup", regexp.MustCompile(`(?:src|href)="(?:https?:)?//`), ".html"},
		{"remote import", regexp.MustCompile(`(?:import|from)\s*\(?\s*['"](?:https?:)?//`), ".js"},
		{"remote stylesheet", regexp.MustCompile(`@import|url\(\s*['"]?(?:https?:)?//`), ".css"},
		{"innerHTML", regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write`), ".js"},
		{"eval", regexp.MustCompile(`\beval\(|new Function\(`), ".js"},
		{"style attribute set from script", regexp.MustCompile(`setAttribute\(\s*['"]style`), ".js"},
	}
	files := 0
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := fs.ReadFile(Assets(), path)
		if err != nil {
			return err
		}
		for _, c := range checks {
			ext := strings.TrimSuffix(c.ext, "-nosrc")
			if !strings.HasSuffix(path, ext) {
				continue
			}
			for _, m := range c.re.FindAllString(string(b), -1) {
				if c.ext == ".html-nosrc" && strings.Contains(m, "src=") {
					continue
				}
				t.Errorf("%s: %s: %q", path, c.name, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d embedded files", files)
	}
}
