package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/testsupport/testenv"
)

func TestAllows(t *testing.T) {
	for _, tc := range []struct {
		role, need string
		want       bool
	}{
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleEditor, false},
		{RoleEditor, RoleViewer, true},
		{RoleEditor, RolePublisher, false},
		{RolePublisher, RoleEditor, true},
		{RolePublisher, RoleAdmin, false},
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleViewer, true},
		{"", RoleViewer, false},
		{"root", RoleViewer, false},
		{RoleAdmin, "", false},      // a route that names no role is allowed to nobody
		{RoleAdmin, "owner", false}, // nor one that names an unknown role
		{"Admin", RoleViewer, false},
	} {
		if got := Allows(tc.role, tc.need); got != tc.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", tc.role, tc.need, got, tc.want)
		}
	}
}

func TestValidNameAndRole(t *testing.T) {
	for name, want := range map[string]bool{
		"ci": true, "member-sync": true, "ana@example.com": true, "a.b_c": true, "9": true,
		strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
		"": false, "-ci": false, "_x": false, "a b": false, "ci/evil": false, "é": false, "ci\n": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
	for _, r := range []string{RoleViewer, RoleEditor, RolePublisher, RoleAdmin} {
		if !ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "Viewer", "superuser", " admin"} {
		if ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
}

func TestLooksLikeToken(t *testing.T) {
	good := tokenPrefix + strings.Repeat("A", 43) // 32 bytes, base64url without padding
	for secret, want := range map[string]bool{
		good:                                  true,
		good[:len(good)-1]:                    false,
		good + "A":                            false,
		"xyz_" + good[4:]:                     false,
		tokenPrefix + strings.Repeat("*", 43): false,
		"dev-admin-token-change-me":           false,
		"":                                    false,
	} {
		if got := LooksLikeToken(secret); got != want {
			t.Errorf("LooksLikeToken(%q) = %v, want %v", secret, got, want)
		}
	}
}

func newStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(testenv.Postgres(t, testenv.Key(Component, Migrations), Migrate))
}

// A token's life: made with a secret shown once and only its hash kept; it authenticates
// as its role; listed without a secret; revoked, it no longer authenticates, and revoking
// it again is not found.
func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	tok, secret, err := s.Create(ctx, "ci", RoleEditor, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if !LooksLikeToken(secret) || tok.Name != "ci" || tok.Role != RoleEditor || tok.CreatedBy != "admin" || tok.ID == 0 || tok.CreatedAt.IsZero() {
		t.Fatalf("Create = %+v, %q", tok, secret)
	}
	got, err := s.Authenticate(ctx, secret)
	if err != nil || got.Name != "ci" || got.Role != RoleEditor || got.ID != tok.ID {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	// The secret is not stored: the table holds 32 bytes of hash and nothing that contains it.
	var stored []byte
	if err := s.pool.QueryRow(ctx, `SELECT hash FROM admin_tokens WHERE name = 'ci'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if len(stored) != 32 || strings.Contains(string(stored), secret[len(tokenPrefix):]) {
		t.Errorf("stored %x: want a SHA-256 of the secret", stored)
	}
	if _, err := s.Authenticate(ctx, secret+"x"); !errors.Is(err, errs.ErrUnauthorized) {
		t.Errorf("a wrong secret: %v, want ErrUnauthorized", err)
	}

	list, err := s.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "ci" || list[0].RevokedAt != nil {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if err := s.Revoke(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, secret); !errors.Is(err, errs.ErrUnauthorized) {
		t.Errorf("a revoked token: %v, want ErrUnauthorized", err)
	}
	if err := s.Revoke(ctx, "ci"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("revoked twice: %v, want ErrNotFound", err)
	}
	if err := s.Revoke(ctx, "nobody"); !errors.Is(err, errs.ErrNotFound) {
		t.Errorf("an unknown token: %v, want ErrNotFound", err)
	}
	if list, _ := s.List(ctx); len(list) != 1 || list[0].RevokedAt == nil {
		t.Errorf("after revoking, List = %+v: want the token, revoked", list)
	}
}

// Create refuses a bad name, a bad role and a name in use, each naming its field.
func TestCreateRefuses(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, _, err := s.Create(ctx, "ci", RoleViewer, "admin"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, role, field string }{
		{"", RoleViewer, "name"},
		{"a b", RoleViewer, "name"},
		{"ok", "root", "role"},
		{"ci", RoleAdmin, "name"}, // exists, even with another role
	} {
		_, secret, err := s.Create(ctx, tc.name, tc.role, "admin")
		var fe *errs.Error
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, errs.ErrInvalid) || secret != "" {
			t.Errorf("Create(%q, %q) = %q, %v; want an invalid %s", tc.name, tc.role, secret, err, tc.field)
		}
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("refused creates stored tokens: %+v", list)
	}
}

// The audit keeps every action and lists the latest first, at most limit.
func TestAudit(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for i := range 5 {
		if err := s.Audit(ctx, "ana", "PUT /api/v1/members/{id}", fmt.Sprint(1000+i), 200+i); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Entries(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Target != "1004" || got[2].Target != "1002" || got[0].Status != 204 || got[0].Actor != "ana" || got[0].At.IsZero() {
		t.Errorf("Entries(3) = %+v, want the last three, newest first", got)
	}
}

// A bucket per key: Burst at once, then Rate a second; keys do not share; the wait says
// when the next request is allowed; rate 0 is no limit.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(2, 3)
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: %v, wait %v; want refused for 500ms", ok, wait)
	}
	if got := l.Wait("a"); got != 500*time.Millisecond {
		t.Errorf("Wait = %v, want 500ms", got)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("another key was refused for a's requests")
	}
	if got := l.Wait("never-seen"); got != 0 {
		t.Errorf("Wait of a new key = %v", got)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("refused after the wait")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Error("a second request allowed with one token refilled")
	}
	for _, off := range []*Limiter{NewLimiter(0, 0), nil} {
		for range 100 {
			if ok, _ := off.Allow("a"); !ok {
				t.Fatal("a limiter without a rate refused")
			}
		}
		if off.Wait("a") != 0 {
			t.Error("a limiter without a rate made someone wait")
		}
	}
}

// The buckets stay bounded: past maxBuckets keys the refilled ones are dropped.
func TestLimiterStaysBounded(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	l := NewLimiter(10, 10)
	l.now = func() time.Time { return now }
	for i := range maxBuckets {
		l.Allow(fmt.Sprint(i))
	}
	now = now.Add(2 * time.Second) // every bucket has refilled
	l.Allow("new")
	if len(l.b) != 1 {
		t.Errorf("%d buckets after a sweep, want only the new key's", len(l.b))
	}
}

// Concurrent requests of one key take exactly the burst.
func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(0.001, 50)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 200 {
		wg.Go(func() {
			if ok, _ := l.Allow("a"); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("%d of 200 concurrent requests allowed, want the burst of 50", allowed)
	}
}
