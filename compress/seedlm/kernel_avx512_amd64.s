//go:build amd64 && !purego

#include "textflag.h"

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

#define PREFETCH_SHIFT 3 // log2 of the rows ahead whose words are prefetched

// Lane constants: the dword lane numbers 0…15, and for VPERMD the word of each lane
// pair (0, 0, 1, 1, …, 7, 7).
DATA iota16<>+0(SB)/4, $0
DATA iota16<>+4(SB)/4, $1
DATA iota16<>+8(SB)/4, $2
DATA iota16<>+12(SB)/4, $3
DATA iota16<>+16(SB)/4, $4
DATA iota16<>+20(SB)/4, $5
DATA iota16<>+24(SB)/4, $6
DATA iota16<>+28(SB)/4, $7
DATA iota16<>+32(SB)/4, $8
DATA iota16<>+36(SB)/4, $9
DATA iota16<>+40(SB)/4, $10
DATA iota16<>+44(SB)/4, $11
DATA iota16<>+48(SB)/4, $12
DATA iota16<>+52(SB)/4, $13
DATA iota16<>+56(SB)/4, $14
DATA iota16<>+60(SB)/4, $15
GLOBL iota16<>(SB), RODATA|NOPTR, $64

DATA pairs16<>+0(SB)/4, $0
DATA pairs16<>+4(SB)/4, $0
DATA pairs16<>+8(SB)/4, $1
DATA pairs16<>+12(SB)/4, $1
DATA pairs16<>+16(SB)/4, $2
DATA pairs16<>+20(SB)/4, $2
DATA pairs16<>+24(SB)/4, $3
DATA pairs16<>+28(SB)/4, $3
DATA pairs16<>+32(SB)/4, $4
DATA pairs16<>+36(SB)/4, $4
DATA pairs16<>+40(SB)/4, $5
DATA pairs16<>+44(SB)/4, $5
DATA pairs16<>+48(SB)/4, $6
DATA pairs16<>+52(SB)/4, $6
DATA pairs16<>+56(SB)/4, $7
DATA pairs16<>+60(SB)/4, $7
GLOBL pairs16<>(SB), RODATA|NOPTR, $64

// STEP8(kmask, acc) adds up to 8 blocks to the accumulator acc (a Z register): their
// words in Y0 (lanes past the mask zero), their tables' offsets in dwords (column
// offset, without pos) in Y1, the tables' base in R8. Each block's four projections
// tab[pos … pos+3] come as two 64-bit gathers (VPGATHERDQ: pairs t0t1 and t2t3 in
// lanes 2i, 2i+1 of block i); its words are duplicated into the same lane pairs and
// decoded there (lane 2i: coefficients 0 and 2, lane 2i+1: 1 and 3; lanes l ≥ P shift
// to zero), d = c01·t01 + c23·t23, and acc += 2^code · d, 2^code from VPERMPS of the
// code. kmask (a K register) has the blocks' lanes; K1 and K2 are clobbered, as are
// Z2–Z7.
//
// Constants: Y16 the position mask, Z18 the lane-pair permutation, Z19 and Z20 the
// left shifts of coefficients 0,1 and 2,3, Z21 the right shift, Z22 the floats 2^0 …
// 2^15, X23 K (the code's shift).
#define STEP8(kmask, acc) \
	VPANDD      Y16, Y0, Y2 \
	VPADDD      Y1, Y2, Y2 \
	KMOVW       kmask, K1 \
	KMOVW       kmask, K2 \
	VPXORQ      Z3, Z3, Z3 \
	VPXORQ      Z4, Z4, Z4 \
	VPGATHERDQ  0(R8)(Y2*4), K1, Z3 \
	VPGATHERDQ  8(R8)(Y2*4), K2, Z4 \
	VPERMD      Z0, Z18, Z5 \
	VPSLLVD     Z19, Z5, Z6 \
	VPSLLVD     Z20, Z5, Z7 \
	VPSRAVD     Z21, Z6, Z6 \
	VPSRAVD     Z21, Z7, Z7 \
	VCVTDQ2PS   Z6, Z6 \
	VCVTDQ2PS   Z7, Z7 \
	VMULPS      Z3, Z6, Z6 \
	VFMADD231PS Z4, Z7, Z6 \
	VPSRLD      X23, Z5, Z5 \
	VPERMPS     Z22, Z5, Z5 \
	VFMADD231PS Z5, Z6, acc

