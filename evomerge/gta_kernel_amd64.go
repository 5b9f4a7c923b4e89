//go:build amd64 && !purego

package evomerge

import (
	"math"

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

var useAVX2 = cpu.X86.HasAVX2

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
