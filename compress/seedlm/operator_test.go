package seedlm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
)

// randomQuantized builds a valid rows×cols matrix in layout s with random seeds,
// exponent codes and coefficients (and, if s.Prune > 0, a random mask keeping about
// 1 − s.Prune of the blocks): the kernels' results and speed do not depend on the
// values being a good fit.
func randomQuantized(rng *rand.Rand, rows, cols int, s Settings) *Quantized {
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, BlockSize: s.BlockSize, Latent: s.Latent,
		SeedBits: s.SeedBits, CoefBits: s.CoefBits, ExpBase: -20}}
	nb := rows * q.blocksPerRow()
	q.Kept = nb
	if s.Prune > 0 {
		q.Pruned, q.Mask, q.Kept = true, make([]bool, nb), 0
		for i := range q.Mask {
			if rng.Float64() >= s.Prune {
				q.Mask[i] = true
				q.Kept++
			}
		}
	}
	q.Seeds, q.Exps, q.Coefs = make([]uint16, q.Kept), make([]uint16, q.Kept), make([]int8, q.Kept*s.Latent)
	for i := range q.Seeds {
		q.Seeds[i], q.Exps[i] = uint16(1+rng.IntN(1<<s.SeedBits-1)), uint16(rng.IntN(ExpCodes))
	}
	half := 1 << (s.CoefBits - 1)
	for i := range q.Coefs {
		q.Coefs[i] = int8(rng.IntN(2*half) - half)
	}
	return q
}

// naiveMul is the float64 reference: y = W·x for n inputs over the decoded matrix w,
// with the bound Σ|w·x| of each output's rounding error.
func naiveMul(w []float32, rows, cols, n int, x []float32) (y, mag []float64) {
	y, mag = make([]float64, n*rows), make([]float64, n*rows)
	for b := range n {
		for r := range rows {
			for c := range cols {
				v := float64(w[r*cols+c]) * float64(x[b*cols+c])
				y[b*rows+r] += v
				mag[b*rows+r] += math.Abs(v)
			}
		}
	}
	return y, mag
}

// kernels returns every kernel set this CPU runs, the Go loops first.
func kernels() []kernelKind {
	var ks []kernelKind
	for k := kernelGo; k <= bestKernel; k++ {
		ks = append(ks, k)
	}
	return ks
}

// checkOperator compares op.Mul for batches 1…5 with the naive product of q.Dense()
// (the matrix dequantized, then dotted in float64), with every kernel set this CPU
// runs (AVX-512, AVX2, Go): every output within 1e-5·Σ|w·x| (float32 sums of at most
// a few thousand terms in another order are far closer than that).
func checkOperator(t *testing.T, q *Quantized, rng *rand.Rand) {
	t.Helper()
	op := NewOperator(q)
	w := q.Dense()
	for _, kern := range kernels() {
		for n := 1; n <= 5; n++ {
			x := codectest.Gaussian(rng, n*q.Cols)
			x[0] = 0 // a zero input is skipped by the Go projection
			want, mag := naiveMul(w, q.Rows, q.Cols, n, x)
			y := make([]float32, n*q.Rows)
			for i := range y {
				y[i] = float32(math.NaN()) // Mul must overwrite every output
			}
			func() {
				defer func(old kernelKind) { kernel = old }(kernel)
				kernel = kern
				op.Mul(n, x, y)
			}()
			for i := range y {
				if d := math.Abs(float64(y[i]) - want[i]); !(d <= 1e-5*mag[i]+1e-30) {
					t.Fatalf("%v, kernel %v, batch %d: y[%d] = %v, naive %v (Σ|w·x| %v)", op, kern, n, i, y[i], want[i], mag[i])
				}
			}
		}
	}
}

func TestOperatorMatchesNaiveProduct(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // parallel Mul even on one CPU
	rng := rand.New(rand.NewPCG(4, 1))
	def := DefaultSettings()
	for _, tc := range []struct {
		rows, cols int
		s          Settings
	}{
		{16, 40, def},
		{1, 1, def},
		{37, 101, def},
		{33, 1203, def}, // more than 64 block columns: several mask words and tiles
		{33, 1203, Settings{BlockSize: def.BlockSize, Latent: def.Latent, SeedBits: def.SeedBits, CoefBits: def.CoefBits, Prune: 0.3}},
		{7, 19, Settings{BlockSize: 6, Latent: 2, SeedBits: 8, CoefBits: 5, Prune: 0.3}},
		{20, 77, Settings{BlockSize: 8, Latent: 3, SeedBits: 16, CoefBits: 4}},             // 32-bit words, K = 16
		{20, 77, Settings{BlockSize: 8, Latent: 4, SeedBits: 12, CoefBits: 4, Prune: 0.5}}, // P = 4
		{19, 70, Settings{BlockSize: 9, Latent: 4, SeedBits: 13, CoefBits: 8}},             // general form: 49 bits
		{19, 70, Settings{BlockSize: 32, Latent: 8, SeedBits: 16, CoefBits: 8, Prune: 0.4}},
		{30, 200, Settings{BlockSize: 12, Latent: 3, SeedBits: 12, CoefBits: 4, Prune: 0.9}},
		{5, 40, Settings{BlockSize: def.BlockSize, Latent: def.Latent, SeedBits: def.SeedBits, CoefBits: def.CoefBits, Prune: 1}}, // nothing kept
		{20, 12*150 + 5, Settings{BlockSize: 12, Latent: 4, SeedBits: 10, CoefBits: 4, Prune: 0.4}},                               // 64-column tiles
		// Above compress.ParallelWork: several workers, row chunks and tiles.
		{300, 3501, def},
		{300, 3501, Settings{BlockSize: def.BlockSize, Latent: def.Latent, SeedBits: def.SeedBits, CoefBits: def.CoefBits, Prune: 0.5}},
	} {
		t.Run(fmt.Sprintf("%dx%d_C%d_P%d_K%d_cb%d_prune%v", tc.rows, tc.cols, tc.s.BlockSize, tc.s.Latent, tc.s.SeedBits, tc.s.CoefBits, tc.s.Prune), func(t *testing.T) {
			checkOperator(t, randomQuantized(rng, tc.rows, tc.cols, tc.s), rng)
		})
	}
}

