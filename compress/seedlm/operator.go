package seedlm

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// Operator is a SeedLM matrix ready for y = W·x from its packed blocks; see the package
// doc (# Kernel) for the method and its cost. It holds, per kept block, one 32-bit word
// with the block's orbit position, exponent code and coefficients (the "word" form,
// used when K + 4 + P·coef_bits ≤ 32, which covers every layout of at most 32 bits per
// block), or else the three fields in separate narrow arrays; for a pruned matrix also
// the kept-block mask (1 bit per block) and each row's first kept block. It never holds
// W or U(seed) in float32: the one table shared by all matrices of a register width is
// the register's orbit (orbitOf), at most 65,535 + 640 floats per process.
type Operator struct {
	l   Layout
	nbc int // blocks per row (block columns)
	m   int // projection table entries per block column: 2^K − 1 + P − 1

	// Word form: words[k] of kept block k (row-major order) is
	//   bits [0, K)              the orbit position pos(seed) of its seed
	//   bits [K, K+4)            its exponent code
	//   bits [K+4+l·cb, …+cb)    coefficient l, cb-bit two's complement
	words []uint32
	// General form (words == nil): the same fields, one slice each.
	pos   []uint16
	exps  []uint8
	coefs []int8 // P per kept block

	// Pruned matrices only: mask has row r's kept flags in words r·mw … r·mw+mw−1
	// (bit j%64 of word j/64 for block column j), rowStart[r] is the index of row r's
	// first kept block.
	mask     []uint64
	mw       int
	rowStart []int32

	scales [ExpCodes]float32 // 2^(ExpBase+code)
	orbit  *orbit
}

