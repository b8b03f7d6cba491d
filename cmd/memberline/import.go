package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/memberline/memberline/internal/app"
	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/internal/memberdata"
	"github.com/memberline/memberline/lookup"
)

// runImport streams an NDJSON file of members (or stdin) into the directory.
func runImport(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	batch := fs.Int("batch", 20000, "members per transaction")
	quiet := fs.Bool("quiet", false, "no progress lines")
	strict := fs.Bool("strict", false, "stop at the first line refused (by default a refused line is skipped whole, and the rest imported)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: memberline import [flags] [FILE|-]\n\nFILE holds one member a line (JSON: the member API's fields plus \"activities\").")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return fmt.Errorf("import takes at most one file")
	}
	in := stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
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
	progress := func(st lookup.ImportStats) {
		if !*quiet {
			fmt.Fprintf(stderr, "memberline: import: %d members, %d numbers, %d activities (%.1fs)\n",
				st.Members, st.Phones, st.Activities, st.Elapsed.Seconds())
		}
	}
	refused := func(line int64, err error) {
		fmt.Fprintf(stderr, "memberline: import: line %d refused, nothing of it written: %s\n", line, errs.Of(err).Message)
	}
	st, err := lookup.Import(ctx, d.Pool, in, d.Cache, lookup.ImportOptions{BatchSize: *batch, Region: cfg.DefaultRegion,
		Strict: *strict, OnReject: refused, Progress: progress})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memberline: imported %d members, %d numbers, %d activities in %.1fs; %d numbers invalidated; %d lines refused\n",
		st.Members, st.Phones, st.Activities, st.Elapsed.Seconds(), st.Invalidated, st.Rejected)
	if st.Rejected > 0 {
		return fmt.Errorf("import: %d of %d lines refused (named above); the others are imported", st.Rejected, st.Lines)
	}
	return nil
}

// runGenMembers writes a generated data set for benchmarks and imports.
func runGenMembers(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-members", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1_000_000, "members (each with 1.5 numbers and 2 activities on average)")
	out := fs.String("o", "-", "output file; - for stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	w := stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return fmt.Errorf("gen-members: %w", err)
		}
		defer f.Close()
		w = f
	}
	if err := (memberdata.Members{N: *n, Now: time.Now()}).Write(w); err != nil {
		return fmt.Errorf("gen-members: %w", err)
	}
	return nil
}
