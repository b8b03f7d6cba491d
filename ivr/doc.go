// Package ivr is the HTTP edge: Twilio webhooks, their signatures, call state, the TwiML
// encoder and the admin API.
package ivr
