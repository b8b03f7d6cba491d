package outbound

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// TwilioConfig is how the service reaches Twilio's REST API: an account, an API key
// (preferred) or the auth token, and the API's base URL.
type TwilioConfig struct {
	AccountSID        string
	APIKey, APISecret string
	AuthToken         string
	APIURL            string // DefaultTwilioAPIURL when empty; tests and proxies point it elsewhere
	CallerID          string // the line's number: From of callbacks
	Timeout           time.Duration
}

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// DefaultTwilioAPIURL is Twilio's REST base.
const DefaultTwilioAPIURL = "https://api.twilio.com"

// Ready reports whether the configuration can place calls: an account, credentials and a
// caller ID.
func (c TwilioConfig) Ready() bool {
	return strings.HasPrefix(c.AccountSID, "AC") && c.CallerID != "" &&
		((c.APIKey != "" && c.APISecret != "") || c.AuthToken != "")
}

// NewTwilio is twilio-go's REST client for c. twilio-go has no base-URL setting: its
// http.Client's Transport sends every request to c.APIURL instead of Twilio's hosts
// (keeping the path), so that tests and proxies receive all of them.
func NewTwilio(c TwilioConfig) (*twilio.RestClient, error) {
	if !strings.HasPrefix(c.AccountSID, "AC") {
		return nil, errors.New("TWILIO_ACCOUNT_SID must be an account SID (AC...)")
	}
	user, pass := c.APIKey, c.APISecret
	if user == "" {
		user, pass = c.AccountSID, c.AuthToken
	}
	if user == "" || pass == "" {
		return nil, errors.New("TWILIO_API_KEY and TWILIO_API_SECRET, or TWILIO_AUTH_TOKEN, are required")
	}
	// twilio-go refuses every request whose credentials are not letters and digits
	// (Twilio's are): say so at start rather than at the first callback.
	if !alnum.MatchString(user) || !alnum.MatchString(pass) {
		return nil, errors.New("the Twilio API key and secret (or account SID and auth token) are letters and digits only")
	}
	base := c.APIURL
	if base == "" {
		base = DefaultTwilioAPIURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("TWILIO_API_URL must be an absolute http(s) URL")
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	cl := &twclient.Client{
		Credentials: twclient.NewCredentials(user, pass),
		HTTPClient: &http.Client{
			Transport: rebase{base: u, next: http.DefaultTransport},
			Timeout:   timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	cl.SetAccountSid(c.AccountSID)
	return twilio.NewRestClientWithParams(twilio.ClientParams{Client: cl}), nil
}

// rebase sends requests to base's scheme and host, base's path before theirs.
type rebase struct {
	base *url.URL
	next http.RoundTripper
}

func (t rebase) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host = t.base.Scheme, t.base.Host
	r.URL.Path = strings.TrimSuffix(t.base.Path, "/") + req.URL.Path
	r.URL.RawPath = ""
	r.Host = t.base.Host
	return t.next.RoundTrip(r)
}

// TwilioErrorCode is the Twilio error code of a REST error (21211: an invalid number),
// and its HTTP status; 0, 0 for anything else (a timeout, no answer).
func TwilioErrorCode(err error) (code, status int) {
	var te *twclient.TwilioRestError
	if errors.As(err, &te) {
		return te.Code, te.Status
	}
	return 0, 0
}

// TwilioDialer dials callbacks with twilio-go's CreateCall: from the line's number, with
// answering-machine detection, to the answer and status webhooks URLs gives.
type TwilioDialer struct {
	REST *twilio.RestClient
	From string
	URLs func(c Callback) (answer, status string)
}

// Dial places the call of c's try.
func (t TwilioDialer) Dial(_ context.Context, c Callback) (string, error) {
	answer, status := t.URLs(c)
	p := &api.CreateCallParams{}
	p.SetTo(c.Number).SetFrom(t.From).SetUrl(answer).SetMethod(http.MethodPost).
		SetStatusCallback(status).SetStatusCallbackMethod(http.MethodPost).SetMachineDetection("Enable")
	call, err := t.REST.Api.CreateCall(p)
	if err != nil {
		return "", err
	}
	if call == nil || call.Sid == nil {
		return "", errors.New("twilio: the new call has no SID")
	}
	return *call.Sid, nil
}
