package evomerge

import (
	"fmt"
	"math"
)

// ModelStock is Model Stock (Jang et al. 2024, "Model Stock: All we need is just a few
// fine-tuned models", ECCV 2024, arXiv:2403.19522), mergekit's "model_stock"
// (arcee-ai/mergekit mergekit/merge_methods/model_stock.py). It needs the base θ₀ and at
// least two other models θ₁..θ_N (an error otherwise). With offsets τᵢ = θᵢ − θ₀:
//
//	cos θ = mean over pairs i < j of clamp(τᵢ·τⱼ / max(‖τᵢ‖‖τⱼ‖, 1e-6), −1, 1)
//	t     = N·cos θ / (1 + (N−1)·cos θ)
//	θ     = t·(Σᵢ θᵢ / N) + (1 − t)·θ₀
//
// over the whole tensor (filter_wise = 0, the default) or per row (filter_wise = 1: the
// last dimension of MergeInput.Shape; a 1-D tensor is one row). Weights are not used.
// Reductions are in float64 (mergekit: the tensor's dtype). Like mergekit, nothing guards
// 1 + (N−1)·cos θ = 0 (cos θ = −1 with N = 2): the result is then not finite.
type ModelStock struct{}

func init() { RegisterMethod(ModelStock{}) }

// Name returns "model_stock".
func (ModelStock) Name() string { return "model_stock" }

// NeedsBase returns true: the offsets are taken from the base.
func (ModelStock) NeedsBase() bool { return true }

// Params declares filter_wise (default 0).
func (ModelStock) Params() []Param {
	return []Param{{Name: "filter_wise", Default: 0, Min: 0, Max: 1,
		Doc: "1: one interpolation ratio per row (filter); 0: one per tensor"}}
}

func (m ModelStock) checkParams(params map[string]float64) error {
	return checkFlags(m, params, "filter_wise")
}

// Merge writes the model-stock merge of in to out. It returns an error unless there are
// at least two models besides the base, or if the input is malformed.
func (m ModelStock) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	nm := len(in.Models)
	if nm < 2 {
		return fmt.Errorf("merge method model_stock needs the base and at least two other models, but got the base and %d", nm)
	}
	filterWise, _ := flagParam(m, params, "filter_wise")
	n := len(out)
	base, xs := in.Base, in.Models
	pairs := nm * (nm - 1) / 2
	k := nm + pairs // squared norms, then dot products
	// reduce accumulates the norms and dot products of the offsets over [lo, hi).
	reduce := func(lo, hi int, s []float64) {
		for j := lo; j < hi; j++ {
			b := base[j]
			p := nm
			for a := 0; a < nm; a++ {
				ta := float64(xs[a][j] - b)
				s[a] += ta * ta
				for c := a + 1; c < nm; c++ {
					s[p] += ta * float64(xs[c][j]-b)
					p++
				}
			}
		}
	}
	ratio := func(s []float64) float64 {
		var cos float64
		p := nm
		for a := 0; a < nm; a++ {
			for c := a + 1; c < nm; c++ {
				np := math.Sqrt(s[a]) * math.Sqrt(s[c])
				cos += math.Max(-1, math.Min(1, s[p]/math.Max(np, 1e-6)))
				p++
			}
		}
		cos /= float64(pairs)
		N := float64(nm)
		return N * cos / (1 + (N-1)*cos)
	}
	write := func(lo, hi int, t float64) {
		for j := lo; j < hi; j++ {
			var sum float64
			for _, x := range xs {
				sum += float64(x[j])
			}
			out[j] = float32(t*(sum/float64(nm)) + (1-t)*float64(base[j]))
		}
	}
	cols := rowLength(in.Shape, n)
	if !filterWise || cols == n {
		t := ratio(parallelSums(n, k, reduce))
		parallelBlocks(n, func(_, _, lo, hi int) { write(lo, hi, t) })
		return nil
	}
	parallelTasks(n/cols, func(_, r int) {
		s := make([]float64, k)
		reduce(r*cols, (r+1)*cols, s)
		write(r*cols, (r+1)*cols, ratio(s))
	})
	return nil
}
