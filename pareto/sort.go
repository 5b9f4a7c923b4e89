package pareto

import "math/bits"

// NonDominatedSort partitions points into Pareto fronts and returns them as indices into
// points: fronts[0] is the non-dominated set, fronts[1] is the non-dominated set of what
// remains after removing fronts[0], and so on. Indices inside each front are ascending.
// Duplicate points land in the same front. It returns nil for no points.
//
// Up to three objectives it is an efficient non-dominated sort with binary search over
// per-front staircases (ndSortLow), about O(N log² N) on random points: 100,000 points
// in three objectives take well under a second. With more objectives it is the fast
// non-dominated sort of Deb et al. 2002 (NSGA-II, §III-A): every pair is compared once,
// O(M·N²) time for N points and M objectives, the sets S_p of points that p dominates
// kept as one N×N bit matrix (N²/8 bytes, 125 KB for N = 1000).
//
// It panics if a point's length differs from len(dirs) (see the package doc).
func NonDominatedSort(points [][]float64, dirs []Direction) [][]int {
	checkPoints(points, dirs)
	n, m := len(points), len(dirs)
	if n == 0 {
		return nil
	}
	flat := orderedKeys(points, dirs)
	if m <= 3 {
		return ndSortLow(flat, n, m)
	}
	words := (n + 63) / 64
	dominates := make([]uint64, n*words) // row p, bit q: p dominates q (q ∈ S_p)
	count := make([]int, n)              // count[q]: how many points dominate q (n_q)
	for p := 0; p < n; p++ {
		rowP := flat[p*m : (p+1)*m]
		for q := p + 1; q < n; q++ {
			pBetter, qBetter := relation(rowP, flat[q*m:(q+1)*m])
			switch {
			case pBetter && !qBetter:
				dominates[p*words+q/64] |= 1 << (q % 64)
				count[q]++
			case qBetter && !pBetter:
				dominates[q*words+p/64] |= 1 << (p % 64)
				count[p]++
			}
		}
	}

	var fronts [][]int
	var current []int
	for p := range n {
		if count[p] == 0 {
			current = append(current, p)
		}
	}
	next := make([]uint64, words) // members of the next front, as a bit set
	for len(current) > 0 {
		fronts = append(fronts, current)
		for _, p := range current {
			for w, bitsW := range dominates[p*words : (p+1)*words] {
				for bitsW != 0 {
					q := w*64 + bits.TrailingZeros64(bitsW)
					bitsW &= bitsW - 1
					if count[q]--; count[q] == 0 {
						next[q/64] |= 1 << (q % 64)
					}
				}
			}
		}
		current = nil
		for w, bitsW := range next { // ascending by construction
			for bitsW != 0 {
				current = append(current, w*64+bits.TrailingZeros64(bitsW))
				bitsW &= bitsW - 1
			}
			next[w] = 0
		}
	}
	return fronts
}

// Rank assigns each point its front number (0-based, as returned by NonDominatedSort) and
// its crowding distance within that front (see CrowdingDistance). Both slices are aligned
// with points.
//
// It panics if a point's length differs from len(dirs).
func Rank(points [][]float64, dirs []Direction) (rank []int, crowding []float64) {
	rank = make([]int, len(points))
	crowding = make([]float64, len(points))
	for r, front := range NonDominatedSort(points, dirs) {
		dist := CrowdingDistance(points, front, dirs)
		for j, i := range front {
			rank[i] = r
			crowding[i] = dist[j]
		}
	}
	return rank, crowding
}