// LoadOperator implements compress.OperatorLoader: it reads and checks the compressed
// tensor name exactly as Load does (layout ranges, part sizes and dtypes, seeds in
// [1, 2^K − 1], the mask's kept count, zero padding) and returns its Operator. Every
// exponent code (4 bits) and coefficient (coef_bits, sign-extended) a file can hold is
// valid, and Load's ExpBase range keeps 2^(ExpBase+15)·Σ|coefficients| finite.
func (*Codec) LoadOperator(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (compress.Operator, error) {
	q, err := Load(name, meta, get)
	if err != nil {
		return nil, err
	}
	if q.Kept > math.MaxInt32 {
		// The operator indexes blocks with 32-bit row starts and cursors.
		return nil, fmt.Errorf("seedlm: tensor %q: %d kept blocks, more than the operator's limit of 2^31 − 1", name, q.Kept)
	}
	return NewOperator(q), nil
}

// NewOperator builds the operator of q, which must be valid (as Load returns it; seeds
// in [1, 2^K − 1], Mask nil or with Kept set flags, Kept < 2^31). It does not keep q.
func NewOperator(q *Quantized) *Operator {
	l := q.Layout
	op := &Operator{l: l, nbc: l.blocksPerRow(), m: 1<<l.SeedBits - 1 + l.Latent - 1, orbit: orbitOf(l.SeedBits)}
	for i := range op.scales {
		op.scales[i] = float32(math.Ldexp(1, l.ExpBase+i))
	}
	p, cb, k := l.Latent, l.CoefBits, l.SeedBits
	if k+4+p*cb <= 32 {
		op.words = make([]uint32, l.Kept)
		cm := uint32(1)<<cb - 1
		for b := range op.words {
			w := uint32(op.orbit.pos[q.Seeds[b]]) | uint32(q.Exps[b])<<k
			for j := range p {
				w |= (uint32(q.Coefs[b*p+j]) & cm) << (k + 4 + j*cb)
			}
			op.words[b] = w
		}
	} else {
		op.pos, op.exps, op.coefs = make([]uint16, l.Kept), make([]uint8, l.Kept), make([]int8, l.Kept*p)
		for b := range op.pos {
			op.pos[b], op.exps[b] = uint16(op.orbit.pos[q.Seeds[b]]), uint8(q.Exps[b])
		}
		copy(op.coefs, q.Coefs)
	}
	if q.Mask != nil {
		op.mw = (op.nbc + 63) / 64
		op.mask = make([]uint64, l.Rows*op.mw)
		op.rowStart = make([]int32, l.Rows+1)
		kept := 0
		for r := range l.Rows {
			op.rowStart[r] = int32(kept)
			for j := range op.nbc {
				if q.Mask[r*op.nbc+j] {
					op.mask[r*op.mw+j/64] |= 1 << (j % 64)
					kept++
				}
			}
		}
		op.rowStart[l.Rows] = int32(kept)
	}
	return op
}

func (op *Operator) Rows() int { return op.l.Rows }
func (op *Operator) Cols() int { return op.l.Cols }

// WeightBytes counts the per-block words (or fields), the mask and row starts of a
// pruned matrix, and the operator's fixed fields; the orbit is shared by every matrix
// of the same register width and not counted.
func (op *Operator) WeightBytes() int64 {
	n := 4*len(op.words) + 2*len(op.pos) + len(op.exps) + len(op.coefs) + 8*len(op.mask) + 4*len(op.rowStart)
	return int64(n) + 256
}

// Layout returns the stored layout of the matrix.
func (op *Operator) Layout() Layout { return op.l }

// tableBudget is the bytes of projection tables a worker builds for one tile of block
// columns: they are read at random positions once per row, so they should stay in the
// L2 cache (512 KiB per core here) with room for the blocks streaming through.
var tableBudget = 320 << 10

// maxGroup is the most inputs one pass over the blocks serves: their tables are built
// together and each decoded block is applied to all of them.
const maxGroup = 8

// stride is the float32s between the tables of consecutive block columns: m + 3 (the
// assembly kernel loads four projections for any P) rounded up to a multiple of 64
// (the assembly projection kernel's step).
func (op *Operator) stride() int { return (op.m + 3 + 63) &^ 63 }

// tiling returns, for n inputs, how many inputs a pass serves (g) and how many block
// columns a tile covers (tw, a power of two ≤ 64, so that a tile's mask bits lie in one
// 64-bit word).
func (op *Operator) tiling(n int) (g, tw int) {
	g = min(n, maxGroup)
	per := g * op.stride() * 4
	tw = 64
	for tw > 1 && tw*per > tableBudget {
		tw /= 2
	}
	for g > 1 && tw*per > tableBudget {
		g--
		per = g * op.stride() * 4
	}
	return g, tw
}

// mulScratch is one call's memory: the tables of a tile and, for the assembly
// kernel, each pruned row's cursor (the index of its next kept block).
type mulScratch struct {
	tab    []float32
	cursor []int32
}

var scratch = sync.Pool{New: func() any { return new(mulScratch) }}

// Mul sets y = W·x for n inputs; see compress.Operator and the package doc. A product
// of at least compress.ParallelWork multiply–adds runs on up to GOMAXPROCS goroutines:
// for each tile of block columns they first build its projection tables together (each
// table once, shared by all), then take chunks of chunkRows rows from a shared counter,
// so a core slowed down by other work takes fewer rows instead of holding up the rest.
func (op *Operator) Mul(n int, x, y []float32) {
	compress.CheckMul("seedlm.Operator.Mul", op, n, x, y)
	if n == 0 {
		return
	}
	rows, cols := op.l.Rows, op.l.Cols
	workers := 1
	if p := runtime.GOMAXPROCS(0); p > 1 && rows >= 2*chunkRows && int64(n)*int64(rows)*int64(cols) >= compress.ParallelWork {
		workers = min(p, rows/chunkRows)
	}
	group := maxGroup
	if op.asmWords() {
		// The assembly kernel serves one input per pass: the blocks are read once per
		// input, but each pass's tables are a g-th of a group's, so wider tiles fit.
		group = 1
	}
	sc := scratch.Get().(*mulScratch)
	for b0 := 0; b0 < n; {
		g, tw := op.tiling(min(group, n-b0))
		op.mulGroup(sc, workers, g, tw, rows, x[b0*cols:], y[b0*rows:])
		b0 += g
	}
	scratch.Put(sc)
}

// chunkRows is how many rows a worker takes at a time.
const chunkRows = 128

// mulGroup computes the g products y[b·ldy …] = W·x[b·Cols …], b < g, tile by tile
// (tw block columns each) on workers goroutines.
func (op *Operator) mulGroup(sc *mulScratch, workers, g, tw, ldy int, x, y []float32) {
	rows, cols, st := op.l.Rows, op.l.Cols, op.stride()
	if need := g * tw * st; cap(sc.tab) < need {
		sc.tab = make([]float32, need)
	}
	if cap(sc.cursor) < rows {
		sc.cursor = make([]int32, rows)
	}
	tab := sc.tab[:g*tw*st]
	for b := range g {
		clear(y[b*ldy : b*ldy+rows])
	}
	if op.mask != nil {
		copy(sc.cursor, op.rowStart[:rows])
	}
	chunks := (rows + chunkRows - 1) / chunkRows
	for j0 := 0; j0 < op.nbc; j0 += tw {
		j1 := min(j0+tw, op.nbc)
		w := j1 - j0
		parallel(workers, g*w, func(i int) {
			b, jj := i/w, i%w
			op.project(tab[(b*tw+jj)*st:(b*tw+jj+1)*st], x[b*cols:(b+1)*cols], j0+jj)
		})
		parallel(workers, chunks, func(c int) {
			lo, hi := c*chunkRows, min(rows, (c+1)*chunkRows)
			if op.words != nil {
				op.tileWords(sc, g, tw, st, tab, ldy, y, lo, hi, j0, j1)
			} else {
				op.tileFields(g, tw, st, tab, ldy, y, lo, hi, j0, j1)
			}
		})
	}
}

// parallel runs f(0), …, f(n−1) on up to workers goroutines (the caller's among them),
// handing the indices out from a shared counter. Every f(i) must be independent.
func parallel(workers, n int, f func(int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	run := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			f(i)
		}
	}
	var wg sync.WaitGroup
	for range min(workers, n) - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
}

