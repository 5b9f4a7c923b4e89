// Package f32test holds what the tests of the fused bias-and-ReLU epilogues share: the Go
// loop they must reproduce and the bit-for-bit comparison with it.
package f32test

import "math"

// BiasReLULoop is the bias and ReLU loop nn's forward pass ran after every product before
// the fused epilogues, copied as it was: the reference every implementation must match
// bit for bit.
func BiasReLULoop(row, b []float32, relu bool) {
	if !relu {
		for o, bias := range b {
			row[o] += bias
		}
		return
	}
	for o, bias := range b {
		row[o] = max(row[o]+bias, 0)
	}
}

// Same reports whether got is the Go loop's output want for y + b (then max(·, 0) if
// relu), bit for bit. When y and b are both NaN, Go leaves which of the two comes out to
// the compiler's operand order (nn's loop added into the bias's register, a copy may
// not): there got must be the bias's NaN, quieted, and with the ReLU its sign cleared, as
// the Go loop clears it.
func Same(got, want, y, b float32, relu bool) bool {
	if y != y && b != b {
		w := math.Float32bits(b) | 0x00400000
		if relu {
			w &^= 0x80000000
		}
		return math.Float32bits(got) == w
	}
	return math.Float32bits(got) == math.Float32bits(want)
}
