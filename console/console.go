// Package console serves the admin console: a single page, written as plain ES modules,
// CSS and SVG with no build step, embedded in the binary and served at /admin/. It talks to
// the admin API (/api/v1) with the admin token the person signs in with; the server side
// only serves files and the security headers that keep the page from running anything else.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Prefix is where the console is mounted.
const Prefix = "/admin/"

// CSP allows only the console's own files: no inline scripts or styles, no framing, and
// fetches to the same origin only (the admin API).
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Assets returns the embedded files, rooted at the console's directory.
func Assets() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

// Handler serves the console under Prefix with its security headers. Files are
// revalidated on every load (no-cache) so a new binary's console is picked up at once.
func Handler() http.Handler {
	files := http.StripPrefix(Prefix, http.FileServer(http.FS(Assets())))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// http.FileServer redirects /admin/index.html to /admin/; a directory listing is
		// never wanted.
		if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != Prefix {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
