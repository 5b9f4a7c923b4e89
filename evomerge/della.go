package evomerge

// DELLA-Merging (Deep et al. 2024, "DELLA-Merging: Reducing Interference in Model Merging
// through Magnitude-Based Sampling", arXiv:2406.11617), mergekit's "della" (sign consensus,
// normalize 1, rescale 1) and "della_linear" (no consensus, normalize 0, rescale 1): the
// task-vector merge of gta.go with MAGPRUNE sparsification. Per row of c entries (the last
// dimension of MergeInput.Shape; the whole tensor without one), rank |τ| ascending
// r = 1..c (equal magnitudes by index) and keep entry r with probability
//
//	p(r) = density − ε + 2ε·(r−1)/(c−1)
//
// then (rescale = 1) scale the task vector back to its L1 norm, as mergekit's
// rescaled_masked_tensor with the l1 norm. See gta.go for the rest of the merge and the
// deliberate differences from mergekit.
func init() {
	RegisterMethod(gtaMethod{gtaConfig{name: "della", consensus: true, sparsify: sparsifyDella, normalize: 1, rescale: 1, density: 1}})
	RegisterMethod(gtaMethod{gtaConfig{name: "della_linear", sparsify: sparsifyDella, normalize: 0, rescale: 1, density: 1}})
}
