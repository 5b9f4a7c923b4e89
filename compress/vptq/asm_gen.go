//go:build ignore

// asm_gen writes lut_amd64.s, the AVX2 kernels of the VPTQ operator:
//
//	go run asm_gen.go
//
// (go generate runs it). Its output is committed: building the package never needs it.
//
// The kernels work on one block of 16 groups (blockGroups) whose tables hold 256
// float32 entries each (tableStride), and on rows in tiles of 8 (tileRows). The index
// bytes of a tile are stored group by group, 8 rows per group: byte g·8 + a is the
// index of row a of the tile at group g of the block.
//
//	lutScalar(tab, idx, acc, rows): acc[r] += Σ_g tab[g·256 + idx(r, g)] for rows rows
//	  (a multiple of 8), the entries added in group order: 8 rows at a time in 8
//	  independent accumulators, each group's 8 index bytes loaded at once and taken
//	  out by shifts, one scalar add (with the table load folded in) per index.
//	lutScalar2(tab0, tab1, idx, acc0, acc1, rows): lutScalar for two inputs' tables and
//	  sums over the same indices, each index byte extracted once.
//	tablesAVX2(xs, ct, s, groups, v, w): s[g·8w + k] = Σ_t xs[g·v + t]·ct[t·8w + k] for
//	  k < 8w, the terms added in order of t with fused multiply–adds.
//	combineAVX2(s, tab, groups, sw, k, kr): tab[g·256 + j·k + i] = s[g·sw + i] +
//	  s[g·sw + k + j] for i < k (a multiple of 8), j < kr.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

const (
	blockGroups = 16
	tileRows    = 8
	tableStride = 256
)

var out bytes.Buffer

func emit(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)                  { fmt.Fprintf(&out, "%s:\n", l) }

func header(fn, args string, frame int, req string) {
	fmt.Fprintf(&out, "\n// func %s(%s)\n// Requires: %s\n", fn, args, req)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", fn, frame)
}

// lutScalar writes a scalar lookup kernel. extract: load a group's 8 index bytes with
// one MOVQ and take them out by shifts, instead of one byte load per index; fma: add
// every other row's entries with VFMADD231SS by 1.0 (the same rounding as VADDSS) so
// that the adds use the FMA pipes as well as the FP adders.
func lutScalar(fn string, extract, fma bool) {
	header(fn, "tab *float32, idx *uint8, acc *float32, rows int", 32, "AVX, FMA3")
	emit("MOVQ tab+0(FP), DI")
	emit("MOVQ idx+8(FP), SI")
	emit("MOVQ acc+16(FP), DX")
	emit("MOVQ rows+24(FP), CX")
	emit("SHRQ $3, CX")
	emit("JZ %s_done", fn)
	if fma {
		emit("MOVL $0x3f800000, AX")
		emit("MOVQ AX, X15")
	}
	gp := []string{"AX", "BX", "R8", "R9", "R10", "R11", "R12", "R13"}
	label(fn + "_tile")
	for a := range tileRows {
		emit("VMOVSS %d(DX), X%d", 4*a, a)
	}
	add := func(g, a int, reg string) {
		if fma && a%2 == 1 {
			emit("VFMADD231SS %d(DI)(%s*4), X15, X%d", 4*tableStride*g, reg, a)
		} else {
			emit("VADDSS %d(DI)(%s*4), X%d, X%d", 4*tableStride*g, reg, a, a)
		}
	}
	for g := range blockGroups {
		if extract {
			// R14 holds the group's 8 bytes, shifted down one byte per row; the two
			// temporaries alternate.
			emit("MOVQ %d(SI), R14", g*tileRows)
			for a := range tileRows {
				t := gp[a%2]
				emit("MOVBLZX R14, %s", t)
				if a < tileRows-1 {
					emit("SHRQ $8, R14")
				}
				add(g, a, t)
			}
			continue
		}
		for a := range tileRows {
			emit("MOVBLZX %d(SI), %s", g*tileRows+a, gp[a])
		}
		for a := range tileRows {
			add(g, a, gp[a])
		}
	}
	for a := range tileRows {
		emit("VMOVSS X%d, %d(DX)", a, 4*a)
	}
	emit("ADDQ $%d, SI", blockGroups*tileRows)
	emit("ADDQ $%d, DX", 4*tileRows)
	emit("DECQ CX")
	emit("JNZ %s_tile", fn)
	label(fn + "_done")
	emit("RET")
}

