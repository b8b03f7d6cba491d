package ivr_test

import (
	"fmt"
	"net/url"

	"github.com/memberline/memberline/ivr"
)

// A Validator checks X-Twilio-Signature the way Twilio computes it: HMAC-SHA1 under the
// auth token of the public URL followed by every form parameter, sorted, key then value.
// A changed parameter, another URL or another token fails.
func ExampleValidator_Validate() {
	const token = "12345"
	publicURL := "https://ivr.example.com/twilio/voice"
	form := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "From": {"+14045550123"}, "Digits": {"1234"}}
	sig := ivr.Sign(token, publicURL, form)

	v := ivr.NewValidator(token)
	const formType = "application/x-www-form-urlencoded"
	fmt.Println("as sent:", v.Validate(publicURL, formType, []byte(form.Encode()), sig))

	form.Set("Digits", "1235")
	fmt.Println("a digit changed:", v.Validate(publicURL, formType, []byte(form.Encode()), sig))
	fmt.Println("another token:", ivr.NewValidator("54321").Validate(publicURL, formType, []byte(form.Encode()), sig))
	// Output:
	// as sent: true
	// a digit changed: false
	// another token: false
}
