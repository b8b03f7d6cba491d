package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/memberline/memberline/connections"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func TestConnectionsCommand(t *testing.T) {
	pool := testenv.Postgres(t, testenv.Key("connections", connections.Migrations), connections.Migrate)
	env := map[string]string{"DATABASE_URL": testenv.URL(t, pool), "CONNECTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	getenv := func(k string) string { return env[k] }
	do := func(stdin string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	spec := `{"base_url":"https://crm.example.com/v2","headers":{"X-Api-Key":"key-123"},"secret":"0123456789abcdef-secret","timeout_ms":1500}`
	if out, _, err := do(spec, "connections", "put", "crm"); err != nil || !strings.Contains(out, "saved crm (version 1)") {
		t.Fatalf("put = %q, %v", out, err)
	}
	out, errOut, err := do("", "connections", "list")
	if err != nil || !strings.Contains(out, "crm") || !strings.Contains(out, "X-Api-Key") || strings.Contains(out, "key-123") || strings.Contains(out, "abcdef-secret") {
		t.Errorf("list = %q (stderr %q), %v", out, errOut, err)
	}
	if strings.Contains(errOut, "warning") {
		t.Errorf("a set CONNECTION_KEY still warns: %q", errOut)
	}
	if _, _, err := do(strings.Replace(spec, "https:", "http:", 1), "connections", "put", "crm"); err == nil || !strings.Contains(err.Error(), "base_url: ") {
		t.Errorf("put of an http URL = %v, want an error naming base_url", err)
	}
	if _, _, err := do(`{"base_url":"https://x.example.com","color":"red"}`, "connections", "put", "crm"); err == nil || !strings.Contains(err.Error(), "color") {
		t.Errorf("put with an unknown field = %v", err)
	}
	if out, _, err := do("", "connections", "delete", "crm"); err != nil || !strings.Contains(out, "deleted crm") {
		t.Errorf("delete = %q, %v", out, err)
	}
	if _, _, err := do("", "connections", "delete", "crm"); err == nil || !strings.Contains(err.Error(), "no connection") {
		t.Errorf("second delete = %v", err)
	}
	delete(env, "CONNECTION_KEY")
	env["ADMIN_TOKEN"] = "0123456789abcdef"
	if _, errOut, err := do("", "connections", "list"); err != nil || !strings.Contains(errOut, "CONNECTION_KEY is not set") {
		t.Errorf("without CONNECTION_KEY: stderr %q, %v", errOut, err)
	}
}
