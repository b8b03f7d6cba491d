package lookup

import (
	"context"
	"errors"
	"sync"
)

// watchers are the forget functions of the tiers over a tier (Tier.Watch).
type watchers struct {
	mu   sync.Mutex
	next int
	fs   map[int]func(ctx context.Context, phones []string) error
}

func (w *watchers) add(f func(ctx context.Context, phones []string) error) (stop func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs == nil {
		w.fs = map[int]func(ctx context.Context, phones []string) error{}
	}
	id := w.next
	w.next++
	w.fs[id] = f
	return func() {
		w.mu.Lock()
		delete(w.fs, id)
		w.mu.Unlock()
	}
}

// notify calls every watcher with phones (nil: every number) and joins their errors.
func (w *watchers) notify(ctx context.Context, phones []string) error {
	w.mu.Lock()
	fs := make([]func(ctx context.Context, phones []string) error, 0, len(w.fs))
	for _, f := range w.fs {
		fs = append(fs, f)
	}
	w.mu.Unlock()
	var errs []error
	for _, f := range fs {
		if err := f(ctx, phones); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
