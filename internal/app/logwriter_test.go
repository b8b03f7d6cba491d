package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/memberline/memberline/internal/testsupport/testenv"
)

// countingWriter counts the writes that reach it.
type countingWriter struct {
	testenv.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++ // only ever called under the logBuffer's lock
	return c.Buffer.Write(p)
}

func TestLogBuffer(t *testing.T) {
	// Info lines wait for the timer (here an hour: never during the test), then go out
	// together.
	var out countingWriter
	logs := newLogBuffer(&out, time.Hour)
	log := slog.New(flushOnWarn{slog.NewJSONHandler(logs, nil), logs})
	log.Info("one")
	log.Info("two")
	if s := out.String(); s != "" {
		t.Fatalf("info lines written at once: %q", s)
	}
	var timed countingWriter
	ticking := newLogBuffer(&timed, 10*time.Millisecond)
	defer ticking.Close()
	tlog := slog.New(flushOnWarn{slog.NewJSONHandler(ticking, nil), ticking})
	tlog.Info("one")
	tlog.Info("two")
	testenv.WaitFor(t, "the buffered lines", func() bool { return strings.Count(timed.String(), "\n") == 2 })

	// A warning is written at once, after the lines before it, in one write.
	log.Info("three")
	log.With("k", "v").Warn("four")
	s := out.String()
	if i, j := strings.Index(s, `"three"`), strings.Index(s, `"four"`); strings.Count(s, "\n") != 4 || i < 0 || j < i {
		t.Fatalf("a warning did not flush the lines before it in order: %q", s)
	}
	logs.mu.Lock()
	if out.writes != 1 {
		t.Errorf("four lines took %d writes, want 1", out.writes)
	}
	logs.mu.Unlock()

	// A full buffer is written without waiting.
	big := strings.Repeat("x", logBufferSize)
	before := len(out.String())
	log.Info(big)
	if len(out.String()) <= before {
		t.Fatal("a full buffer was kept")
	}

	// Close writes what is left.
	log.Info("last")
	logs.Close()
	if !strings.Contains(out.String(), `"last"`) {
		t.Fatalf("Close lost a line: %q", out.String()[max(0, len(out.String())-200):])
	}
}
