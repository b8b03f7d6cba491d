package ivr

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The vectors of the project's shared twilio/signature-vectors.md, from the official
// helper libraries' test suites. Auth token 12345.
const (
	vecToken = "12345"
	vecURL   = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vecP5    = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212"
	vecP7    = vecP5 + "&ReasonConferenceEnded=test&Reason=Participant"
	vecJSON  = `{"property": "value", "boolean": true}`
	vecHash  = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	formType = "application/x-www-form-urlencoded"
	jsonType = "application/json"
)

// Shared-key vectors (Twilio's Webhooks configuration): computed with twilio-node 6.3.1's
// getExpectedTwilioSignature(secret, url, params, "HMAC_SHA256") (and "HMAC_SHA1" for the
// last form row), whose validateRequest also accepts the URL with and without the default
// port. P5 and the JSON body are the table's.
var vecSharedKeys = map[string]string{
	"webhooks_sharedkey_one": "shared-key-secret-one",
	"webhooks_sharedkey_two": "shared-key-secret-two",
}

func TestSharedKeyVectors(t *testing.T) {
	one := "key=webhooks_sharedkey_one,algorithm=HMAC_SHA256"
	two := "key=webhooks_sharedkey_two,algorithm=HMAC_SHA256"
	const (
		s1 = "fp4EXfYP1vXnExAtGl9LB2P44Jqtlqx7Bwdx2Wvy3ic=" // U, P5, key one
		s2 = "ISxQAX19UgHN+6eUyeTI60+1kUWh/i5m+jda3mDyYpE=" // U, P5, key two
		s3 = "1bGIrH3f7v1Hrf0Aylj/hEA8VdM2p42OOdof8ML6mTk=" // U with :443, P5, key one
		s4 = "P3m6Zks990/TnDXyWmBsBE32X8A="                 // U, P5, key one, HMAC_SHA1
		s5 = "zzfVpkDFGxsvYLAWfr/wQdHf0VHL99lxfFSVIOOAN3M=" // U + bodySHA256, JSON body, key one
	)
	u443 := "https://mycompany.com:443/myapp.php?foo=1&bar=2"
	v := NewValidatorWithKeys(vecToken, vecSharedKeys)
	tests := []struct {
		name, settings, url, contentType, body, signature string
		want                                              bool
	}{
		{"S1 key one", one, vecURL, formType, vecP5, s1, true},
		{"S2 key two, during a rotation", two, vecURL, formType, vecP5, s2, true},
		{"S1 with :443 added", one, u443, formType, vecP5, s1, true},
		{"S3 signed with :443, sent without", one, vecURL, formType, vecP5, s3, true},
		{"S4 key one, HMAC-SHA1", "key=webhooks_sharedkey_one,algorithm=HMAC_SHA1", vecURL, formType, vecP5, s4, true},
		{"S4 key one, no algorithm is HMAC-SHA1", "key=webhooks_sharedkey_one", vecURL, formType, vecP5, s4, true},
		{"S5 JSON body", one, vecURL + "&bodySHA256=" + vecHash, jsonType, vecJSON, s5, true},
		{"spaces and case in the header", " algorithm = hmac_sha256 , key = webhooks_sharedkey_one ", vecURL, formType, vecP5, s1, true},
		{"key one's signature named as key two", two, vecURL, formType, vecP5, s1, false},
		{"an unknown key", "key=webhooks_sharedkey_three,algorithm=HMAC_SHA256", vecURL, formType, vecP5, s1, false},
		{"a wrong algorithm", "key=webhooks_sharedkey_one,algorithm=HMAC_SHA512", vecURL, formType, vecP5, s1, false},
		{"SHA-256 named as SHA-1", "key=webhooks_sharedkey_one,algorithm=HMAC_SHA1", vecURL, formType, vecP5, s1, false},
		{"a shared-key signature without the header", "", vecURL, formType, vecP5, s1, false},
		{"the auth token's signature with a key named", one, vecURL, formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"the auth token without the header", "", vecURL, formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"SHA-256 without a key is not the auth token's", "algorithm=HMAC_SHA256", vecURL, formType, vecP5, s1, false},
		{"a changed digit", one, vecURL, formType, strings.Replace(vecP5, "Digits=1234", "Digits=1235", 1), s1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.ValidateWith(tt.settings, tt.url, tt.contentType, []byte(tt.body), tt.signature); got != tt.want {
				t.Errorf("ValidateWith(%q) = %v, want %v", tt.settings, got, tt.want)
			}
		})
	}
	// Through the middleware: an unknown key is 403, with no TwiML.
	h := v.Middleware("https://mycompany.com")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<Response/>") }))
	for settings, want := range map[string]int{one: http.StatusOK, "key=nope,algorithm=HMAC_SHA256": http.StatusForbidden, "key=webhooks_sharedkey_one,algorithm=RSA": http.StatusForbidden} {
		req := httptest.NewRequest(http.MethodPost, "/myapp.php?foo=1&bar=2", strings.NewReader(vecP5))
		req.Header.Set("Content-Type", formType)
		req.Header.Set(SignatureHeader, s1)
		req.Header.Set(SettingsHeader, settings)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want || (want != http.StatusOK && strings.Contains(rec.Body.String(), "<Response")) {
			t.Errorf("middleware with %q = %d %q, want %d", settings, rec.Code, rec.Body, want)
		}
	}
}

