package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/memberline/memberline/ivr"
)

const (
	callTestToken = "test-auth-token"
	callTestSID   = "CA0123456789abcdef0123456789abcdef"
)

// callRequest is one webhook the fake service received.
type callRequest struct {
	method string
	path   string
	query  url.Values
	form   url.Values // POST body, or the query for GET
}

// callRoute answers one webhook with a status and TwiML.
type callRoute func(t *testing.T, r callRequest) (int, string)

func twiml(verbs string) callRoute {
	return func(*testing.T, callRequest) (int, string) {
		return http.StatusOK, `<?xml version="1.0" encoding="UTF-8"?><Response>` + verbs + `</Response>`
	}
}

// fakeService is a Memberline stand-in that checks every signature the way Twilio's
// are checked: over the public URL, path and query, plus the sorted POST parameters.
type fakeService struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []callRequest
}

func newFakeService(t *testing.T, public string, routes map[string]callRoute) *fakeService {
	t.Helper()
	fs := &fakeService{}
	fs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("%s %s: parse form: %v", r.Method, r.URL, err)
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		base := public
		if base == "" {
			base = fs.URL
		}
		var signed url.Values
		form := r.PostForm
		if r.Method == http.MethodPost {
			signed = r.PostForm
		} else {
			form = r.URL.Query()
		}
		want := ivr.Sign(callTestToken, base+r.URL.RequestURI(), signed)
		if got := r.Header.Get("X-Twilio-Signature"); got != want {
			t.Errorf("%s %s: X-Twilio-Signature = %q, want %q", r.Method, r.URL.RequestURI(), got, want)
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		req := callRequest{method: r.Method, path: r.URL.Path, query: r.URL.Query(), form: form}
		fs.mu.Lock()
		fs.reqs = append(fs.reqs, req)
		fs.mu.Unlock()
		route, ok := routes[r.URL.Path]
		if !ok && r.URL.Path == "/twilio/status" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if !ok {
			t.Errorf("unexpected %s %s", r.Method, r.URL.RequestURI())
			http.NotFound(w, r)
			return
		}
		status, body := route(t, req)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(fs.Close)
	return fs
}

func (fs *fakeService) requests() []callRequest {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]callRequest(nil), fs.reqs...)
}

func (fs *fakeService) paths() []string {
	var out []string
	for _, r := range fs.requests() {
		out = append(out, r.method+" "+r.path)
	}
	return out
}

