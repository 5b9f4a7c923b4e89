package evomerge

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

// The references below are written from mergekit's formulas (generalized_task_arithmetic.py,
// sparsify.py, slerp.py, nuslerp.py, model_stock.py) in plain float64, with stable sorts
// for ranks; they share nothing with the kernels but the random-mask hash (maskBits), which
// defines which entries DARE and DELLA drop.

// refRanksDesc returns the flat indices ordered by |τ| descending, lower index first
// among equals.
func refRanksDesc(tau []float64) []int {
	idx := make([]int, len(tau))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return math.Abs(tau[idx[a]]) > math.Abs(tau[idx[b]]) })
	return idx
}

type refCfg struct {
	consensus          bool
	kind               sparsification
	normalize, rescale bool
	lambda             float64
	density, gamma     []float64
	epsilon            []float64
	cols               int
	seed               uint64
}

// refGTA is mergekit's generalized task arithmetic, naively.
func refGTA(base []float32, models [][]float32, w []float64, c refCfg) []float64 {
	n := len(base)
	deltas := make([][]float64, len(models))
	for i, x := range models {
		tau := make([]float64, n)
		for j := range tau {
			tau[j] = float64(x[j] - base[j])
		}
		mask := make([]float64, n)
		d := c.density[i]
		switch {
		case c.kind == sparsifyNone || d >= 1:
			for j := range mask {
				mask[j] = 1
			}
		case c.kind == sparsifyMagnitude:
			k := int(d * float64(n))
			if k == 0 && d > 0 {
				k = 1
			}
			for _, j := range refRanksDesc(tau)[:k] {
				mask[j] = 1
			}
		case c.kind == sparsifyOutliers:
			target := int(d * float64(n))
			nTop := int(c.gamma[i] * float64(n))
			nBot := n - target - nTop
			if nBot < 0 {
				nTop += nBot
				nBot = 0
			}
			for _, j := range refRanksDesc(tau)[nTop : n-nBot] {
				mask[j] = 1
			}
		case c.kind == sparsifyRandom:
			s := maskStream(c.seed, i)
			for j := range mask {
				if unitFloat(maskBits(s, j)) < d {
					mask[j] = 1
				}
			}
		case c.kind == sparsifyDella:
			if d <= 0 {
				break
			}
			s := maskStream(c.seed, i)
			cols := c.cols
			for r := 0; r < n/cols; r++ {
				row := tau[r*cols : (r+1)*cols]
				asc := refRanksDesc(row)
				// ascending rank with lower index first among equals: reverse order of a
				// descending list that puts higher index first among equals
				idx := make([]int, cols)
				for j := range idx {
					idx[j] = j
				}
				sort.SliceStable(idx, func(a, b int) bool { return math.Abs(row[idx[a]]) < math.Abs(row[idx[b]]) })
				_ = asc
				for rank, j := range idx {
					p := d
					if cols > 1 {
						p = d - c.epsilon[i] + 2*c.epsilon[i]*float64(rank)/float64(cols-1)
					}
					if unitFloat(maskBits(s, r*cols+j)) < p {
						mask[r*cols+j] = 1
					}
				}
			}
		}
		scale := 1.0
		if c.rescale && c.kind != sparsifyNone && d < 1 {
			var before, after float64
			for j := range tau {
				before += math.Abs(tau[j])
				after += math.Abs(tau[j] * mask[j])
			}
			if before >= 1e-7 && after >= 1e-7 {
				scale = before / after
			}
		}
		deltas[i] = make([]float64, n)
		for j := range tau {
			deltas[i][j] = w[i] * tau[j] * mask[j] * scale
		}
	}
	out := make([]float64, n)
	for j := range out {
		var mixed, div float64
		if c.consensus {
			var sum float64
			for i := range deltas {
				sum += deltas[i][j]
			}
			sign := 1.0
			if sum < 0 {
				sign = -1
			}
			for i := range deltas {
				if deltas[i][j]*sign > 0 {
					mixed += deltas[i][j]
					div += w[i]
				}
			}
			if div == 0 {
				div = 1
			}
		} else {
			for i := range deltas {
				mixed += deltas[i][j]
				div += w[i]
			}
			if math.Abs(div) < 1e-8 {
				div = 1
			}
		}
		if c.normalize {
			mixed /= div
		}
		out[j] = float64(base[j]) + c.lambda*mixed
	}
	return out
}

