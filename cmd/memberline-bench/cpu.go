package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuTicks is the machine's CPU time by kind, summed over its CPUs (the first line of
// /proc/stat, in clock ticks).
type cpuTicks struct {
	busy, idle, softirq, steal int64
}

// machineTicks reads /proc/stat (zero where there is none).
func machineTicks() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	return parseCPUTicks(string(b))
}

// parseCPUTicks reads the "cpu" line of /proc/stat: user nice system idle iowait irq
// softirq steal (guest time is counted in user already).
func parseCPUTicks(stat string) (cpuTicks, error) {
	line, _, _ := strings.Cut(stat, "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTicks{}, fmt.Errorf("/proc/stat: no cpu line in %q", line)
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return cpuTicks{}, fmt.Errorf("/proc/stat: %q: %w", line, err)
		}
		v[i] = n
	}
	return cpuTicks{busy: v[0] + v[1] + v[2] + v[5], idle: v[3] + v[4], softirq: v[6], steal: v[7]}, nil
}

// machineShare is how the machine's CPU went over a stretch: shares of all of it.
type machineShare struct {
	idle, softirq, steal float64
}

func (t cpuTicks) since(before cpuTicks) machineShare {
	d := cpuTicks{t.busy - before.busy, t.idle - before.idle, t.softirq - before.softirq, t.steal - before.steal}
	all := d.busy + d.idle + d.softirq + d.steal
	if all <= 0 || before == (cpuTicks{}) {
		return machineShare{}
	}
	return machineShare{idle: float64(d.idle) / float64(all), softirq: float64(d.softirq) / float64(all),
		steal: float64(d.steal) / float64(all)}
}

func (m machineShare) String() string {
	return fmt.Sprintf("%.0f/%.0f/%.0f%%", 100*m.idle, 100*m.softirq, 100*m.steal)
}

// procCPU is a process's user+system time from /proc/PID/stat (in clock ticks of 10 ms,
// Linux's USER_HZ; over a 10 s scenario that is precise to 0.1%).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its ')'.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q", pid, b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// storeCPU is a redis-server's or postgres process's CPU time.
type storeCPU struct {
	redis bool
	cpu   time.Duration
}

// storesCPU is the CPU time of every redis-server and postgres process by pid.
func storesCPU() map[int]storeCPU {
	out := map[int]storeCPU{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		c := strings.TrimSpace(string(comm))
		if c != "redis-server" && c != "postgres" {
			continue
		}
		if cpu, err := procCPU(pid); err == nil {
			out[pid] = storeCPU{redis: c == "redis-server", cpu: cpu}
		}
	}
	return out
}

// storesCPUSince is the CPU Redis and PostgreSQL spent since before (a process started
// since counts from zero; one that exited since is lost, as pool connections are not).
func storesCPUSince(before map[int]storeCPU) (redis, pg time.Duration) {
	for pid, now := range storesCPU() {
		d := now.cpu - before[pid].cpu
		if now.redis {
			redis += d
		} else {
			pg += d
		}
	}
	return redis, pg
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
