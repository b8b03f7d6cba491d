// Package experiments is the arithmetic of flow experiments, pure: which arm a caller is
// assigned to (sticky, on every instance, and not choosable by outsiders), and what the
// calls of each arm say, with intervals and tests that stay honest when someone looks at
// the report every day. It stores nothing and calls nothing: the engine assigns with it,
// the reports compute with it.
package experiments

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Buckets is how finely the callers are split: weights are whole percents, each a hundred
// buckets.
const Buckets = 10000

// Arm is one way an experiment goes, with its share of the callers in percent.
type Arm struct {
	ID     string
	Weight int
}

// CheckArms reports what is wrong with an experiment's arms: 2 to 10, ids unique and not
// empty, whole-percent weights from 0 that sum to 100.
func CheckArms(arms []Arm) error {
	if len(arms) < 2 || len(arms) > 10 {
		return fmt.Errorf("an experiment has 2 to 10 arms, not %d", len(arms))
	}
	seen := map[string]bool{}
	sum := 0
	for _, a := range arms {
		switch {
		case a.ID == "":
			return errors.New("every arm needs an id")
		case seen[a.ID]:
			return fmt.Errorf("arm id %q is used twice", a.ID)
		case a.Weight < 0 || a.Weight > 100:
			return fmt.Errorf("arm %q: a weight is a whole percent from 0 to 100, not %d", a.ID, a.Weight)
		}
		seen[a.ID] = true
		sum += a.Weight
	}
	if sum != 100 {
		return fmt.Errorf("the weights sum to %d, not 100", sum)
	}
	return nil
}

// Bucket is the bucket, 0 to Buckets-1, of a subject (a member id, a caller's number, or
// for a withheld number the call) in an experiment: the first 8 bytes of
// HMAC-SHA256(key, experiment NUL subject), modulo Buckets. The same on every instance;
// without the key, nobody can choose a subject that lands in the arm they want.
func Bucket(key []byte, experiment, subject string) int {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(experiment))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return int(binary.BigEndian.Uint64(m.Sum(nil)[:8]) % Buckets)
}

// Assign is the arm of a bucket: the arms take consecutive ranges of buckets in their
// order, each its weight's share. So changing weights moves only the callers it must: from
// 50/50 to 80/20 keeps every caller of the first arm in it and moves 30% of all callers,
// from the second arm to the first. "" when the weights do not cover the bucket (CheckArms
// refuses such arms).
func Assign(arms []Arm, bucket int) string {
	edge := 0
	for _, a := range arms {
		edge += a.Weight * (Buckets / 100)
		if bucket < edge {
			return a.ID
		}
	}
	return ""
}

// Interval is a range of values, with the estimate it is centred on when there is one.
type Interval struct {
	Low, High float64
}

// z95 is the standard normal's 97.5th percentile: a two-sided 95% interval.
const z95 = 1.959963984540054

// Wilson is the 95% Wilson score interval of a proportion: successes of n. Unlike the
// Wald interval it stays within [0, 1] and is sensible for small n and shares near 0 or 1.
// n = 0 gives [0, 1].
func Wilson(successes, n int) Interval {
	if n <= 0 {
		return Interval{0, 1}
	}
	p := float64(successes) / float64(n)
	z2 := z95 * z95
	nf := float64(n)
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return Interval{math.Max(0, centre-half), math.Min(1, centre+half)}
}

// Proportions are the goal counts of two arms: a control and a treatment.
type Proportions struct {
	ControlHits, ControlN     int
	TreatmentHits, TreatmentN int
}

func (p Proportions) shares() (p1, p2 float64) {
	return float64(p.ControlHits) / float64(p.ControlN), float64(p.TreatmentHits) / float64(p.TreatmentN)
}

// ok reports whether both arms have calls.
func (p Proportions) ok() bool { return p.ControlN > 0 && p.TreatmentN > 0 }

// Difference is the treatment's share minus the control's.
func (p Proportions) Difference() float64 {
	if !p.ok() {
		return math.NaN()
	}
	p1, p2 := p.shares()
	return p2 - p1
}

