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
// with its weight. Sums are accumulated in float64 per element.
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
	models, weights := in.Models, in.Weights
	for j := range out {
		var acc float64
		for i, x := range models {
			acc += weights[i] * float64(x[j])
		}
		out[j] = float32(acc / divisor)
	}
	return nil
}
