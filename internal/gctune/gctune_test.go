package gctune

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// restore puts back the collector settings a test changes.
func restore(t *testing.T) {
	gc := debug.SetGCPercent(-1)
	debug.SetGCPercent(gc)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		env       map[string]string
		runtimeGC int   // what the runtime would have read from GOGC
		limit     int64 // what it would have read from GOMEMLIMIT
		wantGC    int
		gcFrom    string
		wantLimit int64 // 0: from the cgroup, whatever this machine's is
	}{
		{name: "defaults", env: map[string]string{}, runtimeGC: 100, limit: math.MaxInt64, wantGC: GCPercent, gcFrom: "default"},
		{name: "GOGC wins", env: map[string]string{"GOGC": "150"}, runtimeGC: 150, limit: math.MaxInt64, wantGC: 150, gcFrom: "GOGC"},
		{name: "GOGC=off wins", env: map[string]string{"GOGC": "off"}, runtimeGC: -1, limit: math.MaxInt64, wantGC: -1, gcFrom: "GOGC"},
		{name: "GOMEMLIMIT wins", env: map[string]string{"GOMEMLIMIT": "1GiB"}, runtimeGC: 100, limit: 1 << 30,
			wantGC: GCPercent, gcFrom: "default", wantLimit: 1 << 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			restore(t)
			debug.SetGCPercent(tc.runtimeGC)
			debug.SetMemoryLimit(tc.limit)
			s, err := Apply(envOf(tc.env), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if s.GCPercent != tc.wantGC || s.GCFrom != tc.gcFrom {
				t.Errorf("GC %d from %s, want %d from %s", s.GCPercent, s.GCFrom, tc.wantGC, tc.gcFrom)
			}
			if got := debug.SetGCPercent(-1); got != tc.wantGC {
				t.Errorf("the runtime's GC percent is %d, want %d", got, tc.wantGC)
			}
			debug.SetGCPercent(tc.wantGC)
			if got := debug.SetMemoryLimit(-1); got != s.MemoryLimit {
				t.Errorf("the runtime's memory limit is %d, Settings say %d", got, s.MemoryLimit)
			}
			switch {
			case tc.wantLimit != 0:
				if s.MemoryLimit != tc.wantLimit || s.LimitFrom != "GOMEMLIMIT" {
					t.Errorf("memory limit %d from %s, want %d from GOMEMLIMIT", s.MemoryLimit, s.LimitFrom, tc.wantLimit)
				}
			case s.LimitFrom == "none":
				if s.MemoryLimit != math.MaxInt64 {
					t.Errorf("no limit, but the runtime's is %d", s.MemoryLimit)
				}
			case s.LimitFrom == "cgroup":
				if s.MemoryLimit <= 0 || s.MemoryLimit == math.MaxInt64 {
					t.Errorf("a cgroup limit of %d", s.MemoryLimit)
				}
			default:
				t.Errorf("limit from %q", s.LimitFrom)
			}
		})
	}
}

func TestSettingsString(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{GCPercent: 400, GCFrom: "default", MemoryLimit: math.MaxInt64, LimitFrom: "none"}, "GC percent 400 (default), memory limit none"},
		{Settings{GCPercent: 100, GCFrom: "GOGC", MemoryLimit: 230 << 20, LimitFrom: "cgroup"}, "GC percent 100 (GOGC), memory limit 230 MiB (cgroup)"},
	} {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}
