//go:build amd64 && !purego

package seedlm

import (
	"math"
	"math/bits"

	"golang.org/x/sys/cpu"
)

// tileArgs is tileAVX2's argument block; kernel_amd64.s addresses its fields by the
// offsets TestTileArgsLayout checks. The vectors are eight equal lanes, read as memory
// operands.
type tileArgs struct {
	words    *uint32        // unpruned: the first row's first word in the tile; pruned: all kept words
	tab      *float32       // the tile's tables
	y        *float32       // the first row's output
	offs     *int32         // column offsets jj·stride for jj < 64
	rows     int            //
	cnt      int            // block columns in the tile
	rowWords int            // unpruned: words per row
	mask     *uint64        // pruned: the first row's mask word holding the tile; nil if unpruned
	mw       int            // mask words per row
	shift    int            // the tile's first bit in its mask word
	cursor   *int32         // pruned: per row, the index of its next kept block
	cbuf     *int32         // pruned: room for 72 column offsets
	p        int            // coefficients per block, 1…4
	lut      *[256][8]int32 // packLUT
	base     float64        // 2^ExpBase
	posMask  [8]uint32      // 2^K − 1
	k        [8]uint32      // K: the exponent code's shift
	cl       [4][8]uint32   // 32 − K − 4 − (l+1)·coef_bits: coefficient l's left shift
	cr       [8]uint32      // 32 − coef_bits
	fifteen  [8]uint32      //
	bias     [8]uint32      // 127, the float32 exponent bias
	iota     [8]int32       // 0 … 7
}

// packLUT[b] lists the positions of the set bits of b, lowest first: VPERMD with it
// packs the offsets of a byte's kept columns.
var packLUT [256][8]int32

func init() {
	for b := range packLUT {
		n := 0
		for m := uint(b); m != 0; m &= m - 1 {
			packLUT[b][n] = int32(bits.TrailingZeros(m))
			n++
		}
	}
}

//go:noescape
func projectAVX2(t, v, x *float32, m, nc, p int)

//go:noescape
func tileAVX2(a *tileArgs)

// The assembly needs AVX2 and FMA (gathers, variable shifts, 256-bit FMA) and BMI2
// (SHLX, SHRX) and POPCNT.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasBMI2 && cpu.X86.HasPOPCNT

var (
	hasProject   = hasAVX2
	hasTileWords = hasAVX2
)

func projectAsm(t, v, x *float32, m, nc, p int) { projectAVX2(t, v, x, m, nc, p) }

// tileWordsAsm is tileWordsGo for one input (g = 1) and P ≤ 4, in tileAVX2. A pruned
// matrix's row cursors live in sc.cursor, set at the first tile (j0 = 0) and advanced
// by each tile, which mulGroup runs in order.
func (op *Operator) tileWordsAsm(sc *mulScratch, st int, tab, y []float32, lo, hi, j0, j1 int) {
	if hi <= lo {
		return
	}
	k, cb := op.l.SeedBits, op.l.CoefBits
	a := tileArgs{tab: &tab[0], y: &y[lo], offs: &sc.offs[0], rows: hi - lo, cnt: j1 - j0, rowWords: op.nbc,
		p: op.l.Latent, lut: &packLUT, base: math.Ldexp(1, op.l.ExpBase)}
	for i := range 8 {
		a.posMask[i], a.k[i], a.cr[i], a.fifteen[i], a.bias[i], a.iota[i] = 1<<k-1, uint32(k), uint32(32-cb), 15, 127, int32(i)
		for l := range a.cl {
			a.cl[l][i] = uint32(max(0, 32-k-4-(l+1)*cb)) // unused for l ≥ P
		}
	}
	for jj := range sc.offs {
		sc.offs[jj] = int32(jj * st)
	}
	if op.mask == nil {
		a.words = &op.words[lo*op.nbc+j0]
	} else {
		if j0 == 0 {
			copy(sc.cursor[:hi-lo], op.rowStart[lo:hi])
		}
		if len(op.words) == 0 {
			return // every block pruned
		}
		a.words, a.mask, a.mw, a.shift = &op.words[0], &op.mask[lo*op.mw+j0/64], op.mw, j0%64
		a.cursor, a.cbuf = &sc.cursor[0], &sc.cbuf[0]
	}
	tileAVX2(&a)
}
