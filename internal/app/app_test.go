package app

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/memberline/memberline/api"
	"github.com/memberline/memberline/internal/testsupport/testenv"
	"github.com/memberline/memberline/lookup"
)

// TestReadyzNamesWhatIsDown: /readyz is on the public port: it says which dependency is
// down, not where it lives.
func TestReadyzNamesWhatIsDown(t *testing.T) {
	pool := testenv.Postgres(t, "lookup", lookup.Migrate)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	var logs testenv.Buffer
	a := &App{log: slog.New(slog.NewTextHandler(&logs, nil)), data: &Data{Pool: pool, Redis: dead}}
	h := api.Readyz(a.readiness)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "redis is unreachable") {
		t.Fatalf("/readyz with Redis down = %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "127.0.0.1") || strings.Contains(rec.Body.String(), "dial") {
		t.Errorf("/readyz tells the address: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "127.0.0.1:1") {
		t.Errorf("the log lacks the details: %s", logs.String())
	}
}
