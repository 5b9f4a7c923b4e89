package evomerge

import "math"

// TIES is TIES-Merging (Yadav et al. 2023, "TIES-Merging: Resolving Interference When
// Merging Models", NeurIPS 2023, arXiv:2306.01708): Trim, Elect sign, disjoint Merge. It is
// mergekit's "ties": the generalized task arithmetic of gta.go with magnitude
// sparsification and the "sum" sign consensus, normalize 1 and rescale 0 by default.
// Per tensor of n elements:
//
//  1. Trim: τᵢ = θᵢ − θ_base; keep the k = ⌊densityᵢ·n⌋ entries of τᵢ with the largest |τᵢ|
//     and zero the rest density ≥ 1 keeps
//     everything. Ties at the k-th magnitude are broken by position: among entries with
//     equal |τ| the lower flat indices are kept (mergekit leaves this to torch.argsort,
//     which does not define it). Where mergekit refuses k = 0 ("not gonna zero out the
//     whole tensor") this keeps one entry when density > 0, and nothing when density = 0.
//  2. Elect: δᵢ = wᵢτᵢ; per element the elected sign is + if Σᵢ δᵢ ≥ 0, else −.
//  3. Disjoint merge: Δ = Σ of the δᵢ whose sign equals the elected sign (zeros never
//     match); with normalize = 1 (the default) Δ is divided by the sum of the wᵢ of those
//     same entries, a divisor of exactly 0 being taken as 1, as in mergekit.
//  4. θ = θ_base + λ·Δ.
//
// Deviations: rescale is not a parameter of ties (it stays 0, mergekit's default for
// ties), so that ties recipes keep their parameter set; density defaults to 0.5 here (a middle value of the range the TIES paper
// explores), where mergekit's default of 1 disables trimming; MergeKit configs get
// mergekit's default. Density may be given per model (MergeInput.ModelParams).
type TIES struct{}

var ties = gtaMethod{gtaConfig{name: "ties", consensus: true, sparsify: sparsifyMagnitude, normalize: 1, density: 0.5, noRescale: true}}

func init() { RegisterMethod(TIES{}) }

// Name returns "ties".
func (TIES) Name() string { return ties.Name() }

// NeedsBase returns true: TIES works on task vectors relative to the base model.
func (TIES) NeedsBase() bool { return true }

// Params declares density (default 0.5), lambda (default 1) and normalize (default 1).
func (TIES) Params() []Param { return ties.Params() }

func (TIES) checkParams(params map[string]float64) error { return ties.checkParams(params) }

// Merge writes the TIES merge of in to out. It returns an error if the input is malformed
// (see MergeInput; Base is required) or a parameter is invalid.
func (TIES) Merge(in MergeInput, out []float32) error { return ties.Merge(in, out) }

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
