package evomerge

// TaskArithmetic adds weighted task vectors to the base model (Ilharco et al. 2023,
// "Editing Models with Task Arithmetic", ICLR 2023, arXiv:2212.04089). It is mergekit's
// "task_arithmetic": the generalized task arithmetic of gta.go without sparsification or
// sign consensus, normalize 0 by default:
//
//	τᵢ = θᵢ − θ_base
//	Δ  = Σᵢ wᵢτᵢ                 (normalize = 0, the default)
//	Δ  = Σᵢ wᵢτᵢ / Σᵢ wᵢ         (normalize = 1; a divisor with |Σᵢ wᵢ| < 1e-8 is taken as 1,
//	                              as mergekit does without consensus)
//	θ  = θ_base + λ·Δ
//
// In mergekit the base model is not one of the task vectors; MergeFiles therefore passes
// only the non-base models. A caller that includes the base among MergeInput.Models adds a
// zero task vector, which changes nothing unless normalize is 1 (its weight then counts in
// the divisor). Sums are accumulated in float64 (mergekit: in the tensor's dtype).
type TaskArithmetic struct{}

var taskArithmetic = gtaMethod{gtaConfig{name: "task_arithmetic", normalize: 0}}

func init() { RegisterMethod(TaskArithmetic{}) }

// Name returns "task_arithmetic".
func (TaskArithmetic) Name() string { return taskArithmetic.Name() }

// NeedsBase returns true: task vectors are differences to the base model.
func (TaskArithmetic) NeedsBase() bool { return true }

// Params declares lambda (default 1) and normalize (default 0), as in mergekit.
func (TaskArithmetic) Params() []Param { return taskArithmetic.Params() }

func (TaskArithmetic) checkParams(params map[string]float64) error {
	return taskArithmetic.checkParams(params)
}

// Merge writes θ_base + λ·Σ wᵢ(θᵢ − θ_base) (divided by Σ wᵢ when normalize is 1) to out.
// It returns an error if the input is malformed (see MergeInput; Base is required) or a
// parameter is invalid.
func (TaskArithmetic) Merge(in MergeInput, out []float32) error {
	return taskArithmetic.Merge(in, out)
}
