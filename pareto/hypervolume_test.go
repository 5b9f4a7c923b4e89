package pareto

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// inclusionExclusion is the hypervolume by the inclusion–exclusion principle over every
// non-empty subset of the points: the volume of a union of origin-anchored boxes is the
// alternating sum of the volumes of their intersections. Exponential, independent of the
// slicing code, and exact.
func inclusionExclusion(points [][]float64, dirs []Direction, ref []float64) float64 {
	var inside [][]float64 // per point, its distance beyond ref in each objective
	for _, p := range points {
		d := make([]float64, len(dirs))
		ok := true
		for k := range dirs {
			d[k] = p[k] - ref[k]
			if dirs[k] == Minimize {
				d[k] = ref[k] - p[k]
			}
			if !(d[k] > 0) {
				ok = false
			}
		}
		if ok {
			inside = append(inside, d)
		}
	}
	var vol float64
	for mask := 1; mask < 1<<len(inside); mask++ {
		box := make([]float64, len(dirs))
		for k := range box {
			box[k] = math.Inf(1)
		}
		bits := 0
		for i, d := range inside {
			if mask&(1<<i) == 0 {
				continue
			}
			bits++
			for k := range box {
				box[k] = min(box[k], d[k])
			}
		}
		v := 1.0
		for _, x := range box {
			v *= x
		}
		if bits%2 == 1 {
			vol += v
		} else {
			vol -= v
		}
	}
	return vol
}

func TestHypervolumeHandComputed(t *testing.T) {
	maxMin := []Direction{Maximize, Minimize}
	cases := []struct {
		name   string
		points [][]float64
		dirs   []Direction
		ref    []float64
		want   float64
	}{
		{"empty", nil, maxMin, []float64{0, 1}, 0},
		{"one point", [][]float64{{0.9, 0.25}}, maxMin, []float64{0, 1}, 0.9 * 0.75},
		// Staircase: (0.9, 0.5) and (0.6, 0.2) against (0, 1): 0.9·0.5 + 0.6·0.3.
		{"two points", [][]float64{{0.9, 0.5}, {0.6, 0.2}}, maxMin, []float64{0, 1}, 0.45 + 0.18},
		{"dominated point adds nothing", [][]float64{{0.9, 0.5}, {0.6, 0.2}, {0.5, 0.6}}, maxMin, []float64{0, 1}, 0.63},
		{"duplicates add nothing", [][]float64{{0.9, 0.5}, {0.9, 0.5}}, maxMin, []float64{0, 1}, 0.45},
		{"outside the reference box", [][]float64{{0.9, 1.5}, {-0.1, 0.5}, {0.5, 1}}, maxMin, []float64{0, 1}, 0},
		{"NaN adds nothing", [][]float64{{math.NaN(), 0.1}, {0.5, 0.5}}, maxMin, []float64{0, 1}, 0.25},
		{"one objective", [][]float64{{3}, {5}, {2}}, []Direction{Minimize}, []float64{10}, 8},
		// Three minimized objectives against (4,4,4): boxes 3×1×1 at (1,3,3) and 1×3×1 at
		// (3,1,3) overlap in 1×1×1, and 1×1×3 at (3,3,1) overlaps each of them and their
		// common part in 1×1×1 too: 3+3+3 − 1−1−1 + 1 = 7.
		{"three objectives", [][]float64{{1, 3, 3}, {3, 1, 3}, {3, 3, 1}}, []Direction{Minimize, Minimize, Minimize}, []float64{4, 4, 4}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Hypervolume(c.points, c.dirs, c.ref)
			if math.Abs(got-c.want) > 1e-12 {
				t.Errorf("Hypervolume = %.15g, want %.15g", got, c.want)
			}
		})
	}
}

func TestHypervolumeMatchesInclusionExclusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 400 {
		m := 2 + trial%3
		n := 1 + rng.IntN(10)
		dirs := make([]Direction, m)
		ref := make([]float64, m)
		for k := range dirs {
			dirs[k] = Direction(rng.IntN(2))
			ref[k] = 10
			if dirs[k] == Maximize {
				ref[k] = 0
			}
		}
		points := make([][]float64, n)
		for i := range points {
			points[i] = make([]float64, m)
			for k := range points[i] {
				// Coarse integer grid: many ties, shared coordinates and duplicates.
				points[i][k] = float64(rng.IntN(12)) - 1 // -1..10, some outside ref
			}
		}
		got := Hypervolume(points, dirs, ref)
		want := inclusionExclusion(points, dirs, ref)
		if math.Abs(got-want) > 1e-9*max(1, want) {
			t.Fatalf("trial %d: %d points, dirs %v: Hypervolume = %v, inclusion–exclusion %v\npoints %v", trial, n, dirs, got, want, points)
		}
	}
}

