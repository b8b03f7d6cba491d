package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportArrows enforces the package arrows of the architecture: the Twilio edge (ivr)
// and the admin API (api) never import each other; lookup and flows never import each
// other or either of them; flows (the engine) reaches no database or cache; the console
// imports none of the service; the sign-in (sso) imports none of the service but auth's
// roles; nothing imports cmd.
func TestImportArrows(t *testing.T) {
	const mod = "github.com/memberline/memberline/"
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := map[string][]string{
		"lookup":               {"ivr", "api", "flows", "cmd/"},
		"flows":                {"ivr", "api", "lookup", "flowstore", "internal/pgmigrate", "cmd/", "github.com/redis/go-redis", "github.com/jackc/pgx"},
		"flowstore":            {"ivr", "api", "lookup", "cmd/", "github.com/redis/go-redis"},
		"ivr":                  {"api", "console", "cmd/"},
		"api":                  {"ivr", "console", "cmd/"},
		"console":              {"ivr", "api", "flows", "lookup", "calls", "auth", "cmd/"},
		"internal/redisx":      {"ivr", "api", "flows", "lookup", "cmd/"},
		"internal/pgpool":      {"ivr", "api", "flows", "lookup", "cmd/"},
		"internal/pgmigrate":   {"ivr", "api", "flows", "lookup", "cmd/"},
		"internal/twiliosim":   {"ivr", "api", "cmd/"}, // the edge's own tests use it
		"internal/testenv":     {"ivr", "api", "cmd/"},
		"calls":                {"ivr", "api", "flows", "lookup", "cmd/", "github.com/redis/go-redis"},
		"auth":                 {"ivr", "api", "flows", "lookup", "calls", "cmd/", "github.com/redis/go-redis"},
		"cmd/memberline-bench": {"cmd/memberline"},
		"sso":                  {"ivr", "api", "flows", "flowstore", "lookup", "calls", "console", "cmd/", "internal/oidcop"},
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
	if checked < len(forbidden) {
		t.Fatalf("checked only %d packages; go list output changed?\n%s", checked, out)
	}
}

// The test OpenID provider (internal/oidcop, zitadel's example OP) is never built into the
// service: only tests and the browser tests' provider use it.
func TestTestProviderIsNotInTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "internal/oidcop") || strings.HasPrefix(pkg, "github.com/zitadel/") {
			t.Errorf("memberline is built with %s", pkg)
		}
	}
	if !strings.Contains(string(out), "github.com/coreos/go-oidc/v3/oidc") {
		t.Errorf("the binary does not include the OpenID client: the check above proves nothing\n%s", out)
	}
}
