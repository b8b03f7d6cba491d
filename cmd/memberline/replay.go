package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/memberline/memberline/internal/app"
)

// flowsReplay is `memberline flows replay`: the admin API's replay, from a terminal.
func flowsReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := app.LoadConfig(getenv, false, app.NeedNothing)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("flows replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", localURL(cfg.ListenAddr), "base URL of the running service; LISTEN_ADDR sets the default")
	flow := fs.String("flow", "default", "the flow whose draft (or -version) the calls run through")
	version := fs.Int("version", 0, "a published version instead of the draft")
	from := fs.String("from", "", "calls that started at or after this time (RFC 3339)")
	to := fs.String("to", "", "and before this one")
	limit := fs.Int("limit", 0, "at most this many calls (the service's default 50, at most 200)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := cfg.AdminToken
	if token == "" {
		return errors.New("flows replay: ADMIN_TOKEN is required")
	}
	body := map[string]any{}
	if fs.NArg() > 0 {
		body["call_sids"] = fs.Args()
	} else {
		body["from"], body["to"] = *from, *to
	}
	if *version > 0 {
		body["version"] = *version
	}
	if *limit > 0 {
		body["limit"] = *limit
	}
	payload, _ := json.Marshal(body)
	target := strings.TrimRight(*base, "/") + "/api/v1/flows/" + url.PathEscape(*flow) + "/replay"
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("flows replay: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("flows replay: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("flows replay: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Field, Message string }
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("flows replay: %s", e.Error.Message)
		}
		return fmt.Errorf("flows replay: %s", resp.Status)
	}
	var ans struct {
		Flow    string
		Version int
		Summary struct {
			Calls       int
			Same        int
			Changed     int
			NotReplayed int `json:"not_replayed"`
		}
		Calls []struct {
			CallSID  string `json:"call_sid"`
			Same     bool
			Turn     int
			Before   string
			Was, Now string
			WasEnd   struct{ Outcome, Node string } `json:"was_end"`
			NowEnd   struct{ Outcome, Node string } `json:"now_end"`
			Reason   string
		}
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return fmt.Errorf("flows replay: the service's answer: %w", err)
	}
	against := "draft"
	if ans.Version > 0 {
		against = fmt.Sprintf("version %d", ans.Version)
	}
	fmt.Fprintf(stdout, "%d calls through %s %s: %d the same, %d changed, %d not replayed\n",
		ans.Summary.Calls, ans.Flow, against, ans.Summary.Same, ans.Summary.Changed, ans.Summary.NotReplayed)
	for _, c := range ans.Calls {
		switch {
		case c.Reason != "":
			fmt.Fprintf(stdout, "  %s not replayed: %s\n", c.CallSID, c.Reason)
		case !c.Same:
			fmt.Fprintf(stdout, "  %s changed at webhook %d after %s: %s → %s; ended %s at %s, now %s at %s\n",
				c.CallSID, c.Turn, orStart(c.Before), orEnd(c.Was), orEnd(c.Now), c.WasEnd.Outcome, c.WasEnd.Node, c.NowEnd.Outcome, c.NowEnd.Node)
		}
	}
	return nil
}

func orStart(node string) string {
	if node == "" {
		return "its start"
	}
	return node
}

func orEnd(node string) string {
	if node == "" {
		return "(turn ends)"
	}
	return node
}
