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
#define A_OFFS 24
#define A_ROWS 32
#define A_CNT 40
#define A_ROWWORDS 48
#define A_MASK 56
#define A_MW 64
#define A_SHIFT 72
#define A_CURSOR 80
#define A_CBUF 88
#define A_P 96
#define A_LUT 104
#define A_BASE 112
#define A_POSMASK 120
#define A_K 152
#define A_CL 184
#define A_CR 312
#define A_FIFTEEN 344
#define A_BIAS 376
#define A_IOTA 408

// func tileAVX2(a *tileArgs)
//
// For rows r < a.rows: y[r] += 2^ExpBase · Σ over the row's blocks in the tile of
// 2^code·Σ_l coef_l·tab[off + pos + l], eight blocks per step: their words are loaded
// together, their table entries gathered, their coefficients and exponent codes decoded
// in lanes (2^code built in the float's exponent bits); the eight partial sums are
// added across lanes at the row's end and scaled by 2^ExpBase in float64 (no underflow
// of the partial products). Lanes past a row's last block load word 0 and offset 0,
// which contribute 0.
//
// Unpruned (a.mask == nil): a row's blocks are a.cnt consecutive words, a.rowWords
// words after the previous row's, with column offsets a.offs[0 …]. Pruned: the row's
// tile bits are (mask word >> a.shift) & (2^cnt − 1); its kept words start at word
// a.cursor[r] (advanced here by their count); their column offsets are packed from
// a.offs into a.cbuf eight columns at a time by VPERMD with a.lut[bits] (the positions
// of the set bits), so pruned blocks cost no block work.
TEXT ·tileAVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), R9
	MOVQ A_WORDS(R9), R14   // unpruned: the current row's first word
	MOVQ A_TAB(R9), BX
	MOVQ A_Y(R9), DI
	MOVQ A_ROWS(R9), CX
	MOVQ A_MASK(R9), R12
	MOVQ A_CURSOR(R9), R15
	VPCMPEQD Y12, Y12, Y12  // all lanes: the mask of a full group

row:
	VXORPS Y0, Y0, Y0
	TESTQ  R12, R12
	JNZ    pruned
	MOVQ   R14, SI
	MOVQ   A_CNT(R9), DX
	MOVQ   A_OFFS(R9), R8
	MOVQ   A_ROWWORDS(R9), AX
	LEAQ   (R14)(AX*4), R14
	JMP    blocks

pruned:
	// R10 = the row's tile bits; SI = its first kept word; R8 = cbuf.
	MOVQ  (R12), R10
	MOVQ  A_SHIFT(R9), AX
	SHRXQ AX, R10, R10
	MOVQ  A_CNT(R9), AX
	CMPQ  AX, $64
	JGE   allbits
	MOVQ  $1, R11
	SHLXQ AX, R11, R11
	DECQ  R11
	ANDQ  R11, R10

allbits:
	MOVLQSX (R15), AX
	MOVQ    A_WORDS(R9), SI
	LEAQ    (SI)(AX*4), SI
	MOVQ    A_CBUF(R9), R8
	MOVQ    R8, R13
	MOVQ    A_OFFS(R9), AX  // offsets of the current eight columns
	MOVQ    A_LUT(R9), DX

pack:
	TESTQ   R10, R10
	JZ      packed
	MOVBQZX R10, R11
	SHLQ    $5, R11
	VMOVDQU (DX)(R11*1), Y1  // positions of the set bits
	VPERMD  (AX), Y1, Y2
	VMOVDQU Y2, (R13)
	MOVBQZX R10, R11
	POPCNTQ R11, R11
	LEAQ    (R13)(R11*4), R13
	SHRQ    $8, R10
	ADDQ    $32, AX
	JMP     pack

packed:
	SUBQ  R8, R13
	SHRQ  $2, R13
	MOVQ  R13, DX         // kept blocks of the row in the tile
	ADDL  DX, (R15)
	ADDQ  $4, R15
	MOVQ  A_MW(R9), AX
	LEAQ  (R12)(AX*8), R12

blocks:
	TESTQ DX, DX
	JLE   rowend

group:
	CMPQ DX, $8
	JLT  tail
	VMOVDQU (SI), Y1        // words
	VMOVDQU (R8), Y2        // column offsets
	JMP  decode

tail:
	VMOVD    DX, X11
	VPBROADCASTD X11, Y11
	VPCMPGTD A_IOTA(R9), Y11, Y11 // lanes below the blocks left
	VPMASKMOVD (SI), Y11, Y1
	VPMASKMOVD (R8), Y11, Y2

decode:
	VPAND   A_POSMASK(R9), Y1, Y3
	VPADDD  Y2, Y3, Y3        // table index of z0
	VMOVDQA Y12, Y10
	VGATHERDPS Y10, (BX)(Y3*4), Y4
	VPSLLVD A_CL(R9), Y1, Y7
	VPSRAVD A_CR(R9), Y7, Y7
	VCVTDQ2PS Y7, Y7
	VMULPS  Y4, Y7, Y8        // v = c0·z0
	MOVQ    A_P(R9), AX
	CMPQ    AX, $2
	JLT     scale
	VMOVDQA Y12, Y10
	VGATHERDPS Y10, 4(BX)(Y3*4), Y5
	VPSLLVD A_CL+32(R9), Y1, Y7
	VPSRAVD A_CR(R9), Y7, Y7
	VCVTDQ2PS Y7, Y7
	VFMADD231PS Y5, Y7, Y8
	CMPQ    AX, $3
	JLT     scale
	VMOVDQA Y12, Y10
	VGATHERDPS Y10, 8(BX)(Y3*4), Y6
	VPSLLVD A_CL+64(R9), Y1, Y7
	VPSRAVD A_CR(R9), Y7, Y7
	VCVTDQ2PS Y7, Y7
	VFMADD231PS Y6, Y7, Y8
	CMPQ    AX, $4
	JLT     scale
	VMOVDQA Y12, Y10
	VGATHERDPS Y10, 12(BX)(Y3*4), Y5
	VPSLLVD A_CL+96(R9), Y1, Y7
	VPSRAVD A_CR(R9), Y7, Y7
	VCVTDQ2PS Y7, Y7
	VFMADD231PS Y5, Y7, Y8

scale:
	VPSRLVD A_K(R9), Y1, Y9
	VPAND   A_FIFTEEN(R9), Y9, Y9
	VPADDD  A_BIAS(R9), Y9, Y9
	VPSLLD  $23, Y9, Y9       // 2^code
	VFMADD231PS Y9, Y8, Y0
	ADDQ  $32, SI
	ADDQ  $32, R8
	SUBQ  $8, DX
	JG    group

rowend:
	VEXTRACTF128 $1, Y0, X10
	VADDPS   X10, X0, X10
	VMOVHLPS X10, X10, X11
	VADDPS   X11, X10, X10
	VPSHUFD  $1, X10, X11
	VADDSS   X11, X10, X10
	VCVTSS2SD X10, X10, X10
	VMULSD   A_BASE(R9), X10, X10
	VCVTSD2SS X10, X10, X10
	VADDSS   (DI), X10, X10
	VMOVSS   X10, (DI)
	ADDQ     $4, DI
	DECQ     CX
	JNZ      row
	VZEROUPPER
	RET
