package vptq

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
)

// withKernels runs f once with each kernel set this machine has: the pure-Go fallback
// and, if the CPU has AVX2 and FMA, the assembly.
func withKernels(t *testing.T, f func(t *testing.T)) {
	defer func(old bool) { useAsm = old }(useAsm)
	useAsm = false
	t.Run("go", f)
	if haveAVX2 {
		useAsm = true
		t.Run("asm", f)
	}
}

// naiveProduct is the float64 product of the row-major rows×cols matrix w with n inputs.
func naiveProduct(w []float32, rows, cols, n int, x []float32) (y, mag []float64) {
	y, mag = make([]float64, n*rows), make([]float64, n*rows)
	for b := range n {
		for r := range rows {
			var s, m float64
			for c := range cols {
				p := float64(w[r*cols+c]) * float64(x[b*cols+c])
				s += p
				m += math.Abs(p)
			}
			y[b*rows+r], mag[b*rows+r] = s, m
		}
	}
	return y, mag
}

// checkOperator checks op on 1…maxN inputs against a float64 product of d, the
// matrix Decode returns.
func checkOperator(t *testing.T, op compress.Operator, d []float32, maxN int, rng *rand.Rand) {
	t.Helper()
	rows, cols := op.Rows(), op.Cols()
	for n := 1; n <= maxN; n++ {
		x := codectest.Gaussian(rng, n*cols)
		want, mag := naiveProduct(d, rows, cols, n, x)
		y := make([]float32, n*rows)
		op.Mul(n, x, y)
		for i := range y {
			if e := math.Abs(float64(y[i]) - want[i]); e > 1e-5*mag[i]+1e-30 {
				t.Fatalf("%d×%d, n=%d: y[%d] = %v, decoded product %v (error %.3g, Σ|w·x| %.3g)",
					rows, cols, n, i, y[i], want[i], e, mag[i])
			}
		}
	}
}

// The operator computes the product of the matrix Decode returns (checked against a
// float64 product of it) for odd shapes — rows not a multiple of 8, columns not a
// multiple of v, fewer columns than v, groups not a multiple of 16 — every kind of
// table (pair tables of ≤ 256 entries, with and without the assembly combiner,
// per-codebook tables with two-byte indices — pairs of up to 18 bits — one codebook
// alone), with and without normalization, for
// 1…5 inputs, on every kernel.
func TestOperatorMatchesDecodedMatrix(t *testing.T) {
	cases := []struct {
		rows, cols int
		opts       compress.Options
	}{
		{37, 50, nil},
		{16, 64, nil},
		{1, 3, nil}, // cols < v
		{130, 77, compress.Options{"vector_length": 3, "codebook_bits": 3, "residual_bits": 3}},
		{21, 9, compress.Options{"vector_length": 8, "codebook_bits": 3, "residual_bits": 0, "normalize": 0}},
		{5, 7, compress.Options{"vector_length": 1, "codebook_bits": 2}}, // k = 4: Go combiner
		{300, 33, compress.Options{"residual_bits": 0, "codebook_bits": 8}},
		{40, 31, compress.Options{"codebook_bits": 5, "residual_bits": 4}}, // per-codebook tables, two-byte indices
		{19, 140, compress.Options{"vector_length": 2, "codebook_bits": 9, "residual_bits": 0, "iterations": 2}},
		{33, 20, compress.Options{"vector_length": 1, "codebook_bits": 10, "residual_bits": 8, "iterations": 1}}, // 18-bit pairs
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for _, tc := range cases {
		w := codectest.Gaussian(rng, tc.rows*tc.cols)
		for i := range w { // columns of different scales and offsets
			w[i] = w[i]*float32(1+i%tc.cols%5) + 0.01*float32(i%tc.cols%3)
		}
		c, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		op, err := compress.EncodeOperator(c, "w", tc.rows, tc.cols, w)
		if err != nil {
			t.Fatal(err)
		}
		d, err := compress.RoundTrip(c, "w", tc.rows, tc.cols, w)
		if err != nil {
			t.Fatal(err)
		}
		withKernels(t, func(t *testing.T) { checkOperator(t, op, d, 5, rng) })
	}
}

// Large products split their rows across cores (compress.SplitRows, boundaries on
// multiples of 16) and walk several blocks of groups; the result is still the decoded
// matrix's product.
func TestOperatorSplitMatchesDecodedMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const rows, cols = 1003, 1100 // above compress.ParallelWork
	c, _ := New(compress.Options{"iterations": 3})
	w := codectest.Gaussian(rng, rows*cols)
	op, err := compress.EncodeOperator(c, "w", rows, cols, w)
	if err != nil {
		t.Fatal(err)
	}
	d, err := compress.RoundTrip(c, "w", rows, cols, w)
	if err != nil {
		t.Fatal(err)
	}
	withKernels(t, func(t *testing.T) { checkOperator(t, op, d, 3, rng) })
}

