package compress_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/f32"
)

func gaussian32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// checkDenseMul compares Dense.Mul on n inputs with a float64 naive product: every
// output must be within 1e-5·Σ|w·x| of the exact sum.
func checkDenseMul(t *testing.T, rng *rand.Rand, rows, cols, n int) {
	t.Helper()
	w, x := gaussian32(rng, rows*cols), gaussian32(rng, n*cols)
	y := make([]float32, n*rows)
	for i := range y {
		y[i] = float32(math.NaN()) // every output must be written
	}
	compress.NewDense(rows, cols, w).Mul(n, x, y)
	for b := range n {
		for r := range rows {
			var want, mag float64
			for c := range cols {
				p := float64(w[r*cols+c]) * float64(x[b*cols+c])
				want += p
				mag += math.Abs(p)
			}
			got := y[b*rows+r]
			if d := math.Abs(float64(got) - want); !(d <= 1e-5*mag) {
				t.Fatalf("%dx%d n=%d: y[%d][%d] = %v, want %v (error %.3g of Σ|w·x| = %.3g)", rows, cols, n, b, r, got, want, d, mag)
			}
		}
	}
}

// TestDenseMulOddShapes checks Dense.Mul against the naive product on shapes that are
// not multiples of the kernels' row blocks (4) or vector widths (8, 16), for 0 to 5
// inputs.
func TestDenseMulOddShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][2]int{{1, 1}, {1, 17}, {3, 5}, {5, 33}, {7, 100}, {13, 257}, {31, 784}, {33, 1}, {10, 0}} {
		for n := 0; n <= 5; n++ {
			checkDenseMul(t, rng, sh[0], sh[1], n)
		}
	}
}

// TestDenseMulSplit checks Dense.Mul on products big enough for SplitRows to split
// their rows across goroutines (with GOMAXPROCS at least 2), including a row count
// whose last range is short and a batch of several kernel calls.
func TestDenseMulSplit(t *testing.T) {
	defer runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct{ rows, cols, n int }{{1037, 1031, 1}, {517, 2049, 3}, {301, 1500, 7}} {
		if work := int64(c.rows * c.cols * c.n); work < compress.ParallelWork {
			t.Fatalf("%dx%d n=%d: %d multiply–adds do not reach ParallelWork = %d: the test no longer splits", c.rows, c.cols, c.n, work, compress.ParallelWork)
		}
		checkDenseMul(t, rng, c.rows, c.cols, c.n)
	}
}

// TestSplitRows checks that SplitRows covers every row exactly once, in ranges that
// start on multiples of 16, with one call below ParallelWork and one range per CPU
// above it.
func TestSplitRows(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	for _, rows := range []int{1, 31, 32, 33, 100, 4096, 4097} {
		for _, work := range []int64{0, compress.ParallelWork - 1, compress.ParallelWork} {
			var mu sync.Mutex
			seen := make([]int, rows)
			calls := 0
			compress.SplitRows(rows, work, func(lo, hi int) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if lo%16 != 0 || lo >= hi {
					t.Errorf("rows=%d: range [%d, %d)", rows, lo, hi)
				}
				for r := lo; r < hi; r++ {
					seen[r]++
				}
			})
			for r, k := range seen {
				if k != 1 {
					t.Fatalf("rows=%d work=%d: row %d covered %d times", rows, work, r, k)
				}
			}
			want := 1
			if work >= compress.ParallelWork && rows >= 32 {
				want = 2
			}
			if calls != want {
				t.Errorf("rows=%d work=%d: %d calls, want %d", rows, work, calls, want)
			}
		}
	}
}

// denseShapes are the shapes of codectest.GEMVShapes: the demo MLP's first layer, a
// square layer and an LLM-sized projection.
var denseShapes = [][2]int{{256, 784}, {4096, 4096}, {16384, 4096}}

// goLoop is the product as Dense computed it before its assembly kernels: the same
// row split, the pure-Go loop.
type goLoop struct{ *compress.Dense }