// lutScalar2 writes lutScalar2(tab0, tab1, idx, acc0, acc1, rows): lutScalar for two
// inputs at once (tables tab0 and tab1, sums acc0 and acc1), each index extracted once
// and looked up in both tables; 16 accumulators.
func lutScalar2() {
	fn := "lutScalar2"
	header(fn, "tab0, tab1 *float32, idx *uint8, acc0, acc1 *float32, rows int", 48, "AVX")
	emit("MOVQ tab0+0(FP), DI")
	emit("MOVQ tab1+8(FP), R14")
	emit("MOVQ idx+16(FP), SI")
	emit("MOVQ acc0+24(FP), DX")
	emit("MOVQ acc1+32(FP), R13")
	emit("MOVQ rows+40(FP), CX")
	emit("SHRQ $3, CX")
	emit("JZ %s_done", fn)
	gp := []string{"AX", "BX"}
	label(fn + "_tile")
	for a := range tileRows {
		emit("VMOVSS %d(DX), X%d", 4*a, a)
		emit("VMOVSS %d(R13), X%d", 4*a, 8+a)
	}
	for g := range blockGroups {
		emit("MOVQ %d(SI), R8", g*tileRows)
		for a := range tileRows {
			t := gp[a%2]
			emit("MOVBLZX R8, %s", t)
			if a < tileRows-1 {
				emit("SHRQ $8, R8")
			}
			emit("VADDSS %d(DI)(%s*4), X%d, X%d", 4*tableStride*g, t, a, a)
			emit("VADDSS %d(R14)(%s*4), X%d, X%d", 4*tableStride*g, t, 8+a, 8+a)
		}
	}
	for a := range tileRows {
		emit("VMOVSS X%d, %d(DX)", a, 4*a)
		emit("VMOVSS X%d, %d(R13)", 8+a, 4*a)
	}
	emit("ADDQ $%d, SI", blockGroups*tileRows)
	emit("ADDQ $%d, DX", 4*tileRows)
	emit("ADDQ $%d, R13", 4*tileRows)
	emit("DECQ CX")
	emit("JNZ %s_tile", fn)
	label(fn + "_done")
	emit("RET")
}

// tables writes tablesAVX2. Each group's w vectors are computed in chunks of 8
// (accumulators in Y0–Y7), then one at a time, each chunk summing its v terms in
// registers before one store.
func tables() {
	fn := "tablesAVX2"
	header(fn, "xs, ct, s *float32, groups, v, w int", 48, "AVX, FMA3")
	emit("MOVQ xs+0(FP), SI")
	emit("MOVQ ct+8(FP), R8")
	emit("MOVQ s+16(FP), DI")
	emit("MOVQ groups+24(FP), CX")
	emit("MOVQ v+32(FP), BX")
	emit("MOVQ w+40(FP), DX")
	emit("SHLQ $5, DX") // bytes per row of ct
	label(fn + "_groups")
	emit("MOVQ R8, R10") // ct at the current chunk
	emit("MOVQ w+40(FP), R9")
	chunk := func(name string, n int) {
		label(fn + "_" + name)
		emit("CMPQ R9, $%d", n)
		emit("JLT %s_%s_end", fn, name)
		for i := range n {
			emit("VXORPS Y%d, Y%d, Y%d", i, i, i)
		}
		emit("MOVQ R10, R11")
		emit("MOVQ SI, R13")
		emit("MOVQ BX, R12")
		label(fn + "_" + name + "_terms")
		emit("VBROADCASTSS (R13), Y8")
		for i := range n {
			emit("VFMADD231PS %d(R11), Y8, Y%d", 32*i, i)
		}
		emit("ADDQ DX, R11")
		emit("ADDQ $4, R13")
		emit("DECQ R12")
		emit("JNZ %s_%s_terms", fn, name)
		for i := range n {
			emit("VMOVUPS Y%d, %d(DI)", i, 32*i)
		}
		emit("ADDQ $%d, DI", 32*n)
		emit("ADDQ $%d, R10", 32*n)
		emit("SUBQ $%d, R9", n)
		emit("JMP %s_%s", fn, name)
		label(fn + "_" + name + "_end")
	}
	chunk("eight", 8)
	chunk("one", 1)
	emit("LEAQ (SI)(BX*4), SI")
	emit("DECQ CX")
	emit("JNZ %s_groups", fn)
	emit("VZEROUPPER")
	emit("RET")
}

