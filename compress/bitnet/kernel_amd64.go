//go:build amd64 && !purego

package bitnet

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// rowsAVX2 is the AVX2 kernel (kernel_amd64.s): blocks blocks of four rows, each row
// groups·32 bytes of 128 columns followed by tail (0 or 1) chunks of 16 bytes; q in
// natural order, the codes in newTernary's layout for groups of 2 chunks; acc gets 4·blocks sums.
//
//go:noescape
func rowsAVX2(codes *byte, stride, blocks, groups, tail int, q *int8, acc *int32)

// rowsAVX2x2 is rowsAVX2 for two inputs (q0, q1) at once, two rows per pass: pairs
// pairs of rows, 2·pairs sums into each of acc0 and acc1.
//
//go:noescape
func rowsAVX2x2(codes *byte, stride, pairs, groups, tail int, q0, q1 *int8, acc0, acc1 *int32)

var avx2Kernel = kernel{name: "avx2", group: 2, rows2: func(codes []byte, stride, chunks int, q0, q1 []int8, acc0, acc1 []int32) {
	pairs := len(codes) / stride / 2
	if pairs == 0 {
		return
	}
	_, _ = acc0[2*pairs-1], acc1[2*pairs-1]
	_, _ = q0[chunks*chunkCols-1], q1[chunks*chunkCols-1]
	rowsAVX2x2(unsafe.SliceData(codes), stride, pairs, chunks/2, chunks%2,
		unsafe.SliceData(q0), unsafe.SliceData(q1), unsafe.SliceData(acc0), unsafe.SliceData(acc1))
}, rows: func(codes []byte, stride, chunks int, q []int8, acc []int32) {
	blocks := len(codes) / stride / rowBlock
	if blocks == 0 {
		return
	}
	_ = acc[blocks*rowBlock-1]
	_ = q[chunks*chunkCols-1]
	rowsAVX2(unsafe.SliceData(codes), stride, blocks, chunks/2, chunks%2, unsafe.SliceData(q), unsafe.SliceData(acc))
}}

// rowsVNNI is the AVX-512 VNNI kernel (kernel_vnni_amd64.s): blocks blocks of four
// rows, each row groups·64 bytes of 256 columns followed by tail (0–3) chunks of 16
// bytes; q in natural order, the codes in newTernary's layout for groups of 4 chunks; acc
// gets 4·blocks sums.
//
//go:noescape
func rowsVNNI(codes *byte, stride, blocks, groups, tail int, q *int8, acc *int32)

var vnniKernel = kernel{name: "avx512vnni", group: 4, rows: func(codes []byte, stride, chunks int, q []int8, acc []int32) {
	blocks := len(codes) / stride / rowBlock
	if blocks == 0 {
		return
	}
	_ = acc[blocks*rowBlock-1]
	_ = q[chunks*chunkCols-1]
	rowsVNNI(unsafe.SliceData(codes), stride, blocks, chunks/4, chunks%4, unsafe.SliceData(q), unsafe.SliceData(acc))
}}

// rowsVNNIB is the AVX-512 VNNI broadcast kernel (kernel_vnnib_amd64.s): blocks blocks
// of four rows, each row chunks chunks of 16 bytes in newTernary's layout for groups of
// one chunk; q in natural order; acc gets 4·blocks sums.
//
//go:noescape
func rowsVNNIB(codes *byte, stride, blocks, chunks int, q *int8, acc *int32)

// rowsVNNIB8 is rowsVNNIB on blocks of eight rows (8·blocks sums).
//
//go:noescape
func rowsVNNIB8(codes *byte, stride, blocks, chunks int, q *int8, acc *int32)

var vnniBKernel = kernel{name: "avx512vnni-b", group: 1, rows: func(codes []byte, stride, chunks int, q []int8, acc []int32) {
	blocks := len(codes) / stride / rowBlock
	if blocks == 0 {
		return
	}
	_ = acc[blocks*rowBlock-1]
	_ = q[chunks*chunkCols-1]
	if b8 := blocks / 2; b8 > 0 {
		rowsVNNIB8(unsafe.SliceData(codes), stride, b8, chunks, unsafe.SliceData(q), unsafe.SliceData(acc))
	}
	if blocks%2 != 0 {
		r := (blocks - 1) * rowBlock
		rowsVNNIB(&codes[r*stride], stride, 1, chunks, unsafe.SliceData(q), &acc[r])
	}
}}