func (g goLoop) Mul(n int, x, y []float32) {
	rows, cols, w := g.Rows(), g.Cols(), g.Weights()
	compress.SplitRows(rows, int64(n*rows*cols), func(lo, hi int) {
		f32.GemmGeneric(w[lo*cols:hi*cols], hi-lo, cols, n, x, y, rows, lo)
	})
}

// BenchmarkDense times Dense.Mul ("dense") and the pure-Go loop it replaced
// ("goloop") at each shape, batch 1 and 8, alternating them, in Gweights/s (weights ×
// inputs per second) and GB/s of weights. Run it with -cpu 1,2 for one and two threads.
func BenchmarkDense(b *testing.B) {
	for _, sh := range denseShapes {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
		d := compress.NewDense(rows, cols, gaussian32(rng, rows*cols))
		for _, n := range []int{1, 8} {
			x, y := gaussian32(rng, n*cols), make([]float32, n*rows)
			for _, op := range []struct {
				name string
				op   compress.Operator
			}{{"dense", d}, {"goloop", goLoop{d}}} {
				b.Run(fmt.Sprintf("%s/%dx%d/b%d", op.name, rows, cols, n), func(b *testing.B) {
					op.op.Mul(n, x, y)
					for b.Loop() {
						op.op.Mul(n, x, y)
					}
					s := b.Elapsed().Seconds()
					b.ReportMetric(float64(rows*cols*n)*float64(b.N)/s/1e9, "Gweights/s")
					b.ReportMetric(float64(4*rows*cols)*float64(b.N)/s/1e9, "GB/s")
				})
			}
		}
	}
}

// BenchmarkSplitCrossover times one-input products of growing size run on one
// goroutine ("one") and split across GOMAXPROCS goroutines ("split"), alternating:
// where split starts to win is the ParallelWork threshold. Run it with -cpu 2.
func BenchmarkSplitCrossover(b *testing.B) {
	for _, sh := range [][2]int{{64, 512}, {128, 512}, {128, 784}, {256, 784}, {512, 784}, {512, 1024}, {1024, 1024}, {2048, 1024}, {2048, 2048}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
		w, x, y := gaussian32(rng, rows*cols), gaussian32(rng, cols), make([]float32, rows)
		for _, mode := range []struct {
			name string
			work int64
		}{{"one", 0}, {"split", math.MaxInt64}} {
			b.Run(fmt.Sprintf("%s/%dx%d", mode.name, rows, cols), func(b *testing.B) {
				for b.Loop() {
					compress.SplitRows(rows, mode.work, func(lo, hi int) {
						f32.Gemm(w[lo*cols:hi*cols], hi-lo, cols, 1, x, y, rows, lo)
					})
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
		}
	}
}

// BenchmarkSplitWake times Dense-shaped products at batch 1 on one goroutine ("one"),
// split in two by SplitRows ("split", which starts a goroutine per call) and by
// f32.Parallel ("pool": helpers that spin for f32.SpinWait after each part, then
// park), alternating. Run it with -cpu 2.
func BenchmarkSplitWake(b *testing.B) {
	for _, sh := range denseShapes {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
		w, x, y := gaussian32(rng, rows*cols), gaussian32(rng, cols), make([]float32, rows)
		bounds := []int{0, rows / 2 &^ 15, rows}
		part := func(i int) {
			lo, hi := bounds[i], bounds[i+1]
			f32.Gemm(w[lo*cols:hi*cols], hi-lo, cols, 1, x, y, rows, lo)
		}
		modes := []struct {
			name string
			mul  func()
		}{
			{"one", func() { part(0); part(1) }},
			{"split", func() {
				compress.SplitRows(rows, math.MaxInt64, func(lo, hi int) { f32.Gemm(w[lo*cols:hi*cols], hi-lo, cols, 1, x, y, rows, lo) })
			}},
			{"pool", func() { f32.Parallel(2, part) }},
		}
		for _, m := range modes {
			b.Run(fmt.Sprintf("%s/%dx%d", m.name, rows, cols), func(b *testing.B) {
				for b.Loop() {
					m.mul()
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
		}
	}
}
