//go:build amd64 && !purego

#include "textflag.h"

DATA packOrder<>+0(SB)/4, $0
DATA packOrder<>+4(SB)/4, $4
DATA packOrder<>+8(SB)/4, $1
DATA packOrder<>+12(SB)/4, $5
DATA packOrder<>+16(SB)/4, $2
DATA packOrder<>+20(SB)/4, $6
DATA packOrder<>+24(SB)/4, $3
DATA packOrder<>+28(SB)/4, $7
GLOBL packOrder<>(SB), RODATA|NOPTR, $32

// func rowsAVX2(codes *byte, stride, blocks, groups, tail int, q *int8, acc *int32)
//
// For each block of four rows (row k at codes + k·stride) it sets acc[k] = Σ u·q over
// the row's groups of 128 columns (32 bytes: shift s of byte i is column
// 64·(i/16) + 16s + i%16 of the group, multiplied by the permuted inputs
// q[128g + 32s + i]) and its tail chunk of 64 columns (16 bytes, natural input order).
//
// VPMADDUBSW multiplies the unsigned codes u ∈ {0,1,2} by the signed int8 inputs and
// adds adjacent pairs into int16: at most 2·2·128 = 512 in magnitude, so the four
// shifts of a group sum to at most 2048 and eight groups to 16384, inside int16. The
// int16 sums (Y4..Y7, one per row) are widened to the int32 totals (Y0..Y3) by VPMADDWD
// with ones once every eight groups, so the multiply unit does 4⅛ operations per 128
// weights rather than 5. Y8 holds the byte mask 0x03, Y9 the int16 ones.
TEXT ·rowsAVX2(SB), NOSPLIT, $0-56
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ blocks+16(FP), R9
	MOVQ groups+24(FP), R13
	MOVQ tail+32(FP), R14
	MOVQ q+40(FP), R15
	MOVQ acc+48(FP), BX
	MOVL $0x03030303, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x00010001, AX
	VMOVD AX, X9
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

run:
	// A run of at most eight groups summed in int16.
	TESTQ CX, CX
	JZ tail
	MOVQ $8, AX
	CMPQ CX, AX
	CMOVQLT CX, AX
	SUBQ AX, CX
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

group:
#define ROW256(ptr, acc) \
	VMOVDQU (ptr), Y10 \
	VPSRLW $2, Y10, Y11 \
	VPSRLW $4, Y10, Y12 \
	VPSRLW $6, Y10, Y13 \
	VPAND Y8, Y10, Y10 \
	VPAND Y8, Y11, Y11 \
	VPAND Y8, Y12, Y12 \
	VPAND Y8, Y13, Y13 \
	VPMADDUBSW 0(DI), Y10, Y10 \
	VPMADDUBSW 32(DI), Y11, Y11 \
	VPMADDUBSW 64(DI), Y12, Y12 \
	VPMADDUBSW 96(DI), Y13, Y13 \
	VPADDW Y11, Y10, Y10 \
	VPADDW Y13, Y12, Y12 \
	VPADDW Y12, Y10, Y10 \
	VPADDW Y10, acc, acc \
	ADDQ $32, ptr

	// Each row of a block is a short stream (stride bytes), too short for the hardware
	// prefetcher to ramp up on: fetch the same bytes of the rows two blocks ahead.
	PREFETCHT0 (R10)(R8*8)
	PREFETCHT0 (R11)(R8*8)
	PREFETCHT0 (R12)(R8*8)
	PREFETCHT0 (DX)(R8*8)
	ROW256(R10, Y4)
	ROW256(R11, Y5)
	ROW256(R12, Y6)
	ROW256(DX, Y7)
	ADDQ $128, DI
	DECQ AX
	JNZ group

	VPMADDWD Y9, Y4, Y4
	VPADDD Y4, Y0, Y0
	VPMADDWD Y9, Y5, Y5
	VPADDD Y5, Y1, Y1
	VPMADDWD Y9, Y6, Y6
	VPADDD Y6, Y2, Y2
	VPMADDWD Y9, Y7, Y7
	VPADDD Y7, Y3, Y3
	JMP run

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

