package f32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// impl is one way Gemm can run: the pure-Go loop or an assembly kernel set.
type impl struct {
	name    string
	kernels []kernelFunc // nil: gemmGeneric
}

// impls lists gemmGeneric and every kernel set this CPU runs, in a fixed order.
func impls() []impl {
	list := []impl{{name: "generic"}}
	m := implementations()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		list = append(list, impl{name, m[name]})
	}
	return list
}

// with runs f with Gemm using im.
func with(im impl, f func()) {
	saveK, saveUse := kernels, useAsm
	defer func() { kernels, useAsm = saveK, saveUse }()
	kernels, useAsm = im.kernels, im.kernels != nil
	f()
}

func gaussian(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// checkGemm runs Gemm on w (rows×cols) and n inputs x into outputs of ldy rows at
// offset off, and compares every output with a float64 naive sum: |y − Σw·x| must be at
// most 1e-5·Σ|w·x| (float32 rounding of a sum of cols products, in any order, is far
// below that for these sizes). Outputs outside rows off…off+rows−1 must be untouched.
func checkGemm(t *testing.T, w []float32, rows, cols, n int, x []float32, ldy, off int) {
	t.Helper()
	const sentinel = -12345
	y := make([]float32, n*ldy)
	for i := range y {
		y[i] = sentinel
	}
	Gemm(w, rows, cols, n, x, y, ldy, off)
	for b := range n {
		for i := range ldy {
			got := y[b*ldy+i]
			r := i - off
			if r < 0 || r >= rows {
				if got != sentinel {
					t.Fatalf("%dx%d n=%d ldy=%d off=%d: y[%d][%d] = %v written outside the block", rows, cols, n, ldy, off, b, i, got)
				}
				continue
			}
			var want, mag float64
			for c := range cols {
				p := float64(w[r*cols+c]) * float64(x[b*cols+c])
				want += p
				mag += math.Abs(p)
			}
			if d := math.Abs(float64(got) - want); !(d <= 1e-5*mag) {
				t.Fatalf("%dx%d n=%d ldy=%d off=%d: y[%d][%d] = %v, want %v (error %.3g of Σ|w·x| = %.3g)", rows, cols, n, ldy, off, b, r, got, want, d, mag)
			}
		}
	}
}

// TestGemm checks every implementation against the float64 reference on awkward shapes:
// rows not multiples of the 4-row blocks, columns not multiples of the vector widths
// (8, 16) or of the unrolled steps (up to 64), batches that split into kernels of
// several sizes, an output block inside a taller output. The inputs are followed by
// NaNs, which any read past them would spread into the result.
func TestGemm(t *testing.T) {
	rowsList := []int{1, 2, 3, 4, 5, 7, 8, 9, 13, 17}
	colsList := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 784}
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			with(im, func() {
				rng := rand.New(rand.NewPCG(1, 2))
				for _, rows := range rowsList {
					for _, cols := range colsList {
						for n := 1; n <= 9; n++ {
							w := append(gaussian(rng, rows*cols), float32(math.NaN()))[:rows*cols]
							x := append(gaussian(rng, n*cols), float32(math.NaN()))[:n*cols]
							off := (rows + cols + n) % 3
							checkGemm(t, w, rows, cols, n, x, off+rows+n%2, off)
						}
					}
				}
			})
		})
	}
}

// TestGemmPanels checks batches larger than one kernel call on matrices of several
// row panels (panelBytes), where Gemm loops over panels and groups of inputs.
func TestGemmPanels(t *testing.T) {
	for _, im := range impls() {
		t.Run(im.name, func(t *testing.T) {
			with(im, func() {
				rng := rand.New(rand.NewPCG(3, 4))
				for _, sh := range [][3]int{{301, 1001, 7}, {130, 4099, 16}, {67, 2048, 5}} {
					rows, cols, n := sh[0], sh[1], sh[2]
					w, x := gaussian(rng, rows*cols), gaussian(rng, n*cols)
					checkGemm(t, w, rows, cols, n, x, rows+5, 3)
				}
			})
		})
	}
}

