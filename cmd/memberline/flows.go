package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/memberline/memberline/flows"
	"github.com/memberline/memberline/flowstore"
	"github.com/memberline/memberline/internal/app"
	"github.com/memberline/memberline/internal/errs"
)

const flowsUsage = `Usage:
  memberline flows export [-dir DIR] [-draft] [ID...]
  memberline flows import [-publish] [-message TEXT] [-actor NAME] FILE...
  memberline flows test FILE|DIR...
  memberline flows replay [-url URL] [-flow ID] [-version N] (-from TIME -to TIME | CALLSID...)

export writes each flow (all when no ID is given) to DIR/ID.json as pretty JSON: its
latest published version, or its draft with -draft (a flow never published is exported
as its draft). import checks every file first, exactly as the API does, and when any has
errors prints them (FILE: path: message) and changes nothing; otherwise it saves each
file as its flow's draft (creating new flows) and, with -publish, publishes it.
Both read DATABASE_URL.

test runs the tests that flow files carry (their "tests"), offline: no database, no
service. It prints each case (PASS, FAIL with what went wrong, SKIP with why: a case whose
caller is a directory number needs a running service) and exits non-zero when a file does
not validate or a case fails. A DIR means the .json files in it.

replay asks a running service to replay recorded calls (those that started between -from
and -to, RFC 3339, or the SIDs given) through the flow's draft, or -version, and prints
the summary and each call that would go another way. It reads ADMIN_TOKEN.
`

func runFlows(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return errors.New("flows: export or import?")
	}
	switch args[0] {
	case "test":
		return flowsTest(args[1:], stdout, stderr)
	case "replay":
		return flowsReplay(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := app.LoadConfig(getenv, false, app.NeedNothing)
	if err != nil {
		return err
	}
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		return errors.New("DATABASE_URL is required")
	}
	open := func() (*flowstore.Store, func(), error) {
		pool, err := pgxpool.New(ctx, dbURL)
		if err != nil {
			return nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		if err := flowstore.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("migrate: %w", err)
		}
		return flowstore.NewStore(pool), pool.Close, nil
	}
	switch args[0] {
	case "export":
		return flowsExport(ctx, args[1:], open, stdout, stderr)
	case "import":
		return flowsImport(ctx, args[1:], open, stdout, stderr)
	default:
		fmt.Fprint(stderr, flowsUsage)
		return fmt.Errorf("flows: unknown subcommand %q", args[0])
	}
}

type openStore func() (*flowstore.Store, func(), error)

func flowsExport(ctx context.Context, args []string, open openStore, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory to write ID.json files to")
	draft := fs.Bool("draft", false, "export drafts instead of the latest published versions")
	if err := fs.Parse(args); err != nil {
		return err
	}
	store, done, err := open()
	if err != nil {
		return err
	}
	defer done()
	ids := fs.Args()
	if len(ids) == 0 {
		list, err := store.List(ctx)
		if err != nil {
			return err
		}
		for _, f := range list {
			ids = append(ids, f.ID)
		}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("flows export: %w", err)
	}
	for _, id := range ids {
		doc, what, err := exportDoc(ctx, store, id, *draft)
		if err != nil {
			return fmt.Errorf("flows export: %s: %w", id, err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, doc, "", "  "); err != nil {
			return fmt.Errorf("flows export: %s: %w", id, err)
		}
		pretty.WriteByte('\n')
		path := filepath.Join(*dir, id+".json")
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			return fmt.Errorf("flows export: %w", err)
		}
		fmt.Fprintf(stdout, "%s: %s\n", path, what)
	}
	return nil
}