// The assembly kernels against the pure-Go ones on the same inputs. The lookup kernel
// adds the same float32 values in the same order, and the combiner does the same
// additions, so their outputs are identical; the tables differ by the rounding of fused
// multiply–adds.
func TestAsmMatchesGo(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(10, 10))
	for _, rows := range []int{8, 16, 24, 72, 800, 808} {
		tab := codectest.Gaussian(rng, blockGroups*tableStride)
		idx := make([]uint8, rows*blockGroups)
		for i := range idx {
			idx[i] = uint8(rng.IntN(tableStride))
		}
		start := codectest.Gaussian(rng, rows)
		want := slices.Clone(start)
		kernelGo(tab, idx, want, tableStride)
		// Every one-input kernel (scalar, and the gathers where the CPU has AVX-512).
		for name, k := range lookupKernels() {
			saved := lookupKernel
			lookupKernel = k
			got := slices.Clone(start)
			lutAsm(tab, idx, got)
			lookupKernel = saved
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("rows=%d, kernel %s: sum %d = %v, Go kernel %v", rows, name, i, got[i], want[i])
				}
			}
		}
		// Two inputs at once: the second with its own tables and sums.
		tab1 := codectest.Gaussian(rng, blockGroups*tableStride)
		start1 := codectest.Gaussian(rng, rows)
		want1 := slices.Clone(start1)
		kernelGo(tab1, idx, want1, tableStride)
		got0, got1 := slices.Clone(start), slices.Clone(start1)
		lutAsm2(tab, tab1, idx, got0, got1)
		if !slices.Equal(got0, want) || !slices.Equal(got1, want1) {
			t.Fatalf("rows=%d: two-input kernel differs from the Go kernel", rows)
		}
	}
	for _, tc := range []struct{ groups, v, sw, k, kr int }{{1, 1, 8, 8, 0}, {3, 4, 32, 16, 16}, {17, 3, 40, 32, 8}, {16, 16, 256, 256, 0}, {5, 2, 16, 8, 2}} {
		xs, ct := codectest.Gaussian(rng, tc.groups*tc.v), codectest.Gaussian(rng, tc.v*tc.sw)
		sa, sg := make([]float32, tc.groups*tc.sw), make([]float32, tc.groups*tc.sw)
		tablesAsm(xs, ct, sa, tc.groups, tc.v, tc.sw)
		tablesGo(xs, ct, sg, tc.groups, tc.v, tc.sw)
		for i := range sa {
			if math.Abs(float64(sa[i]-sg[i])) > 1e-6*float64(tc.v) {
				t.Fatalf("tables %+v: entry %d = %v, Go %v", tc, i, sa[i], sg[i])
			}
		}
		if tc.kr == 0 {
			continue
		}
		ta, tg := make([]float32, tc.groups*tableStride), make([]float32, tc.groups*tableStride)
		combineAsm(sg, ta, tc.groups, tc.sw, tc.k, tc.kr)
		combineGo(sg, tg, tc.groups, tc.sw, tableStride, tc.k, tc.kr)
		if !slices.Equal(ta, tg) {
			t.Fatalf("combine %+v: assembly and Go tables differ", tc)
		}
	}
}

