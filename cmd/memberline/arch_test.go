package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/memberline/memberline/"

// floors places each of the module's runtime packages (docs/development.md, Layout): a
// package imports only packages on lower floors, never one on its own floor or above. So
// the Twilio edge (ivr) and the admin API (api) never import each other, lookup and flows
// never import each other, and nothing imports cmd. Test support is apart: see
// testSupport.
var floors = map[string]int{
	"internal/redisx":      1,
	"internal/pgpool":      1,
	"internal/pgmigrate":   1,
	"internal/gctune":      1,
	"internal/errs":        1,
	"internal/softphone":   1,
	"flows":                2,
	"lookup":               2,
	"calls":                2,
	"auth":                 2,
	"experiments":          1,
	"connections":          2,
	"outbound":             2,
	"flowstore":            3,
	"sso":                  3,
	"internal/memberdata":  3,
	"ivr":                  4,
	"api":                  4,
	"console":              4,
	"internal/app":         5,
	"cmd/memberline":       6,
	"cmd/memberline-bench": 6,
}

// testSupport is the folder of test support: it may import floors 1 and 2, and only tests
// and the benchmark import it.
const testSupport = "internal/testsupport"

// thirdParty lists what a package may not use even though its floor would allow it: the
// engine reaches no database or cache; the stores that need no Redis do not get it; the
// edge takes the flow store through an interface of its own.
var thirdParty = map[string][]string{
	"ivr":         {mod + "flowstore"},
	"flows":       {"github.com/redis/go-redis", "github.com/jackc/pgx"},
	"experiments": {"github.com/redis/go-redis", "github.com/jackc/pgx", "net/http"},
	"flowstore":   {"github.com/redis/go-redis"},
	"connections": {"github.com/redis/go-redis"},
	"outbound":    {"github.com/redis/go-redis"},
	"calls":       {"github.com/redis/go-redis"},
	"auth":        {"github.com/redis/go-redis"},
}

// packageImports lists every package of the module, by its path in the module, with what
// it imports (not what its tests import: a package's tests may use what it may not).
func packageImports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "../../...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		rel, ok := strings.CutPrefix(pkg, mod)
		if !ok {
			continue
		}
		pkgs[rel] = strings.Fields(imports)
	}
	return pkgs
}

// floorOf is a package's floor, counting a sub-package as its parent's (flows/internal/…
// is flows'); 0 and false for a package the table does not place.
func floorOf(rel string) (int, bool) {
	for p := rel; ; {
		if f, ok := floors[p]; ok {
			return f, true
		}
		i := strings.LastIndex(p, "/")
		if i < 0 {
			return 0, false
		}
		p = p[:i]
	}
}

func isTestSupport(rel string) bool {
	return rel == testSupport || strings.HasPrefix(rel, testSupport+"/")
}

// TestImportArrows holds the floors: every runtime package's imports (not its tests') come
// from lower floors; only tests and the benchmark reach test support; and every package of
// the module has a place, so a new one must be given its floor.
func TestImportArrows(t *testing.T) {
	runtime := packageImports(t)
	checked := 0
	for rel, imports := range runtime {
		if rel == "deploy" || rel == "docs" {
			continue // tests only
		}
		var own int
		switch f, ok := floorOf(rel); {
		case isTestSupport(rel):
			own = 3 // imports floors 1 and 2
		case !ok:
			t.Errorf("%s has no floor: add it to floors (and to docs/development.md)", rel)
			continue
		default:
			own = f
		}
		checked++
		for _, imp := range imports {
			if impRel, ok := strings.CutPrefix(imp, mod); ok {
				switch f, placed := floorOf(impRel); {
				case isTestSupport(impRel) && rel != "cmd/memberline-bench" && !isTestSupport(rel):
					t.Errorf("%s imports test support %s: only tests and the benchmark may", rel, impRel)
				case placed && f >= own:
					t.Errorf("%s (floor %d) imports %s (floor %d): a package imports only lower floors", rel, own, impRel, f)
				}
			}
			for _, bad := range thirdParty[rel] {
				if strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s, which the architecture forbids", rel, imp)
				}
			}
		}
	}
	if checked < len(floors) {
		t.Fatalf("checked only %d packages; has go list's output changed?", checked)
	}
}

// The service binary links no test code: not the testing package, nothing under
// internal/testsupport (the test OpenID provider, zitadel's OP, included), while it does
// link the OpenID client, so the check is of the real dependency list.
func TestNoTestCodeInTheBinary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range deps {
		if pkg == "testing" || strings.HasPrefix(pkg, "testing/") || isTestSupport(strings.TrimPrefix(pkg, mod)) || strings.HasPrefix(pkg, "github.com/zitadel/") {
			t.Errorf("memberline is built with %s", pkg)
		}
	}
	for _, want := range []string{"github.com/coreos/go-oidc/v3/oidc", mod + "ivr", mod + "internal/softphone"} {
		if !slices.Contains(deps, want) {
			t.Errorf("the binary does not include %s: the check above proves nothing\n%s", want, out)
		}
	}
}
