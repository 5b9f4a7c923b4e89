package pareto

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// surviveExample: (accuracy ↑, size in MB ↓). Front 0 = {0, 1, 2, 4}; front 1 = {3, 5, 6, 8}
// (3 is dominated by 0, 5 by 1, 6 and 8 by 2); front 2 = {7}.
//
// Crowding in front 1. Accuracy, range 0.85-0.50 = 0.35, sorted 6,8,5,3:
// d8 += 0.25/0.35 = 5/7, d5 += 0.20/0.35 = 4/7. Size, range 12-3 = 9, sorted 6,8,5,3:
// d8 += 3/9, d5 += 8/9. So d3 = d6 = +Inf, d5 = 92/63 ≈ 1.46, d8 = 22/21 ≈ 1.05.
//
// Crowding in front 0. Accuracy, range 0.30, sorted 4,2,1,0: d2 += 0.20/0.30,
// d1 += 0.20/0.30. Size, range 9, sorted 4,2,1,0: d2 += 4/9, d1 += 8/9. So d0 = d4 = +Inf,
// d1 = 14/9, d2 = 10/9.
func surviveExample() ([][]float64, []Direction) {
	return [][]float64{
		{0.90, 10}, // 0
		{0.80, 5},  // 1
		{0.70, 2},  // 2
		{0.85, 12}, // 3
		{0.60, 1},  // 4
		{0.75, 6},  // 5
		{0.50, 3},  // 6
		{0.40, 8},  // 7
		{0.65, 4},  // 8
	}, []Direction{Maximize, Minimize}
}

func TestSurvive(t *testing.T) {
	pts, dirs := surviveExample()
	tests := []struct {
		n    int
		want []int
	}{
		{-1, []int{}},
		{0, []int{}},
		{3, []int{0, 1, 4}},             // cut front 0: boundaries 0 and 4, then 1 (14/9) before 2 (10/9)
		{4, []int{0, 1, 2, 4}},          // exactly front 0
		{5, []int{0, 1, 2, 3, 4}},       // 3 and 6 tie at +Inf: lower index 3 wins
		{6, []int{0, 1, 2, 3, 4, 6}},    // both boundaries of front 1
		{7, []int{0, 1, 2, 3, 4, 5, 6}}, // then 5 (92/63) before 8 (22/21)
		{8, []int{0, 1, 2, 3, 4, 5, 6, 8}},
		{9, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
		{100, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, tc := range tests {
		got := Survive(pts, dirs, tc.n)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Survive(n=%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestSurviveCutsByCrowdingThenIndex(t *testing.T) {
	// Seven identical points form one front with zero crowding everywhere: the cut must
	// fall back to the lowest indices.
	pts := make([][]float64, 7)
	for i := range pts {
		pts[i] = []float64{1, 1}
	}
	if got := Survive(pts, []Direction{Maximize, Maximize}, 3); !reflect.DeepEqual(got, []int{0, 1, 2}) {
		t.Errorf("identical points: got %v, want [0 1 2]", got)
	}
}

func TestCrowdedLess(t *testing.T) {
	inf := math.Inf(1)
	rank := []int{0, 0, 1, 0, 0}
	crowd := []float64{1, 2, inf, inf, 1}
	tests := []struct {
		i, j int
		want bool
	}{
		{2, 0, false}, // higher rank loses despite +Inf crowding
		{0, 2, true},
		{1, 0, true}, // same rank, larger crowding wins
		{0, 1, false},
		{3, 1, true}, // +Inf beats finite
		{0, 4, true}, // full tie: lower index wins
		{4, 0, false},
		{0, 0, false}, // irreflexive
	}
	for _, tc := range tests {
		if got := CrowdedLess(tc.i, tc.j, rank, crowd); got != tc.want {
			t.Errorf("CrowdedLess(%d, %d) = %v, want %v", tc.i, tc.j, got, tc.want)
		}
	}
}

// On random tied points the survivors are n distinct ascending indices, and no survivor
// has a worse rank than a point left out.
func TestSurviveKeepsBetterFronts(t *testing.T) {
	for seed := range uint64(100) {
		rng := rand.New(rand.NewPCG(seed, 7))
		m := 2 + rng.IntN(2)
		pts := tiedPoints(rng, 1+rng.IntN(40), m, 0)
		dirs := randomDirs(rng, m)
		n := rng.IntN(len(pts) + 1)
		got := Survive(pts, dirs, n)
		rank, _ := Rank(pts, dirs)
		if len(got) != n || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != n {
			t.Fatalf("seed %d: Survive(n=%d) = %v: want %d distinct ascending indices", seed, n, got, n)
		}
		worstKept := -1
		for _, i := range got {
			worstKept = max(worstKept, rank[i])
		}
		for i := range pts {
			if !slices.Contains(got, i) && rank[i] < worstKept {
				t.Fatalf("seed %d: dropped point %d of rank %d but kept rank %d", seed, i, rank[i], worstKept)
			}
		}
	}
}
