package vptq

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// KMeansSettings configure KMeans.
type KMeansSettings struct {
	// K is the number of centroids, 1 ≤ K ≤ 65536.
	K int
	// Iterations bounds the Lloyd iterations after k-means++ seeding (≥ 0).
	Iterations int
	// Tolerance stops the iterations early once at most this fraction of the training
	// points changed centroid in one; 0 runs until none changes (or Iterations).
	Tolerance float64
	// Seed seeds the training sample and the k-means++ draws.
	Seed uint64
	// MaxTrain caps the points the codebook is trained on: above it, a seeded random
	// sample of MaxTrain points trains the codebook and every point is then assigned to
	// its nearest centroid. 0 means no cap.
	MaxTrain int
}

// chunk is the number of points per unit of parallel work. It is a constant, not a
// function of the core count, so that partial sums are added in the same order on
// every machine and the centroids are bit-for-bit reproducible.
const chunk = 2048

// KMeans clusters the n = len(data)/dim points of dimension dim stored row-major in
// data: k-means++ seeding (D. Arthur, S. Vassilvitskii, "k-means++: the advantages of
// careful seeding", SODA 2007) followed by Lloyd iterations minimizing the summed
// squared Euclidean distance. It returns the K×dim centroids (row-major) and each
// point's nearest centroid (ties to the lowest index).
//
// A centroid left without points during the iterations moves to the training point
// farthest from its own centroid. With fewer distinct points than K, the surplus
// centroids duplicate points. The result depends only on data, dim and s.
//
// KMeans panics if dim < 1, len(data) is not a positive multiple of dim, or s is out
// of range.
func KMeans(data []float32, dim int, s KMeansSettings) (centroids []float32, assign []uint16) {
	if dim < 1 || len(data) == 0 || len(data)%dim != 0 {
		panic(fmt.Sprintf("vptq.KMeans: %d values do not make points of dimension %d", len(data), dim))
	}
	if s.K < 1 || s.K > 1<<16 || s.Iterations < 0 || s.MaxTrain < 0 || !(s.Tolerance >= 0 && s.Tolerance < 1) {
		panic(fmt.Sprintf("vptq.KMeans: bad settings %+v", s))
	}
	n := len(data) / dim
	rng := rand.New(rand.NewPCG(s.Seed, 0x9e3779b97f4a7c15))

	train := data
	if s.MaxTrain > 0 && n > s.MaxTrain {
		train = sample(data, dim, s.MaxTrain, rng)
	}
	centroids = seedPlusPlus(train, dim, s.K, rng)
	tn := len(train) / dim
	ta := make([]uint16, tn)
	td := make([]float32, tn)
	assignAll(train, dim, centroids, ta, td)
	for range s.Iterations {
		update(train, dim, centroids, ta, td)
		if changed := assignAll(train, dim, centroids, ta, td); float64(changed) <= s.Tolerance*float64(tn) {
			break
		}
	}
	if len(train) == len(data) {
		return centroids, ta
	}
	assign = make([]uint16, n)
	assignAll(data, dim, centroids, assign, make([]float32, n))
	return centroids, assign
}

// sample draws m distinct points of data (partial Fisher–Yates), in their original order.
func sample(data []float32, dim, m int, rng *rand.Rand) []float32 {
	n := len(data) / dim
	perm := make([]int32, n)
	for i := range perm {
		perm[i] = int32(i)
	}
	for i := range m {
		j := i + rng.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
	}
	picked := make([]bool, n)
	for _, p := range perm[:m] {
		picked[p] = true
	}
	out := make([]float32, 0, m*dim)
	for i, ok := range picked {
		if ok {
			out = append(out, data[i*dim:(i+1)*dim]...)
		}
	}
	return out
}