func randomInput(rng *rand.Rand, n, models int, quantized bool) MergeInput {
	val := func() float32 {
		if quantized {
			return float32(rng.IntN(7)-3) / 4
		}
		return float32(rng.NormFloat64())
	}
	in := MergeInput{Base: make([]float32, n), Weights: make([]float64, models), Seed: rng.Uint64()}
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
	return in
}

func assertNear(t *testing.T, label string, got []float32, want []float64, tol float64) {
	t.Helper()
	for j := range want {
		if math.Abs(float64(got[j])-want[j]) > tol*math.Max(1, math.Abs(want[j])) {
			t.Fatalf("%s: element %d = %v, reference %v", label, j, got[j], want[j])
		}
	}
}

func TestGTAFamilyMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	family := map[string]refCfg{
		"task_arithmetic":  {kind: sparsifyNone},
		"ties":             {consensus: true, kind: sparsifyMagnitude, normalize: true},
		"dare_linear":      {kind: sparsifyRandom, rescale: true},
		"dare_ties":        {consensus: true, kind: sparsifyRandom, rescale: true},
		"breadcrumbs":      {kind: sparsifyOutliers},
		"breadcrumbs_ties": {consensus: true, kind: sparsifyOutliers},
		"della":            {consensus: true, kind: sparsifyDella, normalize: true, rescale: true},
		"della_linear":     {kind: sparsifyDella, rescale: true},
	}
	for name, c0 := range family {
		m, _ := LookupMethod(name)
		for trial := 0; trial < 24; trial++ {
			// Sizes beyond one block exercise the parallel passes and tie counters
			// carried across blocks.
			n := []int{1 + rng.IntN(300), blockSize*2 + rng.IntN(5000)}[trial%2]
			models := 1 + rng.IntN(4)
			in := randomInput(rng, n, models, trial%4 < 2)
			c := c0
			c.seed, c.lambda = in.Seed, rng.Float64()*2
			c.cols = n
			if trial%3 == 0 && n%4 == 0 {
				c.cols = n / 4
				in.Shape = []int{4, n / 4}
			}
			in.Params = map[string]float64{"lambda": c.lambda, "normalize": boolParam(c.normalize)}
			for _, p := range m.Params() {
				if p.Name == "rescale" {
					c.rescale = rng.IntN(2) == 1
					in.Params["rescale"] = boolParam(c.rescale)
				}
			}
			if rng.IntN(2) == 1 {
				c.normalize = !c.normalize
				in.Params["normalize"] = boolParam(c.normalize)
			}
			pick := func(vals []float64) float64 { return vals[rng.IntN(len(vals))] }
			in.ModelParams = map[string][]float64{}
			for i := 0; i < models; i++ {
				d := pick([]float64{0, 0.01, 0.3, 0.5, 0.77, 1})
				if c.kind == sparsifyDella {
					d = pick([]float64{0.3, 0.5, 0.7, 1})
				}
				c.density = append(c.density, d)
				c.gamma = append(c.gamma, pick([]float64{0, 0.01, 0.1, 0.3}))
				c.epsilon = append(c.epsilon, pick([]float64{0, 0.1, 0.2}))
			}
			if c.kind != sparsifyNone {
				in.ModelParams["density"] = c.density
			}
			if c.kind == sparsifyOutliers {
				in.ModelParams["gamma"] = c.gamma
			}
			if c.kind == sparsifyDella {
				in.ModelParams["epsilon"] = c.epsilon
			}
			if c.kind == sparsifyNone {
				c.density = make([]float64, models)
			}
			out := make([]float32, n)
			if err := m.Merge(in, out); err != nil {
				t.Fatalf("%s trial %d: %v", name, trial, err)
			}
			assertNear(t, name, out, refGTA(in.Base, in.Models, in.Weights, c), 2e-5)
		}
	}
}

func TestGTAInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{1000, 3 * blockSize} {
		in := randomInput(rng, n, 3, false)
		ta := mergeWith(t, "task_arithmetic", in)
		// DARE (and breadcrumbs, della) at density 1 is task arithmetic exactly.
		for _, name := range []string{"dare_linear", "breadcrumbs", "della_linear"} {
			in.Params = map[string]float64{"density": 1}
			assertNear(t, name+" density 1", mergeWith(t, name, in), f64(ta), 1e-6)
		}
		// TIES at density 1 with agreeing signs (all task vectors positive) is the
		// weighted task-arithmetic mean.
		pos := MergeInput{Base: in.Base, Weights: []float64{0.5, 1, 2}}
		for i := 0; i < 3; i++ {
			x := make([]float32, n)
			for j := range x {
				x[j] = in.Base[j] + float32(0.1+rng.Float64())
			}
			pos.Models = append(pos.Models, x)
		}
		pos.Params = map[string]float64{"normalize": 1}
		mean := mergeWith(t, "task_arithmetic", pos)
		pos.Params = map[string]float64{"density": 1}
		assertNear(t, "ties density 1 agreeing", mergeWith(t, "ties", pos), f64(mean), 1e-6)
		// dare_ties and breadcrumbs_ties at density 1 with normalize are the same.
		pos.Params = map[string]float64{"density": 1, "normalize": 1}
		assertNear(t, "dare_ties density 1", mergeWith(t, "dare_ties", pos), f64(mean), 1e-6)
		assertNear(t, "breadcrumbs_ties density 1", mergeWith(t, "breadcrumbs_ties", pos), f64(mean), 1e-6)
		// breadcrumbs with gamma 0 is magnitude trimming: breadcrumbs_ties = ties.
		in.Params = map[string]float64{"density": 0.4, "gamma": 0, "normalize": 1}
		bt := mergeWith(t, "breadcrumbs_ties", in)
		in.Params = map[string]float64{"density": 0.4}
		assertNear(t, "breadcrumbs_ties gamma 0 = ties", bt, f64(mergeWith(t, "ties", in)), 1e-6)
		// della with epsilon 0 draws every entry with probability density: the same
		// masks as DARE (same streams, same uniforms).
		in.Params = map[string]float64{"density": 0.6, "epsilon": 0}
		dl := mergeWith(t, "della_linear", in)
		in.Params = map[string]float64{"density": 0.6}
		assertNear(t, "della_linear epsilon 0 = dare_linear", dl, f64(mergeWith(t, "dare_linear", in)), 1e-6)
		// Deterministic: the same seed gives the same bytes, another seed another mask.
		again := mergeWith(t, "dare_linear", in)
		in.Seed++
		other := mergeWith(t, "dare_linear", in)
		same, diff := true, false
		first := mergeWith(t, "dare_linear", MergeInput{Base: in.Base, Models: in.Models, Weights: in.Weights, Params: in.Params, Seed: in.Seed - 1})
		for j := range again {
			same = same && again[j] == first[j]
			diff = diff || other[j] != first[j]
		}
		if !same || !diff {
			t.Errorf("dare_linear masks: same seed equal %v, other seed differs %v", same, diff)
		}
	}
}

func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func TestBreadcrumbsHandComputed(t *testing.T) {
	// base 0, one model τ = [5, -1, 3, 0.5, -4, 2, 0.1, 6, -0.2, 1], n = 10, w = 1.
	// density 0.5 → target 5; gamma 0.1 → n_top 1; n_bot = 10 − 5 − 1 = 4.
	// |τ| descending: 6 (7), 5 (0), -4 (4), 3 (2), 2 (5), -1 (1), 1 (9), 0.5, 0.2, 0.1.
	// drop the top 1 (6) and the 4 smallest (0.5, 0.2, 0.1 and 1 at index 9 — |−1| at index 1
	// ranks above |1| at index 9): keep 5, -4, 3, 2, -1.
	in := MergeInput{Base: make([]float32, 10), Models: [][]float32{{5, -1, 3, 0.5, -4, 2, 0.1, 6, -0.2, 1}},
		Weights: []float64{1}, Params: map[string]float64{"density": 0.5, "gamma": 0.1}}
	assertClose(t, "breadcrumbs", mergeWith(t, "breadcrumbs", in), []float64{5, -1, 3, 0, -4, 2, 0, 0, 0, 0})
	// rescale: L1 before = 22.8, after = 15 → ×1.52
	in.Params["rescale"] = 1
	assertClose(t, "breadcrumbs rescale", mergeWith(t, "breadcrumbs", in), []float64{7.6, -1.52, 4.56, 0, -6.08, 3.04, 0, 0, 0, 0})
}

