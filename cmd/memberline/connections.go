package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/memberline/memberline/connections"
	"github.com/memberline/memberline/internal/errs"
)

const connectionsUsage = `Usage:
  memberline connections list
  memberline connections put [-file FILE] [-actor NAME] ID
  memberline connections delete ID

The company APIs flows fetch from, as /api/v1/connections manages them. put reads the
connection as JSON from FILE (or standard input), the body the API takes:
  {"base_url":"https://crm.example.com/v2","headers":{"X-Api-Key":"…"},
   "secret":"…","timeout_ms":1500,"allow_private_addresses":false}
without a secret it keeps the stored one. list never shows a secret or a header's value.
They read DATABASE_URL and CONNECTION_KEY (see docs/operations.md).
`

func runConnections(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "put" && args[0] != "delete") {
		fmt.Fprint(stderr, connectionsUsage)
		return errors.New("connections: list, put or delete?")
	}
	cfg, pool, err := openDatabase(ctx, getenv, connections.Migrate)
	if err != nil {
		return err
	}
	defer pool.Close()
	key, derived := cfg.ConnectionSealKey()
	if derived {
		fmt.Fprintln(stderr, "warning: CONNECTION_KEY is not set: secrets are sealed under a key derived from ADMIN_TOKEN, fit for development only")
	}
	store, err := connections.NewStore(pool, key)
	if err != nil {
		return fmt.Errorf("CONNECTION_KEY: %w", err)
	}
	switch args[0] {
	case "list":
		return connectionsList(ctx, store, stdout)
	case "put":
		return connectionsPut(ctx, store, args[1:], stdin, stdout, stderr)
	default:
		if len(args) != 2 {
			return errors.New("connections delete: one ID")
		}
		if err := store.Delete(ctx, args[1]); err != nil {
			return userError("connections delete", err)
		}
		fmt.Fprintf(stdout, "deleted %s\n", args[1])
		return nil
	}
}

func connectionsList(ctx context.Context, store *connections.Store, stdout io.Writer) error {
	list, err := store.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tBASE URL\tTIMEOUT\tPRIVATE\tHEADERS\tVERSION\tUPDATED BY")
	for _, c := range list {
		names := slices.Sorted(maps.Keys(c.Headers))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%d\t%s\n", c.ID, c.BaseURL, c.Timeout, c.AllowPrivate, strings.Join(names, ","), c.Version, c.UpdatedBy)
	}
	return tw.Flush()
}

func connectionsPut(ctx context.Context, store *connections.Store, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("connections put", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "read the connection's JSON from this file (default: standard input)")
	actor := fs.String("actor", "command line", "who made the change, for its record")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("connections put: one ID")
	}
	in := stdin
	if *file != "" {
		f, err := os.Open(*file)
		if err != nil {
			return fmt.Errorf("connections put: %w", err)
		}
		defer f.Close()
		in = f
	}
	dec := json.NewDecoder(io.LimitReader(in, 1<<20))
	dec.DisallowUnknownFields()
	var spec connections.Spec
	if err := dec.Decode(&spec); err != nil {
		return fmt.Errorf("connections put: the connection's JSON: %w", err)
	}
	c, err := spec.Connection(fs.Arg(0))
	if err != nil {
		return userError("connections put", err)
	}
	version, err := store.Put(ctx, c, 0, *actor)
	if err != nil {
		return userError("connections put", err)
	}
	fmt.Fprintf(stdout, "saved %s (version %d)\n", c.ID, version)
	return nil
}

// userError says a coded error in its users' words, with the field at fault.
func userError(op string, err error) error {
	if e := errs.Of(err); e != nil && e.Code != errs.Internal {
		if e.Field != "" {
			return fmt.Errorf("%s: %s: %s", op, e.Field, e.Message)
		}
		return fmt.Errorf("%s: %s", op, e.Message)
	}
	return fmt.Errorf("%s: %w", op, err)
}
