package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/calls"
	"github.com/memberline/memberline/internal/app"
)

// runCalls is `memberline calls purge`: delete call records past CALL_RETENTION (or
// -older-than) and say how many.
func runCalls(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "purge" {
		return errors.New("usage: memberline calls purge [-older-than 90d]")
	}
	fs := flag.NewFlagSet("calls purge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	olderThan := fs.String("older-than", "", "delete records of calls that started longer ago than this (default: CALL_RETENTION)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(getenv, false, app.NeedData)
	if err != nil {
		return err
	}
	retention := cfg.CallRetention
	if *olderThan != "" {
		if retention, err = app.ParseRetention(*olderThan); err != nil {
			return fmt.Errorf("-older-than %w", err)
		}
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer pool.Close()
	if err := calls.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	records := calls.New(pool, calls.Options{})
	defer func() { _ = records.Close(context.Background()) }() // nothing was recorded
	cutoff := time.Now().Add(-retention)
	n, err := records.Purge(ctx, cutoff)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memberline: deleted %d call records that started before %s\n", n, cutoff.UTC().Format(time.RFC3339))
	return nil
}
