package bitnet

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/evomerge/evomerge/compress"
)

// In-memory kernel layout. Loading a matrix repacks its stored codes (2-bit or 1.6-bit,
// see the package doc) once into the layout the integer kernel reads, at 2 bits per
// weight:
//
//   - each code is u = w̃+1 ∈ {0, 1, 2}, unsigned, so that an unsigned×signed byte dot
//     product (VPDPBUSD) computes Σ u·q = Σ w̃·q + Σ q, and Σ q is subtracted once;
//   - a row is cut into chunks of 64 columns (the last one padded with u = 1, a zero
//     weight, and zero inputs), 16 bytes each; a kernel loads g chunks at once (g = 1, 2
//     or 4, its group), and in every whole group of g chunks bits 2s, 2s+1 of the
//     group's byte j hold column 16·g·s + j of the group, so one shift and one mask turn
//     16·g bytes into 16·g codes of consecutive columns, multiplied by consecutive inputs
//     in their natural order (chunks after the last whole group use g = 1). The layout
//     depends on the kernel, which is fixed when the matrix is loaded;
//   - rows are padded to a multiple of 4 (zero weights) so the kernel always works on
//     four rows at once, reusing each loaded input for all four.
const (
	chunkCols  = 64
	chunkBytes = chunkCols / 4
	rowBlock   = 4
)

// Ternary is a BitNet b1.58 matrix ready for inference: the compress.Operator of the
// bitnet codec. Mul quantizes each input to int8 (QuantizeActivations) and multiplies
// with integer arithmetic from the 2-bit codes:
//
//	y_r = γ_r · (1/s) · Σ_c w̃_rc · q_c
//
// exactly (the integer sum is exact; only the final scaling rounds), so the fast path and
// the pure-Go fallback give bit-identical results.
type Ternary struct {
	rows, cols int
	chunks     int       // ⌈cols/64⌉
	codes      []byte    // ⌈rows/4⌉·4 rows × chunks·16 bytes, kernel layout
	scale      []float32 // γ_r per row, or the one γ of the matrix
	kernel     kernel    // the kernel the layout is for (kernelFor at load)
	scratch    sync.Pool // *mulScratch
}

type mulScratch struct {
	q   []int8
	acc []int32
	inv []float32
	sum []int32
	// The bias and ReLU of the MulBias call in progress.
	bias []float32
	relu bool
}

// Rows returns the number of outputs.
func (t *Ternary) Rows() int { return t.rows }

// Cols returns the number of inputs.
func (t *Ternary) Cols() int { return t.cols }

// WeightBytes counts the kernel-layout codes (padding included) and the scales.
func (t *Ternary) WeightBytes() int64 {
	return int64(len(t.codes)) + 4*int64(len(t.scale))
}

// newTernary builds the operator from ternary codes, one row at a time: row(r, dst)
// writes the codes −1/0/+1 of row r into dst (len cols). scale holds one γ or one per row.
func newTernary(rows, cols int, scale []float32, row func(r int, dst []int8)) *Ternary {
	chunks := (cols + chunkCols - 1) / chunkCols
	stride := chunks * chunkBytes
	rowsP := (rows + rowBlock - 1) / rowBlock * rowBlock
	// The codes and the inputs start on a cache line, so vector loads of rows whose
	// length is a multiple of 64 bytes never straddle two lines.
	t := &Ternary{rows: rows, cols: cols, chunks: chunks, codes: aligned[byte](rowsP * stride), scale: scale, kernel: kernelFor(rowsP * stride)}
	g := t.kernel.group
	full := chunks / g * g
	buf := make([]int8, chunks*chunkCols)
	for r := range rowsP {
		clear(buf)
		if r < rows {
			row(r, buf[:cols])
		}
		out := t.codes[r*stride : (r+1)*stride]
		for c0 := 0; c0 < chunks; {
			n := g // chunks packed together
			if c0 >= full {
				n = 1
			}
			packGroup(out[c0*chunkBytes:(c0+n)*chunkBytes], buf[c0*chunkCols:(c0+n)*chunkCols])
			c0 += n
		}
	}
	return t
}

// packGroup packs the codes w (64·n columns, n chunks) into o (16·n bytes): bits 2s, 2s+1
// of byte j hold u = w+1 of column 16·n·s + j.
func packGroup(o []byte, w []int8) {
	q := len(o)
	for j := range o {
		o[j] = byte(w[j]+1) | byte(w[q+j]+1)<<2 | byte(w[2*q+j]+1)<<4 | byte(w[3*q+j]+1)<<6
	}
}

// Mul sets y = W·x for n inputs; see compress.Operator. Each input is quantized to int8
// on its own (per-token absmax). Large products split their rows across cores.
func (t *Ternary) Mul(n int, x, y []float32) {
	compress.CheckMul("bitnet.Ternary.Mul", t, n, x, y)
	t.mul(n, x, y, nil, false)
}

