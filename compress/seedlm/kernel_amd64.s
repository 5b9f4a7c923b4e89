//go:build amd64 && !purego

#include "textflag.h"

// func projectAVX2(t, v, x *float32, m, nc, p int)
//
// t[u] = Σ_{i<nc} x[i]·v[u + i·p] for u < m (m a positive multiple of 64, nc ≥ 1):
// 64 outputs at a time in eight accumulators (enough independent FMAs to cover their
// latency), each x[i] broadcast once per step.
TEXT ·projectAVX2(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ nc+32(FP), R8
	MOVQ p+40(FP), R9
	SHLQ $2, R9

outer:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12

inner:
	VBROADCASTSS (R11), Y8
	VFMADD231PS (R10), Y8, Y0
	VFMADD231PS 32(R10), Y8, Y1
	VFMADD231PS 64(R10), Y8, Y2
	VFMADD231PS 96(R10), Y8, Y3
	VFMADD231PS 128(R10), Y8, Y4
	VFMADD231PS 160(R10), Y8, Y5
	VFMADD231PS 192(R10), Y8, Y6
	VFMADD231PS 224(R10), Y8, Y7
	ADDQ R9, R10
	ADDQ $4, R11
	DECQ R12
	JNZ  inner

	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VMOVUPS Y4, 128(DI)
	VMOVUPS Y5, 160(DI)
	VMOVUPS Y6, 192(DI)
	VMOVUPS Y7, 224(DI)
	ADDQ $256, DI
	ADDQ $256, SI
	SUBQ $64, CX
	JNZ  outer
	VZEROUPPER
	RET

// Offsets of tileArgs fields (kernel_amd64.go; TestTileArgsLayout checks them).
#define A_WORDS 0
#define A_TAB 8
#define A_Y 16
#define A_ROWS 24
#define A_CNT 32
#define A_ROWWORDS 40
#define A_MASK 48
#define A_MW 56
#define A_SHIFT 64
#define A_CURSOR 72
#define A_STB 80
#define A_BASE 88
#define A_POSMASK 96
#define A_K 100
#define A_CL 104
#define A_CR 120
#define A_POW 136 // [16][4]float32

#define PREFETCH_SHIFT 3 // log2 of the rows ahead whose words are prefetched

// BLOCK adds block word (SI) with table base tb (a GP register) to the accumulator acc
// (an X register): the four coefficients decoded in lanes (lanes l ≥ P shift to 0) and
// multiplied by 2^code, then acc += that ⊙ tab[pos … pos+3], one 16-byte load. Clobbers
// AX, R11, X5; X8 and X9 hold a.cl and a.cr. a.pow holds 2^code for each lane of code (16 × 4 floats).
#define BLOCK(tb, acc) \
	MOVL    (SI), R11 \
	VMOVD   R11, X5 \
	MOVL    R11, AX \
	ANDL    A_POSMASK(R9), AX \
	VPBROADCASTD X5, X5 \
	VPSLLVD X8, X5, X5 \
	VPSRAVD X9, X5, X5 \
	VCVTDQ2PS X5, X5 \
	SHRXL   R10, R11, R11 \
	ANDL    $15, R11 \
	SHLL    $4, R11 \
	VMULPS  A_POW(R9)(R11*1), X5, X5 \
	VFMADD231PS (tb)(AX*4), X5, acc

// func tileAVX2(a *tileArgs)
//
// For rows r < a.rows: y[r] += 2^ExpBase · Σ over the row's blocks in the tile of
// 2^code·Σ_l coef_l·tab[jj·stride + pos + l], one block at a time with its P ≤ 4
// projections in one 4-lane load (no gathers), four accumulators in turn; the lanes
// are added at the row's end and scaled by 2^ExpBase in float64 (no underflow of
// partial sums).
//
// Unpruned (a.mask == nil): a row's blocks are a.cnt consecutive words, a.rowWords
// words after the previous row's; the words of the row 2^PREFETCH_SHIFT ahead are
// prefetched (the hardware prefetcher does not follow the row stride in time). Pruned:
// the row's tile bits are (its mask word >> a.shift) & (2^cnt − 1), walked with TZCNT
// and BLSR, so pruned blocks cost nothing; its kept words start at word a.cursor[r],
// which is advanced by their count.
TEXT ·tileAVX2(SB), NOSPLIT, $8-8
	MOVQ a+0(FP), R9
	MOVQ A_WORDS(R9), R14   // unpruned: the current row's first word
	MOVQ A_Y(R9), DI
	MOVQ A_ROWS(R9), CX
	MOVQ A_MASK(R9), R12
	MOVQ A_CURSOR(R9), R15
	MOVQ A_STB(R9), R13
	MOVL A_K(R9), R10
	VMOVDQU A_CL(R9), X8
	VMOVDQU A_CR(R9), X9

row:
	VXORPS X0, X0, X0
	VXORPS X1, X1, X1
	VXORPS X2, X2, X2
	VXORPS X3, X3, X3
	MOVQ   A_TAB(R9), R8
	TESTQ  R12, R12
	JNZ    pruned
	MOVQ   R14, SI
	MOVQ   A_CNT(R9), DX
	MOVQ   A_ROWWORDS(R9), AX
	LEAQ   (R14)(AX*4), R14
	SHLQ   $PREFETCH_SHIFT, AX
	LEAQ   (SI)(AX*4), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)
	LEAQ   (R8)(R13*1), BX

