//go:build amd64 && !purego

package evomerge

import "golang.org/x/sys/cpu"

// useDellaPacked selects DELLA's packed-rank row path (della_row.go), which needs
// AVX-512 (with the AVX-512 kernels of gta_kernel_amd64.s). Elsewhere dellaRow's Go path
// serves.
var useDellaPacked = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW

// dellaHistAVX512 is dellaHistGo and dellaHashesGo (n a positive multiple of 16).
//
//go:noescape
func dellaHistAVX512(keys *uint32, n int, kmin uint32, shift uint64, idx *uint16, hist *uint16, stride int, z0 uint64, h *uint16, pf *float32)

// dellaPrefixAVX512 is dellaPrefixGo (nb a positive multiple of 16; what it leaves in the
// tab entries of empty buckets is undefined) with the keep probabilities in float32,
// p0s = p0·2¹⁶ and steps = step·2¹⁶ (dellaScaled), and each bucket's range widened by
// one either way: a low half at most dellaPrefixGo's and at least two below it, a high
// half at least dellaPrefixGo's and at most two above it (the float32 values lie within
// 2⁻⁶ of the float64 ones). A wider range leaves more entries to their exact rank, never
// a different decision.
//
//go:noescape
func dellaPrefixAVX512(hist *uint16, stride, nb int, tab *uint32, p0s, steps float32)

// dellaTabKeepAVX512 is dellaTabKeepGo for n entries (a positive multiple of 16), the
// bits written 16 at a time; if sk is not nil it also does dellaSumsAVX512(sk, n, sw,
// lanes), the sums of another row.
//
//go:noescape
func dellaTabKeepAVX512(idx *uint16, n int, h *uint16, tab *uint32, bound uint32, keep, amb *byte, pf *float32,
	sk *uint32, sw *byte, lanes *[16]float64)

// dellaCombine3AVX512 is the three-model combine of dellaKernel, eight elements at a
// time: tᵢ = xᵢ − b (float32) where the mask bit is set, else +0, then consensus3Go's or
// linear3Go's float64 operations in order.
//
//go:noescape
func dellaCombine3AVX512(a *dellaCombArgs)
