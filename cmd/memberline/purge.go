package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/calls"
)

// parseRetention reads CALL_RETENTION: a Go duration (2160h) or a number of days (90d).
func parseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("must be a number of days such as 90d, or a duration such as 2160h, got %q", v)
}

// callHashKey keys the caller hash in call records. CALL_HASH_KEY should be set (and kept)
// in production; without it the key is derived from the Twilio auth token, so rotating
// the token starts new hashes for the same numbers.
func callHashKey(cfg config) []byte {
	if cfg.CallHashKey != "" {
		return []byte(cfg.CallHashKey)
	}
	m := hmac.New(sha256.New, []byte("memberline call records"))
	m.Write([]byte(cfg.TwilioAuthToken))
	return m.Sum(nil)
}

// purgeCalls deletes call records past retention now, then every interval until ctx ends.
func purgeCalls(ctx context.Context, records *calls.Store, retention, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := records.Purge(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("call records not purged", "err", err)
		case n > 0:
			log.Info("call records purged", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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
	cfg, err := loadConfig(getenv, false, needData)
	if err != nil {
		return err
	}
	retention := cfg.CallRetention
	if *olderThan != "" {
		if retention, err = parseRetention(*olderThan); err != nil {
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
