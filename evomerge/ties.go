package evomerge

import (
	"math"
)

// TIES is TIES-Merging (Yadav et al. 2023, "TIES-Merging: Resolving Interference When
// Merging Models", NeurIPS 2023, arXiv:2306.01708): Trim, Elect sign, disjoint Merge. It
// follows mergekit's "ties" method (arcee-ai/mergekit
// mergekit/merge_methods/generalized_task_arithmetic.py with magnitude sparsification from
// mergekit/sparsify.py and the "sum" sign consensus; docs/merge_methods.md "TIES-Merging").
// Per tensor of n elements:
//
//  1. Trim: τᵢ = θᵢ − θ_base; keep the k = ⌊density·n⌋ entries of τᵢ with the largest |τᵢ|
//     and zero the rest. density ≥ 1 keeps everything. Ties at the k-th magnitude are
//     broken by position: among entries with equal |τ| the lower flat indices are kept
//     (mergekit leaves this to torch.argsort, which does not define it). Where mergekit
//     refuses k = 0 ("not gonna zero out the whole tensor") this keeps one entry when
//     density > 0, and nothing when density = 0.
//  2. Elect: δᵢ = wᵢτᵢ; per element the elected sign is + if Σᵢ δᵢ ≥ 0, else −.
//  3. Disjoint merge: Δ = Σ of the δᵢ whose sign equals the elected sign (zeros never
//     match); with normalize = 1 (the default) Δ is divided by the sum of the wᵢ of those
//     same entries, a divisor with |·| < 1e-8 being taken as 1.
//  4. θ = θ_base + λ·Δ.
//
// mergekit's optional rescaling and int8 masks are not implemented (both are off by default
// for ties). Density is one value for all models here, where mergekit allows one per model.
// Trimming selects the k-th magnitude with a radix select over the float32 bit patterns of
// |τ| (three histogram passes, O(n)), not by sorting the tensor.
type TIES struct{}

func init() { RegisterMethod(TIES{}) }

// Name returns "ties".
func (TIES) Name() string { return "ties" }

// NeedsBase returns true: TIES works on task vectors relative to the base model.
func (TIES) NeedsBase() bool { return true }

// Params declares density (default 0.5), lambda (default 1) and normalize (default 1).
// mergekit's ties takes density per model and requires it in practice (its default of 1
// disables trimming); 0.5 here is a middle value in the range the TIES paper explores.
func (TIES) Params() []Param {
	return []Param{
		{Name: "density", Default: 0.5, Min: 0, Max: 1,
			Doc: "fraction of each task vector's entries kept per tensor, by largest magnitude (1 keeps all)"},
		{Name: "lambda", Default: 1, Min: -10, Max: 10,
			Doc: "scale λ of the merged task vector before it is added to the base"},
		{Name: "normalize", Default: 1, Min: 0, Max: 1,
			Doc: "1: divide each element's sum of sign-agreeing weighted deltas by the sum of their weights; 0: use the sum as is"},
	}
}

func (m TIES) checkParams(params map[string]float64) error {
	return checkFlags(m, params, "normalize")
}

// Merge writes the TIES merge of in to out. It returns an error if the input is malformed
// (see MergeInput; Base is required) or a parameter is invalid.
func (m TIES) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	normalize, err := flagParam(m, params, "normalize")
	if err != nil {
		return err
	}
	lambda, density := params["lambda"], params["density"]
	base, models, weights := in.Base, in.Models, in.Weights

	// Trim: find each task vector's magnitude threshold.
	masks := make([]topKMask, len(models))
	k, all := keepCount(density, len(out))
	var keys []uint32
	for i, x := range models {
		switch {
		case all:
			masks[i] = topKMask{threshold: 0, equalLeft: math.MaxInt}
		case k == 0:
			masks[i] = topKMask{threshold: math.MaxUint32}
		default:
			if keys == nil {
				keys = make([]uint32, len(out))
			}
			for j, b := range base {
				keys[j] = magnitudeKey(x[j] - b)
			}
			thr, eq := kthLargest(keys, k)
			masks[i] = topKMask{threshold: thr, equalLeft: eq}
		}
	}

	// Elect and merge, one element at a time, visiting elements in index order so the
	// masks' tie counters keep the lowest-index entries. The per-model decisions are made
	// with integer bit masks instead of branches: on real task vectors they are close to
	// coin flips, and mispredicted branches would dominate the cost.
	deltas := make([]float64, len(models))
	for j := range out {
		b := base[j]
		var sum float64
		for i, x := range models {
			t := x[j] - b
			keep := masks[i].keepMask(magnitudeKey(t))
			d := math.Float64frombits(math.Float64bits(weights[i]*float64(t)) & keep)
			deltas[i] = d
			sum += d
		}
		// The elected sign is − iff sum < 0 (a zero sum elects +, as in mergekit).
		var elected uint64
		if sum < 0 {
			elected = 1
		}
		var mixed, divisor float64
		for i, d := range deltas {
			agree := agreeMask(math.Float64bits(d), elected)
			mixed += math.Float64frombits(math.Float64bits(d) & agree)
			divisor += math.Float64frombits(math.Float64bits(weights[i]) & agree)
		}
		if normalize && math.Abs(divisor) >= divisorEpsilon {
			mixed /= divisor
		}
		out[j] = float32(float64(b) + lambda*mixed)
	}
	return nil
}

