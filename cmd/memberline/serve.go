package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/internal/app"
	"github.com/memberline/memberline/internal/gctune"
)

// runServe is `memberline serve`: the configuration, the logger and the garbage
// collector's settings, then the service (internal/app) on LISTEN_ADDR until ctx ends.
func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	insecure := fs.Bool("insecure-skip-twilio-signature", false, "accept webhooks without checking X-Twilio-Signature (local development only)")
	seed := fs.Bool("seed", false, "load the demo members after migrating")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(getenv, *insecure, app.NeedServe)
	if err != nil {
		return err
	}
	log, closeLog := app.NewLogger(cfg.LogFormat, stderr)
	defer closeLog() // last: the shutdown's own lines are written too
	if gc, err := gctune.Apply(getenv, log); err != nil {
		log.Warn("garbage collector settings not applied", "err", err)
	} else {
		log.Info("garbage collector", "settings", gc.String())
	}
	if cfg.InsecureSkipSignature {
		fmt.Fprintln(stderr, "WARNING: --insecure-skip-twilio-signature: Twilio signatures are NOT checked. Anyone who can reach this service can impersonate Twilio. Never run like this in production.")
		log.Warn("twilio signature checks are disabled")
	}
	service, err := app.New(ctx, cfg, log, getenv, stdout)
	if err != nil {
		return err
	}
	defer service.Close()
	if *seed {
		if err := service.Seed(ctx, time.Now()); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR: %w", err)
	}
	fmt.Fprintf(stdout, "memberline: listening on http://%s (Twilio webhooks at %s/twilio/voice)\n", ln.Addr(), cfg.PublicURL)
	if *seed {
		printCallHint(stdout, ln.Addr().String(), cfg.AdminToken)
	}
	return service.Serve(ctx, ln)
}

// runMigrate is `memberline migrate`: only DATABASE_URL is needed.
func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("migrate takes no arguments")
	}
	_, pool, err := openDatabase(ctx, getenv, app.Migrate)
	if err != nil {
		return err
	}
	pool.Close()
	fmt.Fprintln(stdout, "memberline: migrations applied")
	return nil
}

// openDatabase reads the configuration a command that needs only the database reads,
// opens DATABASE_URL and brings the tables migrate owns up to date. The caller closes the
// pool.
func openDatabase(ctx context.Context, getenv func(string) string, migrate func(context.Context, *pgxpool.Pool) error) (app.Config, *pgxpool.Pool, error) {
	cfg, err := app.LoadConfig(getenv, false, app.NeedNothing)
	if err != nil {
		return cfg, nil, err
	}
	if cfg.DatabaseURL == "" {
		return cfg, nil, errors.New("DATABASE_URL is required")
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return cfg, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return cfg, nil, err
	}
	return cfg, pool, nil
}
