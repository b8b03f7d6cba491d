package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/memberline/memberline/calls"
)

// ParseRetention reads CALL_RETENTION: a Go duration (2160h) or a number of days (90d).
func ParseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("must be a number of days such as 90d, or a duration such as 2160h, got %q", v)
}

// HashKey keys the caller hash in call records. CALL_HASH_KEY should be set (and kept)
// in production; without it the key is derived from the Twilio auth token, so rotating
// the token starts new hashes for the same numbers.
func (cfg Config) HashKey() []byte {
	if cfg.CallHashKey != "" {
		return []byte(cfg.CallHashKey)
	}
	m := hmac.New(sha256.New, []byte("memberline call records"))
	m.Write([]byte(cfg.TwilioAuthToken))
	return m.Sum(nil)
}

// purgeCalls deletes call records past retention now, then every interval until ctx ends.
func purgeCalls(ctx context.Context, records *calls.Store, retention, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := records.Purge(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("call records not purged", "err", err)
		case n > 0:
			log.Info("call records purged", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ExperimentKey keys the assignment of callers to experiment arms: derived from the call
// records' key (CALL_HASH_KEY, else the Twilio token), so that callers keep their arms as
// long as the records keep their hashes.
func (cfg Config) ExperimentKey() []byte {
	m := hmac.New(sha256.New, []byte("memberline experiments"))
	m.Write(cfg.HashKey())
	return m.Sum(nil)
}

// ConnectionSealKey seals the connections' secrets: CONNECTION_KEY, else (derived true) a
// key derived from ADMIN_TOKEN and the Twilio token, which is fit for development only:
// whoever knows those and reads the database can open the secrets.
func (cfg Config) ConnectionSealKey() (key []byte, derived bool) {
	if cfg.ConnectionKey != nil {
		return cfg.ConnectionKey, false
	}
	m := hmac.New(sha256.New, []byte("memberline connections"))
	m.Write([]byte(cfg.AdminToken))
	m.Write([]byte{0})
	m.Write([]byte(cfg.TwilioAuthToken))
	return m.Sum(nil), true
}
