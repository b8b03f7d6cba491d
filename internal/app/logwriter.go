package app

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logBuffer batches the service's log lines: they reach the underlying writer within a
// flush interval (logFlushEvery), or as soon as logBufferSize bytes wait, so a
// busy service makes one write per batch rather than one system call per webhook.
// Warnings and errors are written at once (see flushOnWarn). Close writes what is left.
type logBuffer struct {
	mu    sync.Mutex
	w     io.Writer
	buf   []byte
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
}

const (
	logFlushEvery = 100 * time.Millisecond
	logBufferSize = 32 << 10
)

func newLogBuffer(w io.Writer, every time.Duration) *logBuffer {
	b := &logBuffer{w: w, buf: make([]byte, 0, logBufferSize), every: every, stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

func (b *logBuffer) run() {
	defer close(b.done)
	t := time.NewTicker(b.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.Flush()
		case <-b.stop:
			b.Flush()
			return
		}
	}
}

// Write keeps p (a whole log line: slog handlers write each record in one call).
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) >= logBufferSize {
		b.flushLocked()
	}
	return len(p), nil
}

// Flush writes what waits.
func (b *logBuffer) Flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

func (b *logBuffer) flushLocked() {
	if len(b.buf) == 0 {
		return
	}
	// A failed write (stderr closed) has nowhere to be reported; the lines are dropped
	// rather than kept growing.
	_, _ = b.w.Write(b.buf)
	if cap(b.buf) > 4*logBufferSize {
		b.buf = make([]byte, 0, logBufferSize)
	} else {
		b.buf = b.buf[:0]
	}
}

// Close stops the timer and writes what is left. Lines logged after Close are written at
// the next Flush only; serve closes it last.
func (b *logBuffer) Close() {
	close(b.stop)
	<-b.done
}

// flushOnWarn wraps a handler writing to buf so that a warning or an error is written out
// at once, with the lines before it.
type flushOnWarn struct {
	slog.Handler
	buf *logBuffer
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushOnWarn) WithAttrs(as []slog.Attr) slog.Handler {
	return flushOnWarn{h.Handler.WithAttrs(as), h.buf}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{h.Handler.WithGroup(name), h.buf}
}

// NewLogger is the service's logger: JSON, or text (LOG_FORMAT), written to w in batches
// (logBuffer) with warnings and errors at once. close writes what is left; call it last.
func NewLogger(format string, w io.Writer) (log *slog.Logger, close func()) {
	logs := newLogBuffer(w, logFlushEvery)
	var h slog.Handler = slog.NewJSONHandler(logs, nil)
	if format == "text" {
		h = slog.NewTextHandler(logs, nil)
	}
	return slog.New(flushOnWarn{h, logs}), logs.Close
}
