package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/memberline/memberline/internal/app"
)

// devAdminToken is the ADMIN_TOKEN `make run` sets: the only one the hint prints.
const devAdminToken = "dev-admin-token-change-me"

func printCallHint(w io.Writer, addr, adminToken string) {
	signIn := "sign in with your ADMIN_TOKEN"
	if adminToken == devAdminToken {
		signIn = "sign in with the development token " + devAdminToken
	}
	fmt.Fprintf(w, `
Demo members are loaded. Place a simulated call from another terminal:

  make call FROM=+14045550123     Dana, Diamond, flying to Atlanta tomorrow
  make call FROM=+13125550142     Marcus, a trip on a weekday next week
  make call FROM=+13055550177     Lucía (Spanish), back from Madrid
  make call FROM=+12065550111     Tom, nothing planned
  make call FROM=+16175550100     the Ortiz household (two members, one number)
  make call FROM=+17095550144     a name that needs escaping
  make call FROM=+12125550000     an unknown number (try member number 1001#)

make call runs: memberline call FROM against http://%s with the dev settings.
Admin console: http://%s/admin/ (%s)
Admin API: curl -H "Authorization: Bearer $ADMIN_TOKEN" http://%s/api/v1/lookup?phone=%%2B14045550123
Ctrl-C stops the service, PostgreSQL and Redis.
`, addr, addr, signIn, addr)
}

func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := app.LoadConfig(getenv, false, app.NeedData)
	if err != nil {
		return err
	}
	d, err := app.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := app.SeedDemo(ctx, d.Cache, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memberline: seeded %d demo members\n", app.DemoMembers())
	return nil
}
