package pareto

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// refWorse reports whether x is strictly worse than y under d, written directly from the
// definition (NaN is worse than any number) rather than sharing code with Dominates.
func refWorse(x, y float64, d Direction) bool {
	if math.IsNaN(x) {
		return !math.IsNaN(y)
	}
	if math.IsNaN(y) {
		return false
	}
	if d == Maximize {
		return x < y
	}
	return x > y
}

func refDominates(a, b []float64, dirs []Direction) bool {
	strictly := false
	for k, d := range dirs {
		if refWorse(a[k], b[k], d) {
			return false
		}
		if refWorse(b[k], a[k], d) {
			strictly = true
		}
	}
	return strictly
}

// refFronts is the naive reference: repeatedly peel off the points that no remaining point
// dominates.
func refFronts(points [][]float64, dirs []Direction) [][]int {
	remaining := make([]int, len(points))
	for i := range remaining {
		remaining[i] = i
	}
	var fronts [][]int
	for len(remaining) > 0 {
		var front, rest []int
		for _, i := range remaining {
			dominated := false
			for _, j := range remaining {
				if refDominates(points[j], points[i], dirs) {
					dominated = true
					break
				}
			}
			if dominated {
				rest = append(rest, i)
			} else {
				front = append(front, i)
			}
		}
		fronts = append(fronts, front)
		remaining = rest
	}
	return fronts
}

// tiedPoints draws n points whose coordinates are integers in [-2, 2], so ties and exact
// duplicates are common; with nanRate > 0 some coordinates are NaN and about as many are
// ±Inf, -0 or -3.
func tiedPoints(rng *rand.Rand, n, m int, nanRate float64) [][]float64 {
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, m)
		for k := range pts[i] {
			switch u := rng.Float64(); {
			case u < nanRate:
				pts[i][k] = math.NaN()
			case u < 2*nanRate: // signed zeros and infinities must order like numbers
				pts[i][k] = []float64{math.Inf(-1), math.Copysign(0, -1), math.Inf(1), -3}[rng.IntN(4)]
			default:
				pts[i][k] = float64(rng.IntN(5) - 2)
			}
		}
		if i > 0 && rng.IntN(8) == 0 { // an exact duplicate of an earlier point
			copy(pts[i], pts[rng.IntN(i)])
		}
	}
	return pts
}

func randomDirs(rng *rand.Rand, m int) []Direction {
	dirs := make([]Direction, m)
	for k := range dirs {
		dirs[k] = Direction(rng.IntN(2))
	}
	return dirs
}

func TestNonDominatedSortMatchesNaivePeeling(t *testing.T) {
	for _, m := range []int{1, 2, 3} {
		for _, nanRate := range []float64{0, 0.1} {
			for seed := range uint64(150) {
				rng := rand.New(rand.NewPCG(seed, uint64(m)))
				n := rng.IntN(60)
				pts := tiedPoints(rng, n, m, nanRate)
				dirs := randomDirs(rng, m)
				got := NonDominatedSort(pts, dirs)
				want := refFronts(pts, dirs)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("m=%d nan=%v seed=%d dirs=%v points=%v:\n got  %v\n want %v", m, nanRate, seed, dirs, pts, got, want)
				}
			}
		}
	}
}

func TestNonDominatedSortSmall(t *testing.T) {
	if got := NonDominatedSort(nil, []Direction{Maximize}); got != nil {
		t.Errorf("no points: got %v, want nil", got)
	}
	if got := NonDominatedSort([][]float64{{3}}, []Direction{Maximize}); !reflect.DeepEqual(got, [][]int{{0}}) {
		t.Errorf("one point: got %v", got)
	}
	// Minimizing both: a staircase and its dominated copies shifted by +1.
	pts := [][]float64{{1, 4}, {2, 5}, {2, 2}, {3, 3}, {4, 1}, {5, 2}, {2, 2}}
	want := [][]int{{0, 2, 4, 6}, {1, 3, 5}}
	if got := NonDominatedSort(pts, []Direction{Minimize, Minimize}); !reflect.DeepEqual(got, want) {
		t.Errorf("staircase: got %v, want %v", got, want)
	}
}

func TestRank(t *testing.T) {
	pts, dirs := surviveExample()
	rank, crowd := Rank(pts, dirs)
	wantRank := []int{0, 0, 0, 1, 0, 1, 1, 2, 1}
	if !reflect.DeepEqual(rank, wantRank) {
		t.Errorf("rank = %v, want %v", rank, wantRank)
	}
	// Front 1 = {3, 5, 6, 8}; distances worked out in TestSurvive.
	inf := math.Inf(1)
	wantCrowd := map[int]float64{3: inf, 5: 92.0 / 63, 6: inf, 8: 22.0 / 21, 7: 0}
	for i, w := range wantCrowd {
		if !approxEqual(crowd[i], w) {
			t.Errorf("crowding[%d] = %v, want %v", i, crowd[i], w)
		}
	}
}

