package lookup_test

import (
	"errors"
	"fmt"

	"github.com/memberline/memberline/internal/errs"
	"github.com/memberline/memberline/lookup"
)

// Normalize turns a number as people write it, or as Twilio sends it, into E.164: a
// number without a country code is read in the region given. Anything that is not a
// dialable number is an error wrapping errs.ErrInvalid. Mask is how a number appears in logs.
func ExampleNormalize() {
	for _, tc := range []struct{ raw, region string }{
		{"(404) 555-0123", "US"},
		{"+1 404-555-0123", "GB"},
		{"020 7946 0018", "GB"},
		{"12", "US"},
	} {
		e164, err := lookup.Normalize(tc.raw, tc.region)
		if errors.Is(err, errs.ErrInvalid) {
			fmt.Printf("%q in %s: refused (%v)\n", tc.raw, tc.region, err)
			continue
		}
		fmt.Printf("%q in %s: %s, logged as %s\n", tc.raw, tc.region, e164, lookup.Mask(e164))
	}
	// Output:
	// "(404) 555-0123" in US: +14045550123, logged as +1404***0123
	// "+1 404-555-0123" in GB: +14045550123, logged as +1404***0123
	// "020 7946 0018" in GB: +442079460018, logged as +44207***0018
	// "12" in US: refused (invalid phone number: not a valid number)
}
