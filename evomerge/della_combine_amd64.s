//go:build amd64 && !purego

#include "textflag.h"

// DCLOAD loads eight elements: the base b into Y20 and tᵢ = xᵢ − b, zeroed where mask
// bit i is clear, as float64 into Z0, Z1, Z2.
#define DCLOAD \
	VMOVUPS (SI)(R11*1), Y20 \
	KMOVB   (R12)(AX*1), K1 \
	KMOVB   (R13)(AX*1), K2 \
	KMOVB   (BX)(AX*1), K3 \
	VMOVUPS (R8)(R11*1), Y0 \
	VSUBPS.Z Y20, Y0, K1, Y0 \
	VMOVUPS (R9)(R11*1), Y1 \
	VSUBPS.Z Y20, Y1, K2, Y1 \
	VMOVUPS (R10)(R11*1), Y2 \
	VSUBPS.Z Y20, Y2, K3, Y2 \
	VCVTPS2PD Y0, Z0 \
	VCVTPS2PD Y1, Z1 \
	VCVTPS2PD Y2, Z2

// DCSTORE stores o = float32(b + λ·Z0) and steps to the next eight (flags: more to do).
#define DCSTORE \
	VMULPD  Z9, Z0, Z0 \
	VCVTPS2PD Y20, Z1 \
	VADDPD  Z0, Z1, Z0 \
	VCVTPD2PS Z0, Y0 \
	VMOVUPS Y0, (DI)(R11*1) \
	INCQ AX \
	ADDQ $32, R11 \
	CMPQ R11, CX

// func dellaCombine3AVX512(a *dellaCombArgs)
//
// Eight elements per step in float64 lanes. tᵢ = xᵢ − b in float32, zeroed where mask
// bit i is clear; δᵢ = wᵢ·tᵢ. Consensus: σ = ±1 with the sign bit of (δ₀+δ₁)+δ₂;
// aᵢ = (δᵢ·σ > 0); mixed = (a₀δ₀ + a₁δ₁) + a₂δ₂; div = (a₀w₀ + a₁w₁) + a₂w₂; with
// normalize, mixed /= (div == 0 ? 1 : div); o = float32(b + λ·mixed) (consensus3AVX2's
// operations). Linear: acc = ((0 + δ₀) + δ₁) + δ₂, o = float32(b + λ·acc) (linear3AVX2's).
TEXT ·dellaCombine3AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), DI
	MOVQ 40(AX), R12
	MOVQ 48(AX), R13
	MOVQ 56(AX), BX
	MOVQ 64(AX), CX
	VBROADCASTSD 72(AX), Z10
	VBROADCASTSD 80(AX), Z11
	VBROADCASTSD 88(AX), Z12
	VBROADCASTSD 96(AX), Z13
	VBROADCASTSD 104(AX), Z14
	VBROADCASTSD 112(AX), Z15
	VBROADCASTSD 120(AX), Z9
	MOVQ 128(AX), DX
	MOVQ $0x8000000000000000, R11
	VPBROADCASTQ R11, Z8
	MOVQ $0x3ff0000000000000, R11
	VPBROADCASTQ R11, Z7
	VPXORQ Z6, Z6, Z6
	MOVQ 136(AX), AX
	XORQ R11, R11
	SHLQ $2, CX
	TESTQ AX, AX
	MOVL $0, AX
	JZ    linloop

consloop:
	DCLOAD
	VMULPD  Z10, Z0, Z0
	VMULPD  Z11, Z1, Z1
	VMULPD  Z12, Z2, Z2
	VADDPD  Z1, Z0, Z3
	VADDPD  Z2, Z3, Z3
	VPANDQ  Z8, Z3, Z3
	VPORQ   Z7, Z3, Z3
	VMULPD  Z3, Z0, Z4
	VCMPPD  $0x0E, Z6, Z4, K4
	VMULPD  Z3, Z1, Z5
	VCMPPD  $0x0E, Z6, Z5, K5
	VMULPD  Z3, Z2, Z16
	VCMPPD  $0x0E, Z6, Z16, K6
	VMOVAPD.Z Z0, K4, Z0
	VMOVAPD.Z Z13, K4, Z4
	VMOVAPD.Z Z1, K5, Z1
	VMOVAPD.Z Z14, K5, Z5
	VMOVAPD.Z Z2, K6, Z2
	VMOVAPD.Z Z15, K6, Z16
	VADDPD  Z1, Z0, Z0
	VADDPD  Z5, Z4, Z4
	VADDPD  Z2, Z0, Z0
	VADDPD  Z16, Z4, Z4
	TESTQ DX, DX
	JZ    consnonorm
	VCMPPD  $0x00, Z6, Z4, K7
	VMOVAPD Z7, K7, Z4
	VDIVPD  Z4, Z0, Z0

consnonorm:
	DCSTORE
	JB   consloop
	VZEROUPPER
	RET

linloop:
	DCLOAD
	VMULPD  Z10, Z0, Z0
	VADDPD  Z0, Z6, Z0
	VMULPD  Z11, Z1, Z1
	VADDPD  Z1, Z0, Z0
	VMULPD  Z12, Z2, Z2
	VADDPD  Z2, Z0, Z0
	DCSTORE
	JB   linloop
	VZEROUPPER
	RET
