//go:build amd64 && !purego

#include "textflag.h"

// func maxAbsAVX512(x *float32, n int) float32
//
// max_i |x_i| over n ≥ 0 floats (0 for none): four accumulators of sixteen over blocks of
// 64, then 16 at a time, the last 1–15 under a mask (nothing beyond x[n-1] is read).
// The maximum does not depend on the order, so it is maxAbs's exactly (for finite x).
TEXT ·maxAbsAVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	CMPQ CX, $64
	JB m16

m64:
	VPANDD 0(SI), Z15, Z4
	VPANDD 64(SI), Z15, Z5
	VPANDD 128(SI), Z15, Z6
	VPANDD 192(SI), Z15, Z7
	VMAXPS Z4, Z0, Z0
	VMAXPS Z5, Z1, Z1
	VMAXPS Z6, Z2, Z2
	VMAXPS Z7, Z3, Z3
	ADDQ $256, SI
	SUBQ $64, CX
	CMPQ CX, $64
	JAE m64

m16:
	CMPQ CX, $16
	JB mtail
	VPANDD 0(SI), Z15, Z4
	VMAXPS Z4, Z0, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP m16

mtail:
	TESTQ CX, CX
	JZ mreduce
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z4
	VPANDD Z4, Z15, Z4
	VMAXPS Z4, Z1, Z1

mreduce:
	VMAXPS Z1, Z0, Z0
	VMAXPS Z3, Z2, Z2
	VMAXPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func quantizeAVX512(x *float32, n int, s float32, q *int8) int32
//
// q_i = RoundToEven(x_i·s) as int8 for n ≥ 0 values, 16 at a time (the last 1–15 under
// a mask: nothing beyond x[n-1] is read or q[n-1] written), returning Σ q_i. As in
// quantizeAVX2, |x_i·s| ≤ 127 and VCVTPS2DQ rounds to nearest even; VPMOVSDB narrows.
TEXT ·quantizeAVX512(SB), NOSPLIT, $0-36
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS s+16(FP), Z15
	MOVQ q+24(FP), DI
	VPXORD Z14, Z14, Z14
	VPXORD Z13, Z13, Z13
	CMPQ CX, $32
	JB q16

q32:
	VMULPS 0(SI), Z15, Z0
	VMULPS 64(SI), Z15, Z1
	VCVTPS2DQ Z0, Z0
	VCVTPS2DQ Z1, Z1
	VPADDD Z0, Z14, Z14
	VPADDD Z1, Z13, Z13
	VPMOVSDB Z0, (DI)
	VPMOVSDB Z1, 16(DI)
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JAE q32

q16:
	TESTQ CX, CX
	JZ qreduce
	MOVL $0xffff, AX
	CMPQ CX, $16
	JAE qmask
	MOVL $1, AX
	SHLL CX, AX
	DECL AX

qmask:
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMULPS Z0, Z15, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z0, Z14, Z14
	VPMOVSDB Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JA q16

qreduce:
	VPADDD Z13, Z14, Z14
	VEXTRACTI64X4 $1, Z14, Y1
	VPADDD Y1, Y14, Y14
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
