package f32

import "fmt"

// BiasReLU sets y[i] += bias[i] for every i, then y[i] = max(y[i], 0) when relu: the
// epilogue of an MLP layer after Gemm. The result is bit for bit that of the Go loop
// biasReLUGeneric (Go's max: a NaN stays the same NaN, −0 becomes +0) on every
// implementation. It panics if len(bias) ≠ len(y).
//
// On amd64 it runs an AVX-512 loop (16 lanes, the last ≤ 16 under a mask) or an AVX2
// one (8 lanes, the last < 8 in Go), bias_amd64.s.
func BiasReLU(y, bias []float32, relu bool) {
	if len(bias) != len(y) {
		panic(fmt.Sprintf("f32.BiasReLU: %d biases for %d outputs", len(bias), len(y)))
	}
	biasReLU(y, bias, relu)
}

// biasReLU is the fastest implementation this CPU runs (set in bias_amd64.go).
var biasReLU = biasReLUGeneric

// biasReLUGeneric is BiasReLU in Go (len(y) ≥ len(bias)), the reference for the
// assembly: the loops nn's forward pass ran after each product, in the same shape (a
// range over the biases). The shape matters only for which NaN a NaN + NaN gives: the
// compiler adds into the register it loaded the bias into, so the bias's NaN wins, and
// another shape of loop may load the output first.
func biasReLUGeneric(y, bias []float32, relu bool) {
	if !relu {
		for i, b := range bias {
			y[i] += b
		}
		return
	}
	for i, b := range bias {
		y[i] = max(y[i]+b, 0)
	}
}
