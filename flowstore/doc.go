// Package flowstore keeps the flows in PostgreSQL: each flow's draft, its published
// versions, the bindings of called numbers to flows and the flow history, with the
// migrations of those tables. It compiles what it serves with flows, and keeps the
// bindings and recent versions in memory for the call path. SQL lives in queries/.
package flowstore
