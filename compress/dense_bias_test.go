package compress_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/f32/f32test"
)

// goBiasReLU is the loop nn's forward pass ran after Dense.Mul before MulBias, over n
// rows: the reference MulBias and BiasReLU must match bit for bit.
func goBiasReLU(y, b []float32, n int, relu bool) {
	out := len(b)
	for i := range n {
		f32test.BiasReLULoop(y[i*out:(i+1)*out:(i+1)*out], b, relu)
	}
}

var negZero = float32(math.Copysign(0, -1))

// specialBiases draws rows biases, a third of them NaN (both signs), ±0, ±Inf or a
// subnormal, the rest Gaussian.
func specialBiases(rng *rand.Rand, rows int) []float32 {
	sp := []float32{float32(math.NaN()), math.Float32frombits(0xffc00001), negZero, 0, float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(3)}
	b := gaussian32(rng, rows)
	for i := range b {
		if rng.IntN(3) == 0 {
			b[i] = sp[rng.IntN(len(sp))]
		}
	}
	return b
}

// checkMulBias compares Dense.MulBias with Dense.Mul followed by the Go loop, bit for bit,
// with and without the ReLU. Some inputs hold a NaN or an infinity, so that outputs are
// NaN of either sign (Inf − Inf is the negative default NaN) before the bias, and some
// products cancel to −0 against a bias of −0.
func checkMulBias(t *testing.T, rng *rand.Rand, rows, cols, n int) {
	t.Helper()
	w, x := gaussian32(rng, rows*cols), gaussian32(rng, n*cols)
	for i := range x {
		switch rng.IntN(200) {
		case 0:
			x[i] = float32(math.NaN())
		case 1:
			x[i] = float32(math.Inf(1))
		}
	}
	if rows > 0 && cols > 0 {
		for c := range cols { // row 0 is all −0 weights: W·x = −0 + … = ±0 exactly
			w[c] = negZero
		}
	}
	d := compress.NewDense(rows, cols, w)
	bias := specialBiases(rng, rows)
	for _, relu := range []bool{false, true} {
		prod := make([]float32, n*rows)
		d.Mul(n, x, prod)
		want := slices.Clone(prod)
		goBiasReLU(want, bias, n, relu)
		got := make([]float32, n*rows)
		for i := range got {
			got[i] = 12345 // every output must be written
		}
		d.MulBias(n, x, got, bias, relu)
		for i := range got {
			if !f32test.Same(got[i], want[i], prod[i], bias[i%rows], relu) {
				t.Fatalf("%dx%d n=%d relu=%v: y[%d][%d] = %v (%#08x), Mul then the Go loop %v (%#08x), bias %v",
					rows, cols, n, relu, i/rows, i%rows, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]), bias[i%rows])
			}
		}
		// BiasReLU on Mul's outputs is the same pass.
		got2 := make([]float32, n*rows)
		d.Mul(n, x, got2)
		compress.BiasReLU(n, got2, bias, relu)
		for i := range got2 {
			if math.Float32bits(got2[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%dx%d n=%d relu=%v: y[%d][%d]: Mul then BiasReLU %v, MulBias %v", rows, cols, n, relu, i/rows, i%rows, got2[i], got[i])
			}
		}
	}
}

// MulBias is Mul followed by the Go bias and ReLU loop, bit for bit, on odd shapes (row
// counts that leave vector and row-block tails), 0 to 5 inputs and an evaluation block
// of 64, and on products SplitRows splits across goroutines.
func TestDenseMulBiasMatchesMulThenLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, sh := range [][2]int{{1, 1}, {1, 17}, {3, 5}, {5, 33}, {7, 100}, {13, 257}, {17, 64}, {31, 784}, {33, 1}, {10, 0}, {10, 256}, {256, 784}, {256, 256}} {
		for _, n := range []int{0, 1, 2, 3, 4, 5, 64} {
			checkMulBias(t, rng, sh[0], sh[1], n)
		}
	}
	defer runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))
	for _, c := range []struct{ rows, cols, n int }{{1037, 1031, 1}, {301, 1500, 7}, {256, 784, 64}} {
		if work := int64(c.rows * c.cols * c.n); work < compress.ParallelWork {
			t.Fatalf("%dx%d n=%d does not reach ParallelWork: the test no longer splits", c.rows, c.cols, c.n)
		}
		checkMulBias(t, rng, c.rows, c.cols, c.n)
	}
}

func TestDenseMulBiasPanics(t *testing.T) {
	d := compress.NewDense(4, 3, make([]float32, 12))
	for name, f := range map[string]func(){
		"3 biases for 4 rows":  func() { d.MulBias(1, make([]float32, 3), make([]float32, 4), make([]float32, 3), true) },
		"short output":         func() { d.MulBias(1, make([]float32, 3), make([]float32, 3), make([]float32, 4), true) },
		"BiasReLU short batch": func() { compress.BiasReLU(2, make([]float32, 7), make([]float32, 4), true) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// BenchmarkDenseMulBias is the demo's first layer (256×784, batch 1, ReLU) as MulBias
// against Mul followed by the Go loop nn ran before, interleaved sub-benchmarks of one run.
func BenchmarkDenseMulBias(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, sh := range [][2]int{{256, 784}, {256, 256}, {10, 256}} {
		rows, cols := sh[0], sh[1]
		d := compress.NewDense(rows, cols, gaussian32(rng, rows*cols))
		x, bias, y := gaussian32(rng, cols), gaussian32(rng, rows), make([]float32, rows)
		name := func(s string) string { return s + "/" + itoa(rows) + "x" + itoa(cols) }
		b.Run(name("mul+goloop"), func(b *testing.B) {
			for b.Loop() {
				d.Mul(1, x, y)
				goBiasReLU(y, bias, 1, true)
			}
		})
		b.Run(name("mulbias"), func(b *testing.B) {
			for b.Loop() {
				d.MulBias(1, x, y, bias, true)
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}
