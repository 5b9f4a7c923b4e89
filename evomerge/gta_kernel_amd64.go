//go:build amd64 && !purego

package evomerge

import (
	"math"
	"slices"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// cons3Args is consensus3AVX2's argument block; gta_kernel_amd64.s addresses its fields
// by the offsets TestCons3ArgsLayout checks.
type cons3Args struct {
	b, t0, t1, t2, o *float32
	n                int        // elements, a positive multiple of 4
	w                [3]float64 // wsᵢ = wᵢ·sᵢ
	wv               [3]float64 // wᵢ (the divisor's terms)
	lambda           float64
	normalize        int
}

//go:noescape
func consensus3AVX2(a *cons3Args)

//go:noescape
func linear3AVX2(a *cons3Args)

//go:noescape
func taskArith3AVX2(a *cons3Args)

//go:noescape
func weighted3AVX2(a *cons3Args)

// taskArith3 is taskArith3Go with AVX2, four elements at a time (the same operations in
// the same order).
func taskArith3(b, x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	n := len(o)
	v := n &^ 3
	if useAVX2 && v > 0 {
		x0, x1, x2, b = x0[:n], x1[:n], x2[:n], b[:n]
		a := cons3Args{b: &b[0], t0: &x0[0], t1: &x1[0], t2: &x2[0], o: &o[0], n: v, w: [3]float64{w0, w1, w2}}
		taskArith3AVX2(&a)
		if v == n {
			return
		}
		b, x0, x1, x2, o = b[v:], x0[v:], x1[v:], x2[v:], o[v:]
	}
	taskArith3Go(b, x0, x1, x2, w0, w1, w2, o)
}

// weighted3 is weighted3Go with AVX2, four elements at a time (the same operations in
// the same order).
func weighted3(x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	n := len(o)
	v := n &^ 3
	if useAVX2 && v > 0 {
		x0, x1, x2 = x0[:n], x1[:n], x2[:n]
		a := cons3Args{t0: &x0[0], t1: &x1[0], t2: &x2[0], o: &o[0], n: v, w: [3]float64{w0, w1, w2}}
		weighted3AVX2(&a)
		if v == n {
			return
		}
		x0, x1, x2, o = x0[v:], x1[v:], x2[v:], o[v:]
	}
	weighted3Go(x0, x1, x2, w0, w1, w2, o)
}

// linear3 is linear3Go (θ_b + scale·Σ wsᵢtᵢ, the sum from 0 in model order), four
// elements at a time with AVX2: the same float64 operations in the same order.
func linear3(b, t0, t1, t2 []float32, w0, w1, w2, scale float64, o []float32) {
	n := len(o)
	v := n &^ 3
	if useAVX2 && v > 0 {
		t0, t1, t2, b = t0[:n], t1[:n], t2[:n], b[:n]
		a := cons3Args{b: &b[0], t0: &t0[0], t1: &t1[0], t2: &t2[0], o: &o[0], n: v,
			w: [3]float64{w0, w1, w2}, lambda: scale}
		linear3AVX2(&a)
		if v == n {
			return
		}
		b, t0, t1, t2, o = b[v:], t0[v:], t1[v:], t2[v:], o[v:]
	}
	linear3Go(b, t0, t1, t2, w0, w1, w2, scale, o)
}

//go:noescape
func trimAVX2(x, b, t *float32, n int, thr uint32, eq int) int

//go:noescape
func windowAVX2(x, b *float32, n int, lo, hi uint32, cand *uint32) (above, ncand int)

// windowAVX512 is windowAVX2 sixteen keys at a time, without branches (n a positive
// multiple of 16).
//
//go:noescape
func windowAVX512(x, b *float32, n int, lo, hi uint32, cand *uint32) (above, ncand int)

//go:noescape
func maskAVX2(x, b, t *float32, n int, mask *byte)

//go:noescape
func dareAVX512(x, b *float32, n int, z0, thr uint64, mask *byte, sums *[16]float64)

//go:noescape
func outlierAVX2(x, b, t *float32, n int, thr0, thr1 uint32, eq *[2]int)

//go:noescape
func dellaKeepAVX512(keys *uint32, n int, shift, kmin, z0 uint64, pLo, pHi *uint64, keep, amb *byte)

//go:noescape
func dellaRankAVX512(keys *uint32, n int, key uint32, c int) int

//go:noescape
func dellaKeysAVX512(x, b *float32, keys *uint32, n int) (kmin, kmax uint32)

//go:noescape
func dellaSumsAVX512(keys *uint32, n int, keep *byte, lanes *[16]float64)

var useAVX2 = cpu.X86.HasAVX2

// outlierChunk is outlierChunkGo, eight elements at a time with AVX2.
func outlierChunk(x, b, t []float32, thr0, thr1 uint32, eq0, eq1 int) (int, int) {
	n := len(t)
	if v := n &^ 7; useAVX2 && v > 0 {
		x, b = x[:n], b[:n]
		eq := [2]int{eq0, eq1}
		outlierAVX2(&x[0], &b[0], &t[0], v, thr0, thr1, &eq)
		eq0, eq1 = eq[0], eq[1]
		if v == n {
			return eq0, eq1
		}
		x, b, t = x[v:], b[v:], t[v:]
	}
	return outlierChunkGo(x, b, t, thr0, thr1, eq0, eq1)
}

var useAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW

// dareLanes is dareLanesGo with AVX-512 (eight draws and lanes at a time).
func dareLanes(x, b []float32, z uint64, thr uint64, lo int, mask []uint64, lanes *[16]float64) {
	n := len(b)
	v := n &^ 7
	if !useAVX512 || v == 0 {
		dareLanesGo(x, b, z, thr, lo, mask, lanes)
		return
	}
	x = x[:n]
	words := mask[lo>>6 : (lo+v+63)>>6]
	dareAVX512(&x[0], &b[0], v, z, thr, (*byte)(unsafe.Pointer(&words[0])), lanes)
	if v < n {
		dareLanesTail(x, b, z, thr, lo, v, mask, lanes)
	}
}

// trimChunk is trimChunkGo, eight elements at a time with AVX2 (groups holding a key equal
// to thr element by element, in order).
func trimChunk(x, b, t []float32, thr uint32, eq int) int {
	n := len(t)
	if v := n &^ 7; useAVX2 && v > 0 {
		x, b = x[:n], b[:n]
		eq = trimAVX2(&x[0], &b[0], &t[0], v, thr, eq)
		if v == n {
			return eq
		}
		x, b, t = x[v:], b[v:], t[v:]
	}
	return trimChunkGo(x, b, t, thr, eq)
}

// windowPass is windowPassGo, eight elements at a time with AVX2.
func windowPass(x, b []float32, lo, hi uint32, cand *[]uint32) int {
	return windowPassVec(x, b, lo, hi, cand, useAVX512)
}

// windowPassVec is windowPass with the AVX-512 kernel (avx512) or the AVX2 one.
func windowPassVec(x, b []float32, lo, hi uint32, cand *[]uint32, avx512 bool) int {
	n := len(b)
	v := n &^ 7
	if avx512 {
		v = n &^ 15
	}
	if !useAVX2 || v == 0 {
		return windowPassGo(x, b, lo, hi, cand)
	}
	x = x[:n]
	c := slices.Grow(*cand, v)
	l := len(c)
	var above, k int
	if avx512 {
		above, k = windowAVX512(&x[0], &b[0], v, lo, hi, unsafe.SliceData(c[l:l+v]))
	} else {
		above, k = windowAVX2(&x[0], &b[0], v, lo, hi, unsafe.SliceData(c[l:l+v]))
	}
	*cand = c[:l+k]
	if v < n {
		above += windowPassGo(x[v:], b[v:], lo, hi, cand)
	}
	return above
}

// maskChunk is maskChunkGo, eight elements at a time with AVX2.
func maskChunk(x, b, t []float32, mask []uint64, lo int) {
	n := len(t)
	if v := n &^ 7; useAVX2 && v > 0 {
		x, b = x[:n], b[:n]
		words := mask[lo>>6 : (lo+v+63)>>6]
		maskAVX2(&x[0], &b[0], &t[0], v, (*byte)(unsafe.Pointer(&words[0])))
		if v == n {
			return
		}
		// The tail starts at lo+v, a multiple of 8 but maybe not of 64.
		tailGo(x[v:], b[v:], t[v:], mask, lo+v)
		return
	}
	maskChunkGo(x, b, t, mask, lo)
}

// tailGo is maskChunkGo for elements g.. with g not necessarily a multiple of 64.
func tailGo(x, b, t []float32, mask []uint64, g int) {
	for j := range t {
		keep := -(uint32(mask[(g+j)>>6]>>((g+j)&63)) & 1)
		t[j] = math.Float32frombits(math.Float32bits(x[j]-b[j]) & keep)
	}
}

// consensus3 is the three-model consensus combine (see consensus3Go), four elements at a
// time with AVX2 where the CPU has it. The vector code does the same float64 operations in
// the same order, except that the sums start from their first term instead of from 0
// (which changes a sum only when it is zero and every term is, where the result is the
// same), and that δᵢ agrees with the elected sign iff δᵢ·(±1) > 0 (the sign taken from
// Σδ's sign bit), which is agreeMask's condition.
func consensus3(b, t0, t1, t2 []float32, w0, w1, w2 float64, wb0, wb1, wb2 uint64, lambda float64, normalize bool, o []float32) {
	n := len(o)
	v := n &^ 3
	if useAVX2 && v > 0 {
		t0, t1, t2, b = t0[:n], t1[:n], t2[:n], b[:n]
		a := cons3Args{b: &b[0], t0: &t0[0], t1: &t1[0], t2: &t2[0], o: &o[0], n: v,
			w: [3]float64{w0, w1, w2}, wv: [3]float64{math.Float64frombits(wb0), math.Float64frombits(wb1), math.Float64frombits(wb2)},
			lambda: lambda}
		if normalize {
			a.normalize = 1
		}
		consensus3AVX2(&a)
		if v == n {
			return
		}
		b, t0, t1, t2, o = b[v:], t0[v:], t1[v:], t2[v:], o[v:]
	}
	consensus3Go(b, t0, t1, t2, w0, w1, w2, wb0, wb1, wb2, lambda, normalize, o)
}
