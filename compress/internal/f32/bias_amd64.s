//go:build amd64 && !purego

#include "textflag.h"

// BiasReLU's loops, bit for bit the Go loop as Go 1.26 compiles it for amd64 (the tests
// compare them on every pair of special values):
//
//   - the addition is bias + y with the bias as the first source (ADDSS into the
//     register holding the bias), which decides which NaN comes out when both are NaN;
//   - the ReLU is max(v, 0) as the compiler inlines it (a MINSS/POR sequence on negated
//     values): +0 for ±0 and for negative v, v for positive v, and for a NaN v the same
//     NaN with its sign bit cleared. Here VMAXPS(v, 0) gives the first two, and the NaN
//     lanes (VCMPPS unordered) take v AND 0x7fffffff.

// func biasReLUAVX512(y, bias *float32, n int, relu bool)
TEXT ·biasReLUAVX512(SB), NOSPLIT, $0-25
	MOVQ    y+0(FP), DI
	MOVQ    bias+8(FP), SI
	MOVQ    n+16(FP), CX
	MOVBLZX relu+24(FP), R10
	VPXORD  Z4, Z4, Z4
	MOVL    $0x7fffffff, AX
	VPBROADCASTD AX, Z5
	TESTQ   CX, CX
	JZ      done512
	TESTQ   R10, R10
	JZ      add512
	CMPQ    CX, $16
	JBE     relutail512

relu512:
	VMOVUPS (SI), Z0
	VADDPS  (DI), Z0, Z0
	VMAXPS  Z4, Z0, Z1
	VCMPPS  $3, Z0, Z0, K2
	VPANDD  Z5, Z0, K2, Z1
	VMOVUPS Z1, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, CX
	CMPQ    CX, $16
	JA      relu512

relutail512:
	// 1 ≤ CX ≤ 16 values left.
	MOVL       $1, AX
	SHLL       CX, AX
	DECL       AX
	KMOVW      AX, K1
	VMOVUPS.Z  (SI), K1, Z0
	VMOVUPS.Z  (DI), K1, Z2
	VADDPS     Z2, Z0, Z0
	VMAXPS     Z4, Z0, Z1
	VCMPPS     $3, Z0, Z0, K2
	VPANDD     Z5, Z0, K2, Z1
	VMOVUPS    Z1, K1, (DI)
	JMP        done512

add512:
	CMPQ CX, $16
	JBE  addtail512

addloop512:
	VMOVUPS (SI), Z0
	VADDPS  (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ    $64, DI
	ADDQ    $64, SI
	SUBQ    $16, CX
	CMPQ    CX, $16
	JA      addloop512

addtail512:
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K1
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z (DI), K1, Z2
	VADDPS    Z2, Z0, Z0
	VMOVUPS   Z0, K1, (DI)

done512:
	VZEROUPPER
	RET

// func biasReLUAVX2(y, bias *float32, n int, relu bool)
// n is a multiple of 8.
TEXT ·biasReLUAVX2(SB), NOSPLIT, $0-25
	MOVQ    y+0(FP), DI
	MOVQ    bias+8(FP), SI
	MOVQ    n+16(FP), CX
	MOVBLZX relu+24(FP), R10
	VXORPS  Y4, Y4, Y4
	MOVL    $0x7fffffff, AX
	VMOVD   AX, X5
	VPBROADCASTD X5, Y5
	TESTQ   CX, CX
	JZ      done2
	TESTQ   R10, R10
	JZ      addloop2

reluloop2:
	VMOVUPS   (SI), Y0
	VADDPS    (DI), Y0, Y0
	VMAXPS    Y4, Y0, Y1
	VCMPPS    $3, Y0, Y0, Y2
	VANDPS    Y5, Y0, Y3
	VBLENDVPS Y2, Y3, Y1, Y1
	VMOVUPS   Y1, (DI)
	ADDQ      $32, DI
	ADDQ      $32, SI
	SUBQ      $8, CX
	JNZ       reluloop2
	JMP       done2

addloop2:
	VMOVUPS (SI), Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     addloop2

done2:
	VZEROUPPER
	RET