// func tileAVX512(a *tileArgs)
//
// tileAVX2 with eight blocks of a row per step (STEP8): y[r] += 2^ExpBase · Σ over the
// row's blocks in the tile of 2^code·Σ_l coef_l·tab[jj·stride + pos + l], the lanes of
// the two accumulators added at the row's end and scaled by 2^ExpBase in float64.
//
// Unpruned (a.mask == nil): a row's blocks are a.cnt consecutive words, a.rowWords
// words after the previous row's, taken eight at a time (block column jj's table at
// jj·stride: Y17 holds lane·stride) and the rest under a mask (K3); the words of the
// row 2^PREFETCH_SHIFT ahead are prefetched. Pruned: the row's tile bits are
// (its mask word >> a.shift) & (2^cnt − 1), taken eight block columns at a time: the
// byte's set bits select the lanes of Y17 compressed (VPCOMPRESSD) into the offsets of
// the kept blocks, whose words are the next popcount(byte) words from a.cursor[r]; a
// byte with no kept block costs a test and a branch. a.cursor[r] is advanced by the
// row's kept count.
TEXT ·tileAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), R9
	MOVQ A_WORDS(R9), R14
	MOVQ A_Y(R9), DI
	MOVQ A_ROWS(R9), CX
	MOVQ A_MASK(R9), R12
	MOVQ A_CURSOR(R9), R15
	MOVQ A_STB(R9), R13

	// Constants.
	VPBROADCASTD A_POSMASK(R9), Y16
	MOVQ         R13, AX
	SHRQ         $2, AX
	VPBROADCASTD AX, Y17
	VPMULLD      iota16<>(SB), Y17, Y17 // lane · stride
	VMOVDQU32    pairs16<>(SB), Z18
	VPBROADCASTQ A_CL(R9), Z19
	VPBROADCASTQ A_CL+8(R9), Z20
	VPBROADCASTD A_CR(R9), Z21
	MOVL         $127, AX
	VPBROADCASTD AX, Z22
	VPADDD       iota16<>(SB), Z22, Z22
	VPSLLD       $23, Z22, Z22 // 2^lane
	VMOVD        A_K(R9), X23
	SHLQ         $3, R13       // R13 = 8 tables, in bytes

	// K3 = the lanes of an unpruned row's last cnt % 8 blocks; BX = cnt / 8.
	MOVQ  A_CNT(R9), BX
	MOVQ  BX, AX
	ANDQ  $7, AX
	MOVQ  $1, R11
	SHLXQ AX, R11, R11
	DECQ  R11
	KMOVW R11, K3
	SHRQ  $3, BX
	MOVL  $0xff, R11
	KMOVW R11, K4 // all eight lanes

row:
	VPXORQ Z8, Z8, Z8
	VPXORQ Z9, Z9, Z9
	MOVQ   A_TAB(R9), R8
	VMOVDQA32 Y17, Y1
	TESTQ  R12, R12
	JNZ    pruned
	MOVQ   R14, SI
	MOVQ   BX, DX
	MOVQ   A_ROWWORDS(R9), AX
	LEAQ   (R14)(AX*4), R14
	SHLQ   $PREFETCH_SHIFT, AX
	LEAQ   (SI)(AX*4), AX
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	PREFETCHT0 192(AX)

two:
	CMPQ DX, $2
	JLT  one
	VMOVDQU32 (SI), Y0
	STEP8(K4, Z8)
	ADDQ R13, R8
	VMOVDQU32 32(SI), Y0
	STEP8(K4, Z9)
	ADDQ R13, R8
	ADDQ $64, SI
	SUBQ $2, DX
	JMP  two

one:
	TESTQ DX, DX
	JZ    tail
	VMOVDQU32 (SI), Y0
	STEP8(K4, Z8)
	ADDQ R13, R8
	ADDQ $32, SI

