//go:build ignore

// asm_gen writes gemm_amd64.s, the AVX-512 and AVX2+FMA kernels of Gemm:
//
//	go run asm_gen.go
//
// (go generate runs it). Its output is committed: building the package never needs it.
//
// Every kernel gemm<isa>b<B>(w, x, y *float32, rows, cols, ldy int) computes B products
// at once: y[b·ldy + r] = Σ_c w[r·cols + c]·x[b·cols + c] for b < B, r < rows. It walks
// the rows in blocks of R (then one at a time for the last rows % R), and the columns in
// steps of U vectors, then one vector, then one masked partial vector: R·B·U accumulators,
// each loaded weight vector used for the B inputs, each loaded input vector for the R
// rows. At the end of a block, each accumulator is summed across its lanes and the R
// sums of input b are stored together.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"strings"
)

// isa is one instruction set's vector registers.
type isa struct {
	name  string // avx512, avx2
	reg   string // Z, Y
	width int    // float32 lanes per vector
	// first register of the inputs (the weight temporaries follow them) and of the
	// reduction temporaries, and how many of those.
	xBase, tBase, nTemp int
}

var (
	avx512 = isa{name: "avx512", reg: "Z", width: 16, xBase: 16, tBase: 28, nTemp: 4}
	avx2   = isa{name: "avx2", reg: "Y", width: 8, xBase: 8, tBase: 12, nTemp: 3}
)

// kernel is one generated function: B inputs, R rows per block and U vectors per step
// (U1 in the one-row blocks of the last rows).
type kernel struct {
	isa
	B, R, U, U1 int
	prefetch    int    // bytes ahead to prefetch each row in the main loop; 0: none
	suffix      string // appended to the function's name (experiments)
}

func (k kernel) vb() int { return 4 * k.width }

// acc is the accumulator of row r, input b, step u in a block of rows rows with u steps.
func (k kernel) acc(r, b, u, us int) int { return (r*k.B+b)*us + u }

func (k kernel) v(i int) string  { return fmt.Sprintf("%s%d", k.reg, i) }
func (k kernel) y(i int) string  { return fmt.Sprintf("Y%d", i) }
func (k kernel) xr(i int) string { return fmt.Sprintf("X%d", i) }

var out bytes.Buffer

func emit(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)                  { fmt.Fprintf(&out, "%s:\n", l) }

// General-purpose registers: AX is the column offset in bytes, DX the output pointer,
// and the rest hold the row pointers, then the input pointers.
var pool = []string{"SI", "DI", "R8", "R9", "R10", "R11", "R12", "R13", "BX", "CX"}

// Locals in the frame.
const (
	colsB    = "colsb-8(SP)"    // 4·cols
	mainEnd  = "mainend-16(SP)" // end of the U-vector steps of R-row blocks
	chunkEnd = "chunkend-24(SP)"
	rowsMain = "rowsmain-32(SP)" // R-row blocks left
	rowsTail = "rowstail-40(SP)" // single rows left
	ldyB     = "ldyb-48(SP)"
	mainEnd1 = "mainend1-56(SP)" // end of the U1-vector steps of one-row blocks
	frame    = 56
)

func (k kernel) gen() {
	name := fmt.Sprintf("gemm%sB%d%s", k.name, k.B, k.suffix)
	wr := pool[:k.R]
	xr := pool[k.R : k.R+k.B]
	fmt.Fprintf(&out, "\n// func %s(w, x, y *float32, rows, cols, ldy int)\n", name)
	fmt.Fprintf(&out, "// Requires: %s\n", map[string]string{"avx512": "AVX512F, AVX512VL, AVX, SSE3", "avx2": "AVX, AVX2, FMA3, SSE3"}[k.name])
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $%d-48\n", name, frame)
	emit("MOVQ cols+32(FP), AX")
	if k.name == "avx512" {
		// K1 selects the cols % 16 lanes of the last, partial vector.
		emit("MOVQ AX, CX")
		emit("ANDQ $15, CX")
		emit("MOVL $1, DX")
		emit("SHLL CX, DX")
		emit("DECL DX")
		emit("KMOVW DX, K1")
	} else {
		// Y15 selects the cols % 8 lanes of the last, partial vector.
		emit("MOVQ AX, CX")
		emit("ANDQ $7, CX")
		emit("SHLQ $2, CX")
		emit("LEAQ tailmask<>+32(SB), DX")
		emit("SUBQ CX, DX")
		emit("VMOVDQU (DX), Y15")
	}
	emit("SHLQ $2, AX")
	emit("MOVQ AX, %s", colsB)
	emit("MOVQ AX, CX")
	emit("ANDQ $-%d, CX", k.vb())
	emit("MOVQ CX, %s", chunkEnd)
	emit("MOVQ AX, CX")
	emit("ANDQ $-%d, CX", k.vb()*k.U)
	emit("MOVQ CX, %s", mainEnd)
	emit("MOVQ AX, CX")
	emit("ANDQ $-%d, CX", k.vb()*k.U1)
	emit("MOVQ CX, %s", mainEnd1)
	emit("MOVQ ldy+40(FP), CX")
	emit("SHLQ $2, CX")
	emit("MOVQ CX, %s", ldyB)
	emit("MOVQ rows+24(FP), CX")
	emit("MOVQ CX, DX")
	emit("SHRQ $%d, CX", log2(k.R))
	emit("MOVQ CX, %s", rowsMain)
	emit("ANDQ $%d, DX", k.R-1)
	emit("MOVQ DX, %s", rowsTail)
	emit("MOVQ w+0(FP), %s", wr[0])
	emit("MOVQ x+8(FP), %s", xr[0])
	for b := 1; b < k.B; b++ {
		emit("MOVQ %s, %s", xr[b-1], xr[b])
		emit("ADDQ AX, %s", xr[b])
	}
	emit("MOVQ y+16(FP), DX")

	label(name + "_rows")
	emit("CMPQ %s, $0", rowsMain)
	emit("JEQ %s_tailrows", name)
	k.block(name+"_r", k.R, k.U, mainEnd, wr, xr)
	emit("DECQ %s", rowsMain)
	emit("JMP %s_rows", name)
	label(name + "_tailrows")
	emit("CMPQ %s, $0", rowsTail)
	emit("JEQ %s_done", name)
	k.block(name+"_t", 1, k.U1, mainEnd1, wr, xr)
	emit("DECQ %s", rowsTail)
	emit("JMP %s_tailrows", name)
	label(name + "_done")
	emit("VZEROUPPER")
	emit("RET")
}

