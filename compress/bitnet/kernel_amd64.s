#include "textflag.h"

// func rowsAVX2(codes *byte, stride, blocks, groups, tail int, q *int8, acc *int32)
//
// For each block of four rows (row k at codes + k·stride) it sets acc[k] = Σ u·q over
// the row's groups of 128 columns (32 bytes: shift s of byte i is column
// 64·(i/16) + 16s + i%16 of the group, multiplied by the permuted inputs
// q[128g + 32s + i]) and its tail chunk of 64 columns (16 bytes, natural input order).
//
// VPMADDUBSW multiplies the unsigned codes u ∈ {0,1,2} by the signed int8 inputs and
// adds adjacent pairs into int16 (at most 2·2·128 = 512 in magnitude, no saturation);
// the four shifts' products are summed in int16 (≤ 2048) and VPMADDWD by ones widens
// them to int32 lanes once per group. The four input vectors of a group (Y4..Y7) serve
// all four rows. Y8 holds the byte mask 0x03, Y9 the int16 ones.
TEXT ·rowsAVX2(SB), NOSPLIT, $0-56
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ blocks+16(FP), R9
	MOVQ groups+24(FP), R13
	MOVQ tail+32(FP), R14
	MOVQ q+40(FP), R15
	MOVQ acc+48(FP), BX
	MOVL $0x03030303, AX
	MOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x00010001, AX
	MOVD AX, X9
	VPBROADCASTD X9, Y9

block:
	MOVQ SI, R10
	LEAQ (SI)(R8*1), R11
	LEAQ (SI)(R8*2), R12
	LEAQ (R11)(R8*2), DX
	MOVQ R15, DI
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ R13, CX
	TESTQ CX, CX
	JZ tail

group:
	VMOVDQU 0(DI), Y4
	VMOVDQU 32(DI), Y5
	VMOVDQU 64(DI), Y6
	VMOVDQU 96(DI), Y7

#define ROW256(ptr, acc) \
	VMOVDQU (ptr), Y10 \
	VPSRLW $2, Y10, Y11 \
	VPSRLW $4, Y10, Y12 \
	VPSRLW $6, Y10, Y13 \
	VPAND Y8, Y10, Y10 \
	VPAND Y8, Y11, Y11 \
	VPAND Y8, Y12, Y12 \
	VPAND Y8, Y13, Y13 \
	VPMADDUBSW Y4, Y10, Y10 \
	VPMADDUBSW Y5, Y11, Y11 \
	VPMADDUBSW Y6, Y12, Y12 \
	VPMADDUBSW Y7, Y13, Y13 \
	VPADDW Y11, Y10, Y10 \
	VPADDW Y13, Y12, Y12 \
	VPADDW Y12, Y10, Y10 \
	VPMADDWD Y9, Y10, Y10 \
	VPADDD Y10, acc, acc \
	ADDQ $32, ptr

	ROW256(R10, Y0)
	ROW256(R11, Y1)
	ROW256(R12, Y2)
	ROW256(DX, Y3)
	ADDQ $128, DI
	DECQ CX
	JNZ group

tail:
	TESTQ R14, R14
	JZ reduce
	VMOVDQU 0(DI), X4
	VMOVDQU 16(DI), X5
	VMOVDQU 32(DI), X6
	VMOVDQU 48(DI), X7

	// 128-bit forms: each writes zeros to the upper half of its register, so the
	// 256-bit add into the accumulator adds zeros there.
#define ROW128(ptr, acc) \
	VMOVDQU (ptr), X10 \
	VPSRLW $2, X10, X11 \
	VPSRLW $4, X10, X12 \
	VPSRLW $6, X10, X13 \
	VPAND X8, X10, X10 \
	VPAND X8, X11, X11 \
	VPAND X8, X12, X12 \
	VPAND X8, X13, X13 \
	VPMADDUBSW X4, X10, X10 \
	VPMADDUBSW X5, X11, X11 \
	VPMADDUBSW X6, X12, X12 \
	VPMADDUBSW X7, X13, X13 \
	VPADDW X11, X10, X10 \
	VPADDW X13, X12, X12 \
	VPADDW X12, X10, X10 \
	VPMADDWD X9, X10, X10 \
	VPADDD Y10, acc, acc

	ROW128(R10, Y0)
	ROW128(R11, Y1)
	ROW128(R12, Y2)
	ROW128(DX, Y3)

reduce:
	VEXTRACTI128 $1, Y0, X10
	VPADDD X10, X0, X0
	VEXTRACTI128 $1, Y1, X11
	VPADDD X11, X1, X1
	VEXTRACTI128 $1, Y2, X12
	VPADDD X12, X2, X2
	VEXTRACTI128 $1, Y3, X13
	VPADDD X13, X3, X3
	// Horizontal sums of the four rows into one vector [r0 r1 r2 r3].
	VPHADDD X1, X0, X0
	VPHADDD X3, X2, X2
	VPHADDD X2, X0, X0
	VMOVDQU X0, (BX)

	ADDQ $16, BX
	LEAQ (SI)(R8*4), SI
	DECQ R9
	JNZ block

	VZEROUPPER
	RET
