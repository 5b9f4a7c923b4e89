//go:build amd64 && !purego

package vptq

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The kernels of lut_amd64.s, written by asm_gen.go (whose doc gives their exact
// arithmetic). lutScalar adds one block of 16 groups' table entries to
// rows sums (rows a multiple of 8); tablesAVX2 builds per-codebook tables (tablesGo),
// combineAVX2 pair tables (combineGo with ts = 256, k a multiple of 8).

//go:noescape
func lutScalar(tab *float32, idx *uint8, acc *float32, rows int)

//go:noescape
func lutScalar2(tab0, tab1 *float32, idx *uint8, acc0, acc1 *float32, rows int)

//go:noescape
func tablesAVX2(xs, ct, s *float32, groups, v, w int)

//go:noescape
func combineAVX2(s, tab *float32, groups, sw, k, kr int)

// lutGather8 and lutGather16 (lut_gather_amd64.s, hand-written) are lutScalar with
// AVX-512 gathers: 8 rows per 256-bit gather, or 16 rows (two tiles) per 512-bit one.
//
//go:noescape
func lutGather8(tab *float32, idx *uint8, acc *float32, rows int)

//go:noescape
func lutGather16(tab *float32, idx *uint8, acc *float32, rows int)

// haveGather reports whether this CPU runs the gather kernels (AVX-512 F and VL).
var haveGather = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// lookupKernel is the one-input lookup kernel lutAsm runs: lutGather8 where the CPU
// has AVX-512 (on the Xeon this was written on, 2.2–2.3 G lookups/s against 1.3–1.4
// for lutScalar and 1.7–2.0 for lutGather16, BenchmarkLookup), lutScalar otherwise.
// Tests switch it.
var lookupKernel = func() lookupFunc {
	if haveGather {
		return lutGather8
	}
	return lutScalar
}()

// lookupKernels are the one-input lookup kernels this CPU runs, by name, for tests and
// benchmarks.
func lookupKernels() map[string]lookupFunc {
	m := map[string]lookupFunc{}
	if haveAVX2 {
		m["scalar"] = lutScalar
	}
	if haveGather {
		m["gather8"], m["gather16"] = lutGather8, lutGather16
	}
	return m
}

var (
	// haveAVX2 reports whether this CPU runs the kernels (AVX2 and FMA).
	haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	// useAsm can be cleared by tests to run the pure-Go kernels instead.
	useAsm = true
)

// lutAsm runs the lookup kernel after checking the slice lengths it relies on.
func lutAsm(tab []float32, idx []uint8, sums []float32) {
	rows := len(sums)
	if rows%tileRows != 0 || len(tab) < blockGroups*tableStride || len(idx) < rows*blockGroups {
		panic("vptq: lookup kernel called with inconsistent slices")
	}
	if rows == 0 {
		return
	}
	lookupKernel(unsafe.SliceData(tab), unsafe.SliceData(idx), unsafe.SliceData(sums), rows)
}

// lutAsm2 runs lutScalar2: lutAsm for two inputs' tables and sums over the same indices.
func lutAsm2(tab0, tab1 []float32, idx []uint8, sums0, sums1 []float32) {
	rows := len(sums0)
	if rows%tileRows != 0 || len(sums1) != rows || len(tab0) < blockGroups*tableStride || len(tab1) < blockGroups*tableStride || len(idx) < rows*blockGroups {
		panic("vptq: lookup kernel called with inconsistent slices")
	}
	if rows == 0 {
		return
	}
	lutScalar2(unsafe.SliceData(tab0), unsafe.SliceData(tab1), unsafe.SliceData(idx), unsafe.SliceData(sums0), unsafe.SliceData(sums1), rows)
}

// tablesAsm runs tablesAVX2 (sw a multiple of 8).
func tablesAsm(xs, ct, s []float32, groups, v, sw int) {
	if groups < 1 || v < 1 || sw < 8 || sw%8 != 0 || len(xs) < groups*v || len(ct) < v*sw || len(s) < groups*sw {
		panic("vptq: table builder called with inconsistent slices")
	}
	tablesAVX2(unsafe.SliceData(xs), unsafe.SliceData(ct), unsafe.SliceData(s), groups, v, sw/8)
}

// combineAsm runs combineAVX2.
func combineAsm(s, tab []float32, groups, sw, k, kr int) {
	if groups < 1 || k < 8 || k%8 != 0 || kr < 1 || k*kr > tableStride || k+kr > sw || len(s) < groups*sw || len(tab) < groups*tableStride {
		panic("vptq: table combiner called with inconsistent slices")
	}
	combineAVX2(unsafe.SliceData(s), unsafe.SliceData(tab), groups, sw, k, kr)
}