func log2(n int) int {
	l := 0
	for 1<<l < n {
		l++
	}
	return l
}

// block emits one block of R rows: the column loops, the reduction, the stores, and the
// advance of the row and output pointers.
func (k kernel) block(l string, R, U int, end string, wr, xr []string) {
	for r := 1; r < R; r++ {
		emit("MOVQ %s, %s", wr[r-1], wr[r])
		emit("ADDQ %s, %s", colsB, wr[r])
	}
	for i := 0; i < R*k.B*U; i++ {
		emit("VXORPS %s, %s, %s", k.xr(i), k.xr(i), k.xr(i))
	}
	emit("XORQ AX, AX")
	if U > 1 {
		emit("CMPQ AX, %s", end)
		emit("JGE %s_one", l)
		label(l + "_main")
		k.step(R, U, U, wr, xr, false)
		emit("ADDQ $%d, AX", k.vb()*U)
		emit("CMPQ AX, %s", end)
		emit("JLT %s_main", l)
		label(l + "_one")
	}
	emit("CMPQ AX, %s", chunkEnd)
	emit("JGE %s_part", l)
	label(l + "_onel")
	k.step(R, 1, U, wr, xr, false)
	emit("ADDQ $%d, AX", k.vb())
	emit("CMPQ AX, %s", chunkEnd)
	emit("JLT %s_onel", l)
	label(l + "_part")
	emit("CMPQ AX, %s", colsB)
	emit("JGE %s_sum", l)
	k.step(R, 1, U, wr, xr, true)
	label(l + "_sum")
	// Next block's first row; the row registers past it are free from here.
	if R > 1 {
		emit("MOVQ %s, %s", wr[R-1], wr[0])
	}
	emit("ADDQ %s, %s", colsB, wr[0])
	k.reduce(R, U, wr)
	emit("ADDQ $%d, DX", 4*R)
}

// step emits n vectors of columns from offset AX for R rows (of the block's U steps'
// accumulators); masked: the one partial vector.
func (k kernel) step(R, n, U int, wr, xr []string, masked bool) {
	load := func(mem, dst string) {
		switch {
		case !masked:
			emit("VMOVUPS %s, %s", mem, dst)
		case k.name == "avx512":
			emit("VMOVUPS.Z %s, K1, %s", mem, dst)
		default:
			emit("VMASKMOVPS %s, Y15, %s", mem, dst)
		}
	}
	xreg := func(b, u int) string { return k.v(k.xBase + b*n + u) }
	for u := range n {
		for b := range k.B {
			load(fmt.Sprintf("%d(%s)(AX*1)", u*k.vb(), xr[b]), xreg(b, u))
		}
	}
	if k.prefetch > 0 && !masked && n > 1 {
		for r := range R {
			for off := 0; off < n*k.vb(); off += 64 {
				emit("PREFETCHT0 %d(%s)(AX*1)", k.prefetch+off, wr[r])
			}
		}
	}
	t := 0
	for r := range R {
		for u := range n {
			mem := fmt.Sprintf("%d(%s)(AX*1)", u*k.vb(), wr[r])
			if k.B == 1 && !masked {
				emit("VFMADD231PS %s, %s, %s", mem, xreg(0, u), k.v(k.acc(r, 0, u, U)))
				continue
			}
			w := k.v(k.xBase + k.B*n + t%2)
			t++
			load(mem, w)
			for b := range k.B {
				emit("VFMADD231PS %s, %s, %s", xreg(b, u), w, k.v(k.acc(r, b, u, U)))
			}
		}
	}
}

