package evomerge

import (
	"fmt"
	"math"
)

// The task-vector family — task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs,
// breadcrumbs_ties, della, della_linear — is one merge, mergekit's generalized task
// arithmetic (arcee-ai/mergekit mergekit/merge_methods/generalized_task_arithmetic.py and
// mergekit/sparsify.py), configured per method by a sparsification, whether a sign
// consensus is taken, and the defaults of normalize and rescale (mergekit
// merge_methods/registry.py). Per tensor, with base θ_b and models θ_1..θ_m:
//
//	τᵢ = θᵢ − θ_b                                   task vector, formed in float32
//	mᵢ = sparsify(τᵢ; densityᵢ, gammaᵢ, epsilonᵢ)   a 0/1 mask (all ones without sparsification)
//	sᵢ = ‖τᵢ‖₁ / ‖mᵢ⊙τᵢ‖₁ if rescale = 1 and both norms ≥ 1e-7, else 1
//	δᵢ = wᵢ·sᵢ·mᵢ⊙τᵢ
//	consensus (ties, dare_ties, breadcrumbs_ties, della), per element:
//	    σ = + if Σᵢ δᵢ ≥ 0 else −;  aᵢ = 1 if δᵢ ≠ 0 and sign(δᵢ) = σ, else 0
//	    Δ = Σᵢ aᵢδᵢ;  D = Σᵢ aᵢwᵢ, and D = 1 where D = 0 (exactly, as mergekit)
//	no consensus:
//	    Δ = Σᵢ δᵢ;    D = Σᵢ wᵢ, and D = 1 where |D| < 1e-8 (as mergekit)
//	θ = θ_b + λ·Δ/D  (normalize = 1),  θ = θ_b + λ·Δ  (normalize = 0)
//
// The sparsifications (per model, on the whole tensor unless said otherwise):
//
//   - magnitude (ties): keep the k = ⌊density·n⌋ entries of largest |τ|; density ≥ 1
//     keeps all. Where mergekit asserts k > 0, k = 0 keeps one entry if density > 0 and
//     none if density = 0.
//   - random (dare_*; Yu et al. 2024, "Language Models are Super Mario", arXiv:2311.03099):
//     keep each entry independently with probability density; density ≥ 1 keeps all.
//   - magnitude_outliers (breadcrumbs*; Davari & Belilovsky 2024, "Model Breadcrumbs",
//     arXiv:2312.06795): drop the n_top = ⌊gamma·n⌋ largest |τ| and then the smallest
//     so that ⌊density·n⌋ remain (if that would need dropping fewer than zero small ones,
//     n_top shrinks instead); density ≥ 1 keeps all. Deviation: mergekit's slice
//     indices[n_bot:-n_top] keeps nothing when n_top = 0 (gamma·n < 1); here n_top = 0
//     drops no large entries.
//   - della_magprune (della*; Deep et al. 2024, "DELLA-Merging", arXiv:2406.11617): per
//     row (MergeInput.Shape's last dimension; the whole tensor without a shape), rank the
//     entries by |τ| ascending, r = 1..c, and keep each with probability
//     p = density − ε + 2ε·(r−1)/(c−1). density ≥ 1 keeps all, density ≤ 0 none, and
//     density ± ε must lie in (0, 1) otherwise (an error, as mergekit raises). A row of
//     one entry (c = 1, where mergekit divides 0 by 0) keeps it with probability density.
//     For tensors of three or more dimensions mergekit ranks along dimension 1; here
//     along the last.
//
// Deliberate differences from mergekit, all methods: sums and products are accumulated in
// float64 per element (mergekit computes in the tensor's dtype), and the L1 norms of the
// rescale in float64 per block (DARE) or row (DELLA) in eight interleaved lanes added in
// order, the blocks or rows then in order, so that they do not depend on GOMAXPROCS or
// the CPU's vector units; among entries of equal
// |τ| the ranks go by flat index (the lower index ranks as the larger magnitude for the
// top-k selections, as the smaller one for DELLA's ranks), where mergekit leaves ties to
// torch.argsort; random masks come from a counter-based hash of MergeInput.Seed, the
// model's position and the element index (deterministic), not from torch's generator, so
// masks equal mergekit's in distribution only; mergekit's int8_mask and "count" consensus
// are not offered. Top-k thresholds are found by selection, never by sorting: a window of
// |τ| bit patterns estimated from a fixed sample, one pass counting the entries above it
// and collecting those inside, and an exact radix select among those (falling back to a
// 16-bit histogram pass and a pass over the threshold's bucket when the count shows the
// window missed; see gta_select_kernel.go). DELLA's per-row ranks come from a per-row
// histogram, the exact rank being needed only for entries whose keep decision the
// bucket's rank range leaves open. Every pass runs over blocks of the tensor on all
// cores; the kernels are in gta_kernel*.go, gta_select_kernel.go and dare_della_kernel.go.