// MulBias sets y = W·x + bias for each of the n inputs, then y = max(y, 0) when relu: a
// layer of an MLP in one call, with the bias and the ReLU applied in the pass that scales
// the integer sums back to float32. The result is bit for bit that of Mul followed by
// y[i] += bias[i] and y[i] = max(y[i], 0) (Go's max: a NaN stays NaN). It panics if
// len(bias) ≠ Rows() or x, y have the wrong lengths.
func (t *Ternary) MulBias(n int, x, y, bias []float32, relu bool) {
	compress.CheckMul("bitnet.Ternary.MulBias", t, n, x, y)
	if len(bias) != t.rows {
		panic(fmt.Sprintf("bitnet.Ternary.MulBias: %d biases for %d rows", len(bias), t.rows))
	}
	t.mul(n, x, y, bias, relu)
}

// mul is Mul (bias nil, relu false) and MulBias, after the argument checks.
func (t *Ternary) mul(n int, x, y, bias []float32, relu bool) {
	if n == 0 || t.rows == 0 {
		return
	}
	if t.chunks == 0 { // no columns: W·x = 0 (no codes for the kernels to read)
		for b := range n {
			row := y[b*t.rows : (b+1)*t.rows]
			for i := range row {
				v := float32(0)
				if bias != nil {
					v += bias[i]
				}
				if relu {
					v = max(v, 0)
				}
				row[i] = v
			}
		}
		return
	}
	s, _ := t.scratch.Get().(*mulScratch)
	if s == nil {
		s = &mulScratch{}
	}
	xlen := t.chunks * chunkCols
	blocks := len(t.codes) / (rowBlock * t.chunks * chunkBytes)
	if cap(s.q) < n*xlen {
		s.q = aligned[int8](n * xlen)
	}
	s.q = s.q[:n*xlen]
	s.acc = grow(s.acc, n*blocks*rowBlock)
	s.inv, s.sum = grow(s.inv, n), grow(s.sum, n)
	s.bias, s.relu = bias, relu
	inv, sum := s.inv, s.sum
	for b := range n {
		q := s.q[b*xlen : (b+1)*xlen]
		inv[b], sum[b] = QuantizeActivations(x[b*t.cols:(b+1)*t.cols], q)
		clear(q[t.cols:])
	}
	rows, work := blocks*rowBlock, int64(n)*int64(t.rows)*int64(t.cols)
	if compress.Serial(rows, work) {
		t.mulRows(s, n, y, 0, rows) // no escaping closure: no allocation per call
	} else {
		compress.SplitRows(rows, work, func(lo, hi int) { t.mulRows(s, n, y, lo, hi) })
	}
	s.bias = nil
	t.scratch.Put(s)
}

// mulRows is Mul's work on row blocks [lo, hi) for the n inputs already quantized into s.
func (t *Ternary) mulRows(s *mulScratch, n int, y []float32, lo, hi int) {
	k := t.kernel
	xlen := t.chunks * chunkCols
	blocks := len(t.codes) / (rowBlock * t.chunks * chunkBytes)
	stride := t.chunks * chunkBytes
	inv, sum := s.inv, s.sum
	// Row tiles of 64 rows (16 KiB of codes at 4096 columns) stay in cache while every
	// input of the batch passes over them; a single input takes all rows at once (one
	// kernel call and one scale-back pass: what small layers pay per call).
	tile := 64
	if n == 1 {
		tile = max(hi-lo, 1)
	}
	for r0 := lo; r0 < hi; r0 += tile {
		r1 := min(hi, r0+tile)
		codes := t.codes[r0*stride : r1*stride]
		accOf := func(b int) []int32 { return s.acc[b*blocks*rowBlock+r0 : b*blocks*rowBlock+r1] }
		qOf := func(b int) []int8 { return s.q[b*xlen : (b+1)*xlen] }
		b := 0
		if k.rows2 != nil {
			for ; b+1 < n; b += 2 {
				k.rows2(codes, stride, t.chunks, qOf(b), qOf(b+1), accOf(b), accOf(b+1))
			}
		}
		for ; b < n; b++ {
			k.rows(codes, stride, t.chunks, qOf(b), accOf(b))
		}
		if e := min(r1, t.rows); e > r0 {
			var bias []float32
			if s.bias != nil {
				bias = s.bias[r0:e]
			}
			for b := range n {
				scaleOut(y[b*t.rows+r0:b*t.rows+e], accOf(b)[:e-r0], t.rowScales(r0, e), bias, sum[b], inv[b], s.relu)
			}
		}
	}
}

// rowScales returns the scales of rows [lo, hi): theirs, or the matrix's one γ.
func (t *Ternary) rowScales(lo, hi int) []float32 {
	if len(t.scale) == 1 {
		return t.scale
	}
	return t.scale[lo:hi]
}

