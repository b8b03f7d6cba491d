package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var key = []byte("experiment key")

// 2,000 callers through a 50/50 split: each arm gets 45–55%; a caller always lands in the
// same arm; moving to 80/20 moves 30% ± 3% of callers, all from the second arm to the
// first.
func TestAssignmentIsStickyAndMovesOnlyWhomItMust(t *testing.T) {
	even := []Arm{{"control", 50}, {"warm", 50}}
	skewed := []Arm{{"control", 80}, {"warm", 20}}
	for _, arms := range [][]Arm{even, skewed} {
		if err := CheckArms(arms); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	moved := 0
	for i := range 2000 {
		caller := fmt.Sprintf("+1404555%04d", i)
		b := Bucket(key, "warm-greeting-2026-12", caller)
		before := Assign(even, b)
		if again := Assign(even, Bucket(key, "warm-greeting-2026-12", caller)); again != before {
			t.Fatalf("%s: %s, then %s", caller, before, again)
		}
		counts[before]++
		after := Assign(skewed, b)
		if after != before {
			moved++
			if before != "warm" || after != "control" {
				t.Errorf("%s moved from %s to %s", caller, before, after)
			}
		}
	}
	for _, arm := range []string{"control", "warm"} {
		if share := float64(counts[arm]) / 2000; share < 0.45 || share > 0.55 {
			t.Errorf("%s got %.1f%% of the callers", arm, 100*share)
		}
	}
	if share := float64(moved) / 2000; share < 0.27 || share > 0.33 {
		t.Errorf("50/50 → 80/20 moved %.1f%% of the callers, want 30%% ± 3", 100*share)
	}
	// Another experiment, or another key, splits the same callers otherwise.
	if Bucket(key, "a", "+14045550000") == Bucket(key, "b", "+14045550000") && Bucket([]byte("other"), "a", "+14045550000") == Bucket(key, "a", "+14045550000") {
		t.Error("the bucket ignores the experiment and the key")
	}
}

func TestCheckArms(t *testing.T) {
	for _, tc := range []struct {
		arms []Arm
		ok   bool
	}{
		{[]Arm{{"a", 50}, {"b", 50}}, true},
		{[]Arm{{"a", 100}, {"b", 0}}, true},
		{[]Arm{{"a", 100}}, false},
		{[]Arm{{"a", 50}, {"b", 49}}, false},
		{[]Arm{{"a", 50}, {"a", 50}}, false},
		{[]Arm{{"", 50}, {"b", 50}}, false},
		{[]Arm{{"a", 150}, {"b", -50}}, false},
		{[]Arm{{"a", 10}, {"b", 10}, {"c", 10}, {"d", 10}, {"e", 10}, {"f", 10}, {"g", 10}, {"h", 10}, {"i", 10}, {"j", 5}, {"k", 5}}, false},
	} {
		if err := CheckArms(tc.arms); (err == nil) != tc.ok {
			t.Errorf("CheckArms(%v) = %v", tc.arms, err)
		}
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 5e-5 {
		t.Errorf("%s = %.6f, want %.6f", what, got, want)
	}
}

// The figures against values computed independently, with Python 3's standard library:
// z from statistics.NormalDist().inv_cdf(0.975), Φ from NormalDist().cdf, the chi-square
// tails from their closed forms for 1, 2 and 3 degrees of freedom (erfc(√(x/2)),
// exp(−x/2), erfc(√y) + 2√(y/π)e^−y with y = x/2), and the always-valid interval by
// solving Johari et al.'s mixture likelihood ratio Λ(θ) = √(V/(V+τ²))·exp(τ²(θ̂−θ)²/(2V(V+τ²)))
// < 1/α for θ (τ = 0.05, α = 0.05).
func TestFiguresMatchReferenceValues(t *testing.T) {
	for _, tc := range []struct {
		k, n      int
		low, high float64
	}{{45, 100, 0.356145, 0.547554}, {0, 20, 0, 0.161125}, {312, 1000, 0.284050, 0.341389}} {
		w := Wilson(tc.k, tc.n)
		near(t, fmt.Sprintf("Wilson(%d/%d) low", tc.k, tc.n), w.Low, tc.low)
		near(t, fmt.Sprintf("Wilson(%d/%d) high", tc.k, tc.n), w.High, tc.high)
	}
	near(t, "z-test 60/200 vs 80/200", Proportions{60, 200, 80, 200}.PValue(), 0.036032)
	p := Proportions{300, 1000, 375, 1000}
	near(t, "z-test 300/1000 vs 375/1000", p.PValue(), 0.000390)
	near(t, "difference", p.Difference(), 0.075)
	d := p.DifferenceInterval()
	near(t, "difference interval low", d.Low, 0.033684)
	near(t, "difference interval high", d.High, 0.116316)
	av := p.AlwaysValidInterval(DefaultTau)
	near(t, "always-valid low", av.Low, 0.010771)
	near(t, "always-valid high", av.High, 0.139229)
	near(t, "chi-square df 1, x 3", chiSquareSurvival(3, 1), 0.08326452)
	near(t, "chi-square df 2, x 5", chiSquareSurvival(5, 2), 0.08208500)
	near(t, "chi-square df 3, x 7", chiSquareSurvival(7, 3), 0.07189777)
	near(t, "SRM 5050/4950 at 50/50", SampleRatioPValue([]int{5050, 4950}, []int{50, 50}), 0.317311)
	if got := SampleRatioPValue([]int{5300, 4700}, []int{50, 50}); got > 1e-8 || got < 1e-10 {
		t.Errorf("SRM 5300/4700 at 50/50 = %.3e, want 1.973e-09", got)
	}
	if got := SampleRatioPValue([]int{10, 3}, []int{100, 0}); got != 0 {
		t.Errorf("calls in an arm of weight 0: %v, want 0", got)
	}
}

// 1,000 experiments whose arms do not differ (A/A), each read every day for 30 days: the
// always-valid interval declares a winner (excludes 0 on some day) in at most 5% of them;
// the fixed-horizon test read the same way does far more often, which is why the verdict
// uses the former. Seeded: the same run every time.
func TestAAExperimentsReadDaily(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 12))
	const (
		experiments = 1000
		days        = 30
		callsPerDay = 100 // per arm
		rate        = 0.3
	)
	avWins, fixedWins := 0, 0
	for range experiments {
		var p Proportions
		av, fixed := false, false
		for range days {
			for range callsPerDay {
				p.ControlN++
				p.TreatmentN++
				if rng.Float64() < rate {
					p.ControlHits++
				}
				if rng.Float64() < rate {
					p.TreatmentHits++
				}
			}
			if i := p.AlwaysValidInterval(DefaultTau); i.Low > 0 || i.High < 0 {
				av = true
			}
			if p.PValue() < 0.05 {
				fixed = true
			}
		}
		if av {
			avWins++
		}
		if fixed {
			fixedWins++
		}
	}
	t.Logf("A/A, read daily for %d days: the always-valid interval declared a winner in %d of %d, the fixed-horizon test in %d",
		days, avWins, experiments, fixedWins)
	if avWins > experiments*5/100 {
		t.Errorf("the always-valid interval declared %d winners of %d A/A experiments, want at most 5%%", avWins, experiments)
	}
	if fixedWins <= avWins {
		t.Errorf("the fixed-horizon test read daily declared %d winners, no more than the always-valid %d: the check shows nothing", fixedWins, avWins)
	}
}
