// Package outbound is what the line does on its own initiative, through Twilio's REST API
// (twilio-go, reaching TWILIO_API_URL): callbacks that waiting callers ask for, stored in
// PostgreSQL and dialed once when due by whichever instance claims them.
//
// The job mechanism is the callbacks table itself, claimed with SELECT … FOR UPDATE SKIP
// LOCKED under a lease, not a job queue library such as riverqueue/river. A callback is a
// row whose state the API, the console and the webhooks read and change (due, dialing,
// each try's outcome, cancelled); a job table beside it would hold the same facts twice
// and need keeping in step. River rescues a stuck job only after RescueStuckJobsAfter (an
// hour by default), where a callback's lease is minutes: a member must not wait an hour
// because an instance stopped mid-dial. The claim is one UPDATE; the lease, the retries
// with backoff and the dial window are a few lines each (Dispatcher).
package outbound
