package app

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update", false, "rewrite the configuration table in docs/operations.md")

const (
	operationsDoc = "../../docs/operations.md"
	tableBegin    = "<!-- The table is generated from internal/app/config.go: go test ./internal/app -run ConfigDocs -update -->\n"
	tableEnd      = "<!-- end of the generated table -->\n"
)

// The configuration table in docs/operations.md is the one generated from envVars and
// readElsewhere, so every variable is documented with its default and no row is stale.
func TestConfigDocs(t *testing.T) {
	doc, err := os.ReadFile(operationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok := strings.Cut(string(doc), tableBegin)
	if !ok {
		t.Fatalf("%s has no line %q", operationsDoc, tableBegin)
	}
	table, after, ok := strings.Cut(rest, tableEnd)
	if !ok {
		t.Fatalf("%s has no line %q", operationsDoc, tableEnd)
	}
	want := configTable()
	if table == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(operationsDoc, []byte(before+tableBegin+want+tableEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the configuration table in %s is not config.go's; run go test ./internal/app -run ConfigDocs -update\ngot:\n%s\nwant:\n%s", operationsDoc, table, want)
}

// envReads finds every variable name the service's code reads by a literal: getenv("X"),
// os.Getenv("X"), os.LookupEnv("X"), with where. Test support and the benchmark are not the
// service, and tests are not read.
func envReads(t *testing.T) map[string]string {
	t.Helper()
	reads := map[string]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testsupport", "memberline-bench", ".dev":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			var name string
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				name = fun.Name
			case *ast.SelectorExpr:
				name = fun.Sel.Name
			}
			if name != "getenv" && name != "Getenv" && name != "LookupEnv" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				reads[v] = path
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return reads
}

// Every variable the service reads is documented, and every documented one is read: by
// LoadConfig (envVars), or, for readElsewhere, by the service's code or a library it
// names.
func TestEveryVariableIsReadAndDocumented(t *testing.T) {
	reads := envReads(t)
	documented := map[string]bool{}
	for _, ev := range append(slices.Clone(envVars), readElsewhere...) {
		if documented[ev.name] {
			t.Errorf("%s is documented twice", ev.name)
		}
		documented[ev.name] = true
		if strings.TrimSpace(ev.doc) == "" {
			t.Errorf("%s has no description", ev.name)
		}
	}
	for _, ev := range envVars {
		if ev.set == nil {
			t.Errorf("%s is in envVars without a setter: nothing reads it", ev.name)
		}
	}
	// Read by libraries the binary links: the OpenTelemetry SDK and automemlimit.
	byLibrary := map[string]bool{"AUTOMEMLIMIT": true}
	for _, ev := range readElsewhere {
		if _, ok := reads[ev.name]; !ok && !byLibrary[ev.name] {
			t.Errorf("%s is documented but nothing reads it", ev.name)
		}
	}
	for name, where := range reads {
		if !documented[name] && !strings.HasPrefix(name, "OTEL_") {
			t.Errorf("%s reads %s, which docs/operations.md does not document: add it to envVars or readElsewhere", where, name)
		}
	}
	if len(reads) < 5 { // GOGC, GOMEMLIMIT and the OTEL_* ones read by telemetry.go
		t.Fatalf("found only %d variables read; has the way they are read changed?", len(reads))
	}
}
