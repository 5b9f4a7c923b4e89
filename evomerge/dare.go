package evomerge

// DARE (Yu et al. 2024, "Language Models are Super Mario: Absorbing Abilities from
// Homologous Models as a Free Lunch", ICML 2024, arXiv:2311.03099): Drop And REscale.
// mergekit's "dare_linear" (no consensus) and "dare_ties" (the TIES sign consensus) are the
// task-vector merge of gta.go with random sparsification, normalize 0 and rescale 1 by
// default:
//
//	mᵢⱼ ~ Bernoulli(densityᵢ),  τ̃ᵢ = mᵢ⊙τᵢ · ‖τᵢ‖₁/‖mᵢ⊙τᵢ‖₁ (rescale = 1)
//
// then combined as task arithmetic (dare_linear) or TIES (dare_ties) with weights,
// normalize and λ. The rescale matches the L1 norm, as current mergekit does
// (rescaled_masked_tensor with RescaleNorm.l1), not the 1/density of the paper; the two
// agree in expectation. The masks are drawn from MergeInput.Seed by a counter-based hash
// (deterministic, not torch's generator). density ≥ 1 is task arithmetic / TIES without
// trimming exactly.
func init() {
	RegisterMethod(gtaMethod{gtaConfig{name: "dare_linear", sparsify: sparsifyRandom, normalize: 0, rescale: 1, density: 1}})
	RegisterMethod(gtaMethod{gtaConfig{name: "dare_ties", consensus: true, sparsify: sparsifyRandom, normalize: 0, rescale: 1, density: 1}})
}
