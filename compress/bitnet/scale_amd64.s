//go:build amd64 && !purego

#include "textflag.h"

// func scaleOutAVX512(y *float32, acc *int32, scale *float32, bias *float32, n int, sum int32, inv float32, mode int)
//
// scaleOutGo for n outputs, 16 at a time (the last 16 or fewer under a mask, so nothing
// beyond y[n-1], acc[n-1], scale[n-1] or bias[n-1] is read or written): mode bit 0 selects
// per-row scales (else scale[0] for every row), bit 1 adds bias, bit 2 applies the ReLU.
// The float32 operations are those of the Go loop, one rounding each, in its order: the
// conversion of acc−sum, the product of the row's scale with inv, the product, the bias.
// The ReLU is Go's max(v, 0): VMAXPS(v, 0) gives +0 for ±0 and 0 for a NaN, and the NaN
// lanes are then put back with their sign bit cleared, as Go's max returns them.
TEXT ·scaleOutAVX512(SB), NOSPLIT, $0-56
	MOVQ y+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ scale+16(FP), R8
	MOVQ bias+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ mode+48(FP), R10
	MOVL sum+40(FP), AX
	VPBROADCASTD AX, Z1
	VBROADCASTSS inv+44(FP), Z2
	VBROADCASTSS (R8), Z3
	VMULPS Z2, Z3, Z3
	VPXORD Z4, Z4, Z4
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z9
	TESTQ CX, CX
	JZ done

loop:
	MOVL $0xffff, AX
	CMPQ CX, $16
	JAE mask
	MOVL $1, AX
	SHLL CX, AX
	DECL AX

mask:
	KMOVW AX, K1
	VMOVDQU32.Z (SI), K1, Z5
	VPSUBD Z1, Z5, Z5
	VCVTDQ2PS Z5, Z5
	TESTQ $1, R10
	JZ one
	VMOVUPS.Z (R8), K1, Z6
	VMULPS Z2, Z6, Z6
	VMULPS Z6, Z5, Z5
	ADDQ $64, R8
	JMP biased

one:
	VMULPS Z3, Z5, Z5

biased:
	TESTQ $2, R10
	JZ relu
	VMOVUPS.Z (R9), K1, Z7
	VADDPS Z7, Z5, Z5
	ADDQ $64, R9

relu:
	TESTQ $4, R10
	JZ store
	VMAXPS Z4, Z5, Z8
	VCMPPS $3, Z5, Z5, K2
	VPANDD Z9, Z5, K2, Z8
	VMOVAPS Z8, Z5

store:
	VMOVUPS Z5, K1, (DI)
	ADDQ $64, DI
	ADDQ $64, SI
	SUBQ $16, CX
	JA loop

done:
	VZEROUPPER
	RET
