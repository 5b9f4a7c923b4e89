package pareto

import (
	"cmp"
	"slices"
)

// ndSortLow is NonDominatedSort for one to three objectives in O(N log² N) for random
// points (O(N log N) comparisons plus the staircase upkeep), after the efficient
// non-dominated sort with binary search (ENS-BS) of X. Zhang, Y. Tian, R. Cheng and
// Y. Jin, "An Efficient Approach to Nondominated Sorting for Evolutionary
// Multiobjective Optimization", IEEE TEVC 19(2), 2015:
//
//   - points are visited in lexicographic order of their minimization keys, so every
//     point that dominates p is visited before p;
//   - p joins the first front none of whose members dominates it. Fronts are ordered so
//     that if front f dominates p, so does every earlier front; the first free front is
//     found by binary search;
//   - whether front f dominates p needs only the members' last M−1 keys (all of them
//     precede p in the first): for M = 3 each front keeps the staircase of its members'
//     (k₁, k₂) — the 2-D non-dominated ones, sorted by k₁ with k₂ falling — and p is
//     dominated iff the staircase point with the largest k₁ ≤ p's has k₂ ≤ p's. For
//     M = 2 the staircase is one number, the front's smallest k₁; for M = 1 nothing.
//
// Exact duplicates are visited one after the other and join their twin's front (they
// do not dominate each other). keys are ordered keys (larger is better) as orderedKeys
// returns; m is 1, 2 or 3.
func ndSortLow(keys []int64, n, m int) [][]int {
	// Minimization keys: ^k reverses the order without overflow (NaN's MinInt64 becomes
	// MaxInt64, the worst).
	mk := make([]int64, 3*n)
	for i := range n {
		for k := range m {
			mk[3*i+k] = ^keys[i*m+k]
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		for k := range m {
			if c := cmp.Compare(mk[3*a+k], mk[3*b+k]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})

	var fronts [][]int
	var stairs [][]stair // m == 3: per front, sorted by x ascending, y strictly falling
	var best []int64     // m == 2: per front, the smallest k₁
	front := make([]int, n)
	prev := -1
	for _, p := range order {
		px, py := mk[3*p+1], mk[3*p+2]
		var f int
		switch {
		case prev >= 0 && slices.Equal(mk[3*p:3*p+m], mk[3*prev:3*prev+m]):
			f = front[prev] // an exact duplicate joins its twin
		case m == 1:
			// Everything earlier is strictly better or a duplicate: one front per value.
			f = len(fronts)
		case m == 2:
			f, _ = slices.BinarySearchFunc(best, px, func(b, x int64) int {
				if b <= x {
					return -1 // front dominates p: look later
				}
				return 1
			})
			if f == len(best) {
				best = append(best, px)
			} else {
				best[f] = min(best[f], px)
			}
		default:
			lo, hi := 0, len(stairs)
			for lo < hi {
				mid := int(uint(lo+hi) >> 1)
				if dominatedBy(stairs[mid], px, py) {
					lo = mid + 1
				} else {
					hi = mid
				}
			}
			f = lo
			if f == len(stairs) {
				stairs = append(stairs, nil)
			}
			stairs[f] = insertStair(stairs[f], px, py)
		}
		if f == len(fronts) {
			fronts = append(fronts, nil)
		}
		fronts[f] = append(fronts[f], p)
		front[p] = f
		prev = p
	}
	for _, fr := range fronts {
		slices.Sort(fr)
	}
	return fronts
}

// stair is one point of a 2-D staircase.
type stair struct{ x, y int64 }

// dominatedBy reports whether some point of the staircase s is no worse than (x, y) in
// both coordinates (minimizing).
func dominatedBy(s []stair, x, y int64) bool {
	// The last point with s.x ≤ x has the smallest y of all such points.
	i, _ := slices.BinarySearchFunc(s, x, func(e stair, x int64) int {
		if e.x <= x {
			return -1
		}
		return 1
	})
	return i > 0 && s[i-1].y <= y
}

// insertStair adds (x, y), which no point of s dominates, to s and drops the points it
// dominates.
func insertStair(s []stair, x, y int64) []stair {
	i, _ := slices.BinarySearchFunc(s, x, func(e stair, x int64) int {
		if e.x < x {
			return -1
		}
		return 1
	})
	j := i
	for j < len(s) && s[j].y >= y {
		j++ // s[j].x ≥ x and s[j].y ≥ y: dominated by (x, y)
	}
	return slices.Replace(s, i, j, stair{x, y})
}
