// Package calls keeps a record of every call's journey: who called (masked, and as a keyed
// hash that joins calls of one number without revealing it), the member it was about, the
// flow and version, the nodes visited, the caller's inputs as digits or the matched option
// word, how the call ended and how long it lasted.
//
// The IVR edge hands events to a Store with Record, which never blocks: a batcher writes
// them to PostgreSQL every few hundred milliseconds or every few hundred events, and a
// full buffer drops events (counted) rather than slow a webhook down. Close flushes what
// is buffered. The same Store answers the call-record API and the usage reports, purges
// records past their retention and anonymizes a deleted member's calls.
//
// calls imports pgx only: it knows nothing of the edge, the directory or the flows.
package calls