// agreeMask is all ones if the float64 with bits d is nonzero and its sign bit equals
// elected (0 for +, 1 for −), else zero. Zeros (of either sign) never agree.
func agreeMask(d, elected uint64) uint64 {
	mag := d << 1                 // drop the sign bit
	nonzero := (mag | -mag) >> 63 // 1 iff mag != 0
	same := 1 ^ (d>>63 ^ elected) // 1 iff the sign bits match
	return -(nonzero & same)      // all ones or zero
}

// keepCount is the number of entries magnitude trimming keeps of n at density, or all=true
// when nothing is trimmed (density ≥ 1 as in mergekit, or k ≥ n).
func keepCount(density float64, n int) (k int, all bool) {
	if density >= 1 {
		return n, true
	}
	k = int(density * float64(n))
	if k == 0 && density > 0 {
		k = 1
	}
	if k >= n {
		return n, true
	}
	return k, false
}

// magnitudeKey maps a float32 to the bit pattern of its absolute value. For non-negative
// floats the bit patterns order like the values (NaNs above +Inf), so magnitudes can be
// ranked as integers.
func magnitudeKey(v float32) uint32 { return math.Float32bits(v) & 0x7fffffff }

// topKMask decides, element by element in index order, whether a task-vector entry
// survives trimming: entries whose key exceeds threshold survive, and so do the first
// equalLeft entries whose key equals it.
type topKMask struct {
	threshold uint32
	equalLeft int
}

// keepMask returns all ones if the entry with magnitude key survives, else zero. Calls
// must come in index order: ties at the threshold go to the first equalLeft of them.
func (s *topKMask) keepMask(key uint32) uint64 {
	if key == s.threshold {
		if s.equalLeft > 0 {
			s.equalLeft--
			return ^uint64(0)
		}
		return 0
	}
	// key > threshold without a branch: the difference is negative exactly then.
	return -(uint64(int64(s.threshold)-int64(key)) >> 63)
}

// kthLargest returns the k-th largest value of keys (1 ≤ k ≤ len(keys)) and how many of the
// entries equal to it rank within the top k. It is a most-significant-digit radix select
// in three passes of 11, 11 and 10 bits; keys is used as scratch space and overwritten.
func kthLargest(keys []uint32, k int) (threshold uint32, equalInTopK int) {
	var hist [1 << 11]int
	cand := keys
	var prefix uint32
	for _, pass := range [...]struct{ shift, bits uint }{{21, 11}, {10, 11}, {0, 10}} {
		clear(hist[:])
		digitMask := uint32(1)<<pass.bits - 1
		for _, key := range cand {
			hist[(key>>pass.shift)&digitMask]++
		}
		d := int(digitMask)
		for ; d > 0 && hist[d] < k; d-- {
			k -= hist[d]
		}
		prefix |= uint32(d) << pass.shift
		if pass.shift == 0 {
			break
		}
		// Keep only the candidates that share the digits chosen so far.
		n := 0
		for _, key := range cand {
			if key>>pass.shift == prefix>>pass.shift {
				cand[n] = key
				n++
			}
		}
		cand = cand[:n]
	}
	return prefix, k
}
