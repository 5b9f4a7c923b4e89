package pareto

import (
	"fmt"
	"math"
	"slices"
)

// Hypervolume returns the volume of objective space that the points dominate and that
// in turn dominates the reference point ref: the Lebesgue measure of the union of the
// boxes spanned between ref and each point. It is the standard single-number quality of
// a front (larger is better) and grows whenever a front improves in the Pareto sense.
//
// A point contributes only if it is strictly better than ref in every objective; points
// with a NaN value, or not beyond ref, add nothing. Dominated and duplicate points may be
// passed: they add nothing either. ref must be finite; a point infinitely better than
// ref in some objective makes the hypervolume +Inf.
//
// The computation is exact. Two objectives take one sort and a sweep, O(N log N); three
// a sweep over a staircase (hv3), O(N log N) comparisons; more objectives slice along the
// last one and recurse (the HSO scheme of While, Bradstreet,
// Barone and Hingston, "Heuristics for optimising the calculation of hypervolume for
// multi-objective optimisation problems", CEC 2005), O(N^(M−1) log N), which is quick for
// the few objectives and hundreds of points of an evolution.
//
// Hypervolume panics on the inputs Dominates panics on, and if len(ref) ≠ len(dirs) or ref
// is not finite.
func Hypervolume(points [][]float64, dirs []Direction, ref []float64) float64 {
	checkDirs(dirs)
	m := len(dirs)
	if len(ref) != m {
		panic(fmt.Sprintf("pareto: Hypervolume: reference point has %d objectives, dirs has %d", len(ref), m))
	}
	for k, r := range ref {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			panic(fmt.Sprintf("pareto: Hypervolume: reference point objective %d is %v", k, r))
		}
	}
	// Move ref to the origin and make every objective minimized: a contributing point
	// then has all coordinates negative and its box spans from it to the origin.
	pts := make([][]float64, 0, len(points))
	for i, p := range points {
		if len(p) != m {
			panic(fmt.Sprintf("pareto: Hypervolume: point %d has %d objectives, dirs has %d", i, len(p), m))
		}
		q := make([]float64, m)
		inside := true
		for k, d := range dirs {
			v := p[k] - ref[k] // > 0 means better when maximizing
			if d == Minimize {
				v = ref[k] - p[k]
			}
			if !(v > 0) { // also rejects NaN
				inside = false
				break
			}
			q[k] = -v
		}
		if inside {
			pts = append(pts, q)
		}
	}
	return hvMin(pts, m)
}

// hvMin is the hypervolume of points in m minimized objectives against the origin, every
// coordinate of every point negative. It reorders pts.
func hvMin(pts [][]float64, m int) float64 {
	switch {
	case len(pts) == 0:
		return 0
	case m == 1:
		best := 0.0
		for _, p := range pts {
			best = min(best, p[0])
		}
		return -best
	case m == 2:
		return hv2(pts)
	case m == 3:
		return hv3(pts)
	}
	return hvSlice(pts, m)
}

// hvSlice is hvMin for m ≥ 3 objectives by slicing (the HSO scheme): it reorders pts.
func hvSlice(pts [][]float64, m int) float64 {
	// Slice along the last objective: sorted ascending, the slab between point i's value
	// and the next one's is covered by the (m−1)-dimensional front of points 0..i.
	last := m - 1
	slices.SortFunc(pts, func(a, b []float64) int { return compareFloat(a[last], b[last]) })
	var vol float64
	for i := range pts {
		next := 0.0
		if i+1 < len(pts) {
			next = pts[i+1][last]
		}
		if depth := next - pts[i][last]; depth > 0 {
			prefix := slices.Clone(pts[:i+1])
			vol += depth * hvMin(prefix, last)
		}
	}
	return vol
}

// hv2 is the two-objective sweep: sorted by the first objective ascending, each point
// that improves the best second objective so far adds a rectangle.
func hv2(pts [][]float64) float64 {
	slices.SortFunc(pts, func(a, b []float64) int {
		if c := compareFloat(a[0], b[0]); c != 0 {
			return c
		}
		return compareFloat(a[1], b[1])
	})
	var vol float64
	bestY := 0.0
	for _, p := range pts {
		if p[1] >= bestY {
			continue // dominated by an earlier point
		}
		// The staircase grows by the strip from this point's x to the origin, between
		// its y and the best y so far.
		vol += -p[0] * (bestY - p[1])
		bestY = p[1]
	}
	return vol
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
