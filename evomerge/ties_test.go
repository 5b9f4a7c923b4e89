package evomerge

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func TestTIESHandComputed(t *testing.T) {
	// base b = [1, 2, 3, 4], n = 4, density 0.5 → k = 2 entries kept per task vector.
	// τ1 = [3, -1, 0.5, -2]     keep |3|, |-2|                  → [3, 0, 0, -2]
	// τ2 = [-3.5, 2, -4, 0.25]  keep |-4|, |-3.5|               → [-3.5, 0, -4, 0]
	// τ3 = [2, 1, 1, -0.5]      keep |2|, then one of the tied |1|s:
	//                           the lower index (1) wins         → [2, 1, 0, 0]
	// w = [1, 0.5, 1]; δ = wτ:  δ1 = [3, 0, 0, -2]
	//                           δ2 = [-1.75, 0, -2, 0]
	//                           δ3 = [2, 1, 0, 0]
	// Σδ = [3.25, 1, -2, -2] → elected signs [+, +, −, −]
	// agreeing entries (zeros never agree):
	//   e0: δ1=3, δ3=2 (δ2=-1.75 dropped) → sum 5,  Σw = 1+1 = 2   → 2.5
	//   e1: δ3=1                          → sum 1,  Σw = 1       → 1
	//   e2: δ2=-2                         → sum -2, Σw = 0.5     → -4
	//   e3: δ1=-2                         → sum -2, Σw = 1       → -2
	// λ = 1: b + [2.5, 1, -4, -2] = [3.5, 3, -1, 2]
	base := []float32{1, 2, 3, 4}
	in := MergeInput{
		Base: base,
		Models: [][]float32{
			{4, 1, 3.5, 2},
			{-2.5, 4, -1, 4.25},
			{3, 3, 4, 3.5},
		},
		Weights: []float64{1, 0.5, 1},
	}
	assertClose(t, "defaults (density 0.5, λ 1, normalize 1)", mergeWith(t, "ties", in), []float64{3.5, 3, -1, 2})
	// λ = 0.5: b + 0.5·[2.5, 1, -4, -2] = [2.25, 2.5, 1, 3]
	in.Params = map[string]float64{"lambda": 0.5}
	assertClose(t, "lambda=0.5", mergeWith(t, "ties", in), []float64{2.25, 2.5, 1, 3})
	// normalize = 0: b + [5, 1, -2, -2] = [6, 3, 1, 2]
	in.Params = map[string]float64{"normalize": 0}
	assertClose(t, "normalize=0", mergeWith(t, "ties", in), []float64{6, 3, 1, 2})
	// density = 1 keeps everything: δ1 = [3, -1, 0.5, -2], δ2 = [-1.75, 1, -2, 0.125], δ3 = [2, 1, 1, -0.5]
	// Σδ = [3.25, 1, -0.5, -2.375] → signs [+, +, −, −]
	//   e0: 3+2 / (1+1) = 2.5; e1: 1+1 / (0.5+1) = 4/3; e2: -2 / 0.5 = -4; e3: -2-0.5 / (1+1) = -1.25
	in.Params = map[string]float64{"density": 1}
	assertClose(t, "density=1", mergeWith(t, "ties", in), []float64{3.5, 2 + 4.0/3, -1, 2.75})
	// density = 0 trims everything: the base comes back.
	in.Params = map[string]float64{"density": 0}
	assertClose(t, "density=0", mergeWith(t, "ties", in), []float64{1, 2, 3, 4})
	// density = 0.1 → ⌊0.4⌋ = 0, raised to 1 entry per task vector:
	// τ1 keeps 3 (e0), τ2 keeps -4 (e2), τ3 keeps 2 (e0) → e0: (3+2)/2 = 2.5, e2: -2/0.5 = -4
	in.Params = map[string]float64{"density": 0.1}
	assertClose(t, "density=0.1", mergeWith(t, "ties", in), []float64{3.5, 2, -1, 4})
}

func TestTIESElectsSignBySumNotCount(t *testing.T) {
	// Two small positive deltas against one large negative one: the "sum" consensus
	// (mergekit's choice for ties) elects −; a count would have elected +.
	// base = [0]; δ = [1, 1, -5] → Σ = -3 → only -5 agrees; normalize: -5/1 → out = -5
	in := MergeInput{Base: []float32{0}, Models: [][]float32{{1}, {1}, {-5}}, Weights: []float64{1, 1, 1},
		Params: map[string]float64{"density": 1}}
	assertClose(t, "sum consensus", mergeWith(t, "ties", in), []float64{-5})

	// A zero sum elects + (mergekit: sign_weight >= 0): δ = [2, -2] → keep 2 → 2/1 = 2.
	in = MergeInput{Base: []float32{0}, Models: [][]float32{{2}, {-2}}, Weights: []float64{1, 1},
		Params: map[string]float64{"density": 1}}
	assertClose(t, "zero sum", mergeWith(t, "ties", in), []float64{2})
}

