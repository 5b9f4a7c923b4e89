//go:build amd64 && !purego

package f32

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// biasReLUAVX512 is biasReLUGeneric on y[0…n−1], bias[0…n−1], 16 lanes at a time, the
// last 16 or fewer under a mask (nothing beyond y[n−1] or bias[n−1] is touched).
//
//go:noescape
func biasReLUAVX512(y, bias *float32, n int, relu bool)

// biasReLUAVX2 is biasReLUGeneric on y[0…n−1], bias[0…n−1] for n a multiple of 8.
//
//go:noescape
func biasReLUAVX2(y, bias *float32, n int, relu bool)

func biasReLUFastAVX512(y, bias []float32, relu bool) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = bias[n-1]
	biasReLUAVX512(unsafe.SliceData(y), unsafe.SliceData(bias), n, relu)
}

func biasReLUFastAVX2(y, bias []float32, relu bool) {
	bias = bias[:len(y)]
	if n := len(y) &^ 7; n > 0 {
		biasReLUAVX2(unsafe.SliceData(y), unsafe.SliceData(bias), n, relu)
		y, bias = y[n:], bias[n:]
	}
	biasReLUGeneric(y, bias, relu)
}

func init() {
	switch {
	case cpu.X86.HasAVX512F:
		biasReLU = biasReLUFastAVX512
	case cpu.X86.HasAVX2:
		biasReLU = biasReLUFastAVX2
	}
}

// biasImplementations lists the assembly BiasReLU loops this CPU runs, by name, for
// tests and benchmarks.
func biasImplementations() map[string]func(y, bias []float32, relu bool) {
	m := map[string]func(y, bias []float32, relu bool){}
	if cpu.X86.HasAVX512F {
		m["avx512"] = biasReLUFastAVX512
	}
	if cpu.X86.HasAVX2 {
		m["avx2"] = biasReLUFastAVX2
	}
	return m
}