// project fills t (stride values) with the projections of block column j of x on the
// register's orbit: t[u] = Σ_i vals[1+u+i·P]·x[j·C+i] for u < stride, the columns past
// Cols counting as zero. Then U(s)ᵀx_j, for the seed s at orbit position u, is
// t[u … u+P−1]: one correlation serves every seed.
func (op *Operator) project(t []float32, x []float32, j int) {
	c, p := op.l.BlockSize, op.l.Latent
	c0 := j * c
	nc := min(c, op.l.Cols-c0)
	vals := op.orbit.vals
	if kernel >= kernelAVX2 {
		projectAsm(&t[0], &vals[1], &x[c0], len(t), nc, p)
		return
	}
	clear(t)
	for i := range nc {
		xi := x[c0+i]
		if xi == 0 {
			continue
		}
		v := vals[1+i*p : 1+i*p+len(t)]
		for u := range t {
			t[u] += xi * v[u]
		}
	}
}

// tileWords adds to rows [lo, hi) of the g outputs the blocks of block columns
// [j0, j1) in the word form; tab holds their tables (input b, column j0+jj at
// (b·tw+jj)·st).
func (op *Operator) tileWords(sc *mulScratch, g, tw, st int, tab []float32, ldy int, y []float32, lo, hi, j0, j1 int) {
	if g == 1 && op.asmWords() {
		op.tileWordsAsm(sc, st, tab, y, lo, hi, j0, j1)
		return
	}
	op.tileWordsGo(g, tw, st, tab, ldy, y, lo, hi, j0, j1)
}

// asmWords reports whether tileWords runs the assembly kernel (for one input at a time).
func (op *Operator) asmWords() bool {
	return kernel >= kernelAVX2 && op.words != nil && op.l.Latent <= 4
}

