package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeTwilio is a small stand-in for Twilio's REST API: the IncomingPhoneNumbers list and
// update of one account, with basic auth, recording every form posted.
type fakeTwilio struct {
	t                   *testing.T
	account, user, pass string

	mu      sync.Mutex
	numbers []map[string]string // JSON fields of each number
	posted  []url.Values
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.pass {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 20003, "message": "Authenticate", "status": 401})
		return
	}
	prefix := "/2010-04-01/Accounts/" + f.account + "/IncomingPhoneNumbers"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == prefix+".json":
		want := r.URL.Query().Get("PhoneNumber")
		list := []map[string]string{}
		for _, n := range f.numbers {
			// Twilio's filter matches substrings; the command must pick the exact one.
			if strings.Contains(n["phone_number"], want) {
				list = append(list, n)
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"incoming_phone_numbers": list, "page": 0, "page_size": 20, "start": 0, "end": len(list) - 1})
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, prefix+"/"):
		sid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix+"/"), ".json")
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("fake twilio: %v", err)
		}
		f.posted = append(f.posted, r.PostForm)
		for _, n := range f.numbers {
			if n["sid"] != sid {
				continue
			}
			fields := map[string]string{"VoiceUrl": "voice_url", "VoiceMethod": "voice_method", "VoiceFallbackUrl": "voice_fallback_url",
				"VoiceFallbackMethod": "voice_fallback_method", "StatusCallback": "status_callback",
				"StatusCallbackMethod": "status_callback_method", "VoiceApplicationSid": "voice_application_sid"}
			for k, v := range r.PostForm {
				field, ok := fields[k]
				if !ok {
					f.t.Errorf("fake twilio: unexpected parameter %s", k)
				}
				n[field] = v[0]
			}
			_ = json.NewEncoder(w).Encode(n)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 20404, "message": "not found", "status": 404})
	default:
		f.t.Errorf("fake twilio: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
	}
}

