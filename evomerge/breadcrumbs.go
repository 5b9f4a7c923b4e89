package evomerge

// Model Breadcrumbs (Davari & Belilovsky 2024, "Model Breadcrumbs: Scaling Multi-Task
// Model Merging with Sparse Masks", arXiv:2312.06795). mergekit's "breadcrumbs" (no
// consensus) and "breadcrumbs_ties" (the TIES sign consensus) are the task-vector merge of
// gta.go with magnitude_outliers sparsification, normalize 0 and rescale 0 by default: per
// model, of the n entries of τᵢ ranked by |τᵢ|,
//
//	n_top = ⌊gammaᵢ·n⌋ largest are dropped, then the smallest, leaving ⌊densityᵢ·n⌋
//	(if n − ⌊density·n⌋ − n_top < 0, n_top shrinks to n − ⌊density·n⌋ and none small go)
//
// gamma = 0 is TIES-style magnitude trimming; density = 1 keeps everything. Deviation:
// mergekit's slice indices[n_bot:-n_top] keeps nothing when n_top = 0; here it drops no
// large entries. Ranks are found by selection (see gta.go), ties by index.
func init() {
	RegisterMethod(gtaMethod{gtaConfig{name: "breadcrumbs", sparsify: sparsifyOutliers, normalize: 0, rescale: 0, density: 1}})
	RegisterMethod(gtaMethod{gtaConfig{name: "breadcrumbs_ties", consensus: true, sparsify: sparsifyOutliers, normalize: 0, rescale: 0, density: 1}})
}
