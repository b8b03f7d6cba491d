package calls

import (
	"context"
	"embed"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/pgmigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations holds the call records' schema migrations (NNNN_name.up.sql and .down.sql).
var Migrations fs.FS = pgmigrate.Sub(migrationFiles, "migrations")

// Component is the name the call records' migrations are recorded under.
const Component = "calls"

// Migrate brings the call records' tables up to date; safe to run from several processes.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgmigrate.Apply(ctx, pool, Component, Migrations)
}
