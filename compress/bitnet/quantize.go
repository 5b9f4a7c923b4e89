package bitnet

import "math"

// Eps is the lower bound on the absmean scale γ, so that an all-zero (or nearly zero)
// matrix quantizes to all-zero codes instead of dividing by zero. It is the ε of the
// paper and of the authors' reference code.
const Eps = 1e-5

// Quantize maps the weights w of one matrix (any layout, all elements share one scale)
// to ternary codes in {−1, 0, +1} and the absmean scale γ = max(mean|w|, Eps), so that
// γ·codes[i] approximates w[i]:
//
//	codes[i] = RoundClip(w[i]/γ, −1, 1)   (round half to even)
//
// decided on the exact quotient, so w[i] = ±γ/2 gives 0 and anything beyond gives ±1.
// The weights must be finite; for an empty w it returns no codes and γ = Eps.
func Quantize(w []float32) (codes []int8, scale float32) {
	codes = make([]int8, len(w))
	scale = quantizeInto(w, codes)
	return codes, scale
}

// quantizeInto is Quantize writing into codes (len(codes) == len(w)).
func quantizeInto(w []float32, codes []int8) float32 {
	// Four partial sums (combined in a fixed order, so the result is deterministic) keep
	// the additions from waiting on each other.
	var s [4]float64
	i := 0
	for ; i+4 <= len(w); i += 4 {
		v := (*[4]float32)(w[i : i+4])
		s[0] += math.Abs(float64(v[0]))
		s[1] += math.Abs(float64(v[1]))
		s[2] += math.Abs(float64(v[2]))
		s[3] += math.Abs(float64(v[3]))
	}
	for ; i < len(w); i++ {
		s[0] += math.Abs(float64(w[i]))
	}
	gamma := float32(Eps)
	if len(w) > 0 {
		if mean := float32(((s[0] + s[1]) + (s[2] + s[3])) / float64(len(w))); mean > Eps {
			gamma = mean
		}
	}
	// RoundClip(v/γ, −1, 1) with round-half-to-even is +1 exactly when v/γ > 1/2 and −1
	// exactly when v/γ < −1/2 (±1/2 rounds to 0, |v/γ| ≥ 3/2 clips to ±1). Comparing |v|
	// with γ/2 (exact: halving a normal float32 is) decides this for the real quotient,
	// with no division and no rounding of v/γ. For finite non-negative floats the order
	// of the values is the order of their bit patterns, so the comparison is done on the
	// bits, without branches: the signs of weights are unpredictable.
	halfBits := math.Float32bits(gamma / 2)
	codes = codes[:len(w)]
	for i, v := range w {
		u := math.Float32bits(v)
		big := (halfBits - u&0x7fffffff) >> 31 // 1 when |v| > γ/2 (both below 2³¹)
		neg := u >> 31                         // 1 when v is negative
		codes[i] = int8(big) - 2*int8(big&neg)
	}
	return gamma
}