// sparsification selects how a task vector is thinned before the merge.
type sparsification int

const (
	sparsifyNone      sparsification = iota
	sparsifyMagnitude                // keep the largest |τ| (TIES trim)
	sparsifyRandom                   // Bernoulli(density) (DARE)
	sparsifyOutliers                 // drop the largest and the smallest |τ| (breadcrumbs)
	sparsifyDella                    // rank-dependent Bernoulli per row (DELLA MAGPRUNE)
)

// gtaConfig is one method of the task-vector family.
type gtaConfig struct {
	name      string
	consensus bool
	sparsify  sparsification
	normalize float64 // default of normalize
	rescale   float64 // default of rescale
	density   float64 // default of density
	// noRescale leaves rescale out of the parameters (fixed at 0): ties, whose recipes
	// predate the parameter.
	noRescale bool
}

// gtaMethod is a Method for a gtaConfig.
type gtaMethod struct{ c gtaConfig }

func (m gtaMethod) Name() string { return m.c.name }

// NeedsBase returns true: task vectors are differences to the base model.
func (gtaMethod) NeedsBase() bool { return true }

func (m gtaMethod) Params() []Param {
	var ps []Param
	if m.c.sparsify != sparsifyNone {
		doc := map[sparsification]string{
			sparsifyMagnitude: "fraction of each task vector's entries kept per tensor, by largest magnitude (1 keeps all)",
			sparsifyRandom:    "probability of keeping each task-vector entry; the rest are dropped at random (1 keeps all)",
			sparsifyOutliers:  "fraction of each task vector's entries kept per tensor, after the gamma fraction of largest magnitudes is dropped (1 keeps all)",
			sparsifyDella:     "mean probability of keeping a task-vector entry; larger magnitudes (by rank in their row) are kept more often (1 keeps all)",
		}[m.c.sparsify]
		ps = append(ps, Param{Name: "density", Default: m.c.density, Min: 0, Max: 1, Doc: doc, PerModel: true})
	}
	if m.c.sparsify == sparsifyOutliers {
		ps = append(ps, Param{Name: "gamma", Default: 0.01, Min: 0, Max: 0.5, PerModel: true,
			Doc: "fraction of each task vector's largest-magnitude entries dropped as outliers"})
	}
	if m.c.sparsify == sparsifyDella {
		ps = append(ps, Param{Name: "epsilon", Default: 0.15, Min: 0, Max: 0.5, PerModel: true,
			Doc: "spread ε of the keep probabilities: from density−ε (smallest magnitude of a row) to density+ε (largest); density ± ε must stay in (0, 1)"})
	}
	lambdaDoc := "scale λ of the merged task vector before it is added to the base (negative values subtract it)"
	switch m.c.name {
	case "task_arithmetic":
		lambdaDoc = "scale λ of the combined task vector before it is added to the base (negative values subtract it)"
	case "ties":
		lambdaDoc = "scale λ of the merged task vector before it is added to the base"
	}
	ps = append(ps, Param{Name: "lambda", Default: 1, Min: -10, Max: 10, Doc: lambdaDoc})
	normDoc := "1: divide the weighted sum of task vectors by the sum of the weights; 0: use the weighted sum as is"
	if m.c.consensus {
		normDoc = "1: divide each element's sum of sign-agreeing weighted deltas by the sum of their weights; 0: use the sum as is"
	}
	ps = append(ps, Param{Name: "normalize", Default: m.c.normalize, Min: 0, Max: 1, Doc: normDoc})
	if m.hasRescale() {
		ps = append(ps, Param{Name: "rescale", Default: m.c.rescale, Min: 0, Max: 1,
			Doc: "1: scale each sparsified task vector back to its L1 norm before sparsification; 0: leave it"})
	}
	return ps
}

