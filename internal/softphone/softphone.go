// Package softphone is the phone behind `memberline call`: it plays Twilio's side of a
// call against a running service over real HTTP, with signed webhooks, following every
// TwiML verb and reading the caller's answers from a script or a terminal.
package softphone

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The simulated call's limits. Twilio itself has no webhook cap; ours catches
// <Redirect> loops before they spin forever.
const (
	callMaxWebhooks = 50
	callHTTPTimeout = 10 * time.Second
	callMaxBody     = 1 << 20
	callAccountSID  = "AC00000000000000000000000000000000" // fake: nothing checks it
	callPrompt      = "answer (keys or words, empty for silence)> "
)

// Signer computes X-Twilio-Signature for a form posted to a full URL.
type Signer func(fullURL string, form url.Values) string

// Call is one phone call played against a running service over HTTP, as Twilio would
// play it: the signed webhooks Twilio sends, every TwiML verb followed (Say, Play,
// Gather, Redirect, Record, Dial, Enqueue, Hangup), the caller's answers from Answers, a
// transcript of what the caller hears on Out, and the completed status callback at the
// end of an answered call.
type Call struct {
	BaseURL   string // where requests go: http(s)://host:port, no trailing slash
	PublicURL string // what signatures cover, as Twilio sees the service; "" is BaseURL
	Sign      Signer
	CallSID   string // "" is a new random CA...
	From, To  string
	Stir      string     // StirVerstat on every webhook; "" sends none
	First     url.Values // extra parameters of the first webhook only
	Answers   Answers
	Out       io.Writer // the transcript
	Log       io.Writer // warnings, and with Verbose a line per request
	Verbose   bool
	// Client sends the requests; nil is one that behaves as Twilio does (10 s timeout, a
	// 3xx is an answer, not a redirect to follow with a re-signed POST).
	Client *http.Client
	// Start is the first webhook's URL as Twilio sees it; "" is PublicURL's /twilio/voice.
	// An outbound call (a callback) starts at the URL it was created with.
	Start string
	// StatusURL is where the completed status callback goes; "" is /twilio/status.
	StatusURL string
}

// Form is the form Twilio posts to a number's voice URL for a new call (CallStatus
// ringing), without the attestation (StirVerstat) or the countries only some calls carry.
// Every webhook of a call repeats it.
func Form(callSID, from, to string) url.Values {
	return url.Values{
		"CallSid":    {callSID},
		"AccountSid": {callAccountSID},
		"From":       {from},
		"Caller":     {from},
		"To":         {to},
		"Called":     {to},
		"CallStatus": {"ringing"},
		"ApiVersion": {"2010-04-01"},
		"Direction":  {"inbound"},
	}
}

// NewCallSID is a random call SID in Twilio's form.
func NewCallSID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "CA" + hex.EncodeToString(b), nil
}

