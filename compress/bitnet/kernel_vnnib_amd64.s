//go:build amd64 && !purego

#include "textflag.h"

// Lane shifts of the broadcast kernel: lane group s (int32 lanes 4s…4s+3) holds sums of
// 4^s·u·q, divided back exactly by an arithmetic shift of 2s.
DATA vnniShifts<>+0(SB)/8, $0x0000000000000000
DATA vnniShifts<>+8(SB)/8, $0x0000000000000000
DATA vnniShifts<>+16(SB)/8, $0x0000000200000002
DATA vnniShifts<>+24(SB)/8, $0x0000000200000002
DATA vnniShifts<>+32(SB)/8, $0x0000000400000004
DATA vnniShifts<>+40(SB)/8, $0x0000000400000004
DATA vnniShifts<>+48(SB)/8, $0x0000000600000006
DATA vnniShifts<>+56(SB)/8, $0x0000000600000006
GLOBL vnniShifts<>(SB), RODATA|NOPTR, $64

// Byte masks of the four shifts, one per 128-bit lane.
DATA vnniMasks<>+0(SB)/8, $0x0303030303030303
DATA vnniMasks<>+8(SB)/8, $0x0303030303030303
DATA vnniMasks<>+16(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA vnniMasks<>+24(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA vnniMasks<>+32(SB)/8, $0x3030303030303030
DATA vnniMasks<>+40(SB)/8, $0x3030303030303030
DATA vnniMasks<>+48(SB)/8, $0xc0c0c0c0c0c0c0c0
DATA vnniMasks<>+56(SB)/8, $0xc0c0c0c0c0c0c0c0
GLOBL vnniMasks<>(SB), RODATA|NOPTR, $64

// Gathers element 0 of each 128-bit lane into the low four.
DATA vnniGather<>+0(SB)/8, $0x0000000400000000
DATA vnniGather<>+8(SB)/8, $0x0000000c00000008
GLOBL vnniGather<>(SB), RODATA|NOPTR, $16

// func rowsVNNIB(codes *byte, stride, blocks, chunks int, q *int8, acc *int32)
//
// The AVX-512 VNNI broadcast kernel, on newTernary's layout for groups of one chunk
// (bits 2s, 2s+1 of byte j of a chunk hold column 16s + j). For each block of four rows
// (row k at codes + k·stride) it sets acc[k] = Σ u·q over the row's chunks.
//
// Each chunk's 16 bytes are broadcast to the four 128-bit lanes and masked with lane s's
// mask 3<<2s: lane s holds 4^s·u of columns 16s…16s+15, the same columns as lane s of
// the 64 inputs, so one VPDPBUSD per row and chunk multiplies all 64 codes. Lane group s
// of an accumulator is 4^s times its true sum, every term a multiple of 4^s, so the
// arithmetic shift by 2s at the end is exact. A lane gathers at most 4·chunks products
// of magnitude ≤ 192·128, so int32 holds rows of up to 2^20 columns. Two accumulators
// per row (even and odd chunks) keep eight multiply-adds in flight.
TEXT ·rowsVNNIB(SB), NOSPLIT, $0-48
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ blocks+16(FP), R9
	MOVQ chunks+24(FP), R13
	MOVQ q+32(FP), R15
	MOVQ acc+40(FP), BX
	VMOVDQU64 vnniMasks<>(SB), Z28
	VMOVDQU64 vnniShifts<>(SB), Z29
	VMOVDQU32 vnniGather<>(SB), X30

bblock:
	MOVQ SI, R10
	LEAQ (SI)(R8*1), R11
	LEAQ (SI)(R8*2), R12
	LEAQ (R11)(R8*2), DX
	MOVQ R15, DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ R13, CX
	SHRQ $1, CX
	JZ bodd

#define CHUNK(ptr, off, in, a) \
	VBROADCASTI32X4 off(ptr), Z20 \
	VPANDD Z28, Z20, Z20 \
	VPDPBUSD in, Z20, a

bpair:
	VMOVDQU64 0(DI), Z16
	VMOVDQU64 64(DI), Z17
	CHUNK(R10, 0, Z16, Z0)
	CHUNK(R11, 0, Z16, Z1)
	CHUNK(R12, 0, Z16, Z2)
	CHUNK(DX, 0, Z16, Z3)
	CHUNK(R10, 16, Z17, Z4)
	CHUNK(R11, 16, Z17, Z5)
	CHUNK(R12, 16, Z17, Z6)
	CHUNK(DX, 16, Z17, Z7)
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, DX
	ADDQ $128, DI
	DECQ CX
	JNZ bpair

bodd:
	TESTQ $1, R13
	JZ breduce
	VMOVDQU64 0(DI), Z16
	CHUNK(R10, 0, Z16, Z0)
	CHUNK(R11, 0, Z16, Z1)
	CHUNK(R12, 0, Z16, Z2)
	CHUNK(DX, 0, Z16, Z3)

breduce:
	VPADDD Z4, Z0, Z0
	VPADDD Z5, Z1, Z1
	VPADDD Z6, Z2, Z2
	VPADDD Z7, Z3, Z3
	VPSRAVD Z29, Z0, Z0
	VPSRAVD Z29, Z1, Z1
	VPSRAVD Z29, Z2, Z2
	VPSRAVD Z29, Z3, Z3
	// 256-bit halves: Z0 = [r0 | r1] and Z2 = [r2 | r3], eight partial sums each.
	VSHUFI64X2 $0x44, Z1, Z0, Z4
	VSHUFI64X2 $0xee, Z1, Z0, Z5
	VPADDD Z5, Z4, Z0
	VSHUFI64X2 $0x44, Z3, Z2, Z6
	VSHUFI64X2 $0xee, Z3, Z2, Z7
	VPADDD Z7, Z6, Z2
	// 128-bit lanes: Z0 = [r0 r1 r2 r3], four partial sums each.
	VSHUFI64X2 $0x88, Z2, Z0, Z4
	VSHUFI64X2 $0xdd, Z2, Z0, Z5
	VPADDD Z5, Z4, Z0
	VPSHUFD $0x4e, Z0, Z1
	VPADDD Z1, Z0, Z0
	VPSHUFD $0xb1, Z0, Z1
	VPADDD Z1, Z0, Z0
	VPERMD Z0, Z30, Z0
	VMOVDQU X0, (BX)

	ADDQ $16, BX
	LEAQ (SI)(R8*4), SI
	DECQ R9
	JNZ bblock

	VZEROUPPER
	RET

// func rowsVNNIB8(codes *byte, stride, blocks, chunks int, q *int8, acc *int32)
//
// rowsVNNIB on blocks of eight rows, one accumulator per row: each input vector serves
// eight rows, and the eight rows' sums are reduced together. R10, R11 and R12 point at
// rows 0, 3 and 6 of the block; the others are reached through R8 (stride).
TEXT ·rowsVNNIB8(SB), NOSPLIT, $0-48
	MOVQ codes+0(FP), SI
	MOVQ stride+8(FP), R8
	MOVQ blocks+16(FP), R9
	MOVQ chunks+24(FP), R13
	MOVQ q+32(FP), R15
	MOVQ acc+40(FP), BX
	VMOVDQU64 vnniMasks<>(SB), Z28
	VMOVDQU64 vnniShifts<>(SB), Z29
	LEAQ (R8)(R8*2), AX // 3·stride

b8block:
	MOVQ SI, R10
	LEAQ (SI)(AX*1), R11
	LEAQ (R11)(AX*1), R12
	MOVQ R15, DI
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ R13, CX

#define CHUNK8(addr, t, a) \
	VBROADCASTI32X4 addr, t \
	VPANDD Z28, t, t \
	VPDPBUSD Z16, t, a

b8chunk:
	VMOVDQU64 (DI), Z16
	CHUNK8((R10), Z20, Z0)
	CHUNK8((R10)(R8*1), Z21, Z1)
	CHUNK8((R10)(R8*2), Z22, Z2)
	CHUNK8((R11), Z23, Z3)
	CHUNK8((R10)(R8*4), Z24, Z4)
	CHUNK8((R11)(R8*2), Z25, Z5)
	CHUNK8((R12), Z26, Z6)
	CHUNK8((R12)(R8*1), Z27, Z7)
	ADDQ $16, R10
	ADDQ $16, R11
	ADDQ $16, R12
	ADDQ $64, DI
	DECQ CX
	JNZ b8chunk

	// Within each 128-bit lane (one shift s), the rows' four partial sums side by side:
	// pairs of rows, then quadruples, [r0 r1 r2 r3] and [r4 r5 r6 r7] per lane.
	VPUNPCKLDQ Z1, Z0, Z8
	VPUNPCKHDQ Z1, Z0, Z9
	VPADDD Z9, Z8, Z0
	VPUNPCKLDQ Z3, Z2, Z8
	VPUNPCKHDQ Z3, Z2, Z9
	VPADDD Z9, Z8, Z2
	VPUNPCKLDQ Z5, Z4, Z8
	VPUNPCKHDQ Z5, Z4, Z9
	VPADDD Z9, Z8, Z4
	VPUNPCKLDQ Z7, Z6, Z8
	VPUNPCKHDQ Z7, Z6, Z9
	VPADDD Z9, Z8, Z6
	VPUNPCKLQDQ Z2, Z0, Z8
	VPUNPCKHQDQ Z2, Z0, Z9
	VPADDD Z9, Z8, Z0
	VPUNPCKLQDQ Z6, Z4, Z8
	VPUNPCKHQDQ Z6, Z4, Z9
	VPADDD Z9, Z8, Z4
	// Lane s back from 4^s, then the four lanes added: rows 0–3 in lane 0, 4–7 in lane 1.
	VPSRAVD Z29, Z0, Z0
	VPSRAVD Z29, Z4, Z4
	VSHUFI64X2 $0x44, Z4, Z0, Z8
	VSHUFI64X2 $0xee, Z4, Z0, Z9
	VPADDD Z9, Z8, Z0
	VSHUFI64X2 $0x88, Z0, Z0, Z8
	VSHUFI64X2 $0xdd, Z0, Z0, Z9
	VPADDD Z9, Z8, Z0
	VMOVDQU Y0, (BX)

	ADDQ $32, BX
	LEAQ (SI)(R8*8), SI
	DECQ R9
	JNZ b8block

	VZEROUPPER
	RET
