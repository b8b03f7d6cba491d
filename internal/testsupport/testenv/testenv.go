// Package testenv gives tests the real PostgreSQL and Redis they run against.
//
// PostgreSQL: DATABASE_URL names an admin database on a server where the role may
// CREATE DATABASE. Each schema (named by a key) is migrated once into a template
// database, and every test gets its own copy (CREATE DATABASE ... TEMPLATE), dropped
// when the test ends. Redis: REDIS_URL is shared, and each test gets a key prefix of its
// own; StartRedis runs a private redis-server for tests that stop it mid-test.
//
// `make test` sets both variables. Without them tests fail, so that CI cannot pass by
// skipping; MEMBERLINE_SKIP_DB=1 turns that failure into a skip, for a quick run on a
// machine without the services.
package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// SkipEnv is the variable that lets tests skip instead of fail when a service is missing.
const SkipEnv = "MEMBERLINE_SKIP_DB"

// need returns the environment variable name, or ends the test: a skip when SkipEnv is
// "1", a failure otherwise.
func need(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv(SkipEnv) == "1" {
		t.Skipf("%s is not set and %s=1: skipping", name, SkipEnv)
	}
	t.Fatalf("%s is not set; run `make test` (or set %s=1 to skip tests that need PostgreSQL or Redis)", name, SkipEnv)
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// WaitFor polls cond every 10 ms until it holds, failing the test after 30 s: for what a
// test cannot be told of directly (a listener closed, lines flushed, an instance ready).
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