// reduce sums each accumulator across its U steps and lanes and stores, for each input
// b, the R row sums at DX + b·ldy.
func (k kernel) reduce(R, U int, wr []string) {
	for r := range R {
		for b := range k.B {
			for u := 1; u < U; u++ {
				a := k.acc(r, b, 0, U)
				emit("VADDPS %s, %s, %s", k.v(k.acc(r, b, u, U)), k.v(a), k.v(a))
			}
		}
	}
	// Down to one 128-bit register per accumulator.
	for r := range R {
		for b := range k.B {
			a := k.acc(r, b, 0, U)
			t := k.tBase + (r*k.B+b)%k.nTemp
			if k.name == "avx512" {
				emit("VEXTRACTF64X4 $1, %s, %s", k.v(a), k.y(t))
				emit("VADDPS %s, %s, %s", k.y(t), k.y(a), k.y(a))
				emit("VEXTRACTF32X4 $1, %s, %s", k.y(a), k.xr(t))
			} else {
				emit("VEXTRACTF128 $1, %s, %s", k.y(a), k.xr(t))
			}
			emit("VADDPS %s, %s, %s", k.xr(t), k.xr(a), k.xr(a))
		}
	}
	yp := wr[1%len(wr)]
	if R == 1 {
		yp = "DI"
	}
	emit("MOVQ DX, %s", yp)
	for b := range k.B {
		if R == 1 {
			a := k.xr(k.acc(0, b, 0, U))
			emit("VHADDPS %s, %s, %s", a, a, a)
			emit("VHADDPS %s, %s, %s", a, a, a)
			emit("VMOVSS %s, (%s)", a, yp)
		} else {
			for g := 0; g < R; g += 4 {
				a := func(i int) string { return k.xr(k.acc(g+i, b, 0, U)) }
				emit("VHADDPS %s, %s, %s", a(1), a(0), a(0))
				emit("VHADDPS %s, %s, %s", a(3), a(2), a(2))
				emit("VHADDPS %s, %s, %s", a(2), a(0), a(0))
				emit("VMOVUPS %s, %d(%s)", a(0), 4*g, yp)
			}
		}
		if b < k.B-1 {
			emit("ADDQ %s, %s", ldyB, yp)
		}
	}
}

func main() {
	out.WriteString("// Code generated by asm_gen.go; DO NOT EDIT.\n\n//go:build amd64 && !purego\n\n#include \"textflag.h\"\n")
	out.WriteString("\n// tailmask: 8 all-ones lanes then 8 zero lanes; 8−t lanes before the zeros is the\n// VMASKMOVPS mask of the first t lanes.\n")
	for i := range 16 {
		v := "0xffffffff"
		if i >= 8 {
			v = "0x00000000"
		}
		fmt.Fprintf(&out, "DATA tailmask<>+%d(SB)/4, $%s\n", 4*i, v)
	}
	out.WriteString("GLOBL tailmask<>(SB), RODATA|NOPTR, $64\n")
	list, file := kernels, "gemm_amd64.s"
	if len(os.Args) > 1 && os.Args[1] == "-variants" {
		list, file = variants, "variants_amd64.s"
	}
	for _, k := range list {
		k.gen()
	}
	src := out.String()
	if strings.Contains(src, "%!") {
		log.Fatal("format error in generated assembly")
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// kernels lists the generated functions; gemm_amd64.go declares them.
var kernels = []kernel{
	{isa: avx512, B: 1, R: 4, U: 4, U1: 4},
	{isa: avx512, B: 2, R: 4, U: 2, U1: 4},
	{isa: avx512, B: 3, R: 4, U: 1, U1: 2},
	{isa: avx512, B: 4, R: 4, U: 1, U1: 2},
	{isa: avx2, B: 1, R: 4, U: 2, U1: 4},
	{isa: avx2, B: 2, R: 4, U: 1, U1: 2},
}

// variants are kernels under trial (go run asm_gen.go -variants writes them).
var variants = []kernel{
	{isa: avx512, B: 1, R: 4, U: 4, U1: 4, suffix: "r4u4"},
	{isa: avx512, B: 1, R: 8, U: 2, U1: 4, suffix: "r8u2"},
	{isa: avx512, B: 1, R: 4, U: 2, U1: 4, suffix: "r4u2"},
	{isa: avx512, B: 1, R: 4, U: 4, U1: 4, suffix: "r4u4p1k", prefetch: 1024},
	{isa: avx512, B: 1, R: 4, U: 4, U1: 4, suffix: "r4u4p2k", prefetch: 2048},
	{isa: avx512, B: 1, R: 8, U: 2, U1: 4, suffix: "r8u2p1k", prefetch: 1024},
}