pair:
	CMPQ DX, $2
	JLT  single
	BLOCK(R8, X0)
	ADDQ $4, SI
	BLOCK(BX, X1)
	ADDQ $4, SI
	LEAQ (R8)(R13*2), R8
	LEAQ (BX)(R13*2), BX
	CMPQ DX, $4
	JLT  pairend
	BLOCK(R8, X2)
	ADDQ $4, SI
	BLOCK(BX, X3)
	ADDQ $4, SI
	LEAQ (R8)(R13*2), R8
	LEAQ (BX)(R13*2), BX
	SUBQ $2, DX

pairend:
	SUBQ $2, DX
	JMP  pair

single:
	TESTQ DX, DX
	JZ    rowend
	BLOCK(R8, X0)
	JMP   rowend

pruned:
	// DX = the row's tile bits; SI = its next kept word; BX = jj·stride bytes.
	MOVQ  (R12), DX
	MOVQ  A_SHIFT(R9), AX
	SHRXQ AX, DX, DX
	MOVQ  A_CNT(R9), AX
	CMPQ  AX, $64
	JGE   allbits
	MOVQ  $1, R11
	SHLXQ AX, R11, R11
	DECQ  R11
	ANDQ  R11, DX

allbits:
	// Prefetch the kept words of the row 2^PREFETCH_SHIFT ahead, if there is one.
	CMPQ    CX, $(1<<PREFETCH_SHIFT)
	JLE     nopf
	MOVLQSX (4<<PREFETCH_SHIFT)(R15), AX
	MOVQ    A_WORDS(R9), R11
	LEAQ    (R11)(AX*4), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)

nopf:
	MOVLQSX (R15), AX
	MOVQ    A_WORDS(R9), SI
	LEAQ    (SI)(AX*4), SI
	MOVQ    SI, BX
	MOVQ    BX, first-8(SP) // the row's first kept word, to count them
	MOVQ    A_MW(R9), AX
	LEAQ    (R12)(AX*8), R12

kept:
	TESTQ   DX, DX
	JZ      keptend
	TZCNTQ  DX, BX
	BLSRQ   DX, DX
	IMULQ   R13, BX
	ADDQ    R8, BX
	BLOCK(BX, X0)
	ADDQ    $4, SI
	TESTQ   DX, DX
	JZ      keptend
	TZCNTQ  DX, BX
	BLSRQ   DX, DX
	IMULQ   R13, BX
	ADDQ    R8, BX
	BLOCK(BX, X1)
	ADDQ    $4, SI
	JMP     kept

keptend:
	MOVQ  SI, AX
	SUBQ  first-8(SP), AX
	SHRQ  $2, AX
	ADDL  AX, (R15)
	ADDQ  $4, R15

rowend:
	VADDPS   X1, X0, X0
	VADDPS   X3, X2, X2
	VADDPS   X2, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS   X1, X0, X0
	VPSHUFD  $1, X0, X1
	VADDSS   X1, X0, X0
	VCVTSS2SD X0, X0, X0
	VMULSD   A_BASE(R9), X0, X0
	VCVTSD2SS X0, X0, X0
	VADDSS   (DI), X0, X0
	VMOVSS   X0, (DI)
	ADDQ     $4, DI
	DECQ     CX
	JNZ      row
	VZEROUPPER
	RET
