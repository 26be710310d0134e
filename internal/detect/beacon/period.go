package beacon

import (
	"math"
	"slices"
)

// fit is the rhythm found in one series of check-in times.
type fit struct {
	// Period is the estimated interval between check-ins, seconds.
	Period float64
	// Jitter is the median absolute deviation of the gaps from the
	// nearest multiple of the period, as a fraction of the period.
	Jitter float64
	// Gaps counts every gap; Single those of one period, Missed those of
	// several (check-ins missed), Short those shorter than half a period,
	// Sleeps those longer than maxFold periods (nights, weekends).
	Gaps, Single, Missed, Short, Sleeps int
	// Expected is how many check-ins the active spans should hold.
	Expected int
	// Active is the time covered by gaps that are not sleeps, seconds.
	Active float64
	// Timing, Coverage and Size are the sub-scores, each 0–1.
	Timing, Coverage, Size float64
	// SizeMedian and SizeMAD describe the bytes sent per check-in.
	SizeMedian, SizeMAD float64
}

// analyser holds the limits of the period search and scratch space, so
// that scoring allocates nothing in the steady state.
type analyser struct {
	minPeriod, maxPeriod float64 // seconds
	maxFold              int
	gaps, sorted, work   []float64
}

// jitterScale is the folded jitter at which the timing score reaches 0
// (a uniform ±80 % jitter has a median of 0.4).
const jitterScale = 0.4

// analyse estimates the period of ts (unix nanoseconds, ascending) and
// scores how regular it is. up holds the bytes sent per check-in.
func (a *analyser) analyse(ts []int64, up []uint32) (fit, bool) {
	if len(ts) < 3 {
		return fit{}, false
	}
	a.gaps = a.gaps[:0]
	for i := 1; i < len(ts); i++ {
		a.gaps = append(a.gaps, float64(ts[i]-ts[i-1])/1e9)
	}
	a.sorted = append(a.sorted[:0], a.gaps...)
	slices.Sort(a.sorted)
	sorted := a.sorted
	// Candidates: the median gap (right when fewer than half the
	// check-ins are missed or asleep) and lower quantiles (right when
	// more are). Each is refined on the gaps it explains.
	var best fit
	ok := false
	prev := 0.0
	for _, q := range [...]float64{0.5, 0.3, 0.15} {
		p := sorted[int(q*float64(len(sorted)-1))]
		if p <= 0 || (prev > 0 && math.Abs(p-prev) < 0.1*prev) {
			continue
		}
		prev = p
		for range 2 {
			if r := a.refine(p); r > 0 {
				p = r
			}
		}
		if p < a.minPeriod || p > a.maxPeriod {
			continue
		}
		f := a.score(p)
		// Prefer the longer period on a tie: half the period explains
		// every gap of a strict beacon too.
		if !ok || f.Timing > best.Timing+0.05 {
			best, ok = f, true
		}
	}
	if !ok {
		return fit{}, false
	}
	best.SizeMedian, best.SizeMAD, best.Size = sizeRegularity(up, a.work[:0])
	return best, true
}

// refine returns the median of gap/k over the gaps that fold onto p.
func (a *analyser) refine(p float64) float64 {
	per := a.work[:0]
	for _, g := range a.gaps {
		k := math.Round(g / p)
		if k >= 1 && k <= float64(a.maxFold) {
			per = append(per, g/k)
		}
	}
	a.work = per
	if len(per) == 0 {
		return 0
	}
	return median(per)
}

// score folds every gap onto the nearest multiple of p.
func (a *analyser) score(p float64) fit {
	f := fit{Period: p, Gaps: len(a.gaps)}
	res := a.work[:0]
	for _, g := range a.gaps {
		k := math.Round(g / p)
		switch {
		case k < 1:
			f.Short++
			f.Active += g
		case k > float64(a.maxFold):
			f.Sleeps++
		default:
			if k == 1 {
				f.Single++
			} else {
				f.Missed++
			}
			f.Expected += int(k)
			f.Active += g
			// A gap of k periods sums k jittered intervals: its spread
			// grows with the square root of k.
			res = append(res, math.Abs(g-k*p)/p/math.Sqrt(k))
		}
	}
	a.work = res
	if len(res) == 0 {
		return f
	}
	f.Jitter = median(res)
	awake := float64(f.Gaps - f.Sleeps)
	// Jitter: 0 for a strict beacon, ±30 % uniform jitter gives 0.15.
	jit := clamp(1 - (f.Jitter/jitterScale)*(f.Jitter/jitterScale))
	// Regularity: the share of waking gaps that are one period. Random
	// (Poisson) arrivals folded on their median gap give about 0.35.
	reg := clamp((float64(f.Single)/awake - 0.35) / 0.5)
	// A few sleeps are nights and weekends; many mean the traffic
	// comes in bursts.
	sleep := 1 - clamp((float64(f.Sleeps)/float64(f.Gaps)-0.2)/0.3)
	// Gaps far shorter than the period: a beacon's jitter hardly ever
	// makes them (a task fetched between check-ins may), people often.
	short := 1 - clamp((float64(f.Short)/awake-0.1)/0.3)
	f.Timing = jit * (0.3 + 0.7*reg) * sleep * short
	f.Coverage = clamp(float64(f.Single+f.Missed) / float64(max(f.Expected, 1)))
	return f
}

// sizeRegularity returns the median and MAD of the bytes sent, and a 0–1
// score (1 when every check-in sends nearly the same).
func sizeRegularity(up []uint32, buf []float64) (med, mad, score float64) {
	if len(up) == 0 {
		return 0, 0, 0.5
	}
	buf = buf[:0]
	for _, u := range up {
		buf = append(buf, float64(u))
	}
	med = median(buf)
	for i, v := range buf {
		buf[i] = math.Abs(v - med)
	}
	mad = median(buf)
	if med <= 0 {
		// Nothing sent: a size says nothing either way.
		return med, mad, 0.5
	}
	return med, mad, clamp(1 - (mad/med)/0.5)
}

// median returns the median of v, reordering v (linear time: scoring
// takes a dozen medians per series).
func median(v []float64) float64 {
	n := len(v)
	hi := nth(v, n/2)
	if n%2 == 1 {
		return hi
	}
	// After nth, the lower half holds the smaller values.
	return (slices.Max(v[:n/2]) + hi) / 2
}

// nth reorders v so that v[k] is the value a sort would put there, with
// no larger value before it (Hoare's selection, median-of-three pivot).
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

func clamp(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}
