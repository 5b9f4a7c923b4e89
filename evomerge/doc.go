// Package evomerge holds the model of an evolutionary merging run: its configuration,
// the merge methods that turn several models into one, recipes (a child's genome: method,
// one weight per model, method parameters), the variation operators that breed recipes,
// and the file-level merge that applies a recipe to safetensors models.
//
// # Merge methods
//
// Methods merge one tensor at a time and are registered by name (RegisterMethod,
// LookupMethod); each declares typed, defaulted parameters (Params), the same way mergekit
// declares its methods (arcee-ai/mergekit, mergekit/merge_methods/registry.py and
// docs/merge_methods.md). The built-in methods reproduce mergekit's semantics:
//
//   - linear: θ = Σᵢ wᵢθᵢ / Σᵢ wᵢ (or the plain weighted sum with normalize = 0); model
//     soups, Wortsman et al. 2022, arXiv:2203.05482; mergekit merge_methods/linear.py.
//   - task_arithmetic: θ = θ_base + λ·Σᵢ wᵢ(θᵢ − θ_base); Ilharco et al. 2023, "Editing
//     Models with Task Arithmetic", ICLR 2023, arXiv:2212.04089; mergekit
//     merge_methods/generalized_task_arithmetic.py.
//   - ties: trim each task vector to its top-density fraction by magnitude, elect a sign
//     per element from the sum of weighted deltas, average the agreeing deltas, scale by λ;
//     Yadav et al. 2023, "TIES-Merging: Resolving Interference When Merging Models",
//     NeurIPS 2023, arXiv:2306.01708; mergekit generalized_task_arithmetic.py with
//     sparsify.py's magnitude pruning and the "sum" consensus.
//
// Every method reads float32 inputs, accumulates in float64 and rounds the result to
// float32; MergeFiles then stores it in each tensor's own dtype (F32, F16 or BF16).
//
// # Variation
//
// InitialRecipes, Mutate, Crossover and Breed form the genetic operators of the search;
// all randomness comes from a *rand.Rand built by NewRNG (PCG seeded through SplitMix64),
// so the same run seed and generation breed the same children.
package evomerge