func TestRunCall(t *testing.T) {
	const header = "Calling +18005550100 from +14045550123 (CallSid " + callTestSID + ")\n"
	const prompt = "KEYS? answer (keys or words, empty for silence)> "

	tests := []struct {
		name       string
		args       []string // after -url and -sid
		public     string   // base URL the service signs against; "" means its own URL
		noToken    bool
		stdin      string
		routes     map[string]callRoute
		want       string // the whole transcript on stdout
		wantErr    string
		wantStderr string
		check      func(t *testing.T, fs *fakeService)
	}{
		{
			name: "keys then enqueue with task",
			args: []string{"-input", "1", "+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Say voice="Polly.Joanna">Welcome back, Dana. Your code is <say-as interpret-as="characters">HX7Q2P</say-as>.</Say>` +
					`<Gather input="dtmf speech" action="/twilio/gather?s=abc" method="POST" numDigits="1"><Say>Press 1 for your class<break time="300ms"/>or 2 for anything else.</Say></Gather>`),
				"/twilio/gather": func(t *testing.T, r callRequest) (int, string) {
					if got := r.form.Get("Digits"); got != "1" {
						t.Errorf("gather: Digits = %q, want 1", got)
					}
					if got := r.form.Get("SpeechResult"); got != "" {
						t.Errorf("gather: SpeechResult = %q, want none", got)
					}
					if got := r.query.Get("s"); got != "abc" {
						t.Errorf("gather: query s = %q, want abc", got)
					}
					return twiml(`<Say>Connecting you.</Say><Enqueue workflowSid="WW0123"><Task priority="5" timeout="120">{"member_id":"m_42","name":"Dana","activity":{"kind":"class","starts":"2025-01-01T10:00:00-05:00"},"vip":true}</Task></Enqueue>`)(t, r)
				},
			},
			want: header +
				"SAY   Welcome back, Dana. Your code is HX7Q2P.\n" +
				"SAY   Press 1 for your class or 2 for anything else.\n" +
				prompt + "1\n" +
				"SENT  Digits=1\n" +
				"SAY   Connecting you.\n" +
				"QUEUE workflowSid=WW0123\n" +
				"TASK  priority=5\n" +
				"TASK  timeout=120\n" +
				"TASK  activity.kind=class\n" +
				"TASK  activity.starts=2025-01-01T10:00:00-05:00\n" +
				"TASK  member_id=m_42\n" +
				"TASK  name=Dana\n" +
				"TASK  vip=true\n" +
				"-- call handed off\n",
			check: func(t *testing.T, fs *fakeService) {
				reqs := fs.requests()
				if got, want := strings.Join(fs.paths(), ", "), "POST /twilio/voice, POST /twilio/gather, POST /twilio/status"; got != want {
					t.Fatalf("requests = %s, want %s", got, want)
				}
				voice := reqs[0].form
				for k, want := range map[string]string{
					"CallSid": callTestSID, "From": "+14045550123", "Caller": "+14045550123", "To": "+18005550100",
					"CallStatus": "ringing", "ApiVersion": "2010-04-01", "Direction": "inbound",
					"FromCountry": "US", "StirVerstat": "TN-Validation-Passed-A",
				} {
					if got := voice.Get(k); got != want {
						t.Errorf("voice: %s = %q, want %q", k, got, want)
					}
				}
				if got := voice.Get("AccountSid"); !strings.HasPrefix(got, "AC") || len(got) != 34 {
					t.Errorf("voice: AccountSid = %q, want AC + 32 characters", got)
				}
				if got := reqs[1].form.Get("CallStatus"); got != "in-progress" {
					t.Errorf("gather: CallStatus = %q, want in-progress", got)
				}
				status := reqs[2].form
				if got := status.Get("CallStatus"); got != "completed" {
					t.Errorf("status: CallStatus = %q, want completed", got)
				}
				if _, err := strconv.Atoi(status.Get("CallDuration")); err != nil {
					t.Errorf("status: CallDuration = %q, want whole seconds", status.Get("CallDuration"))
				}
			},
		},
		{
			name: "spoken answer is SpeechResult",
			args: []string{"-input", "yes please", "+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Gather input="speech" action="/twilio/gather"><Say language="es-MX">¿Viene a su clase?</Say></Gather>`),
				"/twilio/gather": func(t *testing.T, r callRequest) (int, string) {
					if got := r.form.Get("SpeechResult"); got != "yes please" {
						t.Errorf("gather: SpeechResult = %q, want %q", got, "yes please")
					}
					if got := r.form.Get("Confidence"); got != "0.9" {
						t.Errorf("gather: Confidence = %q, want 0.9", got)
					}
					if r.form.Has("Digits") {
						t.Errorf("gather: Digits = %q, want none", r.form.Get("Digits"))
					}
					return twiml(`<Say>See you there.</Say><Hangup/>`)(t, r)
				},
			},
			want: header +
				"SAY   [es-MX] ¿Viene a su clase?\n" +
				prompt + "yes please\n" +
				`SENT  SpeechResult="yes please" Confidence=0.9` + "\n" +
				"SAY   See you there.\n" +
				"-- call ended\n",
		},
		{
			name: "dial client with parameters and sip headers",
			args: []string{"-input", "", "+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Say>One moment.</Say><Pause length="2"/><Dial timeout="20">` +
					`<Client><Identity>agents</Identity><Parameter name="member_id" value="m_42"/><Parameter name="first_name" value="Dana"/></Client>` +
					`<Sip>sip:desk@agents.example.com?X-Member-Id=m_42&amp;X-Reason=class%20booking</Sip>` +
					`<Number>+14155550100</Number></Dial>`),
			},
			want: header +
				"SAY   One moment.\n" +
				"PAUSE 2s\n" +
				"DIAL  client agents\n" +
				"PARAM member_id=m_42\n" +
				"PARAM first_name=Dana\n" +
				"DIAL  sip sip:desk@agents.example.com\n" +
				"HDR   X-Member-Id=m_42\n" +
				"HDR   X-Reason=class booking\n" +
				"DIAL  number +14155550100\n" +
				"-- call handed off\n",
		},
		{
			name: "hangup ends the call",
			args: []string{"+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Play>https://cdn.example.com/chime.mp3</Play><Say>Goodbye.</Say><Hangup/><Say>never heard</Say>`),
			},
			want: header +
				"PLAY  https://cdn.example.com/chime.mp3\n" +
				"SAY   Goodbye.\n" +
				"-- call ended\n",
			check: func(t *testing.T, fs *fakeService) {
				if got, want := strings.Join(fs.paths(), ", "), "POST /twilio/voice, POST /twilio/status"; got != want {
					t.Errorf("requests = %s, want %s", got, want)
				}
			},
		},
		{
			name:  "answers from stdin",
			args:  []string{"+14045550123"},
			stdin: "2#\n",
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Gather action="/twilio/gather"><Say>Press a key.</Say></Gather>`),
				"/twilio/gather": func(t *testing.T, r callRequest) (int, string) {
					if got := r.form.Get("Digits"); got != "2" {
						t.Errorf("gather: Digits = %q, want 2 (finish key dropped)", got)
					}
					return twiml(`<Say>Thanks.</Say>`)(t, r)
				},
			},
			want: header +
				"SAY   Press a key.\n" +
				prompt + "2#\n" +
				"SENT  Digits=2\n" +
				"SAY   Thanks.\n" +
				"-- call ended\n",
		},
		{
			name: "silence moves past the gather",
			args: []string{"-input", "", "+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Gather action="/twilio/gather"><Say>Press a key.</Say></Gather><Say>We did not hear anything.</Say>`),
			},
			want: header +
				"SAY   Press a key.\n" +
				prompt + "\n" +
				"SENT  nothing (timeout): continuing after <Gather>\n" +
				"SAY   We did not hear anything.\n" +
				"-- call ended\n",
		},
		{
			name: "script runs out and the caller hangs up",
			args: []string{"-input", "1", "+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice":  twiml(`<Gather action="/twilio/gather"><Say>First?</Say></Gather>`),
				"/twilio/gather": twiml(`<Gather action="/twilio/gather"><Say>Second?</Say></Gather>`),
			},
			want: header +
				"SAY   First?\n" +
				prompt + "1\n" +
				"SENT  Digits=1\n" +
				"SAY   Second?\n" +
				prompt + "\n" +
				"-- no more input: caller hangs up\n",
		},
		{
			name:   "signs against the public URL and follows absolute actions locally",
			args:   []string{"-public-url", "https://ivr.example.com/", "-input", "3", "+14045550123"},
			public: "https://ivr.example.com",
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Redirect>https://ivr.example.com/twilio/menu?step=2</Redirect>`),
				"/twilio/menu":  twiml(`<Gather action="gather" method="GET"><Say>Pick one.</Say></Gather>`),
				"/twilio/gather": func(t *testing.T, r callRequest) (int, string) {
					if r.method != http.MethodGet {
						t.Errorf("gather: method %s, want GET", r.method)
					}
					if got := r.form.Get("Digits"); got != "3" {
						t.Errorf("gather: Digits = %q, want 3", got)
					}
					return twiml(`<Reject reason="busy"/>`)(t, r)
				},
			},
			want: header +
				"GOTO  https://ivr.example.com/twilio/menu?step=2\n" +
				"SAY   Pick one.\n" +
				prompt + "3\n" +
				"SENT  Digits=3\n" +
				"-- call rejected (busy)\n",
			check: func(t *testing.T, fs *fakeService) {
				if got, want := strings.Join(fs.paths(), ", "), "POST /twilio/voice, POST /twilio/menu, GET /twilio/gather, POST /twilio/status"; got != want {
					t.Errorf("requests = %s, want %s", got, want)
				}
			},
		},
		{
			name: "anonymous caller without STIR",
			args: []string{"-stir", "", "-input", "", "anonymous"},
			routes: map[string]callRoute{
				"/twilio/voice": func(t *testing.T, r callRequest) (int, string) {
					if got := r.form.Get("From"); got != "anonymous" {
						t.Errorf("voice: From = %q, want anonymous", got)
					}
					for _, k := range []string{"FromCountry", "StirVerstat"} {
						if r.form.Has(k) {
							t.Errorf("voice: %s = %q, want none", k, r.form.Get(k))
						}
					}
					return twiml(`<Say>Hello, caller.</Say>`)(t, r)
				},
			},
			want: "Calling +18005550100 from anonymous (CallSid " + callTestSID + ")\n" +
				"SAY   Hello, caller.\n" +
				"-- call ended\n",
		},
		{
			name: "failed status callback is reported on stderr",
			args: []string{"+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice":  twiml(`<Hangup/>`),
				"/twilio/status": func(*testing.T, callRequest) (int, string) { return http.StatusInternalServerError, "nope" },
			},
			want:       header + "-- call ended\n",
			wantStderr: "status callback: POST /twilio/status -> 500 Internal Server Error nope",
		},
		{
			name:    "missing auth token",
			args:    []string{"+14045550123"},
			noToken: true,
			wantErr: "TWILIO_AUTH_TOKEN",
			check: func(t *testing.T, fs *fakeService) {
				if n := len(fs.requests()); n != 0 {
					t.Errorf("%d requests sent without a token, want 0", n)
				}
			},
		},
		{
			name:    "missing FROM",
			args:    []string{"-input", "1"},
			wantErr: "FROM",
		},
		{
			name: "service error",
			args: []string{"+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": func(*testing.T, callRequest) (int, string) { return http.StatusInternalServerError, "boom" },
			},
			want: header +
				"HTTP  POST /twilio/voice -> 500 Internal Server Error\n" +
				"boom\n",
			wantErr: "500 Internal Server Error",
		},
		{
			name: "invalid TwiML",
			args: []string{"+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": func(*testing.T, callRequest) (int, string) { return http.StatusOK, "<Say>no response</Say>" },
			},
			want: header +
				"HTTP  POST /twilio/voice -> 200 OK with invalid TwiML:\n" +
				"<Say>no response</Say>\n",
			wantErr: "invalid TwiML",
		},
		{
			name: "webhook cap stops redirect loops",
			args: []string{"+14045550123"},
			routes: map[string]callRoute{
				"/twilio/voice": twiml(`<Redirect method="POST">/twilio/voice</Redirect>`),
			},
			wantErr: "more than 50 webhooks",
			check: func(t *testing.T, fs *fakeService) {
				voice := 0
				for _, r := range fs.requests() {
					if r.path == "/twilio/voice" {
						voice++
					}
				}
				if voice != 50 {
					t.Errorf("%d voice webhooks, want 50", voice)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeService(t, tt.public, tt.routes)
			env := map[string]string{"TWILIO_AUTH_TOKEN": callTestToken}
			if tt.noToken {
				delete(env, "TWILIO_AUTH_TOKEN")
			}
			args := append([]string{"-url", fs.URL, "-sid", callTestSID}, tt.args...)
			var stdout, stderr strings.Builder
			err := runCall(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(tt.stdin), &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("runCall: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("runCall error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.want != "" && stdout.String() != tt.want {
				t.Errorf("transcript:\n%s\nwant:\n%s", stdout.String(), tt.want)
			}
			if tt.wantStderr != "" && !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
			if tt.check != nil {
				tt.check(t, fs)
			}
		})
	}
}