func TestDAREHandComputed(t *testing.T) {
	// density 0 drops everything: the base comes back; density 1 is task arithmetic.
	in := MergeInput{Base: []float32{1, 2}, Models: [][]float32{{2, 4}}, Weights: []float64{0.5},
		Params: map[string]float64{"density": 0}}
	assertClose(t, "density 0", mergeWith(t, "dare_linear", in), []float64{1, 2})
	in.Params = map[string]float64{"density": 1}
	assertClose(t, "density 1", mergeWith(t, "dare_linear", in), []float64{1.5, 3})
	// density 0.5 on a constant task vector with rescale: every kept entry is scaled by
	// n/kept, so the L1 norm is kept; the mean of out − base is w·τ = 0.5.
	n := 4096
	in = MergeInput{Base: make([]float32, n), Models: [][]float32{make([]float32, n)}, Weights: []float64{0.5},
		Params: map[string]float64{"density": 0.5}, Seed: 9}
	for j := range in.Models[0] {
		in.Models[0][j] = 1
	}
	out := mergeWith(t, "dare_linear", in)
	var sum float64
	kept := 0
	for _, v := range out {
		sum += float64(v)
		if v != 0 {
			kept++
		}
	}
	if math.Abs(sum/float64(n)-0.5) > 1e-5 || kept < n*4/10 || kept > n*6/10 {
		t.Errorf("dare_linear density 0.5: mean %g (want 0.5), kept %d of %d", sum/float64(n), kept, n)
	}
}

func TestDELLAErrors(t *testing.T) {
	in := MergeInput{Base: []float32{0, 0}, Models: [][]float32{{1, 2}}, Weights: []float64{1},
		Params: map[string]float64{"density": 0.1, "epsilon": 0.15}}
	err := DELLAMethod().Merge(in, make([]float32, 2))
	if err == nil || !strings.Contains(err.Error(), "della") || !strings.Contains(err.Error(), "epsilon") {
		t.Errorf("want an error naming della and epsilon, got %v", err)
	}
}

// DELLAMethod is the registered della method.
func DELLAMethod() Method { m, _ := LookupMethod("della"); return m }

func TestPerModelParams(t *testing.T) {
	// ties with density 1 for model 0 and 0.5 for model 1 (n = 4, k = 2):
	// base 0, τ0 = [1, 2, 3, 4] kept whole, τ1 = [4, -3, 0.5, 0.25] keeps 4, -3.
	// w = 1, 1; signs: e0 1+4 ≥ 0 → 5/2; e1 2−3 < 0 → −3/1; e2 3 → 3; e3 4 → 4.
	in := MergeInput{Base: make([]float32, 4), Models: [][]float32{{1, 2, 3, 4}, {4, -3, 0.5, 0.25}},
		Weights: []float64{1, 1}, ModelParams: map[string][]float64{"density": {1, 0.5}}}
	assertClose(t, "per-model density", mergeWith(t, "ties", in), []float64{2.5, -3, 3, 4})
	bad := []struct {
		mp   map[string][]float64
		want string
	}{
		{map[string][]float64{"density": {1}}, "1 values for 2 models"},
		{map[string][]float64{"lambda": {1, 1}}, `"lambda" cannot be given per model`},
		{map[string][]float64{"density": {1, 2}}, "outside [0, 1]"},
	}
	for _, b := range bad {
		in.ModelParams = b.mp
		err := TIES{}.Merge(in, make([]float32, 4))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ModelParams %v: got %v, want %q", b.mp, err, b.want)
		}
	}
}

func TestLinearOneHotIsThatModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	in := randomInput(rng, 2*blockSize+7, 3, false)
	for k := range in.Models {
		in.Weights = []float64{0, 0, 0}
		in.Weights[k] = 1
		got := mergeWith(t, "linear", in)
		for j := range got {
			if got[j] != in.Models[k][j] {
				t.Fatalf("one-hot weight on model %d: element %d = %v, model has %v", k, j, got[j], in.Models[k][j])
			}
		}
	}
}

// refSlerp is mergekit's slerp in float64.
func refSlerp(t float64, v0, v1 []float32) []float64 {
	var n0, n1, dot float64
	for j := range v0 {
		n0 += float64(v0[j]) * float64(v0[j])
		n1 += float64(v1[j]) * float64(v1[j])
	}
	n0, n1 = math.Sqrt(n0), math.Sqrt(n1)
	for j := range v0 {
		a, b := float64(v0[j]), float64(v1[j])
		if n0 > 1e-8 {
			a /= n0
		}
		if n1 > 1e-8 {
			b /= n1
		}
		dot += a * b
	}
	out := make([]float64, len(v0))
	for j := range out {
		if math.Abs(dot) > 0.9995 {
			out[j] = (1-t)*float64(v0[j]) + t*float64(v1[j])
			continue
		}
		th := math.Acos(dot)
		out[j] = math.Sin(th-th*t)/math.Sin(th)*float64(v0[j]) + math.Sin(th*t)/math.Sin(th)*float64(v1[j])
	}
	return out
}

func TestSlerp(t *testing.T) {
	// Hand computed: v0 = [1, 0], v1 = [0, 1], Ω = π/2, t = 0.5:
	// sin(π/4)/1 = √½ each → [√½, √½].
	in := MergeInput{Base: []float32{1, 0}, Models: [][]float32{{0, 1}}, Weights: []float64{1}}
	assertClose(t, "quarter circle", mergeWith(t, "slerp", in), []float64{math.Sqrt(0.5), math.Sqrt(0.5)})
	// Parallel vectors fall back to lerp: [1, 2] and [2, 4] at t = 0.25 → [1.25, 2.5].
	in = MergeInput{Base: []float32{1, 2}, Models: [][]float32{{2, 4}}, Weights: []float64{1}, Params: map[string]float64{"t": 0.25}}
	assertClose(t, "parallel", mergeWith(t, "slerp", in), []float64{1.25, 2.5})
	rng := rand.New(rand.NewPCG(3, 3))
	r := randomInput(rng, 3*blockSize+5, 1, false)
	for _, tt := range []float64{0, 0.3, 1} {
		r.Params = map[string]float64{"t": tt}
		got := mergeWith(t, "slerp", r)
		assertNear(t, "slerp reference", got, refSlerp(tt, r.Base, r.Models[0]), 1e-5)
		if tt == 0 {
			assertNear(t, "t=0 is the base", got, f64(r.Base), 1e-6)
		}
		if tt == 1 {
			assertNear(t, "t=1 is the model", got, f64(r.Models[0]), 1e-6)
		}
	}
	err := Slerp{}.Merge(MergeInput{Base: []float32{1}, Models: [][]float32{{1}, {2}}, Weights: []float64{1, 1}}, make([]float32, 1))
	if err == nil || !strings.Contains(err.Error(), "slerp takes exactly two models") {
		t.Errorf("slerp with three models: %v", err)
	}
}