// Pair indices of up to 8 bits are stored as bytes, larger ones as two bytes, and
// WeightBytes counts the index bytes, the transposed codebooks and the column
// statistics.
func TestOperatorLayoutAndWeightBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	const rows, cols = 40, 30 // 8 groups of 4, padded to 16; rows padded to 40
	w := codectest.Gaussian(rng, rows*cols)
	for _, tc := range []struct {
		opts  compress.Options
		wide  bool
		bytes int64
	}{
		{compress.Options{"vector_length": 4, "codebook_bits": 4, "residual_bits": 4}, false, 16*40 + 4*(4*32+60)},
		{compress.Options{"vector_length": 4, "codebook_bits": 8, "residual_bits": 0, "normalize": 0}, false, 16*40 + 4*(4*256)},
		// Per-codebook tables: two 2-byte indices per vector.
		{compress.Options{"vector_length": 4, "codebook_bits": 5, "residual_bits": 4}, true, 2*2*16*40 + 4*(4*48+60)},
		{compress.Options{"vector_length": 4, "codebook_bits": 2, "residual_bits": 2}, false, 16*40 + 4*(4*8+60)},
	} {
		c, _ := New(tc.opts)
		op, err := compress.EncodeOperator(c, "w", rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		o := op.(*Operator)
		if (o.idx16 != nil) != tc.wide {
			t.Errorf("%v: two-byte indices %v, want %v", tc.opts, o.idx16 != nil, tc.wide)
		}
		if got := o.WeightBytes(); got != tc.bytes {
			t.Errorf("%v: WeightBytes %d, want %d", tc.opts, got, tc.bytes)
		}
	}
}

// Operators are safe for concurrent use: products run at once on one operator (each
// with its own per-call scratch) give the results they give one at a time.
func TestOperatorConcurrentMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	const rows, cols, workers = 70, 90, 4
	c, _ := New(nil)
	op, err := compress.EncodeOperator(c, "w", rows, cols, codectest.Gaussian(rng, rows*cols))
	if err != nil {
		t.Fatal(err)
	}
	xs, want := make([][]float32, workers), make([][]float32, workers)
	for i := range workers {
		xs[i] = codectest.Gaussian(rng, (i+1)*cols)
		want[i] = make([]float32, (i+1)*rows)
		op.Mul(i+1, xs[i], want[i])
	}
	got := make([][]float32, workers)
	var wg sync.WaitGroup
	for i := range workers {
		got[i] = make([]float32, (i+1)*rows)
		wg.Go(func() {
			for range 50 {
				op.Mul(i+1, xs[i], got[i])
			}
		})
	}
	wg.Wait()
	for i := range workers {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("worker %d: concurrent products differ from sequential ones", i)
		}
	}
}

// Batches larger than one pass of tables (maxBatch) run in passes and give the same
// products; a layout whose per-input tables would dwarf its file is refused at load.
func TestLargeBatchesAndOversizedTables(t *testing.T) {
	q := randomQuantized(37, 50)
	checkOperator(t, NewOperator(q), q.Dense(), 2*maxBatch+3, rand.New(rand.NewPCG(5, 6)))

	l := Layout{Rows: 1, Cols: 1 << 18, VectorLength: 1, CodebookBits: 1, Orientation: Rows}
	small := &Quantized{Layout: l, Codebook: []float32{0, 1}, Indices: make([]uint16, l.Cols)}
	meta, err := compress.EncodeLayout("w"+LayoutSuffix, l)
	if err != nil {
		t.Fatal(err)
	}
	get := codectest.Lookup(small.Tensors("w"))
	if _, err := Load("w", meta, get); err != nil {
		t.Fatalf("Load of the small layout: %v", err)
	}
	_, err = (&Codec{}).LoadOperator("w", meta, get)
	if err == nil || !strings.Contains(err.Error(), "lookup tables per input") {
		t.Errorf("LoadOperator of a 2^18-column, 1-bit layout: err = %v, want a refusal naming the tables", err)
	}
}