func (m gtaMethod) hasRescale() bool { return m.c.sparsify != sparsifyNone && !m.c.noRescale }

func (m gtaMethod) checkParams(params map[string]float64) error {
	if !m.hasRescale() {
		return checkFlags(m, params, "normalize")
	}
	return checkFlags(m, params, "normalize", "rescale")
}

// gtaModel is one task vector's part in a merge.
type gtaModel struct {
	x       []float32
	w       float64 // weight
	scale   float64 // rescale factor sᵢ
	all     bool    // nothing is dropped
	none    bool    // everything is dropped
	cuts    []*rankCut
	randThr uint64   // random: keep iff bits < randThr
	stream  uint64   // random, della: mask stream
	mask    []uint64 // della: keep bits
	l1      float64  // ‖τ‖₁ (when rescaling)
	l1Kept  float64  // ‖m⊙τ‖₁ (when rescaling)
}

// Merge writes the method's merge of in to out. It returns an error if the input is
// malformed (see MergeInput; Base is required) or a parameter is invalid.
func (m gtaMethod) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	if err := checkModelParams(m, in); err != nil {
		return err
	}
	normalize, _ := flagParam(m, params, "normalize")
	rescale := false
	if m.hasRescale() {
		rescale, _ = flagParam(m, params, "rescale")
	}
	lambda := params["lambda"]
	models := make([]gtaModel, len(in.Models))
	for i, x := range in.Models {
		models[i] = gtaModel{x: x, w: in.Weights[i], scale: 1, all: true}
	}
	if m.c.sparsify != sparsifyNone {
		if err := m.prepareMasks(in, params, models, rescale); err != nil {
			return err
		}
	}
	if rescale {
		for i := range models {
			md := &models[i]
			if !md.all && md.l1 >= 1e-7 && md.l1Kept >= 1e-7 {
				md.scale = md.l1 / md.l1Kept
			}
		}
	}
	if m.c.sparsify == sparsifyNone && !m.c.consensus {
		taskArithmeticKernel(in.Base, models, lambda, normalize, out)
		return nil
	}
	if !dellaKernel(in.Base, models, m.c.consensus, lambda, normalize, out) {
		gtaKernel(in.Base, models, m.c.consensus, lambda, normalize, out)
	}
	for i := range models {
		if models[i].mask != nil {
			mk := models[i].mask
			uint64Pool.put(&mk)
		}
	}
	return nil
}

