package evomerge

import (
	"fmt"
	"math"
)

// Linear is the weighted average of model parameters ("model soups", Wortsman et al.
// 2022, arXiv:2203.05482), with mergekit's semantics (arcee-ai/mergekit
// mergekit/merge_methods/linear.py, docs/merge_methods.md "Linear"):
//
//	normalize = 1:  θ = Σᵢ wᵢθᵢ / Σᵢ wᵢ
//	normalize = 0:  θ = Σᵢ wᵢθᵢ
//
// It uses no base model: every model in the recipe, the run's base included, takes part
// with its weight. Sums are accumulated in float64 per element (mergekit: in the tensor's
// dtype), and the weights are divided by Σ wᵢ before the sum rather than the sum after it,
// which differs from mergekit in the last bits only. Deviation: where mergekit divides by a
// zero Σ wᵢ, this is an error when |Σ wᵢ| < 1e-8.
type Linear struct{}

func init() { RegisterMethod(Linear{}) }

// Name returns "linear".
func (Linear) Name() string { return "linear" }

// NeedsBase returns false: linear merging averages the models themselves.
func (Linear) NeedsBase() bool { return false }

// Params declares normalize (default 1, as in mergekit).
func (Linear) Params() []Param {
	return []Param{
		{Name: "normalize", Default: 1, Min: 0, Max: 1,
			Doc: "1: divide the weighted sum by the sum of the weights (a weighted mean); 0: use the weighted sum as is"},
	}
}

func (m Linear) checkParams(params map[string]float64) error {
	return checkFlags(m, params, "normalize")
}

// Merge writes Σ wᵢθᵢ (divided by Σ wᵢ when normalize is 1) to out. It returns an error if
// the input is malformed (see MergeInput), a parameter is invalid, or normalize is 1 and
// |Σ wᵢ| < 1e-8 (mergekit would divide by zero there).
func (m Linear) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	normalize, err := flagParam(m, params, "normalize")
	if err != nil {
		return err
	}
	divisor := 1.0
	if normalize {
		var sum float64
		for _, w := range in.Weights {
			sum += w
		}
		if math.Abs(sum) < divisorEpsilon {
			return fmt.Errorf("merge method linear: weights %v sum to %g; cannot normalize (give weights with a nonzero sum or set normalize=0)", in.Weights, sum)
		}
		divisor = sum
	}
	ws := make([]float64, len(in.Weights))
	for i, w := range in.Weights {
		ws[i] = w / divisor
	}
	linearKernel(in.Models, ws, out)
	return nil
}

// linearKernel writes Σ wsᵢ·xsᵢ to out, accumulated in float64, over blocks on all cores.
func linearKernel(xs [][]float32, ws []float64, out []float32) {
	parallelBlocks(len(out), func(_, _, lo, hi int) {
		o := out[lo:hi]
		switch len(xs) {
		case 1:
			x0, w0 := xs[0][lo:hi], ws[0]
			for j := range o {
				o[j] = float32(w0 * float64(x0[j]))
			}
		case 2:
			x0, x1, w0, w1 := xs[0][lo:hi], xs[1][lo:hi], ws[0], ws[1]
			for j := range o {
				o[j] = float32(w0*float64(x0[j]) + w1*float64(x1[j]))
			}
		case 3:
			weighted3(xs[0][lo:hi], xs[1][lo:hi], xs[2][lo:hi], ws[0], ws[1], ws[2], o)
		case 4:
			x0, x1, x2, x3 := xs[0][lo:hi], xs[1][lo:hi], xs[2][lo:hi], xs[3][lo:hi]
			w0, w1, w2, w3 := ws[0], ws[1], ws[2], ws[3]
			for j := range o {
				o[j] = float32(w0*float64(x0[j]) + w1*float64(x1[j]) + w2*float64(x2[j]) + w3*float64(x3[j]))
			}
		default:
			for j := range o {
				var acc float64
				for i, x := range xs {
					acc += ws[i] * float64(x[lo+j])
				}
				o[j] = float32(acc)
			}
		}
	})
}