// Play runs the call to its end.
func (call Call) Play(ctx context.Context) error {
	if call.CallSID == "" {
		sid, err := NewCallSID()
		if err != nil {
			return fmt.Errorf("call: CallSid: %w", err)
		}
		call.CallSID = sid
	}
	if call.PublicURL == "" {
		call.PublicURL = call.BaseURL
	}
	if call.Client == nil {
		call.Client = &http.Client{
			Timeout:       callHTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if call.Log == nil {
		call.Log = io.Discard
	}
	c := &caller{
		client: call.Client, sign: call.Sign, baseURL: call.BaseURL, publicURL: call.PublicURL, start: call.Start, statusURL: call.StatusURL,
		answers: call.Answers, out: call.Out, errOut: call.Log, verbose: call.Verbose, first: call.First,
		params: Form(call.CallSID, call.From, call.To), // CallStatus is each webhook's own
	}
	if cc := callCountry(call.From); cc != "" {
		c.params.Set("FromCountry", cc)
		c.params.Set("CallerCountry", cc)
	}
	if cc := callCountry(call.To); cc != "" {
		c.params.Set("ToCountry", cc)
		c.params.Set("CalledCountry", cc)
	}
	if call.Stir != "" {
		c.params.Set("StirVerstat", call.Stir)
	}
	fromShown := call.From
	if fromShown == "" {
		fromShown = `"" (no caller ID)`
	}
	fmt.Fprintf(c.out, "Calling %s from %s (CallSid %s)\n", call.To, fromShown, call.CallSID)
	return c.play(ctx)
}

// callCountry is the FromCountry/ToCountry Twilio would send, for the few prefixes worth
// knowing here; "" for anything else (anonymous, SIP, unknown).
func callCountry(number string) string {
	for _, p := range []struct{ prefix, cc string }{
		{"+1", "US"}, {"+44", "GB"}, {"+49", "DE"}, {"+33", "FR"}, {"+61", "AU"}, {"+52", "MX"}, {"+34", "ES"},
	} {
		if strings.HasPrefix(number, p.prefix) {
			return p.cc
		}
	}
	return ""
}

// caller is one simulated call: the parameters every webhook carries and where to send them.
type caller struct {
	client    *http.Client
	sign      Signer
	baseURL   string // where requests go
	publicURL string // what the signature covers
	params    url.Values
	answers   Answers
	out       io.Writer
	errOut    io.Writer
	verbose   bool
	webhooks  int
	first     url.Values // extra parameters of the first webhook (-flow, -version)
	// onLine is how long a person would have been on the line so far: listening to what
	// was said at a speaking pace, and answering (see listen). A scripted call takes
	// milliseconds; its status callback reports this instead, as Twilio would report
	// the call's length.
	onLine           time.Duration
	start, statusURL string
	// queue is the queue the call waits in (an <Enqueue> with a waitUrl), nil when none.
	queue *waiting
}

// waiting is a call in a queue: where its wait URL and the Enqueue's action are, and the
// figures Twilio would send (the caller moves up one place a round, 30 s a round).
type waiting struct {
	wait, action   *url.URL
	method         string
	rounds, place  int
	queueTime, avg int
}

// maxWaitRounds is how many rounds of the wait URL a simulated caller listens to before
// hanging up.
const maxWaitRounds = 6

func (w *waiting) params() url.Values {
	return url.Values{"QueuePosition": {strconv.Itoa(w.place)}, "QueueTime": {strconv.Itoa(w.queueTime)},
		"AvgQueueTime": {strconv.Itoa(w.avg)}, "CurrentQueueSize": {strconv.Itoa(w.place + 1)}}
}

// leaveQueue is the Enqueue's action with result (leave, hangup), ending the wait.
func (c *caller) leaveQueue(result string) (*hop, error) {
	q := c.queue
	c.queue = nil
	if q.action == nil {
		return nil, nil
	}
	return &hop{method: q.method, public: q.action, status: "in-progress", extra: url.Values{"QueueResult": {result},
		"QueueTime": {strconv.Itoa(q.queueTime)}}}, nil
}

// nextRound is the wait URL (to, or the Enqueue's) again, a place further and 30 s
// later, with the figures Twilio sends, or the caller hanging up after maxWaitRounds.
func (c *caller) nextRound(to *url.URL) (*hop, error) {
	q := c.queue
	q.rounds++
	if q.rounds >= maxWaitRounds {
		fmt.Fprintln(c.out, "-- still waiting: the caller hangs up")
		return c.leaveQueue("hangup")
	}
	q.queueTime += 30
	c.onLine += 30 * time.Second
	q.place = max(q.place-1, 1)
	if to == nil {
		to = q.wait
	}
	return &hop{method: http.MethodPost, public: to, status: "in-progress", extra: q.params()}, nil
}

// Speaking and answering paces for onLine: Twilio's voices say about 150 words a minute;
// a caller answers a prompt in about two seconds; a recording's length is unknown.
const (
	wordTime   = 400 * time.Millisecond
	answerTime = 2 * time.Second
	playTime   = 5 * time.Second
)

// listen adds to onLine the time v takes to hear: a Say at a speaking pace (a second at
// least), a Play, a Pause's length (1 s by default).
func (c *caller) listen(v *twimlNode) {
	switch v.name {
	case "Say":
		c.onLine += max(time.Second, time.Duration(len(strings.Fields(sayText(v))))*wordTime)
	case "Play":
		c.onLine += playTime
	case "Pause":
		n, err := strconv.Atoi(v.attr("length"))
		if err != nil || n < 0 {
			n = 1
		}
		c.onLine += time.Duration(n) * time.Second
	}
}

// hop is the next webhook: a URL as Twilio would see it (public) and the extra
// parameters the last verb adds (Digits, SpeechResult).
type hop struct {
	method string
	public *url.URL
	status string
	extra  url.Values
}

// play runs the call to its end and then posts the completed status callback.
func (c *caller) play(ctx context.Context) error {
	start := time.Now()
	firstURL := c.start
	if firstURL == "" {
		firstURL = c.publicURL + "/twilio/voice"
	}
	first, err := url.Parse(firstURL)
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	next := &hop{method: http.MethodPost, public: first, status: "ringing", extra: c.first}
	answered := false
	defer func() {
		// Twilio reports the end of every answered call, however it ended.
		if answered && ctx.Err() == nil {
			c.postStatus(ctx, max(time.Since(start), c.onLine))
		}
	}()
	for next != nil {
		doc, err := c.webhook(ctx, next, &answered)
		if err != nil {
			return err
		}
		if next, err = c.run(ctx, doc, next.public); err != nil {
			return err
		}
	}
	return nil
}

// sendURL maps a URL as Twilio sees it onto -url, so a service that writes absolute
// action URLs from PUBLIC_URL still gets its requests on the local address.
func (c *caller) sendURL(public string) string {
	if rest, ok := strings.CutPrefix(public, c.publicURL); ok && (rest == "" || rest[0] == '/' || rest[0] == '?') {
		return c.baseURL + rest
	}
	return public
}

// webhook sends one signed request and parses the TwiML it gets back.
func (c *caller) webhook(ctx context.Context, h *hop, answered *bool) (*twimlNode, error) {
	c.webhooks++
	if c.webhooks > callMaxWebhooks {
		return nil, fmt.Errorf("call: more than %d webhooks in one call (a <Redirect> loop?)", callMaxWebhooks)
	}
	form := url.Values{}
	for k, v := range c.params {
		form[k] = v
	}
	form.Set("CallStatus", h.status)
	for k, v := range h.extra {
		form[k] = v
	}

	public := *h.public
	public.Fragment = ""
	var body io.Reader
	signed := form
	switch h.method {
	case http.MethodPost:
		body = strings.NewReader(form.Encode())
	case http.MethodGet:
		// Twilio appends the parameters to the query and signs the URL alone.
		q := public.Query()
		for k, v := range form {
			q[k] = append(q[k], v...)
		}
		public.RawQuery = q.Encode()
		signed = nil
	default:
		return nil, fmt.Errorf("call: method %q is neither GET nor POST", h.method)
	}
	publicStr := public.String()
	target := c.sendURL(publicStr)
	req, err := http.NewRequestWithContext(ctx, h.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("call: %s %s: %w", h.method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (memberline call)")
	req.Header.Set("X-Twilio-Signature", c.sign(publicStr, signed))

	shown := req.URL.RequestURI()
	if h.method == http.MethodGet {
		shown = req.URL.Path
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call: %s %s: %w", h.method, shown, err)
	}
	defer resp.Body.Close()
	*answered = true
	b, err := io.ReadAll(io.LimitReader(resp.Body, callMaxBody))
	if err != nil {
		return nil, fmt.Errorf("call: %s %s: reading response: %w", h.method, shown, err)
	}
	if c.verbose {
		fmt.Fprintf(c.errOut, "%s %s -> %s (%d bytes)\n", h.method, target, resp.Status, len(b))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(c.out, "HTTP  %s %s -> %s\n", h.method, shown, resp.Status)
		if body := bytes.TrimSpace(b); len(body) > 0 {
			if len(body) > 2000 {
				body = append(body[:2000:2000], " ..."...)
			}
			fmt.Fprintf(c.out, "%s\n", body)
		}
		return nil, fmt.Errorf("call: %s %s: service answered %s", h.method, shown, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "xml") {
		fmt.Fprintf(c.errOut, "warning: %s %s: Content-Type %q is not XML; Twilio expects text/xml\n", h.method, shown, ct)
	}
	doc, err := parseTwiML(b)
	if err != nil {
		fmt.Fprintf(c.out, "HTTP  %s %s -> %s with invalid TwiML:\n%s\n", h.method, shown, resp.Status, bytes.TrimSpace(b))
		return nil, fmt.Errorf("call: %s %s: %w", h.method, shown, err)
	}
	return doc, nil
}

// postStatus sends the completed status callback; its answer only matters when it fails.
func (c *caller) postStatus(ctx context.Context, d time.Duration) {
	form := url.Values{}
	for k, v := range c.params {
		form[k] = v
	}
	form.Set("CallStatus", "completed")
	form.Set("CallDuration", strconv.Itoa(int(d.Round(time.Second)/time.Second)))
	form.Set("CallbackSource", "call-progress-events")
	form.Set("Timestamp", time.Now().UTC().Format(time.RFC1123Z))
	path := "/twilio/status"
	if c.statusURL != "" {
		path = strings.TrimPrefix(c.statusURL, c.publicURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, strings.NewReader(form.Encode()))
	if err != nil {
		fmt.Fprintf(c.errOut, "status callback: %v\n", err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1 (memberline call)")
	req.Header.Set("X-Twilio-Signature", c.sign(c.publicURL+path, form))
	resp, err := c.client.Do(req)
	if err != nil {
		fmt.Fprintf(c.errOut, "status callback: %v\n", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if c.verbose {
		fmt.Fprintf(c.errOut, "POST %s -> %s\n", req.URL, resp.Status)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(c.errOut, "status callback: POST %s -> %s %s\n", path, resp.Status, bytes.TrimSpace(b))
	}
}

// run plays one TwiML document and returns the next webhook, or nil when the call is over.
func (c *caller) run(ctx context.Context, doc *twimlNode, cur *url.URL) (*hop, error) {
	for _, v := range doc.elems() {
		switch v.name {
		case "Say", "Play", "Pause":
			c.show(v)
			c.listen(v)
		case "Gather":
			for _, k := range v.elems() {
				c.show(k)
				c.listen(k)
			}
			fmt.Fprint(c.out, "KEYS? "+callPrompt)
			ans, ok, err := c.answers.Next(ctx, c.out)
			if err != nil {
				return nil, fmt.Errorf("call: reading answer: %w", err)
			}
			if !ok {
				fmt.Fprintln(c.out, "-- no more input: caller hangs up")
				if c.queue != nil {
					return c.leaveQueue("hangup")
				}
				return nil, nil
			}
			extra, note := gatherParams(ans, v)
			if len(extra) == 0 { // silence: the caller waits out the timeout
				timeout, err := strconv.Atoi(v.attr("timeout"))
				if err != nil || timeout < 0 {
					timeout = 5
				}
				c.onLine += time.Duration(timeout) * time.Second
			} else {
				c.onLine += answerTime
			}
			if note != "" {
				fmt.Fprintf(c.out, "NOTE  %s\n", note)
			}
			if len(extra) == 0 {
				if v.attr("actionOnEmptyResult") != "true" {
					// What Twilio does on a timeout: carry on after <Gather>.
					fmt.Fprintln(c.out, "SENT  nothing (timeout): continuing after <Gather>")
					continue
				}
				fmt.Fprintln(c.out, "SENT  nothing (timeout)")
			} else {
				fmt.Fprintf(c.out, "SENT  %s\n", describeParams(extra))
			}
			return c.next(cur, v.attr("action"), v.attr("method"), extra)
		case "Redirect":
			ref := strings.TrimSpace(v.text())
			if ref == "" {
				return nil, errors.New("call: <Redirect> without a URL")
			}
			fmt.Fprintf(c.out, "GOTO  %s\n", ref)
			h, err := c.next(cur, ref, v.attr("method"), nil)
			if err == nil && c.queue != nil && h.public.Path == c.queue.wait.Path {
				return c.nextRound(h.public) // still waiting: Twilio sends the queue's figures again
			}
			return h, err
		case "Enqueue":
			c.showEnqueue(v)
			if wait := v.attr("waitUrl"); wait != "" && c.queue == nil {
				w, err := cur.Parse(wait)
				if err != nil {
					return nil, fmt.Errorf("call: bad waitUrl %q: %w", wait, err)
				}
				q := &waiting{wait: w, place: 3, avg: 300, method: strings.ToUpper(v.attr("method"))}
				if a := v.attr("action"); a != "" {
					if q.action, err = cur.Parse(a); err != nil {
						return nil, fmt.Errorf("call: bad Enqueue action %q: %w", a, err)
					}
				}
				if q.method == "" {
					q.method = http.MethodPost
				}
				c.queue = q
				fmt.Fprintln(c.out, "-- in the queue: what the caller hears while waiting")
				return &hop{method: http.MethodPost, public: w, status: "in-progress", extra: q.params()}, nil
			}
			fmt.Fprintln(c.out, "-- call handed off")
			return nil, nil
		case "Leave":
			if c.queue == nil {
				fmt.Fprintln(c.out, "????  <Leave> outside a queue; skipped")
				continue
			}
			fmt.Fprintln(c.out, "LEAVE the queue")
			return c.leaveQueue("leave")
		case "Dial":
			c.showDial(v)
			fmt.Fprintln(c.out, "-- call handed off")
			return nil, nil
		case "Hangup":
			fmt.Fprintln(c.out, "-- call ended")
			return nil, nil
		case "Reject":
			reason := v.attr("reason")
			if reason == "" {
				reason = "rejected"
			}
			fmt.Fprintf(c.out, "-- call rejected (%s)\n", reason)
			return nil, nil
		default:
			fmt.Fprintf(c.out, "????  <%s> is not simulated; skipped\n", v.name)
		}
	}
	if c.queue != nil && cur.Path == c.queue.wait.Path {
		// A wait URL's TwiML ended: Twilio asks it again while the caller waits.
		return c.nextRound(nil)
	}
	fmt.Fprintln(c.out, "-- call ended")
	return nil, nil
}

// next resolves a verb's URL against the current document's URL, as Twilio does; an
// empty ref means the current document.
func (c *caller) next(cur *url.URL, ref, method string, extra url.Values) (*hop, error) {
	u := cur
	if ref = strings.TrimSpace(ref); ref != "" {
		var err error
		if u, err = cur.Parse(ref); err != nil {
			return nil, fmt.Errorf("call: bad URL %q: %w", ref, err)
		}
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		method = http.MethodPost
	}
	return &hop{method: method, public: u, status: "in-progress", extra: extra}, nil
}

// gatherParams turns a typed answer into what Twilio would post for this <Gather>.
func gatherParams(ans string, g *twimlNode) (url.Values, string) {
	ans = strings.TrimSpace(ans)
	input := g.attr("input")
	if input == "" {
		input = "dtmf"
	}
	dtmf, speech := strings.Contains(input, "dtmf"), strings.Contains(input, "speech")
	if ans == "" {
		return nil, ""
	}
	if strings.Trim(ans, "0123456789*#") == "" {
		finish, ok := g.attrOK("finishOnKey")
		if !ok {
			finish = "#"
		}
		if dtmf {
			if finish != "" {
				// Twilio stops at the finish key and does not report it.
				if i := strings.Index(ans, finish); i >= 0 {
					ans = ans[:i]
				}
			}
			if ans == "" {
				return nil, ""
			}
			return url.Values{"Digits": {ans}}, ""
		}
		if !speech {
			return nil, fmt.Sprintf("<Gather input=%q> ignores keys", input)
		}
	}
	if !speech {
		return nil, fmt.Sprintf("<Gather input=%q> ignores speech", input)
	}
	return url.Values{"SpeechResult": {ans}, "Confidence": {"0.9"}}, ""
}