func TestNuSlerp(t *testing.T) {
	// weights 1, 3 → t = 0.75; v0 = [1, 0], v1 = [0, 1]: Ω = π/2,
	// [sin(π/8), sin(3π/8)].
	in := MergeInput{Models: [][]float32{{1, 0}, {0, 1}}, Weights: []float64{1, 3}}
	assertClose(t, "flat", mergeWith(t, "nuslerp", in), []float64{math.Sin(math.Pi / 8), math.Sin(3 * math.Pi / 8)})
	// Row-wise on shape [2, 2]: rows [1, 0]/[0, 1] (as above) and [1, 1]/[2, 2]
	// (colinear: lerp 0.25·[1, 1] + 0.75·[2, 2] = [1.75, 1.75]).
	in = MergeInput{Models: [][]float32{{1, 0, 1, 1}, {0, 1, 2, 2}}, Weights: []float64{1, 3}, Shape: []int{2, 2},
		Params: map[string]float64{"nuslerp_flatten": 0}}
	assertClose(t, "rows", mergeWith(t, "nuslerp", in), []float64{math.Sin(math.Pi / 8), math.Sin(3 * math.Pi / 8), 1.75, 1.75})
	// Column-wise: the columns of [[1, 0], [0, 1]] and [[0, 2], [1, 0]] are
	// c0: [1, 0]/[0, 1] and c1: [0, 1]/[2, 0], both at right angles.
	in = MergeInput{Models: [][]float32{{1, 0, 0, 1}, {0, 2, 1, 0}}, Weights: []float64{1, 3}, Shape: []int{2, 2},
		Params: map[string]float64{"nuslerp_flatten": 0, "nuslerp_row_wise": 1}}
	s, c := math.Sin(math.Pi/8), math.Sin(3*math.Pi/8)
	assertClose(t, "columns", mergeWith(t, "nuslerp", in), []float64{s, 2 * c, c, s})
	// With a base: interpolate the task vectors and add the base back.
	in = MergeInput{Base: []float32{1, 1}, Models: [][]float32{{2, 1}, {1, 2}}, Weights: []float64{1, 3}}
	assertClose(t, "base", mergeWith(t, "nuslerp", in), []float64{1 + s, 1 + c})
	err := NuSlerp{}.Merge(MergeInput{Models: [][]float32{{1}}, Weights: []float64{1}}, make([]float32, 1))
	if err == nil || !strings.Contains(err.Error(), "nuslerp takes exactly two models") {
		t.Errorf("nuslerp with one model: %v", err)
	}
}

func TestModelStockTwoModels(t *testing.T) {
	// base [0, 0, 0]; θ1 = [1, 0, 1], θ2 = [1, 1, 0]: cos = 1/(√2·√2) = 0.5,
	// N = 2: t = 2·0.5/(1 + 0.5) = 2/3; mean = [1, 0.5, 0.5] → out = 2/3·mean.
	in := MergeInput{Base: []float32{0, 0, 0}, Models: [][]float32{{1, 0, 1}, {1, 1, 0}}, Weights: []float64{1, 1}}
	assertClose(t, "model_stock", mergeWith(t, "model_stock", in), []float64{2.0 / 3, 1.0 / 3, 1.0 / 3})
	// filter_wise on shape [2, 3] with the second row identical offsets: cos 1 → t = 1 → the mean.
	in = MergeInput{Base: make([]float32, 6), Models: [][]float32{{1, 0, 1, 1, 2, 3}, {1, 1, 0, 1, 2, 3}},
		Weights: []float64{1, 1}, Shape: []int{2, 3}, Params: map[string]float64{"filter_wise": 1}}
	assertClose(t, "filter_wise", mergeWith(t, "model_stock", in), []float64{2.0 / 3, 1.0 / 3, 1.0 / 3, 1, 2, 3})
	err := ModelStock{}.Merge(MergeInput{Base: []float32{1}, Models: [][]float32{{1}}, Weights: []float64{1}}, make([]float32, 1))
	if err == nil || !strings.Contains(err.Error(), "model_stock needs the base and at least two") {
		t.Errorf("model_stock with one model: %v", err)
	}
}

func TestGradientValue(t *testing.T) {
	list := []float64{0, 1, 0.5}
	cases := []struct {
		layer, layers int
		want          float64
	}{
		{0, 5, 0}, {1, 5, 0.5}, {2, 5, 1}, {3, 5, 0.75}, {4, 5, 0.5}, {7, 5, 0.5}, {-1, 5, 0}, {0, 1, 0},
	}
	for _, c := range cases {
		if got := GradientValue(list, c.layer, c.layers); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("GradientValue(%v, %d, %d) = %g, want %g", list, c.layer, c.layers, got, c.want)
		}
	}
	if got := GradientValue([]float64{0.3}, 2, 9); got != 0.3 {
		t.Errorf("constant gradient: %g", got)
	}
}

func boolParam(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
