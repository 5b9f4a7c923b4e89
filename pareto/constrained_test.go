package pareto

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func TestConstrainedDominates(t *testing.T) {
	dirs := []Direction{Minimize, Minimize}
	good, bad := []float64{0, 0}, []float64{5, 5}
	tests := []struct {
		name   string
		a, b   []float64
		va, vb float64
		want   bool
	}{
		{"feasible beats infeasible whatever the objectives", bad, good, 0, 0.1, true},
		{"infeasible never beats feasible", good, bad, 0.1, 0, false},
		{"smaller violation wins", bad, good, 1, 2, true},
		{"larger violation loses", good, bad, 2, 1, false},
		{"equal violation: neither", good, bad, 1, 1, false},
		{"NaN violation is the worst", bad, good, 1e300, math.NaN(), true},
		{"negative violation is feasible", bad, good, -1, 0.5, true},
		{"both feasible: Pareto", good, bad, 0, 0, true},
		{"both feasible: Pareto, reversed", bad, good, 0, -3, false},
	}
	for _, tt := range tests {
		if got := ConstrainedDominates(tt.a, tt.b, tt.va, tt.vb, dirs); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// naiveConstrainedSort peels fronts by pairwise ConstrainedDominates.
func naiveConstrainedSort(points [][]float64, violation []float64, dirs []Direction) [][]int {
	left := make([]int, len(points))
	for i := range left {
		left[i] = i
	}
	var fronts [][]int
	for len(left) > 0 {
		var front, rest []int
		for _, p := range left {
			dominated := false
			for _, q := range left {
				if ConstrainedDominates(points[q], points[p], violation[q], violation[p], dirs) {
					dominated = true
					break
				}
			}
			if dominated {
				rest = append(rest, p)
			} else {
				front = append(front, p)
			}
		}
		fronts, left = append(fronts, front), rest
	}
	return fronts
}

func TestConstrainedNonDominatedSortMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 200 {
		m := 1 + trial%4
		n := rng.IntN(60)
		dirs := make([]Direction, m)
		for k := range dirs {
			dirs[k] = Direction(rng.IntN(2))
		}
		points := make([][]float64, n)
		violation := make([]float64, n)
		for i := range points {
			points[i] = make([]float64, m)
			for k := range points[i] {
				points[i][k] = float64(rng.IntN(6)) // ties and duplicates
			}
			switch rng.IntN(4) {
			case 0:
				violation[i] = float64(1 + rng.IntN(3)) // repeated violations share a front
			case 1:
				violation[i] = -rng.Float64()
			case 2:
				if rng.IntN(10) == 0 {
					violation[i] = math.NaN()
				}
			}
		}
		got := ConstrainedNonDominatedSort(points, violation, dirs)
		want := naiveConstrainedSort(points, violation, dirs)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: got %v, want %v (violations %v)", trial, got, want, violation)
		}
	}
}

func TestConstrainedSortAllFeasibleIsPlainSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := []Direction{Minimize, Maximize, Minimize}
	points := make([][]float64, 300)
	for i := range points {
		points[i] = []float64{rng.Float64(), rng.Float64(), rng.Float64()}
	}
	violation := make([]float64, len(points))
	if got, want := ConstrainedNonDominatedSort(points, violation, dirs), NonDominatedSort(points, dirs); !reflect.DeepEqual(got, want) {
		t.Fatalf("all feasible: fronts differ from NonDominatedSort")
	}
	for _, n := range []int{0, 1, 37, 150, 299, 300, 301} {
		if got, want := ConstrainedSurvive(points, violation, dirs, n), Survive(points, dirs, n); !reflect.DeepEqual(got, want) {
			t.Fatalf("all feasible, n=%d: survivors differ from Survive", n)
		}
	}
}

func TestConstrainedSurviveNeverKeepsInfeasibleOverFeasible(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	dirs := []Direction{Minimize, Minimize}
	for trial := range 100 {
		n := 10 + rng.IntN(50)
		points := make([][]float64, n)
		violation := make([]float64, n)
		feasible := 0
		for i := range points {
			// Infeasible points get the best objectives, so only the constraint keeps them out.
			if rng.IntN(2) == 0 {
				points[i] = []float64{-10 - rng.Float64(), -10 - rng.Float64()}
				violation[i] = rng.Float64() + 0.01
			} else {
				points[i] = []float64{rng.Float64(), rng.Float64()}
				feasible++
			}
		}
		keep := 1 + rng.IntN(n)
		surv := ConstrainedSurvive(points, violation, dirs, keep)
		if len(surv) != keep || !slices.IsSorted(surv) {
			t.Fatalf("trial %d: %d survivors (want %d, ascending): %v", trial, len(surv), keep, surv)
		}
		inf := 0
		worstKept := 0.0
		for _, i := range surv {
			if violation[i] > 0 {
				inf++
				worstKept = max(worstKept, violation[i])
			}
		}
		if want := max(0, keep-feasible); inf != want {
			t.Fatalf("trial %d: %d infeasible survivors with %d feasible points and %d kept, want %d", trial, inf, feasible, keep, want)
		}
		for i, v := range violation {
			if v > 0 && v < worstKept && !slices.Contains(surv, i) {
				t.Fatalf("trial %d: violation %g dropped while %g kept", trial, v, worstKept)
			}
		}
	}
}
