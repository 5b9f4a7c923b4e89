package bitnet

import (
	"fmt"
	"sync"
)

// GEMV strategy. With 256-entry tables (one per packed byte position, 1 KiB per 4 columns)
// a row costs one load per 4 weights, but the tables of a wide matrix outgrow the L2
// cache; past gemvByteTableMaxCols columns GEMV switches to 16-entry tables (one per
// nibble, 64 B per 2 columns: 128 KiB for 4096 columns), two loads per 4 weights.
//
// The byte tables are used in tiles: a column block's tables (gemvBlockGroups KiB) stay in
// the L1 data cache while the rows of a tile use them, and a tile (at most gemvTileBytes
// of consecutive packed rows, contiguous memory the hardware prefetcher streams) stays
// in L2 while the column blocks are swept across it.
const (
	gemvByteTableMaxCols = 1024
	gemvBlockGroups      = 16
	gemvTileBytes        = 128 << 10
)

// Pools recycling GEMV's tables between calls.
var (
	byteTablePool   sync.Pool // *[][256]float32
	nibbleTablePool sync.Pool // *[][2][16]float32
)

// GEMV computes y = scale·W̃·x for the rows×cols ternary matrix W̃ held in packed (the
// format of Pack) without materializing it: y[r] = scale·Σ_c W̃[r,c]·x[c]. y is
// overwritten.
//
// It first tabulates, for each group of inputs, the dot product with every possible
// packed code pattern (the table lookup of T-MAC): with up to gemvByteTableMaxCols = 1024
// columns a 256-entry table per 4 inputs indexed by a whole packed byte, for wider
// matrices a 16-entry table per 2 inputs indexed by a nibble. Each packed byte of a row
// then costs one (or two) table loads and adds instead of four multiply-adds. The tables
// are built once per call and shared by all rows. Sums are accumulated in float32. The
// unused code 10 counts as −2, matching Unpack. GEMV is safe for concurrent use.
//
// It panics if len(packed) != rows·PackedRowBytes(cols), len(x) != cols or
// len(y) != rows.
func GEMV(packed []byte, rows, cols int, scale float32, x, y []float32) {
	stride := PackedRowBytes(cols)
	if rows < 0 || cols < 0 || len(packed) != rows*stride || len(x) != cols || len(y) != rows {
		panic(fmt.Sprintf("bitnet.GEMV: %d packed bytes, %d inputs, %d outputs for a %d×%d matrix (want %d, %d, %d)",
			len(packed), len(x), len(y), rows, cols, rows*stride, cols, rows))
	}
	if cols <= gemvByteTableMaxCols {
		gemvByteTables(packed, rows, stride, x, y)
	} else {
		gemvNibbleTables(packed, rows, stride, x, y)
	}
	for r := range y {
		y[r] *= scale
	}
}

// twoBitTerms is the contribution of one 2-bit code times an input v, indexed by the code:
// 00→0, 01→+v, 10→−2v, 11→−v.
func twoBitTerms(v float32) [4]float32 { return [4]float32{0, v, -2 * v, -v} }

// nibbleTable fills t[n] with the dot product of the two codes in nibble n (low code
// first) with (x0, x1).
func nibbleTable(t *[16]float32, x0, x1 float32) {
	t0, t1 := twoBitTerms(x0), twoBitTerms(x1)
	for n := range 16 {
		t[n] = t0[n&3] + t1[n>>2]
	}
}

// inputs4 returns x[c0..c0+3], with 0 for inputs past the end of x.
func inputs4(x []float32, c0 int) (xs [4]float32) {
	copy(xs[:], x[c0:min(c0+4, len(x))])
	return xs
}

// gemvByteTables sets y = W̃·x with one 256-entry table per packed byte column.
func gemvByteTables(packed []byte, rows, stride int, x, y []float32) {
	clear(y)
	if stride == 0 {
		return
	}
	tp, _ := byteTablePool.Get().(*[][256]float32)
	if tp == nil || cap(*tp) < stride {
		tp = new([][256]float32)
		*tp = make([][256]float32, stride)
	}
	defer byteTablePool.Put(tp)
	tables := (*tp)[:stride]
	for g := range tables {
		xs := inputs4(x, 4*g)
		var lo, hi [16]float32
		nibbleTable(&lo, xs[0], xs[1])
		nibbleTable(&hi, xs[2], xs[3])
		t := &tables[g]
		for h := range 16 {
			row := t[16*h : 16*h+16]
			for l := range 16 {
				row[l] = lo[l] + hi[h]
			}
		}
	}

	tileRows := max(1, gemvTileBytes/stride)
	for r0 := 0; r0 < rows; r0 += tileRows {
		r1 := min(r0+tileRows, rows)
		for g0 := 0; g0 < stride; g0 += gemvBlockGroups {
			g1 := min(g0+gemvBlockGroups, stride)
			block := tables[g0:g1]
			for r := r0; r < r1; r++ {
				y[r] += dotByteTables(block, packed[r*stride+g0:r*stride+g1])
			}
		}
	}
}

// dotByteTables sums t[k][row[k]] over the bytes of one row segment (len(t) ≥ len(row)).
func dotByteTables(t [][256]float32, row []byte) float32 {
	t = t[:len(row)]
	// Four independent partial sums let the adds overlap.
	var a0, a1, a2, a3 float32
	k := 0
	for ; k+4 <= len(row); k += 4 {
		tk, b := (*[4][256]float32)(t[k:k+4]), (*[4]byte)(row[k:k+4])
		a0 += tk[0][b[0]]
		a1 += tk[1][b[1]]
		a2 += tk[2][b[2]]
		a3 += tk[3][b[3]]
	}
	for ; k < len(row); k++ {
		a0 += t[k][row[k]]
	}
	return (a0 + a1) + (a2 + a3)
}

// gemvNibbleTables sets y = W̃·x with two 16-entry tables per packed byte column, one for
// its low and one for its high nibble.
func gemvNibbleTables(packed []byte, rows, stride int, x, y []float32) {
	tp, _ := nibbleTablePool.Get().(*[][2][16]float32)
	if tp == nil || cap(*tp) < stride {
		tp = new([][2][16]float32)
		*tp = make([][2][16]float32, stride)
	}
	defer nibbleTablePool.Put(tp)
	tables := (*tp)[:stride]
	for g := range tables {
		xs := inputs4(x, 4*g)
		nibbleTable(&tables[g][0], xs[0], xs[1])
		nibbleTable(&tables[g][1], xs[2], xs[3])
	}
	for r := range rows {
		row := packed[r*stride : (r+1)*stride]
		var a0, a1, a2, a3 float32
		k := 0
		for ; k+2 <= len(row); k += 2 {
			tk, b := (*[2][2][16]float32)(tables[k:k+2]), (*[2]byte)(row[k:k+2])
			a0 += tk[0][0][b[0]&15]
			a1 += tk[0][1][b[0]>>4]
			a2 += tk[1][0][b[1]&15]
			a3 += tk[1][1][b[1]>>4]
		}
		if k < len(row) {
			a0 += tables[k][0][row[k]&15] + tables[k][1][row[k]>>4]
		}
		y[r] = (a0 + a1) + (a2 + a3)
	}
}
