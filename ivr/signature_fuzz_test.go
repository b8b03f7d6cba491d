package ivr

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// FuzzValidate feeds Validate arbitrary URLs, bodies and signatures: it must never panic,
// must accept what Sign signs (and parse its form exactly as net/url does), and must refuse a form with a parameter added.
func FuzzValidate(f *testing.F) {
	seeds := []struct{ url, body, sig string }{
		{vecURL, vecP5, "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"https://mycompany.com:443/myapp.php?foo=1&bar=2", vecP5, "kvajT1Ptam85bY51eRf/AJRuM3w="},
		{vecURL, "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234", "IK+Dwps556ElfBT0I3Rgjkr1wJU="},
		{vecURL + "&bodySHA256=" + vecHash, vecJSON, "a9nBmqA0ju/hNViExpshrM61xv4="},
		{"", "", ""},
		{"://", "=", "===="},
		{"https://", "&&&", "RSOYDt4T1cUTdK1PDd93/VVr8B8="},
		{"https://[::1]:443", "a=%zz", "x"},
		{"https://[::1", "%", "%"},
		{"http://u:p@h:80/?a#f", "+%2B=%20&;", "\x00"},
		{"https://h:/p?bodySHA256=", "a=1;b=2", "RSOYDt4T1cUTdK1PDd93/VVr8B8=="},
		{"HTTP://H:80", "a&a=&=a&==", strings.Repeat("A", 28)},
		{"https://h:443:443/x", "\xff=\xfe", "\xff\xfe"},
		{"https://h/?bodySHA256=" + vecHash + "&bodySHA256=00", vecJSON, ""},
	}
	for _, s := range seeds {
		f.Add(s.url, s.body, s.sig)
	}
	v := NewValidator(vecToken)
	f.Fuzz(func(t *testing.T, u, body, sig string) {
		for _, ct := range []string{formType, jsonType, "", "text/plain; charset=utf-8"} {
			v.Validate(u, ct, []byte(body), sig)
		}
		appendPortVariant(nil, u)

		if form, err := url.ParseQuery(body); err == nil {
			good := Sign(vecToken, u, form)
			parsed, ok := v.token.check(u, formType, []byte(body), good, true)
			if !ok {
				t.Fatalf("Validate(%q, form %q) refused Sign's signature %s", u, body, good)
			}
			// The middleware hands this form to the handler: it must be ParseQuery's.
			if !reflect.DeepEqual(parsed, form) {
				t.Fatalf("form %q parsed as %q, ParseQuery gives %q", body, parsed, form)
			}
			if v.Validate(u, formType, []byte(body), Sign("other", u, form)) {
				t.Fatalf("Validate(%q, form %q) accepted another token's signature", u, body)
			}
			if _, seen := form["zzfuzz"]; !seen {
				more := body + "&zzfuzz=1"
				if _, err := url.ParseQuery(more); err == nil && v.Validate(u, formType, []byte(more), good) {
					t.Fatalf("Validate(%q, form %q) accepted a parameter added to %q", u, more, body)
				}
			}
		}
		// A URL carrying bodySHA256 needs a body that matches it, even an empty one.
		if body == "" && !hasQueryParam(u, "bodySHA256") && !v.Validate(u, "", nil, Sign(vecToken, u, nil)) {
			t.Fatalf("Validate(%q) refused a GET signed by Sign", u)
		}
		if !strings.Contains(u, "#") && !hasQueryParam(u, "bodySHA256") {
			sum := sha256.Sum256([]byte(body))
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			signed := u + sep + "bodySHA256=" + hex.EncodeToString(sum[:])
			if !v.Validate(signed, jsonType, []byte(body), Sign(vecToken, signed, nil)) {
				t.Fatalf("Validate(%q, JSON %q) refused Sign's signature", signed, body)
			}
			if v.Validate(signed, jsonType, []byte(body+" "), Sign(vecToken, signed, nil)) {
				t.Fatalf("Validate(%q, JSON %q) accepted a changed body", signed, body)
			}
		}
	})
}