// prepareMasks sets up each model's sparsification (thresholds, mask bits, norms).
func (m gtaMethod) prepareMasks(in MergeInput, params map[string]float64, models []gtaModel, rescale bool) error {
	n := len(in.Base)
	var sel []*gtaModel // models needing rank selection
	var della []*gtaModel
	var dellaDensity, dellaEps []float64
	for i := range models {
		md := &models[i]
		density := modelParam(in, params, "density", i)
		if density >= 1 {
			continue // mergekit returns the tensor unchanged, without rescaling
		}
		md.all = false
		switch m.c.sparsify {
		case sparsifyMagnitude:
			k, all := keepCount(density, n)
			if all {
				md.all = true
				continue
			}
			md.cuts = []*rankCut{{c: k}}
			sel = append(sel, md)
		case sparsifyOutliers:
			gamma := modelParam(in, params, "gamma", i)
			target := int(density * float64(n))
			nTop := int(gamma * float64(n))
			nBot := n - target - nTop
			if nBot < 0 {
				nTop += nBot
				nBot = 0
			}
			hi := n - nBot
			if nTop == 0 && hi >= n {
				md.all = true
				continue
			}
			md.cuts = []*rankCut{{c: hi}}
			if nTop > 0 {
				md.cuts = append(md.cuts, &rankCut{c: nTop})
			}
			sel = append(sel, md)
		case sparsifyRandom:
			md.stream = maskStream(in.Seed, i)
			md.randThr, _ = bernoulliThreshold(density)
			if density <= 0 {
				md.none = true
			}
		case sparsifyDella:
			eps := modelParam(in, params, "epsilon", i)
			if density <= 0 {
				md.none = true
				continue
			}
			if density+eps >= 1 || density-eps <= 0 {
				return fmt.Errorf("merge method %s: density ± epsilon must lie in (0, 1), but model %d has density %g and epsilon %g", m.c.name, i, density, eps)
			}
			md.stream = maskStream(in.Seed, i)
			della = append(della, md)
			dellaDensity = append(dellaDensity, density)
			dellaEps = append(dellaEps, eps)
		}
	}
	if len(della) > 0 {
		dellaMasks(in.Base, della, dellaDensity, dellaEps, rowLength(in.Shape, n), rescale)
	}
	if len(sel) > 0 {
		selectRanks(in.Base, sel, rescale)
	}
	if rescale && m.c.sparsify == sparsifyRandom {
		var rnd []*gtaModel
		for i := range models {
			if !models[i].all && !models[i].none {
				rnd = append(rnd, &models[i])
			}
		}
		if len(rnd) > 0 {
			dareMasks(in.Base, rnd)
		}
	}
	return nil
}

// taskArithmeticKernel writes θ_b + λ·Σ wᵢτᵢ (divided by Σ wᵢ when normalize) to out.
func taskArithmeticKernel(base []float32, models []gtaModel, lambda float64, normalize bool, out []float32) {
	scale := lambda
	if normalize {
		var sum float64
		for _, md := range models {
			sum += md.w
		}
		if math.Abs(sum) >= divisorEpsilon {
			scale = lambda / sum
		}
	}
	ws := make([]float64, len(models))
	xs := make([][]float32, len(models))
	for i, md := range models {
		ws[i], xs[i] = md.w*scale, md.x
	}
	parallelBlocks(len(out), func(_, _, lo, hi int) {
		b, o := base[lo:hi], out[lo:hi]
		switch len(xs) {
		case 1:
			x0, w0 := xs[0][lo:hi], ws[0]
			for j := range o {
				bj := b[j]
				o[j] = float32(float64(bj) + w0*float64(x0[j]-bj))
			}
		case 2:
			x0, x1, w0, w1 := xs[0][lo:hi], xs[1][lo:hi], ws[0], ws[1]
			for j := range o {
				bj := b[j]
				o[j] = float32(float64(bj) + (w0*float64(x0[j]-bj) + w1*float64(x1[j]-bj)))
			}
		case 3:
			taskArith3(b, xs[0][lo:hi], xs[1][lo:hi], xs[2][lo:hi], ws[0], ws[1], ws[2], o)
		default:
			for j := range o {
				bj := b[j]
				var acc float64
				for i, x := range xs {
					acc += ws[i] * float64(x[lo+j]-bj)
				}
				o[j] = float32(float64(bj) + acc)
			}
		}
	})
}

// rankCut selects the c entries of a task vector with the largest |τ| (ties to the
// lower index): an entry is among them iff its key exceeds threshold, or equals it and
// is among the first eq such entries. blockEq[b] is how many of those eq are left at the
// start of block b.
type rankCut struct {
	c         int
	threshold uint32
	eq        int
	blockEq   []int
	l1        float64 // Σ|τ| over the c entries (when rescaling)
	bucket    uint32  // 16-bit histogram bucket holding the threshold
	need      int     // entries taken from that bucket
	above     []float64
	cand      [][]uint32
}
