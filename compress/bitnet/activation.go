package bitnet

import "math"

// ActEps is the lower bound on an input's absolute maximum in QuantizeActivations, so
// that an all-zero input quantizes to zeros instead of dividing by zero (the ε of the
// BitNet reference code's activation quantizer).
const ActEps = 1e-5

// QuantizeActivations is BitNet b1.58's 8-bit activation quantization (absmax, per
// token: one scale for the whole input vector x, as the paper's §2 and the authors'
// reference code do it):
//
//	s    = 127 / max(max_i |x_i|, ActEps)
//	q_i  = clamp(RoundToEven(x_i · s), −128, 127)
//
// It writes q (len(q) ≥ len(x); only q[:len(x)] is written) and returns 1/s, the factor
// that turns the integer dot products back into float32, and Σ q_i. x must be finite.
func QuantizeActivations(x []float32, q []int8) (inv float32, sum int32) {
	return quantizeActivations(x, q)
}

// quantizeActivations is the fastest implementation this CPU runs (kernel_amd64.go).
var quantizeActivations = quantizeActivationsGo

// quantizeActivationsGo is QuantizeActivations in Go, the reference for the assembly.
func quantizeActivationsGo(x []float32, q []int8) (inv float32, sum int32) {
	q = q[:len(x)]
	s, inv := actScale(maxAbs(x))
	for i, v := range x {
		q[i] = quantizeOne(v, s)
		sum += int32(q[i])
	}
	return inv, sum
}

// maxAbs is max_i |x_i| (0 for no values).
func maxAbs(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, abs32(v))
	}
	return m
}

// actScale returns the quantization scale s = 127/max(m, ActEps) of an input whose
// largest magnitude is m, and the factor 1/s the kernels multiply back by.
func actScale(m float32) (s, inv float32) {
	m = max(m, ActEps)
	return 127 / m, m / 127
}

// quantizeOne is one input's int8 code under scale s.
func quantizeOne(v, s float32) int8 { return int8(roundToEven(max(-128, min(127, v*s)))) }

// roundToEven rounds f (|f| ≤ 2²²) to the nearest integer, halves to even, as
// math.RoundToEven does, in float32 arithmetic: adding and subtracting 1.5·2²³ leaves
// no fraction bits, and float32 addition rounds half to even. Go evaluates float32
// expressions in float32 and never reassociates them, so this is exact.
func roundToEven(f float32) int32 {
	const magic = 1 << 23 * 1.5
	return int32((f + magic) - magic)
}

// FakeQuantizeInput replaces x by the activations the packed kernel multiplies,
// dequantized: q_i/s from QuantizeActivations. It makes the codec a
// compress.InputQuantizer, so a float reference of the packed arithmetic and
// quantization-aware training (nn.Distill) see what inference sees.
func (*Codec) FakeQuantizeInput(x []float32) {
	s, inv := actScale(maxAbs(x))
	for i, v := range x {
		x[i] = float32(quantizeOne(v, s)) * inv
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