// Every tail of the kernels' steps: 1…17 block columns (the AVX-512 kernel takes 8 per
// step, the AVX2 one 2 and 4), the last block short or full, rows below and above the
// prefetch distance (8 rows), unpruned and pruned (mask bytes with no kept block).
func TestOperatorTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	def := DefaultSettings()
	for nbc := 1; nbc <= 17; nbc++ {
		for _, short := range []int{0, 5} {
			cols := nbc*def.BlockSize - short
			for _, rows := range []int{1, 7, 11} {
				for _, prune := range []float64{0, 0.6} {
					s := def
					s.Prune = prune
					checkOperator(t, randomQuantized(rng, rows, cols, s), rng)
				}
			}
		}
	}
}

// The exponent base at both ends of Load's range: the assembly scales each row's sum
// by 2^ExpBase in float64, the Go kernel each block by a float32 2^(ExpBase+code).
func TestOperatorExtremeExponents(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	for _, e := range []int{minExpBase, -130, maxExpBase} {
		q := randomQuantized(rng, 9, 70, DefaultSettings())
		q.ExpBase = e
		checkOperator(t, q, rng)
	}
}

// Narrow tiles (a small table budget) give tiles that start inside a mask word and end
// before the last block column.
func TestOperatorNarrowTiles(t *testing.T) {
	defer func(old int) { tableBudget = old }(tableBudget)
	rng := rand.New(rand.NewPCG(5, 1))
	for _, budget := range []int{1, 3 * 4224 * 4, 17 * 4224 * 4} {
		tableBudget = budget
		s := DefaultSettings()
		s.Prune = 0.4
		checkOperator(t, randomQuantized(rng, 21, 8*150+3, s), rng)
		s.Prune = 0
		checkOperator(t, randomQuantized(rng, 21, 8*150+3, s), rng)
	}
}

