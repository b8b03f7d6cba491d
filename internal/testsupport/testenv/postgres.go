package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// templateVersion changes the name of every template when the way templates are built
// changes.
const templateVersion = "1"

// lockKey serializes template builds across the test processes of `go test ./...`.
const lockKey int64 = 0x6d6c_7465_7374_656e // "mltesten"

// A test database older than this is left over from a killed test process.
const orphanAge = time.Hour

const (
	templatePrefix = "ml_tmpl_"
	testPrefix     = "ml_test_"
)

// Migrate builds a schema in the pool's database, e.g. lookup.Migrate.
type Migrate func(ctx context.Context, pool *pgxpool.Pool) error

// All is a Migrate that applies each of ms in turn, for a database of several packages.
func All(ms ...Migrate) Migrate {
	return func(ctx context.Context, pool *pgxpool.Pool) error {
		for _, m := range ms {
			if err := m(ctx, pool); err != nil {
				return err
			}
		}
		return nil
	}
}

type template struct {
	once sync.Once
	name string
	err  error
}

var (
	adminOnce  sync.Once
	adminPool  *pgxpool.Pool
	adminErr   error
	templates  sync.Map // key → *template
	sweepOnce  sync.Once
	setupLimit = 2 * time.Minute
)

// Key names a schema for Postgres: name plus a hash of every file in the migration sets,
// so that a change to any of them gets a template of its own.
func Key(name string, migrations ...fs.FS) string {
	h := sha256.New()
	for _, fsys := range migrations {
		err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s %d\n", path, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			panic(fmt.Sprintf("testenv: hash migrations for %s: %v", name, err))
		}
		h.Write([]byte{0})
	}
	return name + "@" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Postgres returns a pool on a new database holding the schema that migrate builds, for
// this test alone: a copy of the template database for key, dropped when the test ends.
//
// The template is made or brought up to date once per process and key, under an advisory
// lock shared by all test processes; migrate must therefore be idempotent, as migration
// runners are. A key names one schema: tests that need the same tables pass the same
// key ("lookup"), tests that need others a different one. Key adds a hash of the
// migration files, which rebuilds the template rather than migrating it when they
// change.
func Postgres(t testing.TB, key string, migrate Migrate) *pgxpool.Pool {
	t.Helper()
	url := need(t, "DATABASE_URL")
	ctx, cancel := context.WithTimeout(context.Background(), setupLimit)
	defer cancel()

	admin, err := adminDB(ctx, url)
	if err != nil {
		t.Fatalf("testenv: PostgreSQL at DATABASE_URL: %v", err)
	}
	sweepOnce.Do(func() { sweep(ctx, admin) })

	v, _ := templates.LoadOrStore(key, &template{})
	tmpl := v.(*template)
	tmpl.once.Do(func() { tmpl.name, tmpl.err = buildTemplate(ctx, url, key, migrate) })
	if tmpl.err != nil {
		t.Fatalf("testenv: template for %q: %v", key, tmpl.err)
	}

	name := testPrefix + strconv.FormatInt(time.Now().Unix(), 10) + "_" + randomHex(6)
	if err := createFrom(ctx, admin, name, tmpl.name); err != nil {
		t.Fatalf("testenv: create test database: %v", err)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("testenv: DATABASE_URL: %v", err)
	}
	cfg.ConnConfig.Database = name
	cfg.MaxConns = 4 // many tests and packages run at once; the server has max_connections
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("testenv: connect to test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop test database: %v", err)
		}
	})
	return pool
}

// adminDB is the process's pool on the DATABASE_URL database, used to create and drop
// databases. It lives as long as the test process.
func adminDB(ctx context.Context, url string) (*pgxpool.Pool, error) {
	adminOnce.Do(func() {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			adminErr = err
			return
		}
		cfg.MaxConns = 2
		adminPool, adminErr = pgxpool.NewWithConfig(ctx, cfg)
		if adminErr == nil {
			adminErr = adminPool.Ping(ctx)
		}
	})
	return adminPool, adminErr
}

// buildTemplate returns the name of key's template database, up to date with migrate.
// It holds the exclusive advisory lock throughout, so no test database is being copied
// from the template meanwhile (see createFrom).
//
// A template that exists is migrated again: a no-op unless a migration was added since.
// If that fails (an applied migration was edited), the template is rebuilt. A new
// template is built under another name and renamed at the end, so one that exists is
// complete even if its builder was killed halfway.
func buildTemplate(ctx context.Context, url, key string, migrate Migrate) (string, error) {
	sum := sha256.Sum256([]byte(templateVersion + "\x00" + key))
	name := templatePrefix + hex.EncodeToString(sum[:])[:20]
	building := name + "_new"

	// A connection of its own: the advisory lock belongs to the session.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	// Closing the connection releases the lock too; unlocking first frees it sooner.
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey)

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		if migrateDB(ctx, url, name, migrate) == nil {
			return name, nil
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return "", err
		}
	}
	for _, sql := range []string{
		"DROP DATABASE IF EXISTS " + ident(building) + " WITH (FORCE)",
		"CREATE DATABASE " + ident(building) + " TEMPLATE template0",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return "", err
		}
	}
	if err := migrateDB(ctx, url, building, migrate); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(building)+" RENAME TO "+ident(name)); err != nil {
		return "", err
	}
	return name, nil
}

// migrateDB runs migrate on database db and disconnects: CREATE DATABASE ... TEMPLATE
// refuses a template that has connections.
func migrateDB(ctx context.Context, url, db string, migrate Migrate) error {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.ConnConfig.Database = db
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

// createFrom creates database name as a copy of tmpl, holding the advisory lock in
// shared mode: copies run side by side, never during a template's update.
func createFrom(ctx context.Context, admin *pgxpool.Pool, name, tmpl string) error {
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock_shared($1)", lockKey); err != nil {
		conn.Conn().Close(ctx) // don't return a session that may hold the lock
		return fmt.Errorf("lock: %w", err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tmpl))
	if _, uerr := conn.Exec(context.Background(), "SELECT pg_advisory_unlock_shared($1)", lockKey); uerr != nil {
		conn.Conn().Close(ctx)
	}
	return err
}

// sweep drops test databases that a killed test process left behind. Their names carry
// their creation time; no test runs for an hour.
func sweep(ctx context.Context, admin *pgxpool.Pool) {
	rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1", testPrefix+"%")
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		created, _, ok := strings.Cut(strings.TrimPrefix(name, testPrefix), "_")
		unix, err := strconv.ParseInt(created, 10, 64)
		if !ok || err != nil || time.Since(time.Unix(unix, 0)) < orphanAge {
			continue
		}
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
	}
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// URL is a connection string for the test database behind pool: DATABASE_URL with the
// database name replaced, for code under test that opens its own connections.
func URL(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	u, err := neturl.Parse(need(t, "DATABASE_URL"))
	if err != nil {
		t.Fatalf("testenv: DATABASE_URL: %v", err)
	}
	u.Path = "/" + pool.Config().ConnConfig.Database
	return u.String()
}
