package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/memberline/memberline/internal/softphone"
	"github.com/memberline/memberline/ivr"
)

const demoTwilioUsage = `Usage:
  memberline demo-twilio [-addr 127.0.0.1:8091]

A stand-in for Twilio's REST API on a local line, to see a callback happen: point
TWILIO_API_URL at it (with TWILIO_ACCOUNT_SID, TWILIO_CALLER_ID and an alphanumeric
TWILIO_AUTH_TOKEN or API key). Each call the service places is answered at once by a
person who presses 1, played against the service like "memberline call", and printed.
It signs the webhooks with TWILIO_AUTH_TOKEN, as Twilio does. See docs/development.md.
`

func runDemoTwilio(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo-twilio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoTwilioUsage) }
	addr := fs.String("addr", "127.0.0.1:8091", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := getenv("TWILIO_AUTH_TOKEN")
	if token == "" {
		return errors.New("demo-twilio: TWILIO_AUTH_TOKEN is required to sign the webhooks")
	}
	var out sync.Mutex // one call's transcript at a time
	h := demoTwilio(ctx, token, func(play func(io.Writer)) {
		out.Lock()
		defer out.Unlock()
		play(stdout)
	})
	return serveDemo(ctx, "demo-twilio", *addr, h, func(at net.Addr) {
		fmt.Fprintf(stdout, "demo Twilio REST API on http://%s: set TWILIO_API_URL to it\n", at)
	})
}

// demoTwilio answers POST /2010-04-01/Accounts/{AC}/Calls.json as Twilio does, then plays
// the call: answered by a person (AnsweredBy human) who presses 1.
func demoTwilio(ctx context.Context, token string, show func(func(io.Writer))) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/Calls.json") || r.ParseForm() != nil {
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 20404, "message": "only Calls are simulated here", "status": 404})
			return
		}
		start, err := url.Parse(r.PostForm.Get("Url"))
		if err != nil || start.Host == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 21205, "message": "Url is not a valid URL", "status": 400})
			return
		}
		sid, _ := softphone.NewCallSID()
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "queued", "to": r.PostForm.Get("To"), "from": r.PostForm.Get("From")})
		origin := start.Scheme + "://" + start.Host
		call := softphone.Call{BaseURL: origin, Sign: func(u string, form url.Values) string { return ivr.Sign(token, u, form) },
			CallSID: sid, From: r.PostForm.Get("From"), To: r.PostForm.Get("To"), Start: start.String(),
			StatusURL: r.PostForm.Get("StatusCallback"), First: url.Values{"AnsweredBy": {"human"}, "Direction": {"outbound-api"}},
			Answers: softphone.Script([]string{"1"})}
		go show(func(out io.Writer) {
			time.Sleep(500 * time.Millisecond) // the phone rings
			fmt.Fprintf(out, "\nTwilio calls %s from %s (the callback)\n", call.To, call.From)
			call.Out, call.Log = out, out
			if err := call.Play(context.WithoutCancel(ctx)); err != nil {
				fmt.Fprintf(out, "call: %v\n", err)
			}
		})
	})
}
