package api

import (
	"sync"
	"time"
)

// refusedTokens remembers secrets (by their hash) that the token store refused a moment
// ago, so that a client retrying a wrong token costs no database round trip. Only
// refusals are kept: a secret refused once is random bytes no token will ever have, and a
// revocation takes effect at once.
type refusedTokens struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time // hash -> until
}

const (
	refusedFor = time.Minute
	refusedMax = 4096
)

func (c *refusedTokens) has(h [32]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.m[h]
	return ok && time.Now().Before(until)
}

func (c *refusedTokens) add(h [32]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.m == nil {
		c.m = map[[32]byte]time.Time{}
	}
	if len(c.m) >= refusedMax {
		for k, until := range c.m {
			if !now.Before(until) || len(c.m) >= refusedMax {
				delete(c.m, k)
			}
		}
	}
	c.m[h] = now.Add(refusedFor)
}
