package evomerge

import "math"

// TaskArithmetic adds weighted task vectors to the base model (Ilharco et al. 2023,
// "Editing Models with Task Arithmetic", ICLR 2023, arXiv:2212.04089), with mergekit's
// semantics (arcee-ai/mergekit mergekit/merge_methods/generalized_task_arithmetic.py
// without sparsification or sign consensus; docs/merge_methods.md "Task Arithmetic"):
//
//	τᵢ = θᵢ − θ_base
//	Δ  = Σᵢ wᵢτᵢ                 (normalize = 0, the default)
//	Δ  = Σᵢ wᵢτᵢ / Σᵢ wᵢ         (normalize = 1; a divisor with |Σᵢ wᵢ| < 1e-8 is taken as 1)
//	θ  = θ_base + λ·Δ
//
// In mergekit the base model is not one of the task vectors; MergeFiles therefore passes
// only the non-base models. A caller that includes the base among MergeInput.Models adds a
// zero task vector, which changes nothing unless normalize is 1 (its weight then counts in
// the divisor).
type TaskArithmetic struct{}

func init() { RegisterMethod(TaskArithmetic{}) }

// Name returns "task_arithmetic".
func (TaskArithmetic) Name() string { return "task_arithmetic" }

// NeedsBase returns true: task vectors are differences to the base model.
func (TaskArithmetic) NeedsBase() bool { return true }

// Params declares lambda (default 1) and normalize (default 0, as in mergekit).
func (TaskArithmetic) Params() []Param {
	return []Param{
		{Name: "lambda", Default: 1, Min: -10, Max: 10,
			Doc: "scale λ of the combined task vector before it is added to the base (negative values subtract it)"},
		{Name: "normalize", Default: 0, Min: 0, Max: 1,
			Doc: "1: divide the weighted sum of task vectors by the sum of the weights; 0: use the weighted sum as is"},
	}
}

func (m TaskArithmetic) checkParams(params map[string]float64) error {
	return checkFlags(m, params, "normalize")
}

// Merge writes θ_base + λ·Σ wᵢ(θᵢ − θ_base) (divided by Σ wᵢ when normalize is 1) to out.
// It returns an error if the input is malformed (see MergeInput; Base is required) or a
// parameter is invalid.
func (m TaskArithmetic) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	normalize, err := flagParam(m, params, "normalize")
	if err != nil {
		return err
	}
	lambda := params["lambda"]
	divisor := 1.0
	if normalize {
		var sum float64
		for _, w := range in.Weights {
			sum += w
		}
		if math.Abs(sum) >= divisorEpsilon {
			divisor = sum
		}
	}
	base, models, weights := in.Base, in.Models, in.Weights
	for j := range out {
		b := base[j]
		var acc float64
		for i, x := range models {
			// The task vector is formed in float32, as mergekit forms it in the tensor's dtype.
			acc += weights[i] * float64(x[j]-b)
		}
		out[j] = float32(float64(b) + lambda*(acc/divisor))
	}
	return nil
}