// func maxAbsAVX2(x *float32, n int) float32
//
// max_i |x_i| over n = a multiple of 32 floats (n ≥ 32): four accumulators of eight.
TEXT ·maxAbsAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $5, CX

maxloop:
	VANDPS 0(SI), Y15, Y4
	VANDPS 32(SI), Y15, Y5
	VANDPS 64(SI), Y15, Y6
	VANDPS 96(SI), Y15, Y7
	VMAXPS Y4, Y0, Y0
	VMAXPS Y5, Y1, Y1
	VMAXPS Y6, Y2, Y2
	VMAXPS Y7, Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ maxloop

	VMAXPS Y1, Y0, Y0
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func quantizeAVX2(x *float32, n int, s float32, q *int8) int32
//
// q_i = RoundToEven(x_i·s) as int8 for n = a multiple of 32 (n ≥ 32), returning Σ q_i.
// |x_i·s| ≤ 127 (s = 127/max|x|), so the conversion never leaves int8. VCVTPS2DQ rounds
// in the MXCSR mode, round-to-nearest-even (Go never changes it), exactly as
// roundToEven does. The packs work within 128-bit lanes; VPERMD restores the order.
TEXT ·quantizeAVX2(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15
	MOVQ q+24(FP), DI
	VPXOR Y14, Y14, Y14
	// Dword order after the packs: lanes hold [a0 b0 c0 d0 | a1 b1 c1 d1] (4-byte groups
	// of the 4 input vectors); VPERMD by 0,4,1,5,2,6,3,7 puts them back in order.
	VMOVDQU packOrder<>(SB), Y13
	SHRQ $5, CX

qloop:
	VMULPS 0(SI), Y15, Y0
	VMULPS 32(SI), Y15, Y1
	VMULPS 64(SI), Y15, Y2
	VMULPS 96(SI), Y15, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPADDD Y0, Y14, Y14
	VPADDD Y1, Y14, Y14
	VPADDD Y2, Y14, Y14
	VPADDD Y3, Y14, Y14
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y13, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	DECQ CX
	JNZ qloop

	VEXTRACTI128 $1, Y14, X1
	VPADDD X1, X14, X14
	VPSHUFD $0x4E, X14, X1
	VPADDD X1, X14, X14
	VPSHUFD $0xB1, X14, X1
	VPADDD X1, X14, X14
	VMOVD X14, AX
	MOVL AX, ret+32(FP)
	VZEROUPPER
	RET

// func rowsAVX2x2(codes *byte, stride, pairs, groups, tail int, q0, q1 *int8, acc0, acc1 *int32)
//
// rowsAVX2 for two inputs at once, two rows per pass: each row's codes are loaded and
// decoded once and multiplied by both inputs, a quarter fewer operations per product
// than two single passes. Y0..Y3 are the int32 totals and Y4..Y7 the int16 run sums of
// (row a, input 0), (row a, input 1), (row b, input 0), (row b, input 1).
TEXT ·rowsAVX2x2(SB), NOSPLIT, $0-72
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ pairs+16(FP), R9
	MOVQ groups+24(FP), R13
	MOVQ q0+40(FP), R15
	MOVQ q1+48(FP), R14
	MOVQ acc0+56(FP), BX
	MOVQ acc1+64(FP), R12
	MOVL $0x03030303, AX
	VMOVD AX, X8
	VPBROADCASTD X8, Y8
	MOVL $0x00010001, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9

pair:
	MOVQ SI, R10
	LEAQ (SI)(R8*1), R11
	MOVQ R15, DI
	MOVQ R14, DX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	MOVQ R13, CX

run2:
	TESTQ CX, CX
	JZ tail2
	MOVQ $8, AX
	CMPQ CX, AX
	CMOVQLT CX, AX
	SUBQ AX, CX
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7

group2:
#define DECODE256(ptr) \
	VMOVDQU (ptr), Y10 \
	VPSRLW $2, Y10, Y11 \
	VPSRLW $4, Y10, Y12 \
	VPSRLW $6, Y10, Y13 \
	VPAND Y8, Y10, Y10 \
	VPAND Y8, Y11, Y11 \
	VPAND Y8, Y12, Y12 \
	VPAND Y8, Y13, Y13 \
	ADDQ $32, ptr

#define DOT256(q, acc) \
	VPMADDUBSW 0(q), Y10, Y14 \
	VPMADDUBSW 32(q), Y11, Y15 \
	VPADDW Y15, Y14, Y14 \
	VPMADDUBSW 64(q), Y12, Y15 \
	VPADDW Y15, Y14, Y14 \
	VPMADDUBSW 96(q), Y13, Y15 \
	VPADDW Y15, Y14, Y14 \
	VPADDW Y14, acc, acc

	PREFETCHT0 (R10)(R8*4)
	PREFETCHT0 (R11)(R8*4)
	DECODE256(R10)
	DOT256(DI, Y4)
	DOT256(DX, Y5)
	DECODE256(R11)
	DOT256(DI, Y6)
	DOT256(DX, Y7)
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ AX
	JNZ group2

	VPMADDWD Y9, Y4, Y4
	VPADDD Y4, Y0, Y0
	VPMADDWD Y9, Y5, Y5
	VPADDD Y5, Y1, Y1
	VPMADDWD Y9, Y6, Y6
	VPADDD Y6, Y2, Y2
	VPMADDWD Y9, Y7, Y7
	VPADDD Y7, Y3, Y3
	JMP run2

tail2:
	MOVQ tail+32(FP), AX
	TESTQ AX, AX
	JZ reduce2

#define DECODE128(ptr) \
	VMOVDQU (ptr), X10 \
	VPSRLW $2, X10, X11 \
	VPSRLW $4, X10, X12 \
	VPSRLW $6, X10, X13 \
	VPAND X8, X10, X10 \
	VPAND X8, X11, X11 \
	VPAND X8, X12, X12 \
	VPAND X8, X13, X13

#define DOT128(q, acc) \
	VPMADDUBSW 0(q), X10, X14 \
	VPMADDUBSW 16(q), X11, X15 \
	VPADDW X15, X14, X14 \
	VPMADDUBSW 32(q), X12, X15 \
	VPADDW X15, X14, X14 \
	VPMADDUBSW 48(q), X13, X15 \
	VPADDW X15, X14, X14 \
	VPMADDWD X9, X14, X14 \
	VPADDD Y14, acc, acc

	DECODE128(R10)
	DOT128(DI, Y0)
	DOT128(DX, Y1)
	DECODE128(R11)
	DOT128(DI, Y2)
	DOT128(DX, Y3)

reduce2:
	VEXTRACTI128 $1, Y0, X10
	VPADDD X10, X0, X0
	VEXTRACTI128 $1, Y1, X11
	VPADDD X11, X1, X1
	VEXTRACTI128 $1, Y2, X12
	VPADDD X12, X2, X2
	VEXTRACTI128 $1, Y3, X13
	VPADDD X13, X3, X3
	// Horizontal sums into [row a·input 0, a·1, b·0, b·1], then stored per input.
	VPHADDD X1, X0, X0
	VPHADDD X3, X2, X2
	VPHADDD X2, X0, X0
	VPEXTRD $0, X0, AX
	MOVL AX, 0(BX)
	VPEXTRD $2, X0, AX
	MOVL AX, 4(BX)
	VPEXTRD $1, X0, AX
	MOVL AX, 0(R12)
	VPEXTRD $3, X0, AX
	MOVL AX, 4(R12)

	ADDQ $8, BX
	ADDQ $8, R12
	LEAQ (SI)(R8*2), SI
	DECQ R9
	JNZ pair

	VZEROUPPER
	RET
