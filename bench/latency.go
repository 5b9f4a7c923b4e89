package bench

import (
	"context"
	"slices"
	"time"
)

// Timing is a latency measurement of a model, optionally against a reference.
type Timing struct {
	// Ms and RefMs are the median single-run times in milliseconds.
	Ms, RefMs float64
	// Speedup is the median over interleaved pairs of refTime/time (0 without a reference).
	Speedup float64
	// Runs is the number of timed samples per model; Reps the forward passes per sample.
	Runs, Reps int
}

// minSample is the shortest timed sample: a sample repeats the forward pass until it
// lasts about this long, so the clock's resolution and overhead (tens of
// nanoseconds) stay below 0.1 % of every sample.
const minSample = 50 * time.Microsecond

// warmup is the number of untimed passes of each model before timing (caches, pools,
// branch predictors, CPU frequency).
const warmup = 50

// MeasureLatency times run (one single-example inference on input i) and, if ref is
// not nil, ref on the same inputs, interleaved: after a warm-up, runs samples are
// taken alternately — model then reference, then reference then model (ABBA), so that
// neither always runs on a cache the other warmed — and each pair gives the ratio
// refTime/time. The median of those ratios is the speed-up; machine noise that slows
// both members of a pair cancels in it. A sample repeats its model reps times, reps
// chosen so the slower model's sample lasts about minSample. It checks ctx between
// samples.
func MeasureLatency(ctx context.Context, runs int, run, ref func(i int)) (Timing, error) {
	runs = max(runs, 1)
	for i := range warmup {
		run(i)
		if ref != nil {
			ref(i)
		}
	}
	reps := repsFor(run)
	if ref != nil {
		reps = max(reps, repsFor(ref))
	}
	sample := func(f func(int), i int) time.Duration {
		start := time.Now()
		for k := range reps {
			f(i*reps + k)
		}
		return time.Since(start) / time.Duration(reps)
	}
	times := make([]time.Duration, runs)
	var refTimes []time.Duration
	var ratios []float64
	if ref != nil {
		refTimes = make([]time.Duration, runs)
		ratios = make([]float64, runs)
	}
	for i := range runs {
		if i%16 == 0 {
			if err := ctx.Err(); err != nil {
				return Timing{}, err
			}
		}
		if ref == nil {
			times[i] = sample(run, i)
			continue
		}
		if i%2 == 0 {
			times[i] = sample(run, i)
			refTimes[i] = sample(ref, i)
		} else {
			refTimes[i] = sample(ref, i)
			times[i] = sample(run, i)
		}
		ratios[i] = float64(refTimes[i]) / float64(max(times[i], 1))
	}
	t := Timing{Ms: medianMs(times), Runs: runs, Reps: reps}
	if ref != nil {
		t.RefMs = medianMs(refTimes)
		slices.Sort(ratios)
		t.Speedup = median(ratios)
	}
	return t, nil
}

// repsFor is how many passes of f make a sample of about minSample.
func repsFor(f func(int)) int {
	start := time.Now()
	n := 0
	for time.Since(start) < minSample/4 {
		f(n)
		n++
	}
	return max(1, 4*n)
}

func medianMs(d []time.Duration) float64 {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x) / float64(time.Millisecond)
	}
	slices.Sort(v)
	return median(v)
}

// median of sorted, non-empty v.
func median(v []float64) float64 {
	mid := len(v) / 2
	if len(v)%2 == 0 {
		return (v[mid-1] + v[mid]) / 2
	}
	return v[mid]
}