// variance is the variance of the difference's estimate (unpooled).
func (p Proportions) variance() float64 {
	p1, p2 := p.shares()
	return p1*(1-p1)/float64(p.ControlN) + p2*(1-p2)/float64(p.TreatmentN)
}

// DifferenceInterval is the fixed-horizon 95% interval of the difference (Wald, unpooled):
// right only when the report is read once, at a number of calls decided in advance.
func (p Proportions) DifferenceInterval() Interval {
	if !p.ok() {
		return Interval{-1, 1}
	}
	d, half := p.Difference(), z95*math.Sqrt(p.variance())
	return Interval{d - half, d + half}
}

// PValue is the two-sided p-value of the two-proportion z-test (pooled): how often a
// difference at least this large would arise if the arms did not differ, for a test run
// once at a fixed horizon. 1 when it cannot be computed.
func (p Proportions) PValue() float64 {
	if !p.ok() {
		return 1
	}
	n1, n2 := float64(p.ControlN), float64(p.TreatmentN)
	pool := float64(p.ControlHits+p.TreatmentHits) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	if se == 0 {
		return 1
	}
	z := math.Abs(p.Difference()) / se
	return math.Erfc(z / math.Sqrt2) // 2 × (1 − Φ(|z|))
}

// DefaultTau is the mixing spread of the always-valid interval: the size of difference the
// test is most sensitive to, 5 percentage points.
const DefaultTau = 0.05

// AlwaysValidInterval is a 95% confidence sequence for the difference: an interval that
// holds, with 95% probability, at every moment at once, so that reading the report every
// day (and stopping when it looks good) does not inflate false wins. It is the normal-
// mixture sequential test of Johari, Pekelis and Walsh ("Always Valid Inference", 2017)
// with mixing N(0, tau²): with V the variance of the difference's estimate,
//
//	difference ± sqrt( V(V+tau²)/tau² × (2·ln(1/alpha) + ln((V+tau²)/V)) ),  alpha = 0.05.
//
// It is wider than the fixed-horizon interval, by less as the calls grow.
func (p Proportions) AlwaysValidInterval(tau float64) Interval {
	if !p.ok() {
		return Interval{-1, 1}
	}
	v := p.variance()
	if v == 0 {
		d := p.Difference()
		return Interval{d, d}
	}
	t2 := tau * tau
	half := math.Sqrt(v * (v + t2) / t2 * (2*math.Log(1/0.05) + math.Log((v+t2)/v)))
	d := p.Difference()
	return Interval{d - half, d + half}
}

// SampleRatioPValue is the p-value of Pearson's chi-square test of the arms' calls against
// their weights (in percent): a very small one (below 0.001) says the split or the records
// are broken, and no verdict should be given. 1 when there are no calls.
func SampleRatioPValue(calls []int, weights []int) float64 {
	total := 0
	for _, c := range calls {
		total += c
	}
	if total == 0 || len(calls) != len(weights) || len(calls) < 2 {
		return 1
	}
	chi2, df := 0.0, -1
	for i, c := range calls {
		if weights[i] <= 0 {
			if c > 0 {
				return 0 // calls in an arm that should have none
			}
			continue
		}
		df++
		want := float64(total) * float64(weights[i]) / 100
		chi2 += (float64(c) - want) * (float64(c) - want) / want
	}
	if df < 1 {
		return 1
	}
	return chiSquareSurvival(chi2, df)
}

// chiSquareSurvival is P(X > x) for X chi-square with df degrees of freedom: the
// regularized upper incomplete gamma function Q(df/2, x/2), by its series for small x and
// its continued fraction otherwise (Numerical Recipes, 6.2).
func chiSquareSurvival(x float64, df int) float64 {
	if x <= 0 {
		return 1
	}
	a, y := float64(df)/2, x/2
	lg, _ := math.Lgamma(a)
	if y < a+1 {
		sum, term := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			term *= y / (a + float64(n))
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return math.Max(0, 1-sum*math.Exp(-y+a*math.Log(y)-lg))
	}
	const tiny = 1e-300
	b := y + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Min(1, math.Exp(-y+a*math.Log(y)-lg)*h)
}
