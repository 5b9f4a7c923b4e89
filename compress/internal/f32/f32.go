package f32

import "fmt"

// kernelFunc is an assembly kernel computing len-of-its-name products at once; see
// gemm_amd64.go.
type kernelFunc func(w, x, y *float32, rows, cols, ldy int)

var (
	// kernels[k−1] computes k products at once; nil where this CPU (or architecture)
	// has no assembly kernel, and Gemm runs gemmGeneric.
	kernels []kernelFunc
	// kernelISA names the instruction set of kernels: "avx512", "avx2" or "".
	kernelISA string
	// useAsm can be cleared by tests to force gemmGeneric.
	useAsm = true
)

// panelBytes bounds the weights a batch of more inputs than one kernel takes is run
// over before moving on: each panel of rows is multiplied by every group of inputs while
// it is still in the L2 cache, so the matrix is streamed from memory once.
const panelBytes = 128 << 10

// Gemm computes, for b = 0…n−1 and r = 0…rows−1,
//
//	y[b·ldy + off + r] = Σ_c w[r·cols + c] · x[b·cols + c]
//
// w is a row-major rows×cols block of a matrix with ldy rows whose first row is row off;
// x holds n inputs of cols values; y holds n outputs of ldy values, of which the rows
// off…off+rows−1 are written. It panics if a slice is too short or off+rows > ldy.
//
// On amd64 it runs AVX-512 or AVX2+FMA kernels (gemm_amd64.s) that multiply 4 rows by
// up to 4 (AVX-512) or 2 (AVX2) inputs at once; their sums are in a different order from
// gemmGeneric's, so results differ from it by rounding (a relative error of order
// 1e-7·√cols of Σ|w·x|).
func Gemm(w []float32, rows, cols, n int, x, y []float32, ldy, off int) {
	if rows < 0 || cols < 0 || n < 0 || off < 0 || off+rows > ldy ||
		len(w) < rows*cols || len(x) < n*cols || (n > 0 && len(y) < (n-1)*ldy+off+rows) {
		panic(fmt.Sprintf("f32.Gemm: %d rows × %d cols (%d weights), %d inputs (%d values), output rows %d…%d of %d (%d values)",
			rows, cols, len(w), n, len(x), off, off+rows, ldy, len(y)))
	}
	if rows == 0 || n == 0 {
		return
	}
	if cols == 0 {
		for b := range n {
			clear(y[b*ldy+off : b*ldy+off+rows])
		}
		return
	}
	if !useAsm || kernels == nil {
		gemmGeneric(w, rows, cols, n, x, y, ldy, off)
		return
	}
	k := len(kernels)
	if n <= k {
		kernels[n-1](&w[0], &x[0], &y[off], rows, cols, ldy)
		return
	}
	panel := max(4, panelBytes/(4*cols)&^3)
	for r0 := 0; r0 < rows; r0 += panel {
		r1 := min(r0+panel, rows)
		for b0 := 0; b0 < n; b0 += k {
			nb := min(k, n-b0)
			kernels[nb-1](&w[r0*cols], &x[b0*cols], &y[b0*ldy+off+r0], r1-r0, cols, ldy)
		}
	}
}

// GemmGeneric is Gemm's pure-Go loop, the one it runs where there is no assembly
// kernel, exported so that compress's benchmarks measure the kernels' speed-up over it
// in the same run. It does not check its arguments beyond Go's bounds checks.
func GemmGeneric(w []float32, rows, cols, n int, x, y []float32, ldy, off int) {
	gemmGeneric(w, rows, cols, n, x, y, ldy, off)
}

// gemmGeneric is the pure-Go Gemm.
func gemmGeneric(w []float32, rows, cols, n int, x, y []float32, ldy, off int) {
	for b := range n {
		xb := x[b*cols : (b+1)*cols]
		yb := y[b*ldy+off : b*ldy+off+rows]
		for r := range rows {
			yb[r] = dot(w[r*cols:(r+1)*cols], xb)
		}
	}
}

// dot is Σ a[i]·b[i] with four accumulators.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
