package main

import (
	"math"
	"testing"
)

func TestParseCPUTicks(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	got, err := parseCPUTicks("cpu  100 5 40 300 20 3 30 2 7 0\ncpu0 50 2 20 150 10 1 15 1 3 0\n")
	if err != nil {
		t.Fatal(err)
	}
	want := cpuTicks{busy: 100 + 5 + 40 + 3, idle: 300 + 20, softirq: 30, steal: 2}
	if got != want {
		t.Fatalf("parseCPUTicks = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8"} {
		if _, err := parseCPUTicks(bad); err == nil {
			t.Errorf("parseCPUTicks(%q): no error", bad)
		}
	}
}

func TestMachineShare(t *testing.T) {
	before := cpuTicks{busy: 1000, idle: 500, softirq: 100, steal: 0}
	after := cpuTicks{busy: 1140, idle: 520, softirq: 130, steal: 10} // 200 ticks: 140 busy, 20 idle, 30 softirq, 10 steal
	m := after.since(before)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"idle", m.idle, 0.10}, {"softirq", m.softirq, 0.15}, {"steal", m.steal, 0.05}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s := m.String(); s != "10/15/5%" {
		t.Errorf("String() = %q", s)
	}
	if z := after.since(cpuTicks{}); z != (machineShare{}) {
		t.Errorf("since an unread start = %+v, want zero", z)
	}
	if z := before.since(before); z != (machineShare{}) {
		t.Errorf("since itself = %+v, want zero", z)
	}
}