func combine() {
	fn := "combineAVX2"
	header(fn, "s, tab *float32, groups, sw, k, kr int", 48, "AVX")
	emit("MOVQ s+0(FP), SI")
	emit("MOVQ tab+8(FP), DI")
	emit("MOVQ groups+16(FP), CX")
	emit("MOVQ sw+24(FP), BX")
	emit("SHLQ $2, BX") // bytes per small table
	emit("MOVQ k+32(FP), DX")
	emit("MOVQ kr+40(FP), R8")
	emit("LEAQ (SI)(DX*4), R9") // residual entries of group 0
	label(fn + "_groups")
	emit("MOVQ DI, R10")
	emit("MOVQ R9, R11")
	emit("MOVQ R8, R12")
	label(fn + "_res")
	emit("VBROADCASTSS (R11), Y0")
	emit("MOVQ SI, R13")
	emit("MOVQ DX, AX")
	label(fn + "_main")
	emit("VADDPS (R13), Y0, Y1")
	emit("VMOVUPS Y1, (R10)")
	emit("ADDQ $32, R13")
	emit("ADDQ $32, R10")
	emit("SUBQ $8, AX")
	emit("JNZ %s_main", fn)
	emit("ADDQ $4, R11")
	emit("DECQ R12")
	emit("JNZ %s_res", fn)
	emit("ADDQ BX, SI")
	emit("ADDQ BX, R9")
	emit("ADDQ $%d, DI", 4*tableStride)
	emit("DECQ CX")
	emit("JNZ %s_groups", fn)
	emit("VZEROUPPER")
	emit("RET")
}

// Variants measured on the development machine (AMD EPYC, AVX2, shared; best of 6
// runs of BenchmarkLookup, 16 groups × 16384 rows): one byte load per index 2.2
// Glookups/s, the same with every other row added by VFMADD231SS (to use the FMA pipes)
// 2.2, one 8-byte load per group and shifts (extract, the kernel kept) 3.0, extract with
// the FMA adds 3.0, and one VGATHERDPS per 8 rows and group 0.86. lutScalar writes the
// first four (extract, fma); the gather kernel was dropped. A kernel holding 16-entry
// per-codebook tables (4+4-bit codebooks) in ymm registers, reading 8 rows per two
// VPERMPS and a VBLENDVPS per codebook (12 instructions per 8 rows and group, no pair
// tables), ran 1.1 Gvectors/s on the same machine against the kept kernel's 2.9, and
// was dropped too; so was a variant taking the index bytes two at a time from AL/AH
// and BL/BH (fewer shifts), at 2.4 against 2.9.

func main() {
	out.WriteString("// Code generated by asm_gen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	lutScalar("lutScalar", true, false)
	lutScalar2()
	tables()
	combine()
	if err := os.WriteFile("lut_amd64.s", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
