// Package auth owns who may use the admin API: tokens with roles (stored as SHA-256
// hashes, the secret shown once), a per-token rate limit, and the admin audit of every
// admin action. The admin API (api) authenticates each request with it.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the admin tables' migrations.
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the admin migrations are recorded under (the package's name before
// it was auth; kept, so databases migrated then stay current).
const Component = "admin"

// Migrate brings the admin tables up to date; safe to run from several processes.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, Component, Migrations)
}

// Roles, each allowed what the ones before it are: viewer reads; editor also writes
// drafts and members; publisher also publishes, rolls back and binds numbers; admin also
// manages tokens.
const (
	RoleViewer    = "viewer"
	RoleEditor    = "editor"
	RolePublisher = "publisher"
	RoleAdmin     = "admin"
)

var roles = []string{RoleViewer, RoleEditor, RolePublisher, RoleAdmin}

// Allows reports whether role may do what need requires.
func Allows(role, need string) bool {
	return rank(role) >= rank(need) && rank(need) >= 0
}

func rank(role string) int {
	for i, r := range roles {
		if r == role {
			return i
		}
	}
	return -1
}

// errUnauthorized is a secret that is no live token's.
var errUnauthorized = errs.New(errs.Unauthorized, "unknown or revoked token").In("auth")

// Token is an admin token as listed: never its secret.
type Token struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Store keeps tokens and the audit in PostgreSQL.
type Store struct{ pool *pgxpool.Pool }

// NewStore returns the token store.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ValidName reports whether name can be a token's name.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// ValidRole reports whether role is one of the roles.
func ValidRole(role string) bool { return rank(role) >= 0 }

// Create makes a token and returns it with its secret, which is not stored and cannot be
// shown again.
func (s *Store) Create(ctx context.Context, name, role, by string) (Token, string, error) {
	if !namePattern.MatchString(name) {
		return Token{}, "", errs.Field("name", "must be 1 to 64 letters, digits, _ . @ or -, starting with a letter or digit").In("auth: create token")
	}
	if !ValidRole(role) {
		return Token{}, "", errs.Field("role", "must be viewer, editor, publisher or admin").In("auth: create token")
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	t := Token{Name: name, Role: role, CreatedBy: by}
	err := s.pool.QueryRow(ctx, `INSERT INTO admin_tokens (name, role, hash, created_by) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, name, role, sum[:], by).Scan(&t.ID, &t.CreatedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return Token{}, "", errs.Field("name", "a token with this name exists").In("auth: create token")
	}
	if err != nil {
		return Token{}, "", fmt.Errorf("auth: create token: %w", err)
	}
	return t, secret, nil
}

// List returns every token, revoked ones included, oldest first.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, role, created_at, created_by, revoked_at FROM admin_tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Token, error) {
		var t Token
		err := r.Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.CreatedBy, &t.RevokedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	if out == nil {
		out = []Token{}
	}
	return out, nil
}

// Revoke revokes the token with that name at once (every instance: tokens are looked up
// on each request).
func (s *Store) Revoke(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE admin_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL`, name)
	if err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return &errs.Error{Code: errs.NotFound, Field: "name", Message: "no such token", Op: fmt.Sprintf("auth: revoke token %q", name)}
	}
	return nil
}

// tokenPrefix starts every secret Create makes; 32 random bytes, base64url, follow.
const tokenPrefix = "mlt_"

// LooksLikeToken reports whether secret has the form of a secret Create makes: anything
// else cannot be a stored token and needs no look-up.
func LooksLikeToken(secret string) bool {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(rest)
	return err == nil
}

// Authenticate returns the live token whose secret this is.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, error) {
	sum := sha256.Sum256([]byte(secret))
	var t Token
	err := s.pool.QueryRow(ctx, `SELECT id, name, role, created_at, created_by FROM admin_tokens
		WHERE hash = $1 AND revoked_at IS NULL`, sum[:]).Scan(&t.ID, &t.Name, &t.Role, &t.CreatedAt, &t.CreatedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, errUnauthorized
	}
	if err != nil {
		return Token{}, fmt.Errorf("auth: authenticate: %w", err)
	}
	return t, nil
}

// Audit records one admin action.
func (s *Store) Audit(ctx context.Context, actor, action, target string, status int) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_audit (actor, action, target, status) VALUES ($1, $2, $3, $4)`,
		actor, action, target, status)
	if err != nil {
		return fmt.Errorf("auth: audit: %w", err)
	}
	return nil
}

// Entry is one audited action.
type Entry struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Status int       `json:"status"`
}

// Entries returns the latest audited actions, newest first (at most limit).
func (s *Store) Entries(ctx context.Context, limit int) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, actor, action, target, status FROM admin_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("auth: audit entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.At, &e.Actor, &e.Action, &e.Target, &e.Status)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("auth: audit entries: %w", err)
	}
	return out, nil
}

// Limiter is a token bucket per key (an admin token, a client address), in this process:
// Rate requests a second on average, Burst at once. Buckets that have refilled are
// dropped once there are many, so the map stays bounded by the keys active lately.
type Limiter struct {
	Rate  float64
	Burst float64
	mu    sync.Mutex
	b     map[string]*bucket
	now   func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter; rate ≤ 0 disables limiting.
func NewLimiter(rate, burst float64) *Limiter {
	return &Limiter{Rate: rate, Burst: burst, b: map[string]*bucket{}, now: time.Now}
}

// Allow takes one request from who's bucket; when empty it returns false and how long
// until the next request is allowed.
func (l *Limiter) Allow(who string) (bool, time.Duration) {
	if l == nil || l.Rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.b[who]
	if b == nil {
		if len(l.b) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.Burst, last: now}
		l.b[who] = b
	}
	b.tokens = min(l.Burst, b.tokens+now.Sub(b.last).Seconds()*l.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
}

// maxBuckets bounds the keys a Limiter keeps before it drops the full buckets.
const maxBuckets = 10_000

// sweep drops the buckets that have refilled: a key seen again starts full anyway.
func (l *Limiter) sweep(now time.Time) {
	full := time.Duration(l.Burst / l.Rate * float64(time.Second))
	for k, b := range l.b {
		if now.Sub(b.last) >= full {
			delete(l.b, k)
		}
	}
}

// Wait is how long until who may make a request, without taking one: 0 when it may now.
func (l *Limiter) Wait(who string) time.Duration {
	if l == nil || l.Rate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[who]
	if b == nil {
		return 0
	}
	tokens := min(l.Burst, b.tokens+l.now().Sub(b.last).Seconds()*l.Rate)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / l.Rate * float64(time.Second))
}