func TestValidateVectors(t *testing.T) {
	tests := []struct {
		name        string
		url         string
		contentType string
		body        string
		signature   string
		want        bool
	}{
		{"1 form", vecURL, formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"2 https with :443", "https://mycompany.com:443/myapp.php?foo=1&bar=2", formType, vecP5, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"2 https with :443, signed without", "https://mycompany.com:443/myapp.php?foo=1&bar=2", formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"2 https without port, signed with :443", vecURL, formType, vecP5, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"3 http with :80", "http://mycompany.com:80/myapp.php?foo=1&bar=2", formType, vecP5, "0ZXoZLH/DfblKGATFgpif+LLRf4=", true},
		{"3 http without port, signed with :80", "http://mycompany.com/myapp.php?foo=1&bar=2", formType, vecP5, "0ZXoZLH/DfblKGATFgpif+LLRf4=", true},
		{"4 non-default port", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", formType, vecP5, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", true},
		{"4 non-default port is signed", "http://mycompany.com/myapp.php?foo=1&bar=2", formType, vecP5, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", false},
		{"4 non-default port is not dropped", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", formType, vecP5, "0ZXoZLH/DfblKGATFgpif+LLRf4=", false},
		{"5 more params", vecURL, formType, vecP7, "vOEb5UThFn24KEfnOFLQY2AE5FY=", true},
		{"6 http", "http://mycompany.com/myapp.php?foo=1&bar=2", formType, vecP7, "n2xBNyzSW7rfYStDtOFiFMv7qNo=", true},
		{"7 keys mis-sorted", vecURL, formType, vecP7, "95+Bu0JVPi0r/SsESZCVf0dWAjw=", false},
		{"8 form body", vecURL, formType, "property=value&boolean=true", "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", true},
		{"8 form body with charset", vecURL, formType + "; charset=utf-8", "property=value&boolean=true", "NBdBDr/T/lgjI+tlgpXjKZQZs/k=", true},
		{"9 JSON body", vecURL + "&bodySHA256=" + vecHash, jsonType, vecJSON, "a9nBmqA0ju/hNViExpshrM61xv4=", true},
		{"9 JSON body tampered", vecURL + "&bodySHA256=" + vecHash, jsonType, `{"property": "value", "boolean": false}`, "a9nBmqA0ju/hNViExpshrM61xv4=", false},
		{"10 JSON body, hash only query", "https://mycompany.com/myapp.php?bodySHA256=" + vecHash, jsonType, vecJSON, "y77kIzt2vzLz71DgmJGsen2scGs=", true},
		{"10 JSON body, hash only query, with :443", "https://mycompany.com:443/myapp.php?bodySHA256=" + vecHash, jsonType, vecJSON, "y77kIzt2vzLz71DgmJGsen2scGs=", true},
		{"11 repeated key", vecURL, formType, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", true},
		{"11 repeated key, other order", vecURL, formType, "Digits=1234&Digits=1234&SidAccount=AC123&Digits=5678&Sid=CA123", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", true},
		{"11 repeated key signed with duplicates kept", vecURL, formType, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234", "tM//N+MVWOh7+ol2z8YCNxSY0Eg=", false},
		{"11 repeated key, a value dropped", vecURL, formType, "Sid=CA123&SidAccount=AC123&Digits=1234", "IK+Dwps556ElfBT0I3Rgjkr1wJU=", false},
		{"12 changed digit", vecURL, formType, strings.Replace(vecP5, "Digits=1234", "Digits=1235", 1), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"13 empty signature", vecURL, formType, vecP5, "", false},
		{"wrong URL", "https://mycompany.com/myapp.php?foo=1&bar=3", formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"form signature sent as JSON", vecURL, jsonType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"bad escape in form", vecURL, formType, vecP5 + "&x=%zz", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"semicolon in form", vecURL, formType, vecP5 + "&x;y=1", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
		{"signature not base64 length", vecURL, formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8", false},
		{"signature with trailing newline", vecURL, formType, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8=\n", false},
	}
	v := NewValidator(vecToken)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.Validate(tt.url, tt.contentType, []byte(tt.body), tt.signature); got != tt.want {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSignVectors(t *testing.T) {
	form := func(s string) url.Values {
		v, err := url.ParseQuery(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		url  string
		form url.Values
		want string
	}{
		{"1", vecURL, form(vecP5), "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"2", "https://mycompany.com:443/myapp.php?foo=1&bar=2", form(vecP5), "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{"3", "http://mycompany.com:80/myapp.php?foo=1&bar=2", form(vecP5), "0ZXoZLH/DfblKGATFgpif+LLRf4="},
		{"4", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", form(vecP5), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="},
		{"5", vecURL, form(vecP7), "vOEb5UThFn24KEfnOFLQY2AE5FY="},
		{"6", "http://mycompany.com/myapp.php?foo=1&bar=2", form(vecP7), "n2xBNyzSW7rfYStDtOFiFMv7qNo="},
		{"8", vecURL, form("property=value&boolean=true"), "NBdBDr/T/lgjI+tlgpXjKZQZs/k="},
		{"9", vecURL + "&bodySHA256=" + vecHash, nil, "a9nBmqA0ju/hNViExpshrM61xv4="},
		{"10", "https://mycompany.com/myapp.php?bodySHA256=" + vecHash, nil, "y77kIzt2vzLz71DgmJGsen2scGs="},
		{"11", vecURL, url.Values{"Sid": {"CA123"}, "SidAccount": {"AC123"}, "Digits": {"5678", "1234", "1234"}}, "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sign(vecToken, tt.url, tt.form); got != tt.want {
				t.Errorf("Sign = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidateOtherCases(t *testing.T) {
	v := NewValidator(vecToken)
	tests := []struct {
		name        string
		url         string
		contentType string
		body        string
		sign        string // the URL the signature is made for; "" means url
		want        bool
	}{
		{"GET, signed over the URL", "https://ivr.example.com/twilio/voice?CallSid=CA1&From=%2B1404", "", "", "", true},
		{"GET with a body", "https://ivr.example.com/twilio/voice?CallSid=CA1", "", "x=1", "", false},
		{"JSON without bodySHA256", "https://ivr.example.com/twilio/status", jsonType, vecJSON, "", false},
		{"bodySHA256 not hex", "https://ivr.example.com/x?bodySHA256=" + strings.Repeat("zz", 32), jsonType, vecJSON, "", false},
		{"bodySHA256 short", "https://ivr.example.com/x?bodySHA256=0a1f", jsonType, vecJSON, "", false},
		{"bodySHA256 upper-case hex", "https://ivr.example.com/x?bodySHA256=" + strings.ToUpper(vecHash), jsonType, vecJSON, "", true},
		{"IPv6 host, default port added", "https://[2001:db8::1]/x", "", "", "https://[2001:db8::1]:443/x", true},
		{"IPv6 host, default port removed", "https://[2001:db8::1]:443/x", "", "", "https://[2001:db8::1]/x", true},
		{"userinfo, default port added", "https://u:p@ivr.example.com/x", "", "", "https://u:p@ivr.example.com:443/x", true},
		{"no path, default port added", "https://ivr.example.com?a=1", "", "", "https://ivr.example.com:443?a=1", true},
		{"scheme case", "HTTPS://ivr.example.com/x", "", "", "HTTPS://ivr.example.com:443/x", true},
		{"http port on https", "https://ivr.example.com/x", "", "", "https://ivr.example.com:80/x", false},
		{"other scheme", "ftp://ivr.example.com/x", "", "", "ftp://ivr.example.com:21/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := tt.sign
			if signed == "" {
				signed = tt.url
			}
			if got := v.Validate(tt.url, tt.contentType, []byte(tt.body), Sign(vecToken, signed, nil)); got != tt.want {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateEmptyToken(t *testing.T) {
	sig := Sign("", vecURL, nil)
	if NewValidator("").Validate(vecURL, "", nil, sig) {
		t.Error("a Validator without a token accepted a request")
	}
}

func TestMiddleware(t *testing.T) {
	const (
		base = "https://ivr.example.com"
		path = "/twilio/voice?attempt=2"
		body = "CallSid=CA1&From=%2B14045550123&Digits=1&Digits=2"
	)
	form, _ := url.ParseQuery(body)
	good := Sign(vecToken, base+path, form)
	tests := []struct {
		name      string
		base      string
		target    string
		body      string
		header    map[string]string
		wantCode  int
		wantCalls int
	}{
		{"valid", base, path, body, map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusOK, 1},
		{"valid, base with trailing slash", base + "/", path, body, map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusOK, 1},
		{"missing signature", base, path, body, map[string]string{"Content-Type": formType}, http.StatusForbidden, 0},
		{"wrong signature", base, path, body, map[string]string{"X-Twilio-Signature": Sign("other", base+path, form), "Content-Type": formType}, http.StatusForbidden, 0},
		{"tampered body", base, path, body + "&Digits=3", map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusForbidden, 0},
		{"other query", base, "/twilio/voice?attempt=3", body, map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusForbidden, 0},
		{"other host", "https://evil.example.com", path, body, map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusForbidden, 0},
		{"too large", base, path, body + "&Pad=" + strings.Repeat("x", MaxWebhookBody), map[string]string{"X-Twilio-Signature": good, "Content-Type": formType}, http.StatusRequestEntityTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				if err := r.ParseForm(); err != nil {
					t.Errorf("next: ParseForm: %v", err)
				}
				if got := r.PostForm["Digits"]; len(got) != 2 || got[0] != "1" || got[1] != "2" {
					t.Errorf("next: Digits = %q", got)
				}
				if got := r.PostFormValue("From"); got != "+14045550123" {
					t.Errorf("next: From = %q", got)
				}
				if got := r.FormValue("attempt"); got != "2" {
					t.Errorf("next: attempt = %q", got)
				}
				// What the middleware parsed is what net/http would have.
				fresh := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
				fresh.Header.Set("Content-Type", formType)
				if err := fresh.ParseForm(); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(r.PostForm, fresh.PostForm) || !reflect.DeepEqual(r.Form, fresh.Form) {
					t.Errorf("next: PostForm %q Form %q; ParseForm gives %q and %q", r.PostForm, r.Form, fresh.PostForm, fresh.Form)
				}
			})
			h := NewValidator(vecToken).Middleware(tt.base)(next)
			req := httptest.NewRequest(http.MethodPost, tt.target, strings.NewReader(tt.body))
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if calls != tt.wantCalls {
				t.Errorf("next called %d times, want %d", calls, tt.wantCalls)
			}
			if rec.Code != http.StatusOK {
				if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q, want text/plain", ct)
				}
				if b := rec.Body.String(); len(b) > 100 || strings.Contains(b, "<") {
					t.Errorf("body %q, want short plain text", b)
				}
			}
		})
	}
}

// The next handler gets the body byte for byte, whatever its type.
func TestMiddlewareRestoresBody(t *testing.T) {
	const target = "/twilio/status?bodySHA256=" + vecHash
	var got string
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("next: %v", err)
		}
		got = string(b)
	})
	h := NewValidator(vecToken).Middleware("https://ivr.example.com")(next)
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(vecJSON))
	req.Header.Set("Content-Type", jsonType)
	req.Header.Set("X-Twilio-Signature", Sign(vecToken, "https://ivr.example.com"+target, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || got != vecJSON {
		t.Errorf("status %d, next read %q; want 200 and %q", rec.Code, got, vecJSON)
	}
}

// incomingCall is a typical form for an incoming call.
func incomingCall() url.Values {
	return url.Values{
		"AccountSid":    {"AC0123456789abcdef0123456789abcdef"},
		"ApiVersion":    {"2010-04-01"},
		"CallSid":       {"CA0123456789abcdef0123456789abcdef"},
		"CallStatus":    {"ringing"},
		"Direction":     {"inbound"},
		"From":          {"+14045550123"},
		"FromCity":      {"ATLANTA"},
		"FromCountry":   {"US"},
		"FromState":     {"GA"},
		"FromZip":       {"30303"},
		"StirVerstat":   {"TN-Validation-Passed-A"},
		"To":            {"+18005550100"},
		"ToCity":        {""},
		"ToCountry":     {"US"},
		"ToState":       {""},
		"ToZip":         {""},
		"CallerCountry": {"US"},
	}
}

func BenchmarkValidate(b *testing.B) {
	form := incomingCall()
	body := []byte(form.Encode())
	const u = "https://ivr.example.com/twilio/voice"
	for _, bc := range []struct{ name, signed string }{
		{"url as given", u},
		{"default port", "https://ivr.example.com:443/twilio/voice"},
	} {
		b.Run(fmt.Sprintf("%s/%dparams", bc.name, len(form)), func(b *testing.B) {
			v := NewValidator(vecToken)
			sig := Sign(vecToken, bc.signed, form)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !v.Validate(u, formType, body, sig) {
					b.Fatal("invalid")
				}
			}
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	form := incomingCall()
	body := form.Encode()
	sig := Sign(vecToken, "https://ivr.example.com/twilio/voice", form)
	h := NewValidator(vecToken).Middleware("https://ivr.example.com")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	rec := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/twilio/voice", strings.NewReader(body))
		req.Header.Set("Content-Type", formType)
		req.Header.Set("X-Twilio-Signature", sig)
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