// haveVNNI reports whether this CPU runs rowsVNNI: AVX-512 F, BW and VL with VNNI.
var haveVNNI = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI

//go:noescape
func maxAbsAVX2(x *float32, n int) float32

//go:noescape
func quantizeAVX2(x *float32, n int, s float32, q *int8) int32

// quantizeActivationsAVX2 is QuantizeActivations with the bulk of x (a multiple of 32
// values) in assembly and the rest in Go; the results are identical.
func quantizeActivationsAVX2(x []float32, q []int8) (inv float32, sum int32) {
	n := len(x) &^ 31
	if n == 0 {
		return quantizeActivationsGo(x, q)
	}
	q = q[:len(x)]
	s, inv := actScale(max(maxAbsAVX2(unsafe.SliceData(x), n), maxAbs(x[n:])))
	sum = quantizeAVX2(unsafe.SliceData(x), n, s, unsafe.SliceData(q))
	for i := n; i < len(x); i++ {
		q[i] = quantizeOne(x[i], s)
		sum += int32(q[i])
	}
	return inv, sum
}

//go:noescape
func maxAbsAVX512(x *float32, n int) float32

//go:noescape
func quantizeAVX512(x *float32, n int, s float32, q *int8) int32

// quantizeActivationsAVX512 is QuantizeActivations in AVX-512 (quantize_amd64.s), any
// length in assembly; the results are identical.
func quantizeActivationsAVX512(x []float32, q []int8) (inv float32, sum int32) {
	n := len(x)
	q = q[:n]
	if n == 0 {
		_, inv = actScale(0)
		return inv, 0
	}
	s, inv := actScale(maxAbsAVX512(unsafe.SliceData(x), n))
	return inv, quantizeAVX512(unsafe.SliceData(x), n, s, unsafe.SliceData(q))
}

//go:noescape
func scaleOutAVX512(y *float32, acc *int32, scale *float32, bias *float32, n int, sum int32, inv float32, mode int)

// scaleOutFast is scaleOutGo in AVX-512 (scale_amd64.s).
func scaleOutFast(y []float32, acc []int32, scale, bias []float32, sum int32, inv float32, relu bool) {
	n := len(y)
	if n == 0 {
		return
	}
	_ = acc[n-1]
	mode := 0
	if len(scale) != 1 {
		_ = scale[n-1]
		mode |= 1
	}
	var b *float32
	if bias != nil {
		_ = bias[n-1]
		b = unsafe.SliceData(bias)
		mode |= 2
	}
	if relu {
		mode |= 4
	}
	scaleOutAVX512(unsafe.SliceData(y), unsafe.SliceData(acc), unsafe.SliceData(scale), b, n, sum, inv, mode)
}

// haveAVX512 reports whether this CPU runs scaleOutAVX512.
var haveAVX512 = cpu.X86.HasAVX512F

func init() {
	if cpu.X86.HasAVX2 {
		activeKernel = avx2Kernel
		quantizeActivations = quantizeActivationsAVX2
	}
	if haveVNNI {
		activeKernel, smallKernel = vnniKernel, &vnniBKernel
	}
	if haveAVX512 {
		scaleOut = scaleOutFast
		quantizeActivations = quantizeActivationsAVX512
	}
}

// fastQuantizers are the activation quantizers this CPU can run besides the Go one,
// for tests.
func fastQuantizers() map[string]func(x []float32, q []int8) (float32, int32) {
	qs := map[string]func(x []float32, q []int8) (float32, int32){}
	if cpu.X86.HasAVX2 {
		qs["avx2"] = quantizeActivationsAVX2
	}
	if haveAVX512 {
		qs["avx512"] = quantizeActivationsAVX512
	}
	return qs
}

// fastKernels are the kernels this CPU can run besides the generic one, for tests.
func fastKernels() []kernel {
	var ks []kernel
	if cpu.X86.HasAVX2 {
		ks = append(ks, avx2Kernel)
	}
	if haveVNNI {
		ks = append(ks, vnniKernel, vnniBKernel)
	}
	return ks
}
