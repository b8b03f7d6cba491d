// Package gctune sets the Go garbage collector for the service: a collector that runs
// less often than Go's default, bounded by the memory the container may use.
//
// The service's live heap is small (mostly the local cache tier) while every webhook
// allocates a little, so with Go's default (GOGC=100) the collector runs many times a
// second under load. GCPercent lets the heap grow further between collections, and a
// memory limit at 90% of the cgroup's (what Kubernetes' limits.memory sets) makes the
// collector work harder only when the process nears it.
package gctune

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// GCPercent is the collector's target when the environment does not set GOGC: the heap
// may grow to five times what is live before a collection.
const GCPercent = 400

// Settings are what Apply left in effect.
type Settings struct {
	GCPercent   int    // -1: off
	GCFrom      string // "GOGC" or "default"
	MemoryLimit int64  // bytes; math.MaxInt64: none
	LimitFrom   string // "GOMEMLIMIT", "cgroup" or "none"
}

func (s Settings) String() string {
	limit := "none"
	if s.MemoryLimit != math.MaxInt64 {
		limit = fmt.Sprintf("%d MiB (%s)", s.MemoryLimit>>20, s.LimitFrom)
	}
	return fmt.Sprintf("GC percent %d (%s), memory limit %s", s.GCPercent, s.GCFrom, limit)
}

// Apply sets the collector: GOGC and GOMEMLIMIT, when set, win (the runtime has read them
// already); otherwise GCPercent, and a memory limit of 90% of the cgroup's (none outside
// a memory-limited cgroup). AUTOMEMLIMIT=off, or a ratio in (0, 1], changes the latter.
func Apply(getenv func(string) string, log *slog.Logger) (Settings, error) {
	s := Settings{GCFrom: "GOGC", LimitFrom: "GOMEMLIMIT"}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
		s.GCFrom = "default"
	}
	s.GCPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(s.GCPercent)
	if getenv("GOMEMLIMIT") == "" {
		s.LimitFrom = "cgroup"
		if _, err := memlimit.Set(memlimit.WithRatio(0.9), memlimit.WithProvider(memlimit.FromCgroup),
			memlimit.WithLogger(log)); err != nil {
			return s, fmt.Errorf("gctune: memory limit: %w", err)
		}
	}
	s.MemoryLimit = debug.SetMemoryLimit(-1)
	if s.MemoryLimit == math.MaxInt64 {
		s.LimitFrom = "none"
	}
	return s, nil
}
