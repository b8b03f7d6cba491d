package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportArrows enforces the package arrows of the architecture: lookup and flows never
// import each other or the edge, and nothing imports cmd.
func TestImportArrows(t *testing.T) {
	const mod = "github.com/memberline/memberline/"
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := map[string][]string{
		"lookup":             {"ivr", "flows", "cmd/"},
		"flows":              {"ivr", "lookup", "cmd/", "github.com/redis/go-redis"},
		"ivr":                {"cmd/"},
		"internal/pgmigrate": {"ivr", "flows", "lookup", "cmd/"},
		"calls":              {"ivr", "flows", "lookup", "cmd/", "github.com/redis/go-redis"},
		"admin":              {"ivr", "flows", "lookup", "calls", "cmd/", "github.com/redis/go-redis"},
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel, ok := strings.CutPrefix(pkg, mod)
		if !ok {
			continue
		}
		for owner, bad := range forbidden {
			if rel != owner && !strings.HasPrefix(rel, owner+"/") {
				continue
			}
			checked++
			for _, imp := range strings.Fields(imports) {
				for _, b := range bad {
					if strings.HasPrefix(imp, mod+b) || strings.HasPrefix(imp, b) {
						t.Errorf("%s imports %s, which the architecture forbids", rel, imp)
					}
				}
			}
		}
	}
	if checked < 4 {
		t.Fatalf("checked only %d packages; go list output changed?\n%s", checked, out)
	}
}