func exportDoc(ctx context.Context, store *flowstore.Store, id string, draft bool) ([]byte, string, error) {
	if !draft {
		v, err := store.Latest(ctx, id)
		if err == nil {
			return v.Document, fmt.Sprintf("version %d", v.Version), nil
		}
		if !errors.Is(err, errs.ErrUnpublished) {
			return nil, "", err
		}
	}
	d, err := store.Draft(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return d.Document, fmt.Sprintf("draft (revision %d)", d.Rev), nil
}

func flowsImport(ctx context.Context, args []string, open openStore, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flows import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	publish := fs.Bool("publish", false, "publish each flow after saving its draft")
	message := fs.String("message", "", `publish message (default "import FILE")`)
	actorName := fs.String("actor", "import", "who is importing, for the audit log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return errors.New("flows import: no files given")
	}
	type file struct {
		path string
		doc  []byte
		id   string
	}
	var files []file
	for _, path := range fs.Args() {
		doc, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("flows import: %w", err)
		}
		var head struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(doc, &head)
		files = append(files, file{path: path, doc: doc, id: head.ID})
	}
	store, done, err := open()
	if err != nil {
		return err
	}
	defer done()
	known, err := store.KnownFlows(ctx)
	if err != nil {
		return err
	}
	importing := map[string]bool{}
	for _, f := range files {
		importing[f.id] = true
	}
	opts := flows.ValidateOptions{KnownFlow: func(id string) bool { return known(id) || importing[id] }}
	bad := 0
	for _, f := range files {
		probs := checkImport(f.id, f.doc, opts)
		for _, p := range probs {
			fmt.Fprintf(stderr, "%s: %s\n", f.path, p.Error())
		}
		if len(probs) > 0 {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("flows import: %d of %d files have errors; nothing was imported", bad, len(files))
	}
	for _, f := range files {
		d, err := store.Draft(ctx, f.id)
		switch {
		case errors.Is(err, errs.ErrNotFound):
			_, err = store.Create(ctx, f.id, f.doc, *actorName)
		case err == nil:
			_, err = store.SaveDraft(ctx, f.id, f.doc, d.Rev, *actorName)
		}
		if err != nil {
			return fmt.Errorf("flows import: %s: %w", f.path, err)
		}
		line := fmt.Sprintf("%s: draft of %s saved", f.path, f.id)
		if *publish {
			msg := *message
			if msg == "" {
				msg = "import " + filepath.Base(f.path)
			}
			v, err := store.Publish(ctx, f.id, *actorName, msg, &flows.TestEnv{})
			if err != nil {
				return fmt.Errorf("flows import: %s: %w", f.path, err)
			}
			line += fmt.Sprintf(", published as version %d", v.Version)
		}
		fmt.Fprintln(stdout, line)
	}
	return nil
}

// checkImport is the API's validation of a document: it must decode, name a flow id, and
// have no errors (warnings do not stop an import).
func checkImport(id string, doc []byte, opts flows.ValidateOptions) []flows.Problem {
	if strings.TrimSpace(id) == "" {
		if _, err := flows.Load(doc); err != nil {
			var probs flows.Problems
			if errors.As(err, &probs) {
				return probs
			}
			return []flows.Problem{{Message: err.Error()}}
		}
		return []flows.Problem{{Path: "id", Message: "required"}}
	}
	f, err := flows.CheckDocument(id, doc)
	if err != nil {
		var probs flows.Problems
		if errors.As(err, &probs) {
			return probs
		}
		return []flows.Problem{{Message: err.Error()}}
	}
	return f.ValidateWith(opts).Errors
}

// flowsTest is `memberline flows test`: the tests of flow files, offline.
func flowsTest(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, flowsUsage)
		return errors.New("flows test: no files given")
	}
	var paths []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return fmt.Errorf("flows test: %w", err)
		}
		if !info.IsDir() {
			paths = append(paths, arg)
			continue
		}
		found, err := filepath.Glob(filepath.Join(arg, "*.json"))
		if err != nil {
			return fmt.Errorf("flows test: %w", err)
		}
		paths = append(paths, found...)
	}
	var passed, failed, skipped, invalid int
	for _, path := range paths {
		doc, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("flows test: %w", err)
		}
		var probs flows.Problems
		f, err := flows.Load(doc)
		switch {
		case errors.As(err, &probs):
		case err != nil:
			probs = flows.Problems{{Message: err.Error()}}
		default:
			probs = f.Validate()
		}
		if len(probs) > 0 {
			invalid++
			for _, p := range probs {
				fmt.Fprintf(stdout, "%s: %s\n", path, p)
			}
			continue
		}
		fmt.Fprintf(stdout, "%s (flow %s): %d tests\n", path, f.ID, len(f.Tests))
		for _, r := range f.RunTests(flows.TestEnv{}) {
			switch {
			case r.Skipped != "":
				skipped++
				fmt.Fprintf(stdout, "  SKIP %s: %s\n", r.Name, r.Skipped)
			case len(r.Failures) > 0:
				failed++
				fmt.Fprintf(stdout, "  FAIL %s\n", r.Name)
				for _, p := range r.Failures {
					fmt.Fprintf(stdout, "       %s\n", p)
				}
			default:
				passed++
				fmt.Fprintf(stdout, "  PASS %s\n", r.Name)
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped", passed, failed, skipped)
	if invalid > 0 {
		fmt.Fprintf(stdout, "; %d files do not validate", invalid)
	}
	fmt.Fprintln(stdout)
	if failed > 0 || invalid > 0 {
		return fmt.Errorf("flows test: %d failed, %d files invalid", failed, invalid)
	}
	return nil
}
