package bitnet

import (
	"fmt"
	"sync"
)

// GEMV tiling. The lookup tables of a column block (gemvBlockGroups KiB) stay in the L1
// data cache while the rows of a tile use them; a tile (at most gemvTileBytes of
// consecutive packed rows, a contiguous stretch of memory that the hardware prefetcher
// streams) stays in L2 while the column blocks are swept across it.
const (
	gemvBlockGroups = 16
	gemvTileBytes   = 128 << 10
)

// lutPool recycles GEMV's lookup tables (256 float32 per 4 columns of x).
var lutPool sync.Pool

// GEMV computes y = scale·W̃·x for the rows×cols ternary matrix W̃ held in packed (the
// format of Pack) without materializing it: y[r] = scale·Σ_c W̃[r,c]·x[c]. y is
// overwritten.
//
// For each group of four inputs x[4g..4g+3] it first tabulates the dot product with all
// 256 possible packed bytes (the T-MAC table lookup), so each packed byte of a row then
// costs one table load and one add instead of four multiply-adds. Tables take 1 KiB per
// 4 columns and are built once per call. Sums are accumulated in float32. The unused code
// 10 counts as −2, matching Unpack.
//
// It panics if len(packed) != rows·PackedRowBytes(cols), len(x) != cols or
// len(y) != rows.
func GEMV(packed []byte, rows, cols int, scale float32, x, y []float32) {
	stride := PackedRowBytes(cols)
	if rows < 0 || cols < 0 || len(packed) != rows*stride || len(x) != cols || len(y) != rows {
		panic(fmt.Sprintf("bitnet.GEMV: %d packed bytes, %d inputs, %d outputs for a %d×%d matrix (want %d, %d, %d)",
			len(packed), len(x), len(y), rows, cols, rows*stride, cols, rows))
	}
	clear(y)
	if stride == 0 {
		return
	}
	lutp, _ := lutPool.Get().(*[][256]float32)
	if lutp == nil || cap(*lutp) < stride {
		lutp = new([][256]float32)
		*lutp = make([][256]float32, stride)
	}
	lut := (*lutp)[:stride]
	for g := range lut {
		buildLUT(&lut[g], x, 4*g)
	}

	tileRows := max(1, gemvTileBytes/stride)
	for r0 := 0; r0 < rows; r0 += tileRows {
		r1 := min(r0+tileRows, rows)
		for g0 := 0; g0 < stride; g0 += gemvBlockGroups {
			g1 := min(g0+gemvBlockGroups, stride)
			block := lut[g0:g1]
			for r := r0; r < r1; r++ {
				y[r] += dotLUT(block, packed[r*stride+g0:r*stride+g1])
			}
		}
	}
	for r := range y {
		y[r] *= scale
	}
	lutPool.Put(lutp)
}

// dotLUT sums lut[k][row[k]] over the bytes of one row segment (len(lut) ≥ len(row)).
func dotLUT(lut [][256]float32, row []byte) float32 {
	lut = lut[:len(row)]
	// Four independent partial sums let the adds overlap.
	var a0, a1, a2, a3 float32
	k := 0
	for ; k+4 <= len(row); k += 4 {
		l, b := (*[4][256]float32)(lut[k:k+4]), (*[4]byte)(row[k:k+4])
		a0 += l[0][b[0]]
		a1 += l[1][b[1]]
		a2 += l[2][b[2]]
		a3 += l[3][b[3]]
	}
	for ; k < len(row); k++ {
		a0 += lut[k][row[k]]
	}
	return (a0 + a1) + (a2 + a3)
}

// buildLUT fills t[b] with the dot product of the four codes packed in byte b with
// x[c0..c0+3] (inputs past the end of x count as 0).
func buildLUT(t *[256]float32, x []float32, c0 int) {
	var xs [4]float32
	copy(xs[:], x[c0:min(c0+4, len(x))])
	// Contribution of one 2-bit code times an input: 00→0, 01→+x, 10→−2x, 11→−x.
	term := func(v float32) [4]float32 { return [4]float32{0, v, -2 * v, -v} }
	t0, t1, t2, t3 := term(xs[0]), term(xs[1]), term(xs[2]), term(xs[3])
	// Low nibble (codes 0 and 1) and high nibble (codes 2 and 3) tables, then all pairs.
	var lo, hi [16]float32
	for n := range 16 {
		lo[n] = t0[n&3] + t1[n>>2]
		hi[n] = t2[n&3] + t3[n>>2]
	}
	for h := range 16 {
		row := t[16*h : 16*h+16]
		for l := range 16 {
			row[l] = lo[l] + hi[h]
		}
	}
}