func TestHypervolumeGrowsWithTheFront(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	dirs := []Direction{Maximize, Minimize, Minimize}
	ref := []float64{0, 1, 1}
	var points [][]float64
	prev := 0.0
	for range 60 {
		points = append(points, []float64{rng.Float64(), rng.Float64(), rng.Float64()})
		hv := Hypervolume(points, dirs, ref)
		if hv < prev-1e-12 {
			t.Fatalf("hypervolume fell from %v to %v when a point was added", prev, hv)
		}
		prev = hv
	}
	if prev <= 0 || prev >= 1 {
		t.Errorf("hypervolume of 60 random points in the unit box = %v, want in (0, 1)", prev)
	}
}

func TestHypervolumePanicsOnBadInput(t *testing.T) {
	dirs := []Direction{Maximize, Minimize}
	for name, f := range map[string]func(){
		"ref length":   func() { Hypervolume(nil, dirs, []float64{0}) },
		"ref infinite": func() { Hypervolume(nil, dirs, []float64{0, math.Inf(1)}) },
		"ref NaN":      func() { Hypervolume(nil, dirs, []float64{math.NaN(), 1}) },
		"point length": func() { Hypervolume([][]float64{{1}}, dirs, []float64{0, 1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// randomFront returns n mutually non-dominated points in m objectives (all minimized):
// points on the simplex surface, the hardest case for the slicing recursion.
func randomFront(n, m int, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, seed))
	pts := make([][]float64, n)
	for i := range pts {
		p := make([]float64, m)
		var sum float64
		for k := range p {
			p[k] = rng.ExpFloat64()
			sum += p[k]
		}
		for k := range p {
			p[k] /= sum
		}
		pts[i] = p
	}
	return pts
}

func benchmarkHypervolume(b *testing.B, n, m int) {
	pts := randomFront(n, m, 1)
	dirs := make([]Direction, m)
	ref := make([]float64, m)
	for k := range dirs {
		dirs[k], ref[k] = Minimize, 1.1
	}
	b.ResetTimer()
	for b.Loop() {
		Hypervolume(pts, dirs, ref)
	}
}

// The three-objective sweep agrees with slicing along z into two-objective sweeps on
// random fronts, dominated points and ties included.
func TestHypervolume3DSweepMatchesSlicing(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 3))
		n := 1 + rng.IntN(400)
		pts := make([][]float64, n)
		for i := range pts {
			pts[i] = make([]float64, 3)
			for k := range pts[i] {
				// Coarse values make ties in every coordinate common.
				pts[i][k] = -float64(1+rng.IntN(20)) / 20
			}
		}
		if seed%2 == 1 {
			pts = randomFront(n, 3, seed)
			for _, p := range pts {
				for k := range p {
					p[k] -= 1.1 // below the origin, as hvMin wants
				}
			}
		}
		a := make([][]float64, n)
		b := make([][]float64, n)
		for i, p := range pts {
			a[i], b[i] = slices.Clone(p), slices.Clone(p)
		}
		got, want := hv3(a), hvSlice(b, 3)
		if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Fatalf("seed %d, %d points: sweep %v, slicing %v", seed, n, got, want)
		}
	}
}

func BenchmarkHypervolume2D1000(b *testing.B)  { benchmarkHypervolume(b, 1000, 2) }
func BenchmarkHypervolume3D10000(b *testing.B) { benchmarkHypervolume(b, 10000, 3) }
func BenchmarkHypervolume3D200(b *testing.B)   { benchmarkHypervolume(b, 200, 3) }
func BenchmarkHypervolume3D12(b *testing.B)    { benchmarkHypervolume(b, 12, 3) }

// BenchmarkHypervolumeInclusionExclusion3D12 is the naive baseline on the same 12 points
// as BenchmarkHypervolume3D12.
func BenchmarkHypervolumeInclusionExclusion3D12(b *testing.B) {
	pts := randomFront(12, 3, 1)
	dirs := []Direction{Minimize, Minimize, Minimize}
	ref := []float64{1.1, 1.1, 1.1}
	for b.Loop() {
		inclusionExclusion(pts, dirs, ref)
	}
}