func (op *Operator) tileWordsGo(g, tw, st int, tab []float32, ldy int, y []float32, lo, hi, j0, j1 int) {
	k, p, cb := uint(op.l.SeedBits), op.l.Latent, uint(op.l.CoefBits)
	pm := uint32(1)<<k - 1
	var acc [maxGroup]float32
	var z [8]float32
	for r := lo; r < hi; r++ {
		clear(acc[:g])
		first, cnt, bitsLeft := op.rowBlocks(r, j0, j1)
		for i, w := range op.words[first : first+cnt] {
			jj := i
			if op.mask != nil {
				jj = bits.TrailingZeros64(bitsLeft)
				bitsLeft &= bitsLeft - 1
			}
			u := int(w & pm)
			s := op.scales[(w>>k)&15]
			for l := range p {
				z[l] = s * float32(int32(w<<(32-k-4-uint(l+1)*cb))>>(32-cb))
			}
			addBlock(acc[:g], z[:p], tab[jj*st+u:], tw*st)
		}
		for b := range g {
			y[b*ldy+r] += acc[b]
		}
	}
}

// rowBlocks returns where row r's stored blocks of block columns [j0, j1) start (first),
// how many there are (cnt) and, for a pruned matrix, which columns they sit in (bits
// from j0 on; 0 unpruned, where the blocks are the columns themselves).
func (op *Operator) rowBlocks(r, j0, j1 int) (first, cnt int, bitsLeft uint64) {
	if op.mask == nil {
		return r*op.nbc + j0, j1 - j0, 0
	}
	first, m := op.keptBefore(r, j0)
	bitsLeft = m &^ (^uint64(0) << (j1 - j0))
	return first, bits.OnesCount64(bitsLeft), bitsLeft
}

// addBlock adds one block's contribution to every input's sum: acc[b] += z · tab[b·step :
// b·step + len(z)], the block's coefficients (scaled) against input b's projections.
func addBlock(acc, z, tab []float32, step int) {
	for b := range acc {
		t := tab[b*step : b*step+len(z)]
		var v float32
		for l, tl := range t {
			v += z[l] * tl
		}
		acc[b] += v
	}
}

// keptBefore returns the index of row r's first kept block at or after block column j0
// and the row's mask bits from j0 on (j0 a multiple of the tile width, a power of two ≤
// 64, so the tile's bits are in one word).
func (op *Operator) keptBefore(r, j0 int) (int, uint64) {
	row := op.mask[r*op.mw : (r+1)*op.mw]
	n := int(op.rowStart[r])
	for _, m := range row[:j0/64] {
		n += bits.OnesCount64(m)
	}
	m := row[j0/64]
	n += bits.OnesCount64(m & (1<<(j0%64) - 1))
	return n, m >> (j0 % 64)
}

// tileFields is tileWordsGo for the general form.
func (op *Operator) tileFields(g, tw, st int, tab []float32, ldy int, y []float32, lo, hi, j0, j1 int) {
	p := op.l.Latent
	var acc [maxGroup]float32
	var z [8]float32
	for r := lo; r < hi; r++ {
		clear(acc[:g])
		first, cnt, bitsLeft := op.rowBlocks(r, j0, j1)
		for i := range cnt {
			kb := first + i
			jj := i
			if op.mask != nil {
				jj = bits.TrailingZeros64(bitsLeft)
				bitsLeft &= bitsLeft - 1
			}
			u := int(op.pos[kb])
			s := op.scales[op.exps[kb]]
			for l, c := range op.coefs[kb*p : kb*p+p] {
				z[l] = s * float32(c)
			}
			addBlock(acc[:g], z[:p], tab[jj*st+u:], tw*st)
		}
		for b := range g {
			y[b*ldy+r] += acc[b]
		}
	}
}

func (op *Operator) String() string {
	return fmt.Sprintf("seedlm %d×%d (C=%d P=%d K=%d coef_bits=%d, %d of %d blocks)", op.l.Rows, op.l.Cols,
		op.l.BlockSize, op.l.Latent, op.l.SeedBits, op.l.CoefBits, op.l.Kept, op.l.Rows*op.nbc)
}
