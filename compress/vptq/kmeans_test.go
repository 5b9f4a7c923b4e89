package vptq

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func TestKMeansTwoObviousClusters(t *testing.T) {
	// Three points around (0, 0) and two around (10, 10): the centroids are the means,
	// (0, 1/3) and (10, 10.5), whatever the seeding.
	data := []float32{0, 0, 1, 0, -1, 1, 10, 10, 10, 11}
	for seed := range uint64(5) {
		c, a := KMeans(data, 2, KMeansSettings{K: 2, Iterations: 10, Seed: seed})
		lo, hi := 0, 1
		if c[0] > c[2] {
			lo, hi = 1, 0
		}
		want := map[int][]float32{lo: {0, 1.0 / 3}, hi: {10, 10.5}}
		for j, w := range want {
			if math.Abs(float64(c[2*j]-w[0])) > 1e-6 || math.Abs(float64(c[2*j+1]-w[1])) > 1e-6 {
				t.Errorf("seed %d: centroid %d = %v, want %v", seed, j, c[2*j:2*j+2], w)
			}
		}
		if wantA := []uint16{uint16(lo), uint16(lo), uint16(lo), uint16(hi), uint16(hi)}; !slices.Equal(a, wantA) {
			t.Errorf("seed %d: assignment %v, want %v", seed, a, wantA)
		}
	}
}

func randomPoints(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]float32, n*dim)
	for i := range out {
		out[i] = float32(rng.NormFloat64())
	}
	return out
}

// checkLloydFixedPoint verifies, naively, what a converged k-means guarantees: every
// point is assigned to a nearest centroid, and every used centroid is its points' mean.
func checkLloydFixedPoint(t *testing.T, data []float32, dim int, c []float32, a []uint16) {
	t.Helper()
	n, k := len(data)/dim, len(c)/dim
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	for i := range n {
		p := data[i*dim : (i+1)*dim]
		var best float64 = math.Inf(1)
		for j := range k {
			var d float64
			for x := range dim {
				e := float64(p[x]) - float64(c[j*dim+x])
				d += e * e
			}
			best = math.Min(best, d)
		}
		var mine float64
		for x := range dim {
			e := float64(p[x]) - float64(c[int(a[i])*dim+x])
			mine += e * e
		}
		if mine > best*(1+1e-5)+1e-9 {
			t.Fatalf("point %d: assigned at squared distance %v, nearest is %v", i, mine, best)
		}
		counts[a[i]]++
		for x := range dim {
			sums[int(a[i])*dim+x] += float64(p[x])
		}
	}
	for j := range k {
		if counts[j] == 0 {
			continue
		}
		for x := range dim {
			if mean := sums[j*dim+x] / float64(counts[j]); math.Abs(mean-float64(c[j*dim+x])) > 1e-5 {
				t.Fatalf("centroid %d coordinate %d = %v, mean of its %d points %v", j, x, c[j*dim+x], counts[j], mean)
			}
		}
	}
}

func TestKMeansConvergesToALloydFixedPoint(t *testing.T) {
	for _, tc := range []struct{ n, dim, k int }{{500, 2, 8}, {3000, 4, 16}, {5000, 3, 64}} {
		data := randomPoints(tc.n, tc.dim, uint64(tc.k))
		c, a := KMeans(data, tc.dim, KMeansSettings{K: tc.k, Iterations: 1000, Seed: 3})
		checkLloydFixedPoint(t, data, tc.dim, c, a)
	}
}

// The per-point work runs on any number of goroutines; the partial sums are added in a
// fixed chunk order by construction (chunk is a constant), which this test alone could
// not tell apart from a core-count-dependent order.
func TestKMeansIsReproducibleOnAnyCoreCount(t *testing.T) {
	data := randomPoints(9000, 4, 7) // several chunks of parallel work
	s := KMeansSettings{K: 32, Iterations: 15, Seed: 9}
	old := runtime.GOMAXPROCS(1)
	c1, a1 := KMeans(data, 4, s)
	runtime.GOMAXPROCS(4)
	c4, a4 := KMeans(data, 4, s)
	runtime.GOMAXPROCS(old)
	if !slices.Equal(c1, c4) || !slices.Equal(a1, a4) {
		t.Error("KMeans gave different results on 1 and 4 cores")
	}
}

func TestKMeansWithMoreCentroidsThanPointsIsExact(t *testing.T) {
	data := []float32{1, 2, 3, 4, 1, 2, 5, 6}
	c, a := KMeans(data, 2, KMeansSettings{K: 8, Iterations: 5})
	for i := range 4 {
		got := c[int(a[i])*2 : int(a[i])*2+2]
		if !slices.Equal(got, data[i*2:i*2+2]) {
			t.Errorf("point %d %v reconstructed as %v", i, data[i*2:i*2+2], got)
		}
	}
}

func TestKMeansTrainsOnASampleAndAssignsEveryPoint(t *testing.T) {
	data := randomPoints(4000, 2, 5)
	c, a := KMeans(data, 2, KMeansSettings{K: 16, Iterations: 20, Seed: 1, MaxTrain: 500})
	if len(a) != 4000 {
		t.Fatalf("%d assignments for 4000 points", len(a))
	}
	// Trained on a sample, the centroids are not the means of all points, but every
	// point still goes to its nearest centroid.
	for i := range 4000 {
		p := data[i*2 : i*2+2]
		d := dist2(p, c[int(a[i])*2:int(a[i])*2+2])
		for j := range 16 {
			if dist2(p, c[j*2:j*2+2]) < d {
				t.Fatalf("point %d not assigned to its nearest centroid", i)
			}
		}
	}
}

func BenchmarkKMeans(b *testing.B) {
	data := randomPoints(50176, 4, 1) // the vectors of a 256×784 matrix
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		KMeans(data, 4, KMeansSettings{K: 256, Iterations: 20, Seed: 1, Tolerance: 1e-3, MaxTrain: TrainVectors(256)})
	}
}

// A centroid that loses all its points moves onto the point farthest from its own
// centroid, which is then no longer counted as far.
func TestUpdateReseedsEmptyCentroids(t *testing.T) {
	data := []float32{0, 1, 2, 10, 30}
	centroids := []float32{1, 99, 99} // centroids 1 and 2 have no points
	assign := []uint16{0, 0, 0, 0, 0}
	dist := []float32{1, 0, 1, 81, 841}
	update(data, 1, centroids, assign, dist)
	// Centroid 0 is the mean 8.6; centroid 1 takes 30 (distance 841), centroid 2 the
	// next farthest, 10 (81).
	if want := []float32{8.6, 30, 10}; !slices.Equal(centroids, want) {
		t.Errorf("centroids %v, want %v", centroids, want)
	}
}
