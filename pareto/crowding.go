package pareto

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// CrowdingDistance returns the crowding distance of each point of one front (indices into
// points), aligned with front: how much room there is around a point along the front, the
// diversity measure of Deb et al. 2002 (NSGA-II, §III-B). For each objective the front is
// sorted by value (ascending; ties by ascending index, so the result is deterministic); the
// first and last points get +Inf and every interior point adds
//
//	(f[next] - f[prev]) / (f_max - f_min)
//
// where prev and next are its neighbours in that order. Distances are unitless sums over
// objectives. Directions do not change the distance; they are only validated.
//
// Degenerate objectives:
//   - an objective whose values in the front are all equal (range zero) contributes 0 to
//     every point, boundaries included: no point is an extreme of it. So a front of a
//     single point, or of identical points, has distance 0 everywhere;
//   - points whose value is NaN in an objective are left out of that objective's ordering
//     and get 0 from it; the extremes among the remaining points are the boundaries;
//   - an objective whose range is infinite (a ±Inf value) marks its boundaries with +Inf
//     and contributes 0 to interior points.
//
// It panics if an index is outside points or a point's length differs from len(dirs).
func CrowdingDistance(points [][]float64, front []int, dirs []Direction) []float64 {
	checkDirs(dirs)
	for _, i := range front {
		if i < 0 || i >= len(points) {
			panic(fmt.Sprintf("pareto: CrowdingDistance: front index %d outside points (len %d)", i, len(points)))
		}
		if len(points[i]) != len(dirs) {
			panic(fmt.Sprintf("pareto: point %d has %d objectives, dirs has %d", i, len(points[i]), len(dirs)))
		}
	}
	dist := make([]float64, len(front))
	type entry struct {
		value float64
		index int // into points: the tie-break
		pos   int // into front and dist
	}
	order := make([]entry, 0, len(front))
	for k := range dirs {
		order = order[:0]
		for pos, i := range front {
			if v := points[i][k]; !math.IsNaN(v) {
				order = append(order, entry{v, i, pos})
			}
		}
		if len(order) == 0 {
			continue
		}
		slices.SortFunc(order, func(a, b entry) int {
			if c := cmp.Compare(a.value, b.value); c != 0 {
				return c
			}
			return cmp.Compare(a.index, b.index)
		})
		first, last := order[0], order[len(order)-1]
		span := last.value - first.value
		if span == 0 {
			continue
		}
		dist[first.pos] = math.Inf(1)
		dist[last.pos] = math.Inf(1)
		if math.IsInf(span, 0) {
			continue
		}
		for j := 1; j < len(order)-1; j++ {
			dist[order[j].pos] += (order[j+1].value - order[j-1].value) / span
		}
	}
	return dist
}