// naiveTIES is an independent reference: top-k by a stable sort of indices on |τ|
// (descending, lower index first among equals), then the elect/merge steps written out.
func naiveTIES(in MergeInput, density, lambda float64, normalize bool) []float64 {
	n := len(in.Base)
	trimmed := make([][]float64, len(in.Models))
	for i, x := range in.Models {
		tau := make([]float64, n)
		for j := range tau {
			tau[j] = float64(x[j] - in.Base[j])
		}
		k := n
		if density < 1 {
			k = int(density * float64(n))
			if k == 0 && density > 0 {
				k = 1
			}
		}
		idx := make([]int, n)
		for j := range idx {
			idx[j] = j
		}
		sort.SliceStable(idx, func(a, b int) bool { return math.Abs(tau[idx[a]]) > math.Abs(tau[idx[b]]) })
		trimmed[i] = make([]float64, n)
		for _, j := range idx[:min(k, n)] {
			trimmed[i][j] = tau[j]
		}
	}
	out := make([]float64, n)
	for j := range out {
		sum := 0.0
		for i := range in.Models {
			sum += in.Weights[i] * trimmed[i][j]
		}
		sign := 1.0
		if sum < 0 {
			sign = -1
		}
		mixed, div := 0.0, 0.0
		for i := range in.Models {
			d := in.Weights[i] * trimmed[i][j]
			if d*sign > 0 {
				mixed += d
				div += in.Weights[i]
			}
		}
		if normalize && div != 0 {
			mixed /= div
		}
		out[j] = float64(in.Base[j]) + lambda*mixed
	}
	return out
}

func TestTIESMatchesNaiveReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 60; trial++ {
		n := 1 + rng.IntN(300)
		models := 1 + rng.IntN(4)
		quantized := trial%2 == 0 // many exact ties in |τ|
		val := func() float32 {
			if quantized {
				return float32(rng.IntN(7)-3) / 4
			}
			return float32(rng.NormFloat64())
		}
		in := MergeInput{Base: make([]float32, n), Weights: make([]float64, models)}
		for j := range in.Base {
			in.Base[j] = val()
		}
		for i := 0; i < models; i++ {
			x := make([]float32, n)
			for j := range x {
				x[j] = in.Base[j] + val()
			}
			in.Models = append(in.Models, x)
			in.Weights[i] = rng.Float64()*2 - 0.5
		}
		density := []float64{0, 0.01, 0.3, 0.5, 0.77, 1}[rng.IntN(6)]
		lambda := rng.Float64() * 2
		normalize := rng.IntN(2) == 1
		in.Params = map[string]float64{"density": density, "lambda": lambda, "normalize": map[bool]float64{false: 0, true: 1}[normalize]}
		got := mergeWith(t, "ties", in)
		want := naiveTIES(in, density, lambda, normalize)
		for j := range want {
			if math.Abs(float64(got[j])-want[j]) > 1e-5*math.Max(1, math.Abs(want[j])) {
				t.Fatalf("trial %d (n=%d models=%d density=%g normalize=%v): element %d = %v, reference %v", trial, n, models, density, normalize, j, got[j], want[j])
			}
		}
	}
}

func TestKthLargestMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(5000)
		keys := make([]uint32, n)
		for i := range keys {
			switch trial % 3 {
			case 0:
				keys[i] = magnitudeKey(float32(rng.NormFloat64()))
			case 1:
				keys[i] = uint32(rng.IntN(5)) // heavy duplicates
			default:
				keys[i] = rng.Uint32() & 0x7fffffff
			}
		}
		sorted := slices.Clone(keys)
		slices.Sort(sorted)
		slices.Reverse(sorted)
		k := 1 + rng.IntN(n)
		thr, eq := kthLargest(slices.Clone(keys), k)
		if thr != sorted[k-1] {
			t.Fatalf("trial %d: threshold %d, want %d", trial, thr, sorted[k-1])
		}
		above := 0
		for _, v := range keys {
			if v > thr {
				above++
			}
		}
		if above+eq != k || eq < 1 {
			t.Fatalf("trial %d: %d above + %d equal kept != k=%d", trial, above, eq, k)
		}
	}
}

func BenchmarkTIES(b *testing.B) { benchmarkMethod(b, TIES{}, map[string]float64{"density": 0.5}) }

// BenchmarkKthLargest measures the radix select used for trimming on 1M magnitudes;
// BenchmarkKthLargestBySort is the full sort it replaces, for comparison.
func BenchmarkKthLargest(b *testing.B) {
	keys, scratch := benchKeys(), make([]uint32, 1<<20)
	b.SetBytes(int64(len(keys) * 4))
	for i := 0; i < b.N; i++ {
		copy(scratch, keys)
		kthLargest(scratch, len(keys)/2)
	}
	b.ReportMetric(float64(len(keys))*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
}

func BenchmarkKthLargestBySort(b *testing.B) {
	keys, scratch := benchKeys(), make([]uint32, 1<<20)
	b.SetBytes(int64(len(keys) * 4))
	for i := 0; i < b.N; i++ {
		copy(scratch, keys)
		slices.Sort(scratch)
	}
	b.ReportMetric(float64(len(keys))*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
}

func benchKeys() []uint32 {
	rng := rand.New(rand.NewPCG(5, 6))
	keys := make([]uint32, 1<<20)
	for i := range keys {
		keys[i] = magnitudeKey(float32(rng.NormFloat64()))
	}
	return keys
}
