// Package ivr is the Twilio edge: the webhook routes, their signatures (auth token and
// shared keys), the call state carried in action URLs, the replay guard, turning an
// engine turn into TwiML and the deterministic TwiML encoder.
package ivr