// redirect sends every request, whatever its host, to the fake.
func TestTwilioConfigure(t *testing.T) {
	const account = "AC00000000000000000000000000000001"
	old := func() map[string]string {
		return map[string]string{
			"sid": "PN0000000000000000000000000000000a", "account_sid": account, "phone_number": "+14045550100",
			"voice_url": "https://demo.twilio.com/welcome/voice/", "voice_method": "GET",
			"voice_fallback_url": "", "voice_fallback_method": "POST",
			"status_callback": "", "status_callback_method": "POST", "voice_application_sid": "",
		}
	}
	configured := func() map[string]string {
		n := old()
		n["voice_url"], n["voice_method"] = "https://ivr.example.com/twilio/voice", "POST"
		n["voice_fallback_url"] = "https://ivr.example.com/twilio/fallback"
		n["status_callback"] = "https://ivr.example.com/twilio/status"
		return n
	}
	// A longer number containing the one asked for: the substring filter returns it too.
	decoy := map[string]string{"sid": "PN0000000000000000000000000000000b", "phone_number": "+144045550100", "voice_url": "https://other.example.com"}
	authEnv := map[string]string{"TWILIO_ACCOUNT_SID": account, "TWILIO_AUTH_TOKEN": "secrettoken0123", "PUBLIC_URL": "https://ivr.example.com/"}
	keyEnv := map[string]string{"TWILIO_ACCOUNT_SID": account, "TWILIO_API_KEY": "SK0123", "TWILIO_API_SECRET": "keysecret0123", "PUBLIC_URL": "https://ivr.example.com"}

	for _, tc := range []struct {
		name       string
		env        map[string]string
		user, pass string
		numbers    []map[string]string
		args       []string
		wantPosted []url.Values
		wantOut    []string
		wantErr    string
	}{
		{
			name: "points a fresh number at the service", env: authEnv, user: account, pass: "secrettoken0123",
			numbers: []map[string]string{old(), decoy}, args: []string{"--number", "+1 (404) 555-0100"},
			wantPosted: []url.Values{{
				"VoiceUrl": {"https://ivr.example.com/twilio/voice"}, "VoiceMethod": {"POST"},
				"VoiceFallbackUrl": {"https://ivr.example.com/twilio/fallback"},
				"StatusCallback":   {"https://ivr.example.com/twilio/status"},
			}},
			wantOut: []string{
				"+14045550100 (PN0000000000000000000000000000000a): changed",
				"voice URL               https://demo.twilio.com/welcome/voice/ → https://ivr.example.com/twilio/voice",
				"voice method            GET → POST",
				"fallback URL            (none) → https://ivr.example.com/twilio/fallback",
				"status callback         (none) → https://ivr.example.com/twilio/status",
			},
		},
		{
			name: "API key, and a TwiML app taking precedence is removed", env: keyEnv, user: "SK0123", pass: "keysecret0123",
			numbers: []map[string]string{func() map[string]string {
				n := configured()
				n["voice_application_sid"] = "AP0123"
				n["status_callback_method"] = "GET"
				return n
			}()},
			args: []string{"--number", "+14045550100"},
			wantPosted: []url.Values{{
				"StatusCallbackMethod": {"POST"}, "VoiceApplicationSid": {""},
			}},
			wantOut: []string{"status callback method  GET → POST", "voice application       AP0123 → (none)"},
		},
		{
			name: "nothing to change", env: authEnv, user: account, pass: "secrettoken0123",
			numbers: []map[string]string{configured()}, args: []string{"--number", "+14045550100"},
			wantOut: []string{"already points at https://ivr.example.com; nothing to change"},
		},
		{
			name: "dry run prints the plan and posts nothing", env: authEnv, user: account, pass: "secrettoken0123",
			numbers: []map[string]string{old()}, args: []string{"--number", "+14045550100", "--dry-run"},
			wantOut: []string{"would change (dry run)", "voice method            GET → POST"},
		},
		{
			name: "number not on the account", env: authEnv, user: account, pass: "secrettoken0123",
			numbers: []map[string]string{decoy}, args: []string{"--number", "+14045550100"},
			wantErr: "0 numbers +14045550100 on this account",
		},
		{
			name: "number on a SIP trunk", env: authEnv, user: account, pass: "secrettoken0123",
			numbers: []map[string]string{func() map[string]string { n := old(); n["trunk_sid"] = "TK01"; return n }()},
			args:    []string{"--number", "+14045550100"}, wantErr: "SIP trunk TK01",
		},
		{
			name: "wrong credentials surface Twilio's error", env: authEnv, user: account, pass: "anothertoken0123",
			numbers: []map[string]string{old()}, args: []string{"--number", "+14045550100"}, wantErr: "20003",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := &fakeTwilio{t: t, account: account, user: tc.user, pass: tc.pass, numbers: tc.numbers}
			srv := httptest.NewServer(fake)
			defer srv.Close()
			tc.env["TWILIO_API_URL"] = srv.URL

			var out, errOut bytes.Buffer
			err := run(context.Background(), append([]string{"twilio", "configure"}, tc.args...), envOf(tc.env), strings.NewReader(""), &out, &errOut)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one mentioning %q\n%s", err, tc.wantErr, out.String())
				}
			} else if err != nil {
				t.Fatalf("configure: %v\n%s%s", err, out.String(), errOut.String())
			}
			t.Log("\n" + out.String())
			for _, w := range tc.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			fake.mu.Lock()
			defer fake.mu.Unlock()
			if len(fake.posted) != len(tc.wantPosted) {
				t.Fatalf("posted %d updates %v, want %d", len(fake.posted), fake.posted, len(tc.wantPosted))
			}
			for i, want := range tc.wantPosted {
				if got := fake.posted[i]; got.Encode() != want.Encode() {
					t.Errorf("update %d posted\n  %s\nwant\n  %s", i, got.Encode(), want.Encode())
				}
			}
		})
	}
	t.Run("configuration problems all named", func(t *testing.T) {
		err := run(context.Background(), []string{"twilio", "configure", "--number", "x"}, envOf(map[string]string{"TWILIO_API_KEY": "SK1"}),
			strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
		for _, p := range []string{"--number", "PUBLIC_URL", "TWILIO_ACCOUNT_SID", "TWILIO_API_SECRET"} {
			if err == nil || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v does not name %s", err, p)
			}
		}
	})
}
