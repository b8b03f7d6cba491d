// Package pgpool makes the service's PostgreSQL pool configuration.
package pgpool

import (
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config parses a PostgreSQL URL into a pool configuration with at most maxConns
// connections (0: pgx's default) and a statement timeout on every connection (0: the
// server's). Bulk work such as Import lifts the timeout for its own transactions.
func Config(url string, maxConns int, statementTimeout time.Duration) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if maxConns > 0 {
		cfg.MaxConns = int32(maxConns)
	}
	if statementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(statementTimeout.Milliseconds(), 10)
	}
	return cfg, nil
}
