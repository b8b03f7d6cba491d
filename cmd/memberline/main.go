// Command memberline is the Memberline service and its tools: it serves Twilio's voice
// webhooks and the admin API, applies migrations, seeds demo members and places simulated
// calls from the terminal.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "memberline:", err)
		os.Exit(1)
	}
}

const usage = `Usage: memberline COMMAND [flags]

Commands:
  serve     serve Twilio webhooks and the admin API (migrates on start)
  migrate   apply database migrations and exit
  seed      load the demo members (dates relative to today)
  call      place a simulated call against a running service: memberline call +14045550123
  twilio    point a Twilio number at PUBLIC_URL: memberline twilio configure --number +14045550100 [--dry-run]
  flows     export flows to files, or import them: memberline flows export -dir flows/
  connections  the company APIs flows fetch from: memberline connections list|put|delete
  demo-api  a stand-in booking API for the example fetch flow: memberline demo-api
  demo-twilio  a stand-in Twilio REST API that answers callbacks: memberline demo-twilio
  calls     delete call records past CALL_RETENTION: memberline calls purge [-older-than 90d]
  import    load members from NDJSON (one member a line, with phones and activities)
  gen-members  write a generated data set for import: memberline gen-members -n 1000000 > members.ndjson
  help      show this text

Configuration comes from the environment; see docs/operations.md.
`

// run is the whole program, callable from tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, rest, getenv, stdout, stderr)
	case "twilio":
		return runTwilio(rest, getenv, stdout, stderr)
	case "call":
		return runCall(ctx, rest, getenv, stdin, stdout, stderr)
	case "calls":
		return runCalls(ctx, rest, getenv, stdout, stderr)
	case "import":
		return runImport(ctx, rest, getenv, stdin, stdout, stderr)
	case "gen-members":
		return runGenMembers(ctx, rest, stdout, stderr)
	case "flows":
		return runFlows(ctx, rest, getenv, stdout, stderr)
	case "connections":
		return runConnections(ctx, rest, getenv, stdin, stdout, stderr)
	case "demo-api":
		return runDemoAPI(ctx, rest, stdout, stderr)
	case "demo-twilio":
		return runDemoTwilio(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
