//go:build amd64 && !purego

package seedlm

import (
	"math"

	"golang.org/x/sys/cpu"
)

// tileArgs is tileAVX2's argument block; kernel_amd64.s addresses its fields by the
// offsets TestTileArgsLayout checks.
type tileArgs struct {
	words    *uint32  // unpruned: the first row's first word in the tile; pruned: all kept words
	tab      *float32 // the tile's tables
	y        *float32 // the first row's output
	rows     int
	cnt      int     // block columns in the tile
	rowWords int     // unpruned: words per row
	mask     *uint64 // pruned: the first row's mask word holding the tile; nil if unpruned
	mw       int     // mask words per row
	shift    int     // the tile's first bit in its mask word
	cursor   *int32  // pruned: per row, the index of its next kept block
	stB      int     // bytes between the tables of consecutive block columns
	base     float64 // 2^ExpBase
	posMask  uint32  // 2^K − 1
	k        uint32  // K: the exponent code's shift
	cl       [4]uint32
	cr       [4]uint32      // 32 − coef_bits
	pow      [16][4]float32 // 2^code in each lane
}

//go:noescape
func projectAVX2(t, v, x *float32, m, nc, p int)

//go:noescape
func tileAVX2(a *tileArgs)

//go:noescape
func projectAVX512(t, v, x *float32, m, nc, p int)

//go:noescape
func tileAVX512(a *tileArgs)

// The assembly needs AVX2 and FMA (variable shifts, FMA), BMI1 (TZCNT, BLSR) and BMI2
// (SHLX, SHRX).
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasBMI1 && cpu.X86.HasBMI2

// The AVX-512 kernels need, besides those, AVX-512 F (Z registers, gathers, mask
// registers, VPERMPS) and VL (the same on Y registers), and POPCNT.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL && cpu.X86.HasPOPCNT

var bestKernel = func() kernelKind {
	switch {
	case hasAVX512:
		return kernelAVX512
	case hasAVX2:
		return kernelAVX2
	}
	return kernelGo
}()

func projectAsm(t, v, x *float32, m, nc, p int) {
	if kernel == kernelAVX512 {
		projectAVX512(t, v, x, m, nc, p)
		return
	}
	projectAVX2(t, v, x, m, nc, p)
}

// tileWordsAsm is tileWordsGo for one input (g = 1) and P ≤ 4, in tileAVX512 or
// tileAVX2 (as kernel says). A pruned
// matrix's row cursors live in sc.cursor (by row), set by mulGroup before the first
// tile and advanced by each tile, which mulGroup runs in order.
func (op *Operator) tileWordsAsm(sc *mulScratch, st int, tab, y []float32, lo, hi, j0, j1 int) {
	if hi <= lo {
		return
	}
	k, cb := op.l.SeedBits, op.l.CoefBits
	a := tileArgs{tab: &tab[0], y: &y[lo], rows: hi - lo, cnt: j1 - j0, rowWords: op.nbc, stB: 4 * st,
		base: math.Ldexp(1, op.l.ExpBase), posMask: 1<<k - 1, k: uint32(k)}
	for l := range a.cl {
		// Coefficient l's left shift puts its sign bit at bit 31; lanes past P shift
		// everything out (a count of 32 gives 0), so their products are zero.
		a.cl[l], a.cr[l] = 32, uint32(32-cb)
		if l < op.l.Latent {
			a.cl[l] = uint32(32 - k - 4 - (l+1)*cb)
		}
	}
	for i := range a.pow {
		a.pow[i] = [4]float32{float32(int(1) << i), float32(int(1) << i), float32(int(1) << i), float32(int(1) << i)}
	}
	if op.mask == nil {
		a.words = &op.words[lo*op.nbc+j0]
	} else {
		if len(op.words) == 0 {
			return // every block pruned
		}
		a.words, a.mask, a.mw, a.shift, a.cursor = &op.words[0], &op.mask[lo*op.mw+j0/64], op.mw, j0%64, &sc.cursor[lo]
	}
	if kernel == kernelAVX512 {
		tileAVX512(&a)
		return
	}
	tileAVX2(&a)
}
