package pareto

import (
	"cmp"
	"slices"
)

// Survive picks n survivors out of points by NSGA-II's elitist replacement (Deb et al.
// 2002, §III-C): whole fronts are taken in order while they fit; the first front that
// does not fit is cut by descending crowding distance, ties broken by lower index. It
// returns the survivors' indices in ascending order: all of them if n >= len(points), none
// (an empty, non-nil slice) if n <= 0.
//
// It panics if a point's length differs from len(dirs).
func Survive(points [][]float64, dirs []Direction, n int) []int {
	checkPoints(points, dirs)
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
	for _, front := range NonDominatedSort(points, dirs) {
		room := n - len(survivors)
		if len(front) <= room {
			survivors = append(survivors, front...)
			if len(front) == room {
				break
			}
			continue
		}
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
		for _, j := range pos[:room] {
			survivors = append(survivors, front[j])
		}
		break
	}
	slices.Sort(survivors)
	return survivors
}

// CrowdedLess is the crowded-comparison operator ≺n of NSGA-II (Deb et al. 2002, §III-C)
// made total: it reports whether point i is preferred to point j because it has a lower
// rank, or the same rank and a larger crowding distance, or the same rank and distance and
// a lower index. rank and crowding are as returned by Rank. Binary tournament selection
// picks i over j when CrowdedLess(i, j, rank, crowding).
func CrowdedLess(i, j int, rank []int, crowding []float64) bool {
	if rank[i] != rank[j] {
		return rank[i] < rank[j]
	}
	if crowding[i] != crowding[j] {
		return crowding[i] > crowding[j]
	}
	return i < j
}
