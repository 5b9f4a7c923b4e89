package vptq

import (
	"fmt"
	"sync"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/f32"
	"github.com/evomerge/evomerge/tensor"
)

//go:generate go run asm_gen.go

// Sizes the kernels are built around (see asm_gen.go).
const (
	// blockGroups groups of one input's tables are read together: with tables of
	// tableStride entries, 16 KiB that stay in the L1 cache while every row of a range
	// looks its indices up in them.
	blockGroups = 16
	// tileRows rows are computed at once, one accumulator each.
	tileRows = 8
	// tableStride is the entries per group of the tables of codebooks with at most 8
	// bits of index in all (codebook_bits + residual_bits ≤ 8).
	tableStride = 256
)

// Operator is the packed VPTQ operator of a row-oriented (vptq/2) matrix: it holds the
// indices, the codebooks and the column statistics, never W.
//
// Mul computes y = W·x by table lookup. With x' = σ∘x (zero-padded to G·v values)
// and o = μ·x, row r of W·x is
//
//	y_r = Σ_g (C[i_rg] + R[j_rg])·x'[g·v : g·v+v] + o = Σ_g T_g[i_rg + K·j_rg] + o
//
// where T_g[i + K·j] = C[i]·x'_g + R[j]·x'_g (K = 2^codebook_bits) is built once per
// input: (K + K_R)·cols multiply–adds and K·K_R·G adds, whatever the number of rows.
// Each vector is then one table load and one add: 1/v per weight. Summing the two
// codebooks' tables into one table of the K·K_R codeword pairs halves the lookups of
// residual quantization, at the price of tables K_R times larger (256 entries per
// group at the default 7 + 1 bits).
//
// Indices are kept as the pair index i + K·j, one byte, when codebook_bits +
// residual_bits ≤ 8; above, the kernel (pure Go) reads the per-codebook tables and
// keeps i and j as two bytes each. Both are laid out in blocks of 16 groups (the
// padding groups have zero inputs, hence zero tables) × all rows (padded to a multiple
// of 8), and inside a block in tiles of 8 rows stored group by group. The kernel walks one block
// of groups at a time over a range of rows, so the block's tables (16 KiB) stay in the
// L1 cache, adding into per-row sums (two inputs at a time for a batch). On amd64 with
// AVX2 it runs lut_amd64.s; elsewhere a pure-Go loop does the same arithmetic (the
// lookups bit for bit; the assembly's table builder fuses multiply–adds, so results
// differ by float32 rounding).
type Operator struct {
	rows, cols, v, groups int
	k, kr                 int // codebook sizes; kr = 0 without residual
	// gpad is groups rounded up to blockGroups, rpad rows up to tileRows.
	gpad, rpad int
	// sw is the entries per group of the per-codebook tables (K + K_R rounded up to 8);
	// tstride the entries per group of the pair tables (tableStride, or K·K_R if larger).
	sw, tstride int
	// ct holds the codebooks transposed for the table builder: ct[t·sw + i] is
	// coordinate t of codeword i, ct[t·sw + K + j] of residual codeword j; unused entries
	// are zero.
	ct          []float32
	scale, bias []float32 // σ and μ per column; nil without normalization
	idx8        []uint8   // gpad/16 blocks × rpad rows × 16 pair indices (see above)
	idx16       []uint16  // the same layout, two entries (i, j) per index, when wide
	scratch     sync.Pool // *[]float32 of per-call tables, scaled inputs and sums
}

var _ compress.OperatorLoader = (*Codec)(nil)