func approxEqual(got, want float64) bool {
	if math.IsInf(want, 0) || want == 0 {
		return got == want
	}
	return math.Abs(got-want) <= 1e-12*math.Abs(want)
}

func uniformPoints(n, m int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, m)
		for k := range pts[i] {
			pts[i][k] = rng.Float64()
		}
	}
	return pts
}

// depthFronts is the naive O(M·N²) reference with O(N) memory: in lexicographic order
// of the minimization keys every dominator of p comes before p, and p's front is one past
// the deepest front of its dominators (the longest dominance chain ending at p).
func depthFronts(points [][]float64, dirs []Direction) [][]int {
	n, m := len(points), len(dirs)
	keys := orderedKeys(points, dirs)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		for k := range m {
			if c := cmp.Compare(keys[b*m+k], keys[a*m+k]); c != 0 {
				return c
			}
		}
		return cmp.Compare(a, b)
	})
	depth := make([]int, n)
	var fronts [][]int
	for i, p := range order {
		d := 0
		rowP := keys[p*m : (p+1)*m]
		for _, q := range order[:i] {
			if depth[q] >= d {
				if qBetter, pBetter := relation(keys[q*m:(q+1)*m], rowP); qBetter && !pBetter {
					d = depth[q] + 1
				}
			}
		}
		depth[p] = d
		for len(fronts) <= d {
			fronts = append(fronts, nil)
		}
		fronts[d] = append(fronts[d], p)
	}
	for _, f := range fronts {
		slices.Sort(f)
	}
	return fronts
}

// The staircase sort agrees with the naive reference and with Deb's pairwise sort on
// larger sets with many ties, duplicates and NaNs.
func TestNonDominatedSortMatchesReferencesOnLargerSets(t *testing.T) {
	for _, m := range []int{2, 3} {
		for seed := range uint64(8) {
			rng := rand.New(rand.NewPCG(seed, 100+uint64(m)))
			n := 500 + rng.IntN(1500)
			pts := tiedPoints(rng, n, m, 0.02)
			if seed%2 == 0 {
				pts = uniformPoints(n, m, seed)
			}
			dirs := randomDirs(rng, m)
			got := NonDominatedSort(pts, dirs)
			if want := depthFronts(pts, dirs); !reflect.DeepEqual(got, want) {
				t.Fatalf("m=%d seed=%d n=%d: %d fronts, naive reference %d", m, seed, n, len(got), len(want))
			}
			// The same points with a fourth, constant objective take Deb's path.
			pts4 := make([][]float64, n)
			for i, p := range pts {
				pts4[i] = append(slices.Clone(p), 1)
			}
			if deb := NonDominatedSort(pts4, append(slices.Clone(dirs), Minimize)); !reflect.DeepEqual(got, deb) {
				t.Fatalf("m=%d seed=%d n=%d: staircase sort and Deb's sort differ", m, seed, n)
			}
		}
	}
}

func BenchmarkNonDominatedSort(b *testing.B) {
	for _, m := range []int{2, 3} {
		for _, n := range []int{100, 1000, 100000} {
			b.Run(fmt.Sprintf("M=%d/N=%d", m, n), func(b *testing.B) {
				pts := uniformPoints(n, m, 1)
				dirs := make([]Direction, m)
				dirs[0] = Minimize
				for b.Loop() {
					NonDominatedSort(pts, dirs)
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}

// BenchmarkNonDominatedSortNaive is the O(M·N²) reference (depthFronts) on the same
// points as BenchmarkNonDominatedSort/M=3: compare the two in one run. 100,000 points
// take tens of seconds.
func BenchmarkNonDominatedSortNaive(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("M=3/N=%d", n), func(b *testing.B) {
			pts := uniformPoints(n, 3, 1)
			dirs := []Direction{Minimize, Maximize, Maximize}
			for b.Loop() {
				depthFronts(pts, dirs)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}

func TestDominatesMatchesDefinitionOnTiedPoints(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 99))
		m := 1 + rng.IntN(3)
		pts := tiedPoints(rng, 30, m, 0.15)
		dirs := randomDirs(rng, m)
		for _, a := range pts {
			for _, b := range pts {
				if got, want := Dominates(a, b, dirs), refDominates(a, b, dirs); got != want {
					t.Fatalf("Dominates(%v, %v, %v) = %v, want %v", a, b, dirs, got, want)
				}
			}
		}
	}
}
