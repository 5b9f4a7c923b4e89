package pareto

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Constrained domination (Deb 2000, "An efficient constraint handling method for genetic
// algorithms", CMAME 186; NSGA-II paper §V). Every point carries an overall constraint
// violation v: v ≤ 0 is feasible, v > 0 says how badly the point fails its constraints, and
// NaN counts as +Inf (the worst). Point a constrained-dominates b when
//
//  1. a is feasible and b is not; or
//  2. both are infeasible and a's violation is smaller; or
//  3. both are feasible and a Pareto-dominates b (Dominates).
//
// So every feasible point beats every infeasible one, and infeasible points are ordered by
// violation alone: the infeasible fronts are the groups of equal violation, ascending.

// violationKey maps a violation to its ordering value: 0 for feasible, +Inf for NaN.
func violationKey(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return math.Inf(1)
	case v <= 0:
		return 0
	}
	return v
}

// ConstrainedDominates reports whether a, with violation va, constrained-dominates b,
// with violation vb (see above). It panics on the inputs Dominates panics on.
func ConstrainedDominates(a, b []float64, va, vb float64, dirs []Direction) bool {
	ka, kb := violationKey(va), violationKey(vb)
	switch {
	case ka == 0 && kb == 0:
		return Dominates(a, b, dirs)
	case ka == 0:
		checkPoints([][]float64{a, b}, dirs)
		return true
	case kb == 0:
		checkPoints([][]float64{a, b}, dirs)
		return false
	}
	checkPoints([][]float64{a, b}, dirs)
	return ka < kb
}

// ConstrainedNonDominatedSort is NonDominatedSort under constrained domination: the fronts
// of the feasible points (NonDominatedSort on them alone), then one front per distinct
// violation of the infeasible points, smallest first. violation is aligned with points.
// Indices inside each front are ascending; it returns nil for no points.
//
// It panics if len(violation) ≠ len(points) or on the inputs NonDominatedSort panics on.
func ConstrainedNonDominatedSort(points [][]float64, violation []float64, dirs []Direction) [][]int {
	checkPoints(points, dirs)
	if len(violation) != len(points) {
		panic(fmt.Sprintf("pareto: ConstrainedNonDominatedSort: %d violations for %d points", len(violation), len(points)))
	}
	if len(points) == 0 {
		return nil
	}
	var feasible, infeasible []int
	for i, v := range violation {
		if violationKey(v) == 0 {
			feasible = append(feasible, i)
		} else {
			infeasible = append(infeasible, i)
		}
	}
	var fronts [][]int
	if len(feasible) > 0 {
		sub := make([][]float64, len(feasible))
		for j, i := range feasible {
			sub[j] = points[i]
		}
		for _, f := range NonDominatedSort(sub, dirs) {
			front := make([]int, len(f))
			for j, k := range f {
				front[j] = feasible[k] // feasible is ascending, so front stays ascending
			}
			fronts = append(fronts, front)
		}
	}
	slices.SortStableFunc(infeasible, func(a, b int) int {
		return cmp.Compare(violationKey(violation[a]), violationKey(violation[b]))
	})
	for start := 0; start < len(infeasible); {
		end := start + 1
		for end < len(infeasible) && violationKey(violation[infeasible[end]]) == violationKey(violation[infeasible[start]]) {
			end++
		}
		fronts = append(fronts, slices.Clone(infeasible[start:end])) // ascending: stable sort
		start = end
	}
	return fronts
}

// ConstrainedRank is Rank under constrained domination: each point's front number in
// ConstrainedNonDominatedSort and its crowding distance within that front (on the
// objectives, as CrowdingDistance).
func ConstrainedRank(points [][]float64, violation []float64, dirs []Direction) (rank []int, crowding []float64) {
	rank = make([]int, len(points))
	crowding = make([]float64, len(points))
	for r, front := range ConstrainedNonDominatedSort(points, violation, dirs) {
		dist := CrowdingDistance(points, front, dirs)
		for j, i := range front {
			rank[i] = r
			crowding[i] = dist[j]
		}
	}
	return rank, crowding
}

// ConstrainedSurvive is Survive under constrained domination: n survivors taken front by
// front from ConstrainedNonDominatedSort, the first front that does not fit cut by
// descending crowding distance (ties by lower index). So an infeasible point survives only
// when fewer than n points are feasible, and then the least violating ones do. It returns
// the survivors' indices in ascending order.
func ConstrainedSurvive(points [][]float64, violation []float64, dirs []Direction, n int) []int {
	fronts := ConstrainedNonDominatedSort(points, violation, dirs)
	if n <= 0 {
		return []int{}
	}
	if n >= len(points) {
		all := make([]int, len(points))
		for i := range all {
			all[i] = i
		}
		return all
	}
	survivors := make([]int, 0, n)
	for _, front := range fronts {
		room := n - len(survivors)
		if len(front) <= room {
			survivors = append(survivors, front...)
			if len(front) == room {
				break
			}
			continue
		}
		survivors = append(survivors, mostCrowded(points, front, dirs, room)...)
		break
	}
	slices.Sort(survivors)
	return survivors
}

// mostCrowded returns the k members of front with the largest crowding distance, ties by
// lower index.
func mostCrowded(points [][]float64, front []int, dirs []Direction, k int) []int {
	dist := CrowdingDistance(points, front, dirs)
	pos := make([]int, len(front))
	for j := range pos {
		pos[j] = j
	}
	slices.SortFunc(pos, func(a, b int) int {
		if c := cmp.Compare(dist[b], dist[a]); c != 0 {
			return c
		}
		return cmp.Compare(front[a], front[b])
	})
	out := make([]int, k)
	for j, p := range pos[:k] {
		out[j] = front[p]
	}
	return out
}