// scaleOut sets y[i] = (acc[i] − sum)·scale[i]·inv, or with scale[0] for every i when
// scale holds one value: the integer dot products back to float32 (len(acc) ≥ len(y)).
// With a bias (len(bias) ≥ len(y)) it adds bias[i], and with relu it then takes
// max(·, 0): the fastest implementation this CPU runs (kernel_amd64.go), bit-identical
// to scaleOutGo.
var scaleOut = scaleOutGo

// scaleOutGo is scaleOut in Go, the reference for the assembly. The explicit float32
// conversions round each product on its own, so no compiler may fuse it with the bias
// addition.
func scaleOutGo(y []float32, acc []int32, scale, bias []float32, sum int32, inv float32, relu bool) {
	acc = acc[:len(y)]
	if bias != nil {
		bias = bias[:len(y)]
	}
	g := scale[0] * inv
	for i := range y {
		if len(scale) != 1 {
			g = scale[i] * inv
		}
		v := float32(float32(acc[i]-sum) * g)
		if bias != nil {
			v += bias[i]
		}
		if relu {
			v = max(v, 0)
		}
		y[i] = v
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// aligned returns a zeroed slice of n one-byte elements starting on a 64-byte boundary.
func aligned[T byte | int8](n int) []T {
	buf := make([]T, n+63)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & 63)
	return buf[off : off+n : off+n]
}

// kernel is one implementation of the integer row kernel.
type kernel struct {
	name string
	// group is the number of 64-column chunks the kernel loads at once: the code layout
	// newTernary packs for it.
	group int
	// rows computes, for the consecutive rows whose kernel-layout codes are codes (a
	// multiple of 4 rows, stride bytes each, chunks chunks per row), acc[i] = Σ_c u_ic·q_c
	// over all chunks·64 columns.
	rows func(codes []byte, stride, chunks int, q []int8, acc []int32)
	// rows2, if not nil, is rows for two inputs at once (each row decoded once).
	rows2 func(codes []byte, stride, chunks int, q0, q1 []int8, acc0, acc1 []int32)
}

// genericKernel is the pure-Go kernel, the reference for the assembly ones.
var genericKernel = kernel{name: "go", group: 1, rows: rowsGeneric}

func rowsGeneric(codes []byte, stride, chunks int, q []int8, acc []int32) {
	for i := range len(codes) / stride {
		row := codes[i*stride : (i+1)*stride]
		var sum int32
		for c := range chunks {
			ch := row[c*chunkBytes : (c+1)*chunkBytes : (c+1)*chunkBytes]
			x := q[c*chunkCols : (c+1)*chunkCols : (c+1)*chunkCols]
			for j, b := range ch {
				sum += int32(b&3)*int32(x[j]) + int32(b>>2&3)*int32(x[16+j]) +
					int32(b>>4&3)*int32(x[32+j]) + int32(b>>6)*int32(x[48+j])
			}
		}
		acc[i] = sum
	}
}

// activeKernel is the fastest kernel this CPU runs (set in kernel_amd64.go), and
// smallKernel, if not nil, a faster one for matrices of at most smallCodeBytes of codes,
// which stay in cache between products.
var (
	activeKernel = genericKernel
	smallKernel  *kernel
)

// smallCodeBytes is the largest matrix (kernel-layout codes) smallKernel takes. On the
// Xeon of the README (Mul, batch 1, same runs), avx512vnni-b against avx512vnni: 256×784
// 2.6 against 3.2 µs (13 chunks per row: no tail chunks paid for as whole groups),
// 256×256 0.8–1.1 against 1.3–1.5, 512×1024 (128 KiB) 6.9–7.0 against 7.2–7.4, 1024×1024
// even, 2048×2048 74–83 against 49–51 µs: it loads 16 bytes of codes at a time and does
// not prefetch. Such a matrix has at most 2^17 columns, well inside the 2^20 its int32
// lanes hold.
const smallCodeBytes = 128 << 10

// kernelFor is the kernel for a matrix of codeBytes bytes of kernel-layout codes.
func kernelFor(codeBytes int) kernel {
	if smallKernel != nil && codeBytes <= smallCodeBytes {
		return *smallKernel
	}
	return activeKernel
}

// useKernel makes k the only kernel newTernary picks, until restore is called (tests).
func useKernel(k kernel) (restore func()) {
	a, s := activeKernel, smallKernel
	activeKernel, smallKernel = k, nil
	return func() { activeKernel, smallKernel = a, s }
}

// KernelName names the integer kernels in use: "avx512vnni" (with "+avx512vnni-b" for
// small matrices), "avx2" or "go".
func KernelName() string {
	if smallKernel != nil {
		return activeKernel.name + "+" + smallKernel.name
	}
	return activeKernel.name
}

// String describes the operator.
func (t *Ternary) String() string {
	return fmt.Sprintf("bitnet %d×%d (%s kernel)", t.rows, t.cols, t.kernel.name)
}
