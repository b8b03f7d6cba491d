package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/memberline/memberline/internal/app"
	"github.com/memberline/memberline/internal/softphone"
	"github.com/memberline/memberline/ivr"
)

const callUsage = `Usage: memberline call [flags] FROM

Plays a phone call against a running Memberline service: sends the webhooks Twilio
would send (signed with TWILIO_AUTH_TOKEN), prints what the caller hears and reads the
caller's answers from stdin (or -input). FROM is the caller's number as Twilio would
send it: +14045550123, "anonymous", a sip: URI or "" (or use -from).

Flags:
`

// runCall plays a call against a running Memberline service over real HTTP with valid
// signatures (softphone.Call); this reads its flags and settings.
func runCall(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := app.LoadConfig(getenv, false, app.NeedNothing)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), callUsage)
		fs.PrintDefaults()
	}
	var (
		baseFlag   = fs.String("url", localURL(cfg.ListenAddr), "base URL of the running service; LISTEN_ADDR sets the default")
		publicFlag = fs.String("public-url", "", "base URL to sign against, as Twilio sees the service (default PUBLIC_URL, else -url)")
		to         = fs.String("to", "+18005550100", "the called number (To)")
		stir       = fs.String("stir", "TN-Validation-Passed-A", "StirVerstat to send; empty to send none")
		sid        = fs.String("sid", "", "CallSid (default a random CA...)")
		from       = fs.String("from", "", "the caller's number, when not given as FROM (may be empty)")
		input      = fs.String("input", "", `comma-separated answers to use instead of stdin, e.g. "1" or "yes,2"; when they run out the caller hangs up`)
		verbose    = fs.Bool("v", false, "log each webhook request and response status to stderr")
		flowID     = fs.String("flow", "", "run this flow instead of the one bound to -to (needs the flow store)")
		flowVer    = fs.String("version", "", `with -flow: a version number, or "draft"; default the latest published version`)
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is what was asked for
		}
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	fromNumber := *from
	switch {
	case fs.NArg() == 1 && !set["from"]:
		fromNumber = fs.Arg(0)
	case fs.NArg() == 0 && set["from"]:
	default:
		fs.Usage()
		return errors.New("call: give the caller's number as one FROM argument (or -from), after the flags")
	}

	token := cfg.TwilioAuthToken
	if token == "" {
		return errors.New("call: TWILIO_AUTH_TOKEN is required to sign webhooks (use the service's token)")
	}
	baseURL, err := callBaseURL(*baseFlag)
	if err != nil {
		return fmt.Errorf("call: -url: %w", err)
	}
	pub := *publicFlag
	if !set["public-url"] {
		pub = cfg.PublicURL
	}
	publicURL := baseURL
	if pub != "" {
		if publicURL, err = callBaseURL(pub); err != nil {
			return fmt.Errorf("call: -public-url: %w", err)
		}
	}
	var answers softphone.Answers
	if set["input"] {
		items := strings.Split(*input, ",")
		for i := range items {
			items[i] = strings.TrimSpace(items[i])
		}
		answers = softphone.Script(items)
	} else {
		answers = softphone.Lines(stdin, !isTerminal(stdin))
	}
	call := softphone.Call{
		BaseURL: baseURL, PublicURL: publicURL, CallSID: *sid, From: fromNumber, To: *to, Stir: *stir,
		Sign:    func(u string, form url.Values) string { return ivr.Sign(token, u, form) },
		Answers: answers, Out: stdout, Log: stderr, Verbose: *verbose,
	}
	if *flowID != "" {
		// Only on the first webhook: the call is then pinned to that flow and version.
		call.First = url.Values{"MemberlineFlow": {*flowID}, "MemberlineVersion": {*flowVer}}
	} else if *flowVer != "" {
		return errors.New("call: -version needs -flow")
	}
	return call.Play(ctx)
}

// callBaseURL accepts "host:port" or an http(s) URL and returns it without a trailing slash.
func callBaseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("want an http(s) base URL without query, got %q", s)
	}
	return strings.TrimRight(s, "/"), nil
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// localURL is the base URL of the service this machine runs on listen (LISTEN_ADDR).
func localURL(listen string) string {
	if strings.HasPrefix(listen, ":") {
		listen = "127.0.0.1" + listen
	}
	return "http://" + listen
}