// TestGemmAsmMatchesGeneric checks each assembly kernel set against gemmGeneric, the
// fallback, on the same awkward shapes: both must agree to 1e-5·Σ|w·x|.
func TestGemmAsmMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, im := range impls()[1:] {
		for _, sh := range [][2]int{{1, 1}, {3, 17}, {5, 33}, {7, 65}, {9, 129}, {13, 257}, {31, 785}, {64, 1000}} {
			for n := 1; n <= 5; n++ {
				rows, cols := sh[0], sh[1]
				w, x := gaussian(rng, rows*cols), gaussian(rng, n*cols)
				want, got := make([]float32, n*rows), make([]float32, n*rows)
				gemmGeneric(w, rows, cols, n, x, want, rows, 0)
				with(im, func() { Gemm(w, rows, cols, n, x, got, rows, 0) })
				for b := range n {
					for r := range rows {
						var mag float64
						for c := range cols {
							mag += math.Abs(float64(w[r*cols+c]) * float64(x[b*cols+c]))
						}
						if d := math.Abs(float64(got[b*rows+r] - want[b*rows+r])); !(d <= 1e-5*mag) {
							t.Fatalf("%s %dx%d n=%d: y[%d][%d] = %v, generic %v", im.name, rows, cols, n, b, r, got[b*rows+r], want[b*rows+r])
						}
					}
				}
			}
		}
	}
}

// TestGemmZero checks the empty cases: no rows or inputs write nothing, no columns
// write zeros.
func TestGemmZero(t *testing.T) {
	for _, im := range impls() {
		with(im, func() {
			y := []float32{7, 7, 7, 7}
			Gemm(nil, 0, 5, 2, make([]float32, 10), y, 2, 0)
			Gemm(make([]float32, 10), 2, 5, 0, nil, y, 2, 0)
			if !slices.Equal(y, []float32{7, 7, 7, 7}) {
				t.Errorf("%s: empty products wrote %v", im.name, y)
			}
			Gemm(nil, 2, 0, 2, nil, y, 2, 0)
			if !slices.Equal(y, []float32{0, 0, 0, 0}) {
				t.Errorf("%s: products with no columns gave %v, want zeros", im.name, y)
			}
		})
	}
}

// TestGemmPanics checks that short slices panic before any kernel reads them.
func TestGemmPanics(t *testing.T) {
	cases := []struct {
		name          string
		w             []float32
		rows, cols, n int
		x, y          []float32
		ldy, off      int
	}{
		{"short w", make([]float32, 11), 3, 4, 1, make([]float32, 4), make([]float32, 3), 3, 0},
		{"short x", make([]float32, 12), 3, 4, 2, make([]float32, 7), make([]float32, 6), 3, 0},
		{"short y", make([]float32, 12), 3, 4, 2, make([]float32, 8), make([]float32, 5), 3, 0},
		{"block past ldy", make([]float32, 12), 3, 4, 1, make([]float32, 4), make([]float32, 4), 3, 1},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			Gemm(c.w, c.rows, c.cols, c.n, c.x, c.y, c.ldy, c.off)
		}()
	}
}

// BenchmarkGemm times gemmGeneric (the pure-Go loop) and every assembly kernel set on
// one goroutine, alternating them per shape and batch, in Gweights/s (weights ×
// inputs per second) and GB/s of weights read.
func BenchmarkGemm(b *testing.B) {
	for _, sh := range [][2]int{{256, 784}, {4096, 4096}, {16384, 4096}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
		w := gaussian(rng, rows*cols)
		for _, n := range []int{1, 8} {
			x, y := gaussian(rng, n*cols), make([]float32, n*rows)
			for _, im := range impls() {
				b.Run(fmt.Sprintf("%s/%dx%d/b%d", im.name, rows, cols, n), func(b *testing.B) {
					with(im, func() {
						Gemm(w, rows, cols, n, x, y, rows, 0)
						for b.Loop() {
							Gemm(w, rows, cols, n, x, y, rows, 0)
						}
					})
					s := b.Elapsed().Seconds()
					b.ReportMetric(float64(rows*cols*n)*float64(b.N)/s/1e9, "Gweights/s")
					b.ReportMetric(float64(4*rows*cols)*float64(b.N)/s/1e9, "GB/s")
				})
			}
		}
	}
}
