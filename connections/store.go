package connections

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"embed"
	"errors"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the connections' schema migrations.
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the connections' migrations are recorded under.
const Component = "connections"

// Migrate brings the connections' table up to date; safe to run from several processes.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, Component, Migrations)
}

// Limits of a stored connection.
const (
	MinTimeout     = 100 * time.Millisecond
	MaxTimeout     = 10 * time.Second
	DefaultTimeout = 2 * time.Second
	MinSecret      = 16 // characters
	MaxHeaders     = 20
)

var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)
	headerPattern = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
	// reserved headers are the client's own: a connection cannot set them.
	reserved = map[string]bool{"host": true, "content-length": true, "content-type": true,
		"transfer-encoding": true, "connection": true, "traceparent": true, "tracestate": true,
		strings.ToLower(SignatureHeader): true}
)

// ValidID reports whether id can name a connection.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// CheckID is nil for an id that can name a connection, else an error naming the field id.
func CheckID(id string) error {
	if !ValidID(id) {
		return errs.Field("id", "the id is 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter")
	}
	return nil
}

// Validate checks a connection as an admin gives it, naming the field at fault, and
// fills the default timeout. An empty secret passes: Put keeps the stored one (and refuses
// a new connection without one).
func Validate(c *Connection) error {
	if err := CheckID(c.ID); err != nil {
		return err
	}
	u, err := url.Parse(c.BaseURL)
	switch {
	case err != nil || u.Host == "" || u.Hostname() == "":
		return errs.Field("base_url", "the base URL must be an absolute URL such as https://crm.example.com/v2")
	case u.Scheme != "https" && !(u.Scheme == "http" && c.AllowPrivate):
		return errs.Field("base_url", "the base URL must be https (http only for a connection that allows private addresses)")
	case u.User != nil:
		return errs.Field("base_url", "the base URL may not carry a user name or password: use a header")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(c.BaseURL, "?") || strings.HasSuffix(c.BaseURL, "#"):
		return errs.Field("base_url", "the base URL may not have a query or fragment: the fetch gives the path and query")
	}
	if len(c.Headers) > MaxHeaders {
		return errs.Field("headers", "at most %d headers", MaxHeaders)
	}
	for k, v := range c.Headers {
		switch {
		case !headerPattern.MatchString(k):
			return errs.Field("headers", "%q is not a header name", k)
		case reserved[strings.ToLower(k)]:
			return errs.Field("headers", "the header %s is set by the line itself", k)
		case strings.ContainsAny(v, "\r\n\x00") || len(v) > 4096:
			return errs.Field("headers", "the value of %s must be one line of at most 4096 characters", k)
		}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < MinTimeout || c.Timeout > MaxTimeout {
		return errs.Field("timeout_ms", "the timeout is between %d and %d milliseconds", MinTimeout.Milliseconds(), MaxTimeout.Milliseconds())
	}
	if c.Secret != "" && (len([]rune(c.Secret)) < MinSecret || len(c.Secret) > 256) {
		return errs.Field("secret", "the signing secret is %d to 256 characters", MinSecret)
	}
	return nil
}

// Spec is a connection as an admin writes it, in the API's and the command line's JSON:
// the secret and the header values are written, never read back; no secret keeps the
// stored one.
type Spec struct {
	BaseURL      string            `json:"base_url"`
	Headers      map[string]string `json:"headers"`
	Secret       string            `json:"secret"`
	TimeoutMS    int64             `json:"timeout_ms"`
	AllowPrivate bool              `json:"allow_private_addresses"`
}

// Connection is the connection id as spec describes it. A timeout out of range is an
// error naming timeout_ms (0 is the default).
func (s Spec) Connection(id string) (Connection, error) {
	if s.TimeoutMS < 0 || s.TimeoutMS > MaxTimeout.Milliseconds() {
		return Connection{}, errs.Field("timeout_ms", "timeout_ms is between %d and %d milliseconds (0 for the default, %d)",
			MinTimeout.Milliseconds(), MaxTimeout.Milliseconds(), DefaultTimeout.Milliseconds())
	}
	return Connection{ID: id, BaseURL: s.BaseURL, Headers: s.Headers, Secret: s.Secret,
		Timeout: time.Duration(s.TimeoutMS) * time.Millisecond, AllowPrivate: s.AllowPrivate}, nil
}

// Stored is a connection as the store lists it: without its secret.
type Stored struct {
	Connection
	Version   int
	UpdatedAt time.Time
	UpdatedBy string
}

// Store keeps connections in PostgreSQL, their secrets sealed under a key.
type Store struct {
	pool *pgxpool.Pool
	aead cipher.AEAD
}

// NewStore returns a store whose secrets are sealed with key (32 bytes, AES-256-GCM).
func NewStore(pool *pgxpool.Pool, key []byte) (*Store, error) {
	if len(key) != 32 {
		return nil, errors.New("connections: the key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Store{pool: pool, aead: aead}, nil
}

// seal encrypts a secret bound to the connection's id, so a sealed secret copied to
// another row does not open.
func (s *Store) seal(id, secret string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, []byte(secret), []byte(id))
}

func (s *Store) open(id string, sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n {
		return "", errors.New("connections: a sealed secret too short")
	}
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(id))
	if err != nil {
		return "", errs.Wrapf(err, "connections", "open the secret of %s (was CONNECTION_KEY changed?)", id)
	}
	return string(plain), nil
}

// Put creates or replaces a connection, validated first. An empty Secret keeps the stored
// one (a new connection needs one). With ifVersion above zero it replaces only that
// version (errs.Stale otherwise). It returns the stored version.
func (s *Store) Put(ctx context.Context, c Connection, ifVersion int, by string) (int, error) {
	if err := Validate(&c); err != nil {
		return 0, err
	}
	headers := c.Headers
	if headers == nil {
		headers = map[string]string{}
	}
	var (
		version int
		err     error
	)
	if c.Secret == "" { // keep the stored one
		err = s.pool.QueryRow(ctx, `
			UPDATE connections SET base_url = $2, headers = $3, timeout_ms = $4, allow_private = $5,
				updated_by = $6, updated_at = now(), version = version + 1
			WHERE id = $1 AND ($7 = 0 OR version = $7)
			RETURNING version`,
			c.ID, c.BaseURL, headers, c.Timeout.Milliseconds(), c.AllowPrivate, by, ifVersion).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE id = $1)`, c.ID).Scan(&exists); err != nil {
				return 0, errs.Wrapf(err, "connections", "put %s", c.ID)
			}
			if !exists {
				return 0, errs.Field("secret", "a new connection needs a signing secret of %d to 256 characters", MinSecret)
			}
		}
	} else {
		err = s.pool.QueryRow(ctx, `
			INSERT INTO connections (id, base_url, headers, secret_sealed, timeout_ms, allow_private, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET base_url = $2, headers = $3, secret_sealed = $4,
				timeout_ms = $5, allow_private = $6, updated_by = $7, updated_at = now(),
				version = connections.version + 1
			WHERE $8 = 0 OR connections.version = $8
			RETURNING version`,
			c.ID, c.BaseURL, headers, s.seal(c.ID, c.Secret), c.Timeout.Milliseconds(), c.AllowPrivate, by, ifVersion).Scan(&version)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, errs.New(errs.Stale, "connection %s changed since version %d was read", c.ID, ifVersion)
	case err != nil:
		return 0, errs.Wrapf(err, "connections", "put %s", c.ID)
	}
	return version, nil
}

// Get is a connection with its secret, as the fetch client needs it.
func (s *Store) Get(ctx context.Context, id string) (Connection, error) {
	if !ValidID(id) {
		return Connection{}, errs.New(errs.NotFound, "no connection %q", id)
	}
	var c Connection
	var sealed []byte
	var ms int64
	err := s.pool.QueryRow(ctx, `SELECT id, base_url, headers, secret_sealed, timeout_ms, allow_private
		FROM connections WHERE id = $1`, id).Scan(&c.ID, &c.BaseURL, &c.Headers, &sealed, &ms, &c.AllowPrivate)
	if errors.Is(err, pgx.ErrNoRows) {
		return Connection{}, errs.New(errs.NotFound, "no connection %s", id)
	}
	if err != nil {
		return Connection{}, errs.Wrapf(err, "connections", "get %s", id)
	}
	c.Timeout = time.Duration(ms) * time.Millisecond
	if c.Secret, err = s.open(id, sealed); err != nil {
		return Connection{}, err
	}
	return c, nil
}

// Describe is one connection as List shows it, without its secret.
func (s *Store) Describe(ctx context.Context, id string) (Stored, error) {
	list, err := s.list(ctx, id)
	if err == nil && len(list) == 0 {
		err = errs.New(errs.NotFound, "no connection %q", id)
	}
	if err != nil {
		return Stored{}, err
	}
	return list[0], nil
}

// List is every connection, by id, without secrets.
func (s *Store) List(ctx context.Context) ([]Stored, error) { return s.list(ctx, "") }

// list is every connection, or the one named id.
func (s *Store) list(ctx context.Context, id string) ([]Stored, error) {
	if id != "" && !ValidID(id) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, base_url, headers, timeout_ms, allow_private, version, updated_at, updated_by
		FROM connections WHERE $1 = '' OR id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, errs.Wrapf(err, "connections", "list")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Stored, error) {
		var c Stored
		var ms int64
		err := r.Scan(&c.ID, &c.BaseURL, &c.Headers, &ms, &c.AllowPrivate, &c.Version, &c.UpdatedAt, &c.UpdatedBy)
		c.Timeout = time.Duration(ms) * time.Millisecond
		return c, err
	})
}

// Delete removes a connection.
func (s *Store) Delete(ctx context.Context, id string) error {
	if !ValidID(id) {
		return errs.New(errs.NotFound, "no connection %q", id)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM connections WHERE id = $1`, id)
	if err != nil {
		return errs.Wrapf(err, "connections", "delete %s", id)
	}
	if tag.RowsAffected() == 0 {
		return errs.New(errs.NotFound, "no connection %s", id)
	}
	return nil
}
