package app

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// with2 is m with more settings.
func with2(m, more map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}

func TestLoadConfig(t *testing.T) {
	full := map[string]string{
		"DATABASE_URL":      "postgres://localhost/memberline",
		"REDIS_URL":         "redis://localhost:6379/0",
		"TWILIO_AUTH_TOKEN": "token",
		"PUBLIC_URL":        "https://ivr.example.com/",
		"ADMIN_TOKEN":       "0123456789abcdef",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		insecure bool
		dataOnly bool
		problems []string // each must be named; none means valid
	}{
		{name: "complete", env: full},
		{name: "nothing set", env: map[string]string{}, problems: []string{
			"DATABASE_URL is required", "REDIS_URL is required", "ADMIN_TOKEN is required",
			"TWILIO_AUTH_TOKEN is required", "PUBLIC_URL is required"}},
		{name: "insecure needs no twilio settings", env: with("TWILIO_AUTH_TOKEN", ""), insecure: true},
		{name: "no auth token without the flag", env: with("TWILIO_AUTH_TOKEN", ""), problems: []string{"--insecure-skip-twilio-signature"}},
		{name: "a connection key", env: with("CONNECTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")},
		{name: "data only", env: map[string]string{"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x"}, dataOnly: true},
		{name: "bad values all named", env: map[string]string{
			"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "TWILIO_AUTH_TOKEN": "t", "ADMIN_TOKEN": "short",
			"PUBLIC_URL": "ftp://x", "LISTEN_ADDR": "8080", "LOOKUP_TIMEOUT": "soon", "LOG_FORMAT": "xml",
			"TWILIO_WORKFLOW_SID": "XX1", "ADMIN_RATE": "-1", "ADMIN_BURST": "lots", "AGENT_SIP_URI": "agents@pbx", "DEFAULT_REGION": "usa",
			"SHUTDOWN_DELAY": "-1s", "SHUTDOWN_TIMEOUT": "0s", "DEBUG_ADDR": "6060",
			"METRICS_ADDR": "9464", "TWILIO_RETRY_WINDOW": "soon", "TWILIO_SHARED_KEYS": "webhooks_sharedkey_one=,k2",
			"CONNECTION_KEY": "c2hvcnQ=",
		}, problems: []string{"CONNECTION_KEY must be 32 bytes", "DEBUG_ADDR must be", "METRICS_ADDR must be", "TWILIO_RETRY_WINDOW must be", "TWILIO_SHARED_KEYS must be", "PUBLIC_URL must be", "LISTEN_ADDR must be", "LOOKUP_TIMEOUT must be", "LOG_FORMAT must be",
			"TWILIO_WORKFLOW_SID must be", "AGENT_SIP_URI must be", "DEFAULT_REGION must be", "ADMIN_RATE must be", "ADMIN_BURST must be", "ADMIN_TOKEN must be at least 16",
			"SHUTDOWN_DELAY must be", "SHUTDOWN_TIMEOUT must be"}},
		{name: "sign-in with a provider, no ADMIN_TOKEN", env: with2(with("ADMIN_TOKEN", ""), map[string]string{
			"OIDC_ISSUER": "https://company.okta.com", "OIDC_CLIENT_ID": "memberline", "OIDC_ROLE_MAP": "cc-admins=admin, cc-editors=editor"})},
		{name: "a provider needs a client and a role map", env: with("OIDC_ISSUER", "https://company.okta.com"),
			problems: []string{"OIDC_CLIENT_ID (with OIDC_ISSUER) is required", "with OIDC_ISSUER, OIDC_ROLE_MAP must say"}},
		{name: "bad sign-in values named", env: with2(full, map[string]string{"OIDC_ISSUER": "company.okta.com", "OIDC_ROLE_MAP": "cc-admins=boss",
			"OIDC_SCOPES": "email profile", "SESSION_IDLE_TIMEOUT": "forever"}),
			problems: []string{"OIDC_ISSUER must be", `OIDC_ROLE_MAP must be group=role pairs (roles: viewer, editor, publisher, admin), e.g. cc-admins=admin,cc-editors=editor; "cc-admins=boss"`,
				"OIDC_SCOPES must include openid", "SESSION_IDLE_TIMEOUT must be"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			need := NeedServe
			if tc.dataOnly {
				need = NeedData
			}
			c, err := LoadConfig(envOf(tc.env), tc.insecure, need)
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("config %+v accepted; want problems %q", c, tc.problems)
			}
			for _, p := range tc.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not name %q", err, p)
				}
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envOf(map[string]string{
		"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "ADMIN_TOKEN": "0123456789abcdef",
	}), true, NeedServe)
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:8080" || c.LookupTimeout != 250*time.Millisecond || c.PublicURL != "http://127.0.0.1:8080" ||
		c.DefaultRegion != "US" || c.AgentClient != "agents" || c.LogFormat != "json" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestAdminRate(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		want float64 // what the edge is given
	}{
		{"default", "", 20},
		{"zero turns the limit off", "0", -1},
		{"fractional", "0.5", 0.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(map[string]string{
				"DATABASE_URL": "postgres://x/y", "REDIS_URL": "redis://x", "ADMIN_TOKEN": "0123456789abcdef", "ADMIN_RATE": tc.env,
			}), true, NeedServe)
			if err != nil {
				t.Fatal(err)
			}
			if got := adminRate(c.AdminRate); got != tc.want {
				t.Fatalf("ADMIN_RATE=%q gives the edge %v, want %v", tc.env, got, tc.want)
			}
		})
	}
}

func TestParseSharedKeys(t *testing.T) {
	keys, err := parseSharedKeys(" webhooks_sharedkey_one=s1 , webhooks_sharedkey_two=s2=x ")
	if err != nil || len(keys) != 2 || keys["webhooks_sharedkey_one"] != "s1" || keys["webhooks_sharedkey_two"] != "s2=x" {
		t.Fatalf("keys %v, %v", keys, err)
	}
	for _, bad := range []string{"k", "=s", "k=", "k=a,k=b"} {
		if _, err := parseSharedKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestConnectionSealKey(t *testing.T) {
	set := bytes.Repeat([]byte{1}, 32)
	if k, derived := (Config{ConnectionKey: set, AdminToken: "a"}).ConnectionSealKey(); derived || !bytes.Equal(k, set) {
		t.Errorf("with CONNECTION_KEY: %x, derived %v", k, derived)
	}
	a, derivedA := Config{AdminToken: "0123456789abcdef"}.ConnectionSealKey()
	b, _ := Config{AdminToken: "fedcba9876543210"}.ConnectionSealKey()
	if !derivedA || len(a) != 32 || bytes.Equal(a, b) {
		t.Errorf("derived keys: %x, %x (derived %v)", a, b, derivedA)
	}
}