// LoadOperator reads and checks the compressed tensor name like Load (layout, every
// part's dtype, shape and values) and returns its packed Operator. Only vptq/2 files
// (vectors along rows) run packed: a vptq/1 file (vectors along columns) is rejected
// with an error asking to re-compress it; Decode still reads it.
func (*Codec) LoadOperator(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (compress.Operator, error) {
	q, err := Load(name, meta, get)
	if err != nil {
		return nil, err
	}
	if !q.rowMajor() {
		return nil, fmt.Errorf("vptq: tensor %q: metadata %q: vectors run along columns (a vptq/1 file), which has no packed kernel; re-compress the model with vptq/2",
			name, name+LayoutSuffix)
	}
	o := NewOperator(q)
	// The per-input tables hold 256 floats per group of inputs whatever the codebook
	// size; refuse a file whose tables would dwarf it (a crafted layout of a few KiB
	// could otherwise make every call allocate gigabytes).
	if tb := 4 * int64(o.gpad) * int64(o.tstride); tb > maxTableBytes && tb > 16*o.WeightBytes() {
		return nil, fmt.Errorf("vptq: tensor %q: metadata %q: %d columns in vectors of %d need %d bytes of lookup tables per input for %d bytes of weights; refusing",
			name, name+LayoutSuffix, q.Cols, q.VectorLength, tb, o.WeightBytes())
	}
	return o, nil
}

// maxTableBytes is the per-input table size LoadOperator always accepts (64 MiB: a
// 16-million-column matrix in vectors of 4).
const maxTableBytes = 64 << 20

// maxBatch is the number of inputs one pass of Mul tables at once; larger batches run
// in passes of maxBatch, so scratch does not grow with n.
const maxBatch = 8

// NewOperator builds the operator of the row-oriented q (checked as Load checks it).
// It panics if q is column-oriented or its parts have the wrong lengths.
func NewOperator(q *Quantized) *Operator {
	l := q.Layout
	if !l.rowMajor() {
		panic("vptq.NewOperator: the vectors run along columns")
	}
	v, g := l.VectorLength, l.groups()
	k, kr := 1<<l.CodebookBits, 0
	if l.ResidualBits > 0 {
		kr = 1 << l.ResidualBits
	}
	if len(q.Codebook) != k*v || len(q.ResCodebook) != kr*v || len(q.Indices) != l.Rows*g ||
		(kr > 0 && len(q.ResIndices) != l.Rows*g) || (l.Normalize && (len(q.ColScale) != l.Cols || len(q.ColBias) != l.Cols)) {
		panic(fmt.Sprintf("vptq.NewOperator: parts of the wrong lengths for layout %+v", l))
	}
	o := &Operator{rows: l.Rows, cols: l.Cols, v: v, groups: g, k: k, kr: kr}
	o.gpad = (g + blockGroups - 1) / blockGroups * blockGroups
	o.rpad = (l.Rows + tileRows - 1) / tileRows * tileRows
	o.sw = (k + kr + 7) &^ 7
	// Up to 256 codeword pairs, the kernel reads pair tables; with more (codebook_bits +
	// residual_bits > 8) pair tables would outgrow the caches (2^16 entries per group at
	// 8 + 8 bits), and it reads the per-codebook tables, one lookup per codebook.
	wide := k*max(kr, 1) > tableStride
	o.tstride = tableStride
	if wide {
		o.tstride = o.sw
	}
	o.ct = make([]float32, v*o.sw)
	for i := range k {
		for t := range v {
			o.ct[t*o.sw+i] = q.Codebook[i*v+t]
		}
	}
	for j := range kr {
		for t := range v {
			o.ct[t*o.sw+k+j] = q.ResCodebook[j*v+t]
		}
	}
	if l.Normalize {
		o.scale, o.bias = q.ColScale, q.ColBias
	}
	n := o.gpad * o.rpad
	if wide {
		o.idx16 = make([]uint16, 2*n)
	} else {
		o.idx8 = make([]uint8, n)
	}
	for r := range l.Rows {
		for gi := range g {
			i, j := int(q.Indices[r*g+gi]), 0
			if kr > 0 {
				j = int(q.ResIndices[r*g+gi])
			}
			at := o.indexAt(r, gi)
			if wide {
				o.idx16[2*at], o.idx16[2*at+1] = uint16(i), uint16(j)
			} else {
				o.idx8[at] = uint8(i + k*j)
			}
		}
	}
	return o
}

// indexAt is the position of the pair index of row r, group g in idx8 or idx16.
func (o *Operator) indexAt(r, g int) int {
	return (g/blockGroups)*o.rpad*blockGroups + (r/tileRows)*tileRows*blockGroups + (g%blockGroups)*tileRows + r%tileRows
}

func (o *Operator) Rows() int { return o.rows }
func (o *Operator) Cols() int { return o.cols }

// WeightBytes counts the index bytes (one or two per vector, padded as described on
// Operator), the transposed codebooks and the column statistics.
func (o *Operator) WeightBytes() int64 {
	return int64(len(o.idx8)) + 2*int64(len(o.idx16)) + 4*int64(len(o.ct)+len(o.scale)+len(o.bias))
}

// Mul sets y = W·x for n inputs; see Operator. Large products split their rows across
// cores (compress.SplitRows).
func (o *Operator) Mul(n int, x, y []float32) {
	compress.CheckMul("vptq.Operator.Mul", o, n, x, y)
	if n == 0 {
		return
	}
	if n > maxBatch {
		for b := 0; b < n; b += maxBatch {
			m := min(maxBatch, n-b)
			o.Mul(m, x[b*o.cols:(b+m)*o.cols], y[b*o.rows:(b+m)*o.rows])
		}
		return
	}
	tsize := o.gpad * o.tstride
	gv := o.gpad * o.v
	sp := o.getScratch(n*(tsize+o.rpad) + gv + o.gpad*o.sw + n)
	buf := *sp
	tabs, buf := buf[:n*tsize], buf[n*tsize:]
	sums, buf := buf[:n*o.rpad], buf[n*o.rpad:]
	xs, buf := buf[:gv], buf[gv:]
	small, offs := buf[:o.gpad*o.sw], buf[o.gpad*o.sw:]
	clear(xs[o.cols:])
	for b := range n {
		xb := x[b*o.cols : (b+1)*o.cols]
		if o.scale != nil {
			for c, s := range o.scale {
				xs[c] = xb[c] * s
			}
		} else {
			copy(xs, xb)
		}
		o.tables(xs, small, tabs[b*tsize:(b+1)*tsize])
	}
	if o.bias != nil {
		// The offsets μ·x of all inputs: a 1×cols product.
		f32.Gemm(o.bias, 1, o.cols, n, x, offs, 1, 0)
	} else {
		clear(offs)
	}
	compress.SplitRows(o.rows, int64(n)*int64(o.rows)*int64(o.cols), func(lo, hi int) {
		// lo is a multiple of 16; hi too, or Rows, whose tile is padded to rpad.
		if hi == o.rows {
			hi = o.rpad
		}
		for b := range n {
			s := sums[b*o.rpad+lo : b*o.rpad+hi]
			for i := range s {
				s[i] = offs[b]
			}
		}
		bsize := blockGroups * o.tstride
		for gb := range o.gpad / blockGroups {
			b := 0
			if o.idx16 == nil && haveAVX2 && useAsm {
				// Two inputs per pass over the block's indices.
				for ; b+2 <= n; b += 2 {
					per := o.rpad * blockGroups
					lutAsm2(tabs[b*tsize+gb*bsize:][:bsize], tabs[(b+1)*tsize+gb*bsize:][:bsize],
						o.idx8[gb*per+lo*blockGroups:gb*per+hi*blockGroups],
						sums[b*o.rpad+lo:b*o.rpad+hi], sums[(b+1)*o.rpad+lo:(b+1)*o.rpad+hi])
				}
			}
			for ; b < n; b++ {
				o.kernel(tabs[b*tsize+gb*bsize:][:bsize], gb, lo, hi, sums[b*o.rpad:(b+1)*o.rpad])
			}
		}
	})
	for b := range n {
		copy(y[b*o.rows:(b+1)*o.rows], sums[b*o.rpad:])
	}
	o.scratch.Put(sp)
}

func (o *Operator) getScratch(n int) *[]float32 {
	if sp, ok := o.scratch.Get().(*[]float32); ok && cap(*sp) >= n {
		*sp = (*sp)[:n]
		return sp
	}
	s := make([]float32, n)
	return &s
}

// tables builds the pair tables of one scaled input xs (gpad·v values) into tab,
// through the per-codebook tables small.
func (o *Operator) tables(xs, small, tab []float32) {
	if haveAVX2 && useAsm {
		tablesAsm(xs, o.ct, small, o.gpad, o.v, o.sw)
	} else {
		tablesGo(xs, o.ct, small, o.gpad, o.v, o.sw)
	}
	switch {
	case o.idx16 != nil: // the per-codebook tables are the tables (tstride = sw)
		copy(tab, small)
	case o.kr == 0:
		for g := range o.gpad {
			copy(tab[g*o.tstride:g*o.tstride+o.k], small[g*o.sw:])
		}
	case haveAVX2 && useAsm && o.k%8 == 0 && o.tstride == tableStride:
		combineAsm(small, tab, o.gpad, o.sw, o.k, o.kr)
	default:
		combineGo(small, tab, o.gpad, o.sw, o.tstride, o.k, o.kr)
	}
}

// tablesGo sets s[g·sw + i] = Σ_t xs[g·v + t]·ct[t·sw + i], the terms added in order
// of t (as the assembly does, which fuses each multiply–add).
func tablesGo(xs, ct, s []float32, groups, v, sw int) {
	for g := range groups {
		sg := s[g*sw : (g+1)*sw]
		clear(sg)
		for t := range v {
			xt := xs[g*v+t]
			row := ct[t*sw : (t+1)*sw]
			for i := range sg {
				sg[i] += xt * row[i]
			}
		}
	}
}

// combineGo sets tab[g·ts + j·k + i] = s[g·sw + i] + s[g·sw + k + j]: the table of
// the codeword pairs.
func combineGo(s, tab []float32, groups, sw, ts, k, kr int) {
	for g := range groups {
		sg, tg := s[g*sw:(g+1)*sw], tab[g*ts:(g+1)*ts]
		for j := range kr {
			rj := sg[k+j]
			for i := range k {
				tg[j*k+i] = sg[i] + rj
			}
		}
	}
}

// kernel adds, for rows lo…hi−1 (multiples of 8), the table entries of block gb's
// groups to sums[lo:hi]; tab holds the block's tables.
func (o *Operator) kernel(tab []float32, gb, lo, hi int, sums []float32) {
	per := o.rpad * blockGroups
	from, to := gb*per+lo*blockGroups, gb*per+hi*blockGroups
	if o.idx16 != nil {
		kernelWideGo(tab, o.idx16[2*from:2*to], sums[lo:hi], o.sw, o.k, o.kr > 0)
		return
	}
	if haveAVX2 && useAsm {
		lutAsm(tab, o.idx8[from:to], sums[lo:hi])
		return
	}
	kernelGo(tab, o.idx8[from:to], sums[lo:hi], o.tstride)
}

// lookupFunc is the signature of the assembly one-input lookup kernels (lutScalar and
// the gather kernels): acc[r] += Σ_g tab[g·256 + idx(r, g)] over one block of groups,
// rows a multiple of 8.
type lookupFunc func(tab *float32, idx *uint8, acc *float32, rows int)

// kernelGo is the pure-Go lookup kernel: for each row, it adds the table entries of
// the block's groups in group order, the order the assembly uses.
func kernelGo[I uint8 | uint16](tab []float32, idx []I, sums []float32, ts int) {
	for t := 0; t < len(sums); t += tileRows {
		p := idx[t*blockGroups : (t+tileRows)*blockGroups]
		for a := range tileRows {
			s := sums[t+a]
			for g := range blockGroups {
				s += tab[g*ts+int(p[g*tileRows+a])]
			}
			sums[t+a] = s
		}
	}
}

// kernelWideGo is the kernel of codebooks with more than 256 codeword pairs: for each
// row, group by group, it adds the codebook table's entry tab[g·sw + i], then the
// residual table's tab[g·sw + k + j], for the index pair (i, j) stored at idx[2p],
// idx[2p+1].
func kernelWideGo(tab []float32, idx []uint16, sums []float32, sw, k int, res bool) {
	for t := 0; t < len(sums); t += tileRows {
		p := idx[2*t*blockGroups : 2*(t+tileRows)*blockGroups]
		for a := range tileRows {
			s := sums[t+a]
			for g := range blockGroups {
				at := 2 * (g*tileRows + a)
				s += tab[g*sw+int(p[at])]
				if res {
					s += tab[g*sw+k+int(p[at+1])]
				}
			}
			sums[t+a] = s
		}
	}
}