// A real encoding through the codec, loaded as compress.LoadModel would: the operator
// multiplies by exactly the matrix Decode returns.
func TestEncodeOperatorMatchesRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 2))
	const rows, cols = 48, 90
	w := codectest.Gaussian(rng, rows*cols)
	for _, opts := range []compress.Options{nil, {"prune": 0.25}} {
		c := newCodec(t, opts)
		op, err := compress.EncodeOperator(c, "w", rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		d, err := compress.RoundTrip(c, "w", rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		x := codectest.Gaussian(rng, 3*cols)
		want, mag := naiveMul(d, rows, cols, 3, x)
		y := make([]float32, 3*rows)
		op.Mul(3, x, y)
		for i := range y {
			if math.Abs(float64(y[i])-want[i]) > 1e-5*mag[i] {
				t.Fatalf("opts %v: y[%d] = %v, want %v", opts, i, y[i], want[i])
			}
		}
		if got := op.WeightBytes(); got > int64(rows*cols) {
			t.Errorf("opts %v: %d weight bytes for %d weights, want under one byte per weight", opts, got, rows*cols)
		}
	}
}

func TestMulPanicsOnBadLengths(t *testing.T) {
	op := NewOperator(randomQuantized(rand.New(rand.NewPCG(1, 1)), 4, 10, DefaultSettings()))
	defer func() {
		if recover() == nil {
			t.Error("Mul with a short x did not panic")
		}
	}()
	op.Mul(2, make([]float32, 19), make([]float32, 8))
}

// BenchmarkOperator compares the operator with compress.Dense on the same matrices, at
// batch 1 and 8, in the default layout.
// BenchmarkOperator runs codectest.BenchmarkOperator on random blocks in the default
// layout, unpruned ("prune0") and with a random quarter of the blocks pruned
// ("prune0.25"; Gweights/s counts the pruned weights too).
func BenchmarkOperator(b *testing.B) {
	for _, prune := range []float64{0, 0.25} {
		b.Run(fmt.Sprintf("prune%v", prune), func(b *testing.B) {
			codectest.BenchmarkOperator(b, []int{1, 8}, func(rows, cols int) (compress.Operator, []float32) {
				s := DefaultSettings()
				s.Prune = prune
				q := randomQuantized(rand.New(rand.NewPCG(1, 1)), rows, cols, s)
				return NewOperator(q), q.Dense()
			})
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	w := codectest.Gaussian(rand.New(rand.NewPCG(2, 2)), 256*784)
	NewBases(DefaultSettings().SeedBits, DefaultSettings().BlockSize, DefaultSettings().Latent)
	for b.Loop() {
		Quantize(w, 256, 784, DefaultSettings())
	}
	b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mweights/s")
}

func BenchmarkNewBases(b *testing.B) {
	s := DefaultSettings()
	for b.Loop() {
		basesMu.Lock()
		clear(basesCache)
		basesMu.Unlock()
		NewBases(s.SeedBits, s.BlockSize, s.Latent)
	}
}

// BenchmarkKernels measures, on one core and for each kernel set this CPU runs, the
// two terms of the package doc's cost model at 4096×4096 in the default layout:
// building one input's projection table for every block column ("project",
// multiply–adds per ns) and the tile kernel over every block of the matrix with the
// tables built ("tile", ns per kept block and weights per ns), unpruned and with a
// random half or three quarters of the blocks pruned.
func BenchmarkKernels(b *testing.B) {
	for _, kern := range kernels() {
		b.Run(kern.String(), func(b *testing.B) {
			defer func(old kernelKind) { kernel = old }(kernel)
			kernel = kern
			benchmarkKernels(b)
		})
	}
}

func benchmarkKernels(b *testing.B) {
	const rows, cols = 4096, 4096
	for _, prune := range []float64{0, 0.5, 0.75} {
		s := DefaultSettings()
		s.Prune = prune
		rng := rand.New(rand.NewPCG(1, 1))
		q := randomQuantized(rng, rows, cols, s)
		op := NewOperator(q)
		x := codectest.Gaussian(rng, cols)
		y := make([]float32, rows)
		_, tw := op.tiling(1)
		st := op.stride()
		sc := &mulScratch{tab: make([]float32, tw*st), cursor: make([]int32, rows)}
		if prune == 0 {
			b.Run("project", func(b *testing.B) {
				for b.Loop() {
					for j := range op.nbc {
						op.project(sc.tab[(j%tw)*st:(j%tw+1)*st], x, j)
					}
				}
				b.ReportMetric(float64(op.nbc*st*s.BlockSize)*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "MAC/ns")
			})
		}
		b.Run(fmt.Sprintf("tile/prune%v", prune), func(b *testing.B) {
			for b.Loop() {
				if op.mask != nil {
					copy(sc.cursor, op.rowStart[:rows])
				}
				for j0 := 0; j0 < op.nbc; j0 += tw {
					op.tileWords(sc, 1, tw, st, sc.tab, rows, y, 0, rows, j0, min(j0+tw, op.nbc))
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/float64(q.Kept), "ns/block")
			b.ReportMetric(float64(rows*cols)/ns, "weights/ns")
		})
	}
}

// BenchmarkPruned runs Mul at 16384×4096, batch 1, with none, a quarter, half and three
// quarters of the blocks pruned (random masks; Gweights/s counts all weights, pruned
// ones too).
func BenchmarkPruned(b *testing.B) {
	const rows, cols = 16384, 4096
	rng := rand.New(rand.NewPCG(2, 1))
	x := codectest.Gaussian(rng, cols)
	y := make([]float32, rows)
	for _, prune := range []float64{0, 0.25, 0.5, 0.75} {
		s := DefaultSettings()
		s.Prune = prune
		op := NewOperator(randomQuantized(rng, rows, cols, s))
		b.Run(fmt.Sprintf("prune%v", prune), func(b *testing.B) {
			op.Mul(1, x, y)
			for b.Loop() {
				op.Mul(1, x, y)
			}
			b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
		})
	}
}

// A stored layout with more than 8 coefficients per block (the option's range, and what
// the kernels' bases are sized for) is refused at load, by Load (so Decode) and by
// LoadOperator, instead of failing inside a kernel.
func TestLoadRejectsLatentAbove8(t *testing.T) {
	for _, s := range []Settings{{BlockSize: 10, Latent: 9, SeedBits: 4, CoefBits: 2}, {BlockSize: 32, Latent: 31, SeedBits: 16, CoefBits: 8}} {
		q := randomQuantized(rand.New(rand.NewPCG(1, 2)), 3, 40, s)
		meta, err := compress.EncodeLayout("w"+LayoutSuffix, q.Layout)
		if err != nil {
			t.Fatal(err)
		}
		get := codectest.Lookup(q.Tensors("w"))
		if _, err := Load("w", meta, get); err == nil || !strings.Contains(err.Error(), "sizes out of range") {
			t.Errorf("latent %d: Load err = %v", s.Latent, err)
		}
		if _, err := (&Codec{}).LoadOperator("w", meta, get); err == nil {
			t.Errorf("latent %d: LoadOperator accepted the layout", s.Latent)
		}
	}
}