tail:
	KORTESTW K3, K3
	JZ       rowend
	VMOVDQU32.Z (SI), K3, Y0
	STEP8(K3, Z9)
	JMP   rowend

pruned:
	// DX = the row's tile bits; SI = its next kept word; R10 = the row's first kept word.
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
	MOVQ    SI, R10
	MOVQ    A_MW(R9), AX
	LEAQ    (R12)(AX*8), R12

byte:
	TESTQ   DX, DX
	JZ      keptend
	MOVBLZX DL, AX
	SHRQ    $8, DX
	TESTL   AX, AX
	JZ      nextbyte
	KMOVW   AX, K5
	POPCNTL AX, AX
	MOVQ    $1, R11
	SHLXQ   AX, R11, R11
	DECQ    R11
	KMOVW   R11, K6 // the first popcount lanes
	VPCOMPRESSD.Z Y17, K5, Y1
	VMOVDQU32.Z (SI), K6, Y0
	LEAQ    (SI)(AX*4), SI
	STEP8(K6, Z8)

nextbyte:
	ADDQ R13, R8
	JMP  byte

keptend:
	MOVQ  SI, AX
	SUBQ  R10, AX
	SHRQ  $2, AX
	ADDL  AX, (R15)
	ADDQ  $4, R15

rowend:
	VADDPS        Z9, Z8, Z8
	VEXTRACTF64X4 $1, Z8, Y9
	VADDPS        Y9, Y8, Y8
	VEXTRACTF128  $1, Y8, X9
	VADDPS        X9, X8, X8
	VMOVHLPS      X8, X8, X9
	VADDPS        X9, X8, X8
	VPSHUFD       $1, X8, X9
	VADDSS        X9, X8, X8
	VCVTSS2SD     X8, X8, X8
	VMULSD        A_BASE(R9), X8, X8
	VCVTSD2SS     X8, X8, X8
	VADDSS        (DI), X8, X8
	VMOVSS        X8, (DI)
	ADDQ          $4, DI
	DECQ          CX
	JNZ           row
	VZEROUPPER
	RET

// func projectAVX512(t, v, x *float32, m, nc, p int)
//
// projectAVX2 with 128 outputs per step in eight Z accumulators (and a last step of 64
// in four when m is an odd multiple of 64).
TEXT ·projectAVX512(SB), NOSPLIT, $0-48
	MOVQ t+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ m+24(FP), CX
	MOVQ nc+32(FP), R8
	MOVQ p+40(FP), R9
	SHLQ $2, R9

outer:
	CMPQ CX, $128
	JLT  last
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12

inner:
	VBROADCASTSS (R11), Z8
	VFMADD231PS (R10), Z8, Z0
	VFMADD231PS 64(R10), Z8, Z1
	VFMADD231PS 128(R10), Z8, Z2
	VFMADD231PS 192(R10), Z8, Z3
	VFMADD231PS 256(R10), Z8, Z4
	VFMADD231PS 320(R10), Z8, Z5
	VFMADD231PS 384(R10), Z8, Z6
	VFMADD231PS 448(R10), Z8, Z7
	ADDQ R9, R10
	ADDQ $4, R11
	DECQ R12
	JNZ  inner

	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	VMOVUPS Z4, 256(DI)
	VMOVUPS Z5, 320(DI)
	VMOVUPS Z6, 384(DI)
	VMOVUPS Z7, 448(DI)
	ADDQ $512, DI
	ADDQ $512, SI
	SUBQ $128, CX
	JMP  outer

last:
	TESTQ CX, CX
	JZ    done
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	MOVQ SI, R10
	MOVQ DX, R11
	MOVQ R8, R12

inner64:
	VBROADCASTSS (R11), Z8
	VFMADD231PS (R10), Z8, Z0
	VFMADD231PS 64(R10), Z8, Z1
	VFMADD231PS 128(R10), Z8, Z2
	VFMADD231PS 192(R10), Z8, Z3
	ADDQ R9, R10
	ADDQ $4, R11
	DECQ R12
	JNZ  inner64

	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)

done:
	VZEROUPPER
	RET
