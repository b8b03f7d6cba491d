package lookup

import (
	"context"
	"embed"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the directory's schema migrations (NNNN_name.up.sql and .down.sql).
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the directory's migrations are recorded under.
const Component = "lookup"

// Migrate brings the directory's tables up to date. It is safe to call from several
// processes at once and a no-op when there is nothing new.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, Component, Migrations)
}
