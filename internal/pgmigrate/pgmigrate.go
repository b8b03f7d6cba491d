// Package pgmigrate applies a component's numbered SQL migrations to PostgreSQL.
//
// Each component (lookup, flows, ...) keeps its migrations next to its code, embedded
// with //go:embed, as files named NNNN_name.up.sql with a matching NNNN_name.down.sql.
// Apply runs the up files it has not run before, in version order, each in its own
// transaction, and records (component, version) in schema_migrations, so several
// components share one database and re-running is a no-op. The down files are kept for
// people undoing a migration by hand; Apply never reads them.
//
// Apply records a checksum of each file it runs and refuses (ErrChanged) to go on when an
// applied file has since been edited: a schema must be reachable by running the files
// in order, so a released migration is never changed; a new one is added instead.
//
// Concurrent starters (several replicas rolling out at once, parallel test processes)
// serialize on a transaction-scoped advisory lock: whoever gets it second finds the
// version recorded and skips it. A migration therefore cannot use statements that refuse
// to run inside a transaction, such as CREATE INDEX CONCURRENTLY.
package pgmigrate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LockKey is the advisory lock key every Apply takes. It is one key for all components:
// migrations are rare and quick, and one key rules out deadlocks between components.
const LockKey int64 = 0x6d6c_6d69_6772_6174 // "mlmigrat"

// ErrChanged says an applied migration's file differs from what was applied.
var ErrChanged = errors.New("migration changed after it was applied")

// Migration is one numbered up file.
type Migration struct {
	Version  int
	Name     string // the part of the file name between the version and ".up.sql"
	SQL      string
	Checksum string // hex SHA-256 of the file
}

var fileName = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.(up|down)\.sql$`)

// Read lists the migrations in fsys (files at its root), in version order. It rejects .sql
// files whose names do not follow NNNN_name.up.sql / NNNN_name.down.sql, two files with
// one version, and up files without their down file.
func Read(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("pgmigrate: read: %w", err)
	}
	ups := map[int]Migration{}
	downs := map[int]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		m := fileName.FindStringSubmatch(name)
		if m == nil {
			if len(name) > 4 && name[len(name)-4:] == ".sql" {
				return nil, fmt.Errorf("pgmigrate: %s: want NNNN_name.up.sql or NNNN_name.down.sql", name)
			}
			continue
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("pgmigrate: %s: version must be a positive number", name)
		}
		if m[3] == "down" {
			if prev, ok := downs[v]; ok {
				return nil, fmt.Errorf("pgmigrate: %s and %s share version %d", prev, name, v)
			}
			downs[v] = m[2]
			continue
		}
		if prev, ok := ups[v]; ok {
			return nil, fmt.Errorf("pgmigrate: %04d_%s.up.sql and %s share version %d", v, prev.Name, name, v)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("pgmigrate: read %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		ups[v] = Migration{Version: v, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])}
	}
	out := make([]Migration, 0, len(ups))
	for v, m := range ups {
		if downs[v] != m.Name {
			return nil, fmt.Errorf("pgmigrate: %s: no %04d_%s.down.sql beside it", upName(m), v, m.Name)
		}
		out = append(out, m)
	}
	for v, name := range downs {
		if _, ok := ups[v]; !ok {
			return nil, fmt.Errorf("pgmigrate: %04d_%s.down.sql has no up file", v, name)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

func upName(m Migration) string { return fmt.Sprintf("%04d_%s.up.sql", m.Version, m.Name) }

const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	component  text        NOT NULL,
	version    integer     NOT NULL,
	name       text        NOT NULL,
	checksum   text        NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (component, version)
)`

// Apply brings component's schema up to the newest migration in fsys. Versions already
// recorded for component are skipped; versions recorded but unknown to fsys (a newer
// release ran first) are left alone.
func Apply(ctx context.Context, pool *pgxpool.Pool, component string, fsys fs.FS) error {
	if component == "" {
		return errors.New("pgmigrate: empty component name")
	}
	ms, err := Read(fsys)
	if err != nil {
		return err
	}
	// First pass: one short transaction tells what there is to do; at a common start-up,
	// nothing.
	var applied map[int]string // version → checksum
	err = inLockedTx(ctx, pool, func(tx pgx.Tx) error {
		applied, err = appliedVersions(ctx, tx, component)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgmigrate: %s: %w", component, err)
	}
	for _, m := range ms {
		if sum, ok := applied[m.Version]; ok {
			if sum != m.Checksum {
				return fmt.Errorf("pgmigrate: %s: %s: %w", component, upName(m), ErrChanged)
			}
			continue
		}
		err := inLockedTx(ctx, pool, func(tx pgx.Tx) error {
			// Someone may have applied it between the first pass and this lock.
			var sum string
			err := tx.QueryRow(ctx,
				`SELECT checksum FROM schema_migrations WHERE component = $1 AND version = $2`,
				component, m.Version).Scan(&sum)
			if err == nil && sum != m.Checksum {
				return ErrChanged
			}
			if err == nil {
				return nil
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			// No arguments: pgx sends it with the simple protocol, so a file may hold
			// several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.Exec(ctx,
				`INSERT INTO schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)`,
				component, m.Version, m.Name, m.Checksum)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgmigrate: %s: %s: %w", component, upName(m), err)
		}
	}
	return nil
}

// Applied returns the versions recorded for component, in order.
func Applied(ctx context.Context, pool *pgxpool.Pool, component string) ([]int, error) {
	var applied map[int]string
	err := inLockedTx(ctx, pool, func(tx pgx.Tx) (err error) {
		applied, err = appliedVersions(ctx, tx, component)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgmigrate: %s: %w", component, err)
	}
	out := make([]int, 0, len(applied))
	for v := range applied {
		out = append(out, v)
	}
	sort.Ints(out)
	return out, nil
}

func appliedVersions(ctx context.Context, tx pgx.Tx, component string) (map[int]string, error) {
	if _, err := tx.Exec(ctx, createTable); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT version, checksum FROM schema_migrations WHERE component = $1`, component)
	if err != nil {
		return nil, err
	}
	applied := map[int]string{}
	var (
		v   int
		sum string
	)
	_, err = pgx.ForEachRow(rows, []any{&v, &sum}, func() error {
		applied[v] = sum
		return nil
	})
	return applied, err
}

// inLockedTx runs fn in a transaction holding the migration lock. The lock is
// transaction-scoped, so it cannot outlive a failed or cancelled run on a pooled
// connection.
func inLockedTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, LockKey); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		return fn(tx)
	})
}

// Sub returns the migrations folder dir of an embedded tree, as every component keeps
// them (//go:embed migrations/*.sql). A bad dir is a programming error, so it panics.
func Sub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("pgmigrate: migrations folder %q: %v", dir, err))
	}
	return sub
}
