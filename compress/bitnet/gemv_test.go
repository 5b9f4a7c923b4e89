package bitnet_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/codectest"

	"github.com/evomerge/evomerge/compress/bitnet"
)

// naiveGEMV dequantizes the whole matrix with Unpack and multiplies in float64. It
// returns y and, per row, Σ_c |scale·W̃[r,c]·x[c]|, the scale of float32 rounding error.
func naiveGEMV(packed []byte, rows, cols int, scale float32, x []float32) (y, mass []float64) {
	codes := make([]int8, rows*cols)
	bitnet.Unpack(packed, rows, cols, codes)
	y, mass = make([]float64, rows), make([]float64, rows)
	for r := range rows {
		for c := range cols {
			p := float64(scale) * float64(codes[r*cols+c]) * float64(x[c])
			y[r] += p
			mass[r] += math.Abs(p)
		}
	}
	return y, mass
}

// checkGEMV compares GEMV with naiveGEMV: each y[r] must be within 1e-5 relative to the
// row's absolute product mass (the bound of float32 summation with any order).
func checkGEMV(t *testing.T, packed []byte, rows, cols int, scale float32, x []float32) {
	t.Helper()
	y := make([]float32, rows)
	for i := range y {
		y[i] = float32(math.NaN()) // GEMV must overwrite, not accumulate
	}
	bitnet.GEMV(packed, rows, cols, scale, x, y)
	want, mass := naiveGEMV(packed, rows, cols, scale, x)
	for r := range rows {
		if d := math.Abs(float64(y[r]) - want[r]); !(d <= 1e-5*mass[r]) {
			t.Fatalf("%d×%d: y[%d] = %v, naive reference %v (|diff| %.3g > 1e-5 × %.3g)", rows, cols, r, y[r], want[r], d, mass[r])
		}
	}
}

func TestGEMVMatchesNaiveReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// Shapes cover a partial last group (cols mod 4 ≠ 0), partial unrolled tails, several
	// column blocks of the byte tables, and the nibble tables past 1024 columns.
	for _, shape := range [][2]int{{1, 1}, {1, 3}, {2, 4}, {3, 5}, {7, 13}, {16, 100}, {33, 257}, {64, 784}, {5, 1001}, {2, 1024}, {3, 1025}, {4, 2051}, {2, 4096}} {
		rows, cols := shape[0], shape[1]
		packed := randomPacked(rng, rows, cols)
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		checkGEMV(t, packed, rows, cols, 0.0173, x)
	}
}

func TestGEMVHandExample(t *testing.T) {
	// W̃ = [[1,-1,0,1],[0,1,0,-1]], γ = 0.75, x = [1,2,3,4]:
	// y = 0.75·[1-2+4, 2-4] = [2.25, -1.5].
	y := make([]float32, 2)
	bitnet.GEMV(examplePacked, 2, 4, exampleScale, []float32{1, 2, 3, 4}, y)
	if y[0] != 2.25 || y[1] != -1.5 {
		t.Errorf("GEMV = %v, want [2.25 -1.5]", y)
	}
}

func TestGEMVEveryByteValue(t *testing.T) {
	// Rows cycling through all 256 byte values exercise every table entry, including the
	// unused code 10, which must count as −2 as in Unpack; 1024 columns use the byte
	// tables, 2049 the nibble tables (with a last group holding one column).
	rng := rand.New(rand.NewPCG(23, 24))
	for _, cols := range []int{1024, 2049} {
		const rows = 3
		stride := (cols + 3) / 4
		packed := make([]byte, rows*stride)
		for i := range packed {
			packed[i] = byte(i)
		}
		if cols%4 == 1 {
			for r := range rows {
				packed[r*stride+stride-1] &= 0x03 // keep the three padding codes 00
			}
		}
		x := make([]float32, cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		checkGEMV(t, packed, rows, cols, 1, x)
	}
}

var gemvShapes = [][2]int{{256, 784}, {1024, 1024}, {4096, 4096}}

// BenchmarkGEMVDense and BenchmarkGEMVTernary multiply the same quantized matrix, dense
// float32 versus packed 2-bit, so their weights/s compare directly.
func BenchmarkGEMVDense(b *testing.B) {
	for _, s := range gemvShapes {
		rows, cols := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			packed, scale, x := gemvInputs(rows, cols)
			w := make([]float32, rows*cols)
			bitnet.Dequantize(packed, rows, cols, scale, w)
			y := make([]float32, rows)
			b.SetBytes(int64(4 * len(w)))
			for b.Loop() {
				codectest.DenseMulVec(w, rows, cols, x, y)
			}
			reportWeightsPerSec(b, rows*cols)
		})
	}
}

func BenchmarkGEMVTernary(b *testing.B) {
	for _, s := range gemvShapes {
		rows, cols := s[0], s[1]
		b.Run(fmt.Sprintf("%dx%d", rows, cols), func(b *testing.B) {
			packed, scale, x := gemvInputs(rows, cols)
			y := make([]float32, rows)
			b.SetBytes(int64(len(packed)))
			for b.Loop() {
				bitnet.GEMV(packed, rows, cols, scale, x, y)
			}
			reportWeightsPerSec(b, rows*cols)
		})
	}
}

// gemvInputs quantizes a seeded Gaussian rows×cols matrix and draws an input vector.
func gemvInputs(rows, cols int) (packed []byte, scale float32, x []float32) {
	rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
	p := bitnet.Quantize2D(randomWeights(rng, rows*cols), rows, cols)
	x = make([]float32, cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return p.Codes, p.Scale, x
}

func TestGEMVConcurrentCallsAgree(t *testing.T) {
	// GEMV recycles its tables through pools; concurrent calls must not share them.
	// 784 columns use the byte tables, 1500 the nibble tables.
	rng := rand.New(rand.NewPCG(25, 26))
	for _, cols := range []int{784, 1500} {
		const rows = 64
		packed := randomPacked(rng, rows, cols)
		xs, want, got := make([][]float32, 4), make([][]float32, 4), make([][]float32, 4)
		for i := range xs {
			xs[i] = make([]float32, cols)
			for c := range xs[i] {
				xs[i][c] = float32(rng.NormFloat64())
			}
			want[i], got[i] = make([]float32, rows), make([]float32, rows)
			bitnet.GEMV(packed, rows, cols, 1, xs[i], want[i])
		}
		var wg sync.WaitGroup
		for i := range xs {
			wg.Go(func() {
				for range 20 {
					bitnet.GEMV(packed, rows, cols, 1, xs[i], got[i])
				}
			})
		}
		wg.Wait()
		for i := range got {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("%d columns, goroutine %d: concurrent GEMV differs from the sequential result", cols, i)
			}
		}
	}
}
