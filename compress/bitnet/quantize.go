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
// The weights must be finite; for an empty w it returns no codes and γ = Eps.
func Quantize(w []float32) (codes []int8, scale float32) {
	codes = make([]int8, len(w))
	scale = quantizeInto(w, codes)
	return codes, scale
}

// quantizeInto is Quantize writing into codes (len(codes) == len(w)).
func quantizeInto(w []float32, codes []int8) float32 {
	var sum float64
	for _, v := range w {
		sum += math.Abs(float64(v))
	}
	gamma := float32(Eps)
	if len(w) > 0 {
		if mean := float32(sum / float64(len(w))); mean > Eps {
			gamma = mean
		}
	}
	codes = codes[:len(w)]
	for i, v := range w {
		// RoundClip(q, −1, 1) with round-half-to-even is +1 exactly when q > 0.5 and
		// −1 exactly when q < −0.5 (q = ±0.5 rounds to 0, |q| ≥ 1.5 clips to ±1).
		q := v / gamma
		switch {
		case q > 0.5:
			codes[i] = 1
		case q < -0.5:
			codes[i] = -1
		default:
			codes[i] = 0
		}
	}
	return gamma
}
