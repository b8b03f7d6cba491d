// Package docs holds Memberline's documentation; its test keeps it true: every flow
// document shown validates, and every relative link and anchor resolves.
package docs

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/memberline/memberline/flows"
)

// pages is every Markdown page of the documentation: docs/ and the repository's top level.
func pages(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{"*.md", "../*.md", "../deploy/*.md"} {
		names, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			abs, err := filepath.Abs(name)
			if err != nil {
				t.Fatal(err)
			}
			out[abs] = b
		}
	}
	if len(out) < 8 {
		t.Fatalf("found only %d pages; have the docs moved?", len(out))
	}
	return out
}

// Every flow document shown in the documentation loads and validates.
func TestFlowExamplesValidate(t *testing.T) {
	found := 0
	for name, text := range pages(t) {
		for _, block := range codeBlocks(text) {
			body, ok := bytes.CutPrefix(block, []byte("json\n"))
			if !ok || !bytes.Contains(body, []byte(`"schema": "memberline.flow/v1"`)) {
				continue
			}
			found++
			f, err := flows.Load(body)
			if err != nil {
				t.Errorf("%s: flow document %d: %v", name, found, err)
				continue
			}
			if r := f.ValidateWith(flows.ValidateOptions{}); !r.Valid() {
				t.Errorf("%s: flow document %d: %v", name, found, r.Errors)
			}
		}
	}
	if found == 0 {
		t.Error("the documentation shows no flow document")
	}
}

// codeBlocks are the fenced blocks of a Markdown page, each starting with its info string.
func codeBlocks(text []byte) [][]byte {
	parts := bytes.Split(text, []byte("```"))
	var blocks [][]byte
	for i := 1; i < len(parts); i += 2 {
		blocks = append(blocks, parts[i])
	}
	return blocks
}

// withoutCode is a page with its fenced blocks and inline code removed, so that a link
// shown as code is not taken for one.
func withoutCode(text []byte) []byte {
	return inlineCodeRE.ReplaceAll(withoutFences(text), nil)
}

var (
	linkRE       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRE    = regexp.MustCompile(`(?m)^#{1,6} +(.+)$`)
	inlineCodeRE = regexp.MustCompile("`[^`\n]*`")
)

// anchors are the ids GitHub gives a page's headings: lower case, punctuation but
// hyphens and underscores dropped, spaces made hyphens; a repeat gets -1, -2, ….
func anchors(text []byte) map[string]bool {
	ids := map[string]bool{}
	seen := map[string]int{}
	for _, m := range headingRE.FindAllSubmatch(withoutFences(text), -1) {
		var id strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(string(m[1]))) {
			switch {
			case r == ' ':
				id.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				id.WriteRune(r)
			}
		}
		s := id.String()
		if n := seen[s]; n > 0 {
			ids[s+"-"+string(rune('0'+n))] = true
		} else {
			ids[s] = true
		}
		seen[s]++
	}
	return ids
}

// withoutFences is a page with its fenced blocks removed.
func withoutFences(text []byte) []byte {
	parts := bytes.Split(text, []byte("```"))
	var b bytes.Buffer
	for i := 0; i < len(parts); i += 2 {
		b.Write(parts[i])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Every relative link names a file that exists, and an anchor one of that page's headings.
func TestLinksResolve(t *testing.T) {
	all := pages(t)
	links := 0
	for name, text := range all {
		for _, m := range linkRE.FindAllSubmatch(withoutCode(text), -1) {
			target := string(m[1])
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			file, anchor, _ := strings.Cut(target, "#")
			path := name
			if file != "" {
				path = filepath.Clean(filepath.Join(filepath.Dir(name), file))
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %q: no file %s", name, target, path)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			page, ok := all[path]
			if !ok {
				t.Errorf("%s: link %q: an anchor into %s, which is not a page of the documentation", name, target, path)
				continue
			}
			if !anchors(page)[anchor] {
				t.Errorf("%s: link %q: %s has no heading #%s", name, target, path, anchor)
			}
		}
	}
	if links < 20 {
		t.Errorf("found only %d relative links; is the pattern right?", links)
	}
}

// The anchors follow GitHub's rule for the headings the documentation uses.
func TestAnchors(t *testing.T) {
	got := anchors([]byte("# Flows\n## Drafts, versions, simulation and replay\n```\n# not a heading\n```\n## Signing in with the company's identity provider\n## Flows\n"))
	for _, want := range []string{"flows", "drafts-versions-simulation-and-replay", "signing-in-with-the-companys-identity-provider", "flows-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block was taken for a heading")
	}
}
