//go:build amd64 && !purego

package f32

import "golang.org/x/sys/cpu"

// The kernels of gemm_amd64.s (written by asm_gen.go): gemm<isa>B<k> computes k
// products at once, y[b·ldy + r] = Σ_c w[r·cols + c]·x[b·cols + c] for b < k, r < rows.
// w holds rows·cols floats, x k·cols and y (k−1)·ldy + rows; cols ≥ 1.

//go:noescape
func gemmavx512B1(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B2(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B3(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx512B4(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx2B1(w, x, y *float32, rows, cols, ldy int)

//go:noescape
func gemmavx2B2(w, x, y *float32, rows, cols, ldy int)

var (
	kernelsAVX512 = []kernelFunc{gemmavx512B1, gemmavx512B2, gemmavx512B3, gemmavx512B4}
	kernelsAVX2   = []kernelFunc{gemmavx2B1, gemmavx2B2}
)

func init() {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		kernels, kernelISA = kernelsAVX512, "avx512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		kernels, kernelISA = kernelsAVX2, "avx2"
	}
}

// implementations lists the assembly kernel sets this CPU can run, by name, for tests
// and benchmarks.
func implementations() map[string][]kernelFunc {
	m := map[string][]kernelFunc{}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		m["avx512"] = kernelsAVX512
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		m["avx2"] = kernelsAVX2
	}
	return m
}
