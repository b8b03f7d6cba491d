package connections

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	pool := testenv.Postgres(t, testenv.Key("connections", Migrations), Migrate)
	s, err := NewStore(pool, bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func valid() Connection {
	return Connection{ID: "crm", BaseURL: "https://crm.example.com/v2", Secret: "0123456789abcdef-secret",
		Headers: map[string]string{"X-Api-Key": "k1"}}
}

func TestStoreRoundTripAndSealing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	v, err := s.Put(ctx, valid(), 0, "ana@example.com")
	if err != nil || v != 1 {
		t.Fatalf("put = %d, %v", v, err)
	}
	got, err := s.Get(ctx, "crm")
	if err != nil || got.Secret != valid().Secret || got.Timeout != DefaultTimeout || got.Headers["X-Api-Key"] != "k1" {
		t.Fatalf("get = %+v, %v", got, err)
	}
	var sealed []byte
	if err := s.pool.QueryRow(ctx, `SELECT secret_sealed FROM connections WHERE id = 'crm'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Error("the secret is stored in the clear")
	}
	// A sealed secret moved to another row does not open there.
	c := valid()
	c.ID = "billing"
	if _, err := s.Put(ctx, c, 0, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `UPDATE connections SET secret_sealed = $1 WHERE id = 'billing'`, sealed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "billing"); err == nil {
		t.Error("a secret sealed for crm opened for billing")
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "billing" || list[1].Secret != "" || list[1].UpdatedBy != "ana@example.com" {
		t.Errorf("list = %+v, %v", list, err)
	}
}

func TestStoreVersions(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, valid(), 0, ""); err != nil {
		t.Fatal(err)
	}
	c := valid()
	c.Timeout = 500 * time.Millisecond
	if v, err := s.Put(ctx, c, 1, ""); err != nil || v != 2 {
		t.Fatalf("put at version 1 = %d, %v", v, err)
	}
	if _, err := s.Put(ctx, c, 1, ""); !errors.Is(err, errs.ErrStale) {
		t.Errorf("a put at an old version = %v, want stale", err)
	}
	if got, _ := s.Get(ctx, "crm"); got.Timeout != 500*time.Millisecond {
		t.Errorf("timeout = %v", got.Timeout)
	}
	// No secret: the stored one stays.
	c.Secret, c.BaseURL = "", "https://crm2.example.com"
	if v, err := s.Put(ctx, c, 0, ""); err != nil || v != 3 {
		t.Fatalf("put without a secret = %d, %v", v, err)
	}
	if got, _ := s.Get(ctx, "crm"); got.Secret != valid().Secret || got.BaseURL != "https://crm2.example.com" {
		t.Errorf("after a put without a secret: %+v", got)
	}
	c.ID = "new-one"
	if _, err := s.Put(ctx, c, 0, ""); errs.Of(err) == nil || errs.Of(err).Field != "secret" {
		t.Errorf("a new connection without a secret = %v, want an invalid secret", err)
	}
	if d, err := s.Describe(ctx, "crm"); err != nil || d.Version != 3 || d.Secret != "" {
		t.Errorf("describe = %+v, %v", d, err)
	}
	if _, err := s.Describe(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("describe of an unknown id = %v", err)
	}
	if err := s.Delete(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "crm"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("get after delete = %v", err)
	}
	if err := s.Delete(ctx, "crm"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		edit        func(*Connection)
	}{
		{"upper-case id", "id", func(c *Connection) { c.ID = "CRM" }},
		{"empty id", "id", func(c *Connection) { c.ID = "" }},
		{"http", "base_url", func(c *Connection) { c.BaseURL = "http://crm.example.com" }},
		{"relative", "base_url", func(c *Connection) { c.BaseURL = "/v2" }},
		{"user info", "base_url", func(c *Connection) { c.BaseURL = "https://u:p@crm.example.com" }},
		{"query", "base_url", func(c *Connection) { c.BaseURL = "https://crm.example.com/?a=1" }},
		{"not a URL", "base_url", func(c *Connection) { c.BaseURL = "https://%zz" }},
		{"header name", "headers", func(c *Connection) { c.Headers = map[string]string{"bad name": "x"} }},
		{"reserved header", "headers", func(c *Connection) { c.Headers = map[string]string{"memberline-signature": "x"} }},
		{"header injection", "headers", func(c *Connection) { c.Headers = map[string]string{"X-A": "a\r\nHost: evil"} }},
		{"short timeout", "timeout_ms", func(c *Connection) { c.Timeout = time.Millisecond }},
		{"long timeout", "timeout_ms", func(c *Connection) { c.Timeout = time.Minute }},
		{"short secret", "secret", func(c *Connection) { c.Secret = "short" }},
	} {
		c := valid()
		tc.edit(&c)
		err := Validate(&c)
		e := errs.Of(err)
		if e == nil || e.Code != errs.Invalid || e.Field != tc.field || strings.Contains(e.Message, "connections.") {
			t.Errorf("%s: %v, want an invalid %s", tc.name, err, tc.field)
		}
	}
	c := valid()
	c.BaseURL, c.AllowPrivate = "http://10.0.0.5:8080/api", true
	if err := Validate(&c); err != nil {
		t.Errorf("an on-premise http connection that allows private addresses: %v", err)
	}
}