// seedPlusPlus picks k initial centroids: the first uniformly, each next one with
// probability proportional to its squared distance to the nearest centroid so far.
func seedPlusPlus(data []float32, dim, k int, rng *rand.Rand) []float32 {
	n := len(data) / dim
	c := make([]float32, 0, k*dim)
	first := rng.IntN(n)
	c = append(c, data[first*dim:(first+1)*dim]...)
	d2 := make([]float64, n)
	for i := range n {
		d2[i] = float64(dist2(data[i*dim:(i+1)*dim], c[:dim]))
	}
	for len(c) < k*dim {
		var total float64
		for _, d := range d2 {
			total += d
		}
		pick := 0
		if total > 0 {
			r := rng.Float64() * total
			for pick = 0; pick < n-1; pick++ {
				r -= d2[pick]
				if r < 0 {
					break
				}
			}
			for d2[pick] == 0 && pick > 0 { // rounding ran past the last positive weight
				pick--
			}
		} else {
			pick = rng.IntN(n) // every point coincides with a centroid: duplicate one
		}
		cen := data[pick*dim : (pick+1)*dim]
		c = append(c, cen...)
		for i := range n {
			d2[i] = min(d2[i], float64(dist2(data[i*dim:(i+1)*dim], cen)))
		}
	}
	return c
}

// assignAll sets assign[i] to the centroid nearest point i and dist[i] to the squared
// distance, in parallel over fixed chunks; it returns how many assignments changed.
func assignAll(data []float32, dim int, centroids []float32, assign []uint16, dist []float32) int {
	n := len(data) / dim
	k := len(centroids) / dim
	chunks := (n + chunk - 1) / chunk
	changed := make([]int, chunks)
	parallel(chunks, func(ch int) {
		for i := ch * chunk; i < min(n, (ch+1)*chunk); i++ {
			p := data[i*dim : (i+1)*dim]
			var best int
			var bd float32
			if dim == 4 {
				best, bd = nearest4(p, centroids)
			} else {
				best, bd = 0, float32(math.Inf(1))
				for j := range k {
					if d := dist2(p, centroids[j*dim:(j+1)*dim]); d < bd {
						best, bd = j, d
					}
				}
			}
			if assign[i] != uint16(best) {
				changed[ch]++
			}
			assign[i], dist[i] = uint16(best), bd
		}
	})
	total := 0
	for _, c := range changed {
		total += c
	}
	return total
}

// update moves every centroid to the mean of its points; an empty centroid takes the
// point farthest from its own centroid (which then counts as used).
func update(data []float32, dim int, centroids []float32, assign []uint16, dist []float32) {
	n := len(data) / dim
	k := len(centroids) / dim
	chunks := (n + chunk - 1) / chunk
	sums := make([][]float64, chunks)
	counts := make([][]int, chunks)
	parallel(chunks, func(ch int) {
		s, c := make([]float64, k*dim), make([]int, k)
		for i := ch * chunk; i < min(n, (ch+1)*chunk); i++ {
			a := int(assign[i])
			c[a]++
			for j := range dim {
				s[a*dim+j] += float64(data[i*dim+j])
			}
		}
		sums[ch], counts[ch] = s, c
	})
	total, count := make([]float64, k*dim), make([]int, k)
	for ch := range chunks { // in chunk order: the same sums on every machine
		for j, v := range sums[ch] {
			total[j] += v
		}
		for j, v := range counts[ch] {
			count[j] += v
		}
	}
	for j := range k {
		if count[j] == 0 {
			continue
		}
		for d := range dim {
			centroids[j*dim+d] = float32(total[j*dim+d] / float64(count[j]))
		}
	}
	for j := range k {
		if count[j] > 0 {
			continue
		}
		far, fd := -1, float32(-1)
		for i := range n {
			if dist[i] > fd {
				far, fd = i, dist[i]
			}
		}
		if fd <= 0 {
			return // every point sits on a centroid: nothing to gain
		}
		copy(centroids[j*dim:(j+1)*dim], data[far*dim:(far+1)*dim])
		dist[far] = 0
	}
}

// nearest4 is the nearest-centroid search for 4-dimensional points, unrolled: the
// kernel of VPTQ's default vector length.
func nearest4(p, centroids []float32) (int, float32) {
	p0, p1, p2, p3 := p[0], p[1], p[2], p[3]
	best, bd := 0, float32(math.Inf(1))
	for j := 0; j+4 <= len(centroids); j += 4 {
		c := centroids[j : j+4 : j+4]
		d0, d1, d2, d3 := p0-c[0], p1-c[1], p2-c[2], p3-c[3]
		if d := d0*d0 + d1*d1 + d2*d2 + d3*d3; d < bd {
			best, bd = j/4, d
		}
	}
	return best, bd
}

func dist2(a, b []float32) float32 {
	var s float32
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
