package pareto

import (
	"cmp"
	"slices"
)

// hv3 is the exact three-objective hypervolume in O(N log N) comparisons (plus the
// staircase's slice moves), the dimension-sweep of N. Beume, C. Fonseca, M. López-Ibáñez,
// L. Paquete and J. Vahrenhold, "On the Complexity of Computing the Hypervolume
// Indicator", IEEE TEVC 13(5), 2009: points (minimized against the origin, every
// coordinate negative) are swept in ascending z; the 2-D staircase of the (x, y) seen so
// far is kept sorted by x with y falling, together with the area it dominates, and each
// slab between consecutive z values adds area × depth. Inserting a point changes the
// area only over the x-range where it lowers the staircase, found by binary search, and
// every point it hides is removed once. It reorders pts.
func hv3(pts [][]float64) float64 {
	slices.SortFunc(pts, func(a, b []float64) int { return cmp.Compare(a[2], b[2]) })
	type step struct{ x, y float64 }
	var s []step // x ascending, y strictly falling
	var area, vol float64
	for i, p := range pts {
		x, y := p[0], p[1]
		// j: first step with x ≥ p's. The step before it (if any) covers p's x-range
		// from x up to its own successor at height −y_prev.
		j, _ := slices.BinarySearchFunc(s, x, func(e step, x float64) int { return cmp.Compare(e.x, x) })
		if !(j > 0 && s[j-1].y <= y) && !(j < len(s) && s[j].x == x && s[j].y <= y) {
			// Height covered before p, just left of each boundary, from x to the first
			// step that stays (x < its x and y > its y).
			covered := 0.0 // −y of the staircase over [x, next boundary)
			if j > 0 {
				covered = -s[j-1].y
			}
			k := j
			cur := x
			for k < len(s) && s[k].y >= y {
				// s[k] is hidden by p: over [cur, s[k].x) the height was covered.
				area += (s[k].x - cur) * (-y - covered)
				covered, cur = -s[k].y, s[k].x
				k++
			}
			end := 0.0 // the origin closes the staircase
			if k < len(s) {
				end = s[k].x
			}
			area += (end - cur) * (-y - covered)
			s = slices.Replace(s, j, k, step{x, y})
		}
		next := 0.0
		if i+1 < len(pts) {
			next = pts[i+1][2]
		}
		vol += area * (next - p[2])
	}
	return vol
}
