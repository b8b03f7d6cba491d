package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/memberline/memberline/internal/app"
	"github.com/memberline/memberline/lookup"
	"github.com/memberline/memberline/outbound"
)

const twilioUsage = `Usage: memberline twilio configure --number +14045550100 [--dry-run]

Points the Twilio number's voice URL, fallback URL and status callback at PUBLIC_URL
(POST to /twilio/voice, /twilio/fallback and /twilio/status) and prints what changed.

Environment: PUBLIC_URL, TWILIO_ACCOUNT_SID, and either TWILIO_AUTH_TOKEN or an API key
(TWILIO_API_KEY and TWILIO_API_SECRET).
`

func runTwilio(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "configure" {
		fmt.Fprint(stderr, twilioUsage)
		if len(args) == 0 {
			return errors.New("twilio: no subcommand given")
		}
		return fmt.Errorf("twilio: unknown subcommand %q", args[0])
	}
	fs := flag.NewFlagSet("twilio configure", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, twilioUsage); fs.PrintDefaults() }
	number := fs.String("number", "", "the Twilio phone number to configure, e.g. +14045550100")
	dryRun := fs.Bool("dry-run", false, "print the changes without making them")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("twilio configure: unexpected arguments %q", fs.Args())
	}

	var problems []error
	cfg, err := app.LoadConfig(getenv, false, app.NeedNothing)
	if err != nil {
		problems = append(problems, err)
	}
	phone, err := lookup.Normalize(*number, cfg.DefaultRegion)
	if err != nil {
		problems = append(problems, fmt.Errorf("--number: %w", err))
	}
	publicURL := cfg.PublicURL
	if publicURL == "" && getenv("PUBLIC_URL") == "" {
		problems = append(problems, errors.New("PUBLIC_URL must be the service's absolute public URL, e.g. https://ivr.example.com"))
	}
	accountSID := cfg.TwilioAccountSID
	if !strings.HasPrefix(accountSID, "AC") {
		problems = append(problems, fmt.Errorf("TWILIO_ACCOUNT_SID must be an account SID (AC...), got %q", accountSID))
	}
	// An API key is preferred (revocable, no account-wide token on an operator's machine).
	user, pass := cfg.TwilioAPIKey, cfg.TwilioAPISecret
	switch {
	case user != "" || pass != "":
		if user == "" || pass == "" {
			problems = append(problems, errors.New("TWILIO_API_KEY and TWILIO_API_SECRET go together"))
		}
	case cfg.TwilioAuthToken != "":
		user, pass = accountSID, cfg.TwilioAuthToken
	default:
		problems = append(problems, errors.New("TWILIO_AUTH_TOKEN, or TWILIO_API_KEY and TWILIO_API_SECRET, are required"))
	}
	if len(problems) > 0 {
		return fmt.Errorf("twilio configure: %w", errors.Join(problems...))
	}

	tw := outbound.TwilioConfig{AccountSID: accountSID, APIURL: cfg.TwilioAPIURL, Timeout: 15 * time.Second}
	if cfg.TwilioAPIKey != "" {
		tw.APIKey, tw.APISecret = user, pass
	} else {
		tw.AuthToken = pass
	}
	rest, err := outbound.NewTwilio(tw) // every request to TWILIO_API_URL
	if err != nil {
		return fmt.Errorf("twilio configure: %w", err)
	}
	return configureNumber(rest.Api, phone, publicURL, *dryRun, stdout)
}

// numberSetting is one field of an IncomingPhoneNumber that Memberline owns.
type numberSetting struct {
	form, label string
	current     func(*api.ApiV2010IncomingPhoneNumber) *string
	want        string
}

func numberSettings(publicURL string) []numberSetting {
	return []numberSetting{
		{"VoiceUrl", "voice URL", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.VoiceUrl }, publicURL + "/twilio/voice"},
		{"VoiceMethod", "voice method", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.VoiceMethod }, http.MethodPost},
		{"VoiceFallbackUrl", "fallback URL", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.VoiceFallbackUrl }, publicURL + "/twilio/fallback"},
		{"VoiceFallbackMethod", "fallback method", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.VoiceFallbackMethod }, http.MethodPost},
		{"StatusCallback", "status callback", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.StatusCallback }, publicURL + "/twilio/status"},
		{"StatusCallbackMethod", "status callback method", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.StatusCallbackMethod }, http.MethodPost},
		// A TwiML app on the number would take precedence over the voice URL.
		{"VoiceApplicationSid", "voice application", func(n *api.ApiV2010IncomingPhoneNumber) *string { return n.VoiceApplicationSid }, ""},
	}
}

// configureNumber finds phone on the account and updates only the settings that differ.
func configureNumber(svc *api.ApiService, phone, publicURL string, dryRun bool, out io.Writer) error {
	params := &api.ListIncomingPhoneNumberParams{}
	params.SetPhoneNumber(phone)
	params.SetPageSize(20)
	found, err := svc.ListIncomingPhoneNumber(params)
	if err != nil {
		return fmt.Errorf("twilio configure: list numbers: %w", err)
	}
	var matches []api.ApiV2010IncomingPhoneNumber
	for _, n := range found {
		// The list filter matches patterns; only the exact number counts.
		if n.PhoneNumber != nil && *n.PhoneNumber == phone && n.Sid != nil {
			matches = append(matches, n)
		}
	}
	if len(matches) != 1 {
		return fmt.Errorf("twilio configure: %d numbers %s on this account, want exactly one", len(matches), phone)
	}
	num := matches[0]
	if num.TrunkSid != nil && *num.TrunkSid != "" {
		return fmt.Errorf("twilio configure: %s (%s) routes calls to SIP trunk %s, which ignores voice URLs; remove it from the trunk first", phone, *num.Sid, *num.TrunkSid)
	}

	update := &api.UpdateIncomingPhoneNumberParams{}
	setters := map[string]func(string) *api.UpdateIncomingPhoneNumberParams{
		"VoiceUrl": update.SetVoiceUrl, "VoiceMethod": update.SetVoiceMethod,
		"VoiceFallbackUrl": update.SetVoiceFallbackUrl, "VoiceFallbackMethod": update.SetVoiceFallbackMethod,
		"StatusCallback": update.SetStatusCallback, "StatusCallbackMethod": update.SetStatusCallbackMethod,
		"VoiceApplicationSid": update.SetVoiceApplicationSid,
	}
	settings := numberSettings(publicURL)
	var changes []numberSetting
	for _, s := range settings {
		if value(s.current(&num)) != s.want {
			changes = append(changes, s)
			setters[s.form](s.want)
		}
	}
	if len(changes) == 0 {
		fmt.Fprintf(out, "%s (%s) already points at %s; nothing to change\n", phone, *num.Sid, publicURL)
		return nil
	}
	verb := "changed"
	if dryRun {
		verb = "would change (dry run)"
	}
	fmt.Fprintf(out, "%s (%s): %s\n", phone, *num.Sid, verb)
	for _, s := range changes {
		fmt.Fprintf(out, "  %-23s %s → %s\n", s.label, shown(value(s.current(&num))), shown(s.want))
	}
	if dryRun {
		return nil
	}
	updated, err := svc.UpdateIncomingPhoneNumber(*num.Sid, update)
	if err != nil {
		return fmt.Errorf("twilio configure: update %s: %w", *num.Sid, err)
	}
	for _, s := range changes {
		if got := value(s.current(updated)); got != s.want {
			return fmt.Errorf("twilio configure: after the update, %s is %s, want %s", s.label, shown(got), shown(s.want))
		}
	}
	return nil
}

func value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func shown(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
