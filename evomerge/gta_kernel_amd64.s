//go:build amd64 && !purego

#include "textflag.h"
#include "mix64_amd64.h"

// HSUM8D adds the eight dwords of y into the low dword of x (its lower half), tx scratch.
#define HSUM8D(y, x, tx) \
	VEXTRACTI128 $1, y, tx \
	VPADDD tx, x, x \
	VPSHUFD $0x4e, x, tx \
	VPADDD tx, x, x \
	VPSHUFD $0xb1, x, tx \
	VPADDD tx, x, x

// func consensus3AVX2(a *cons3Args)
//
// The three-model consensus combine, four elements per step in float64 lanes:
// δᵢ = wᵢ·tᵢ; σ = ±1 with the sign bit of (δ₀+δ₁)+δ₂; aᵢ = (δᵢ·σ > 0);
// mixed = (a₀δ₀ + a₁δ₁) + a₂δ₂; div = (a₀w₀ + a₁w₁) + a₂w₂; with normalize,
// mixed /= (div == 0 ? 1 : div); o = float32(b + λ·mixed).
TEXT ·consensus3AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), DI
	MOVQ 40(AX), CX
	VBROADCASTSD 48(AX), Y10
	VBROADCASTSD 56(AX), Y11
	VBROADCASTSD 64(AX), Y12
	VBROADCASTSD 72(AX), Y13
	VBROADCASTSD 80(AX), Y14
	VBROADCASTSD 88(AX), Y15
	VBROADCASTSD 96(AX), Y9
	MOVQ 104(AX), DX
	MOVQ $0x8000000000000000, BX
	VMOVQ BX, X8
	VPBROADCASTQ X8, Y8
	MOVQ $0x3ff0000000000000, BX
	VMOVQ BX, X7
	VPBROADCASTQ X7, Y7
	VXORPD Y6, Y6, Y6
	XORQ R11, R11
	SHLQ $2, CX

loop:
	VCVTPS2PD (R8)(R11*1), Y0
	VMULPD Y10, Y0, Y0
	VCVTPS2PD (R9)(R11*1), Y1
	VMULPD Y11, Y1, Y1
	VCVTPS2PD (R10)(R11*1), Y2
	VMULPD Y12, Y2, Y2
	VADDPD Y1, Y0, Y3
	VADDPD Y2, Y3, Y3
	VANDPD Y8, Y3, Y3
	VORPD Y7, Y3, Y3
	VMULPD Y3, Y0, Y4
	VCMPPD $0x0E, Y6, Y4, Y4
	VANDPD Y4, Y0, Y0
	VANDPD Y4, Y13, Y4
	VMULPD Y3, Y1, Y5
	VCMPPD $0x0E, Y6, Y5, Y5
	VANDPD Y5, Y1, Y1
	VANDPD Y5, Y14, Y5
	VADDPD Y1, Y0, Y0
	VADDPD Y5, Y4, Y4
	VMULPD Y3, Y2, Y5
	VCMPPD $0x0E, Y6, Y5, Y5
	VANDPD Y5, Y2, Y2
	VANDPD Y5, Y15, Y5
	VADDPD Y2, Y0, Y0
	VADDPD Y5, Y4, Y4
	TESTQ DX, DX
	JZ    nonorm
	VCMPPD $0x00, Y6, Y4, Y5
	VBLENDVPD Y5, Y7, Y4, Y4
	VDIVPD Y4, Y0, Y0

nonorm:
	VMULPD Y9, Y0, Y0
	VCVTPS2PD (SI)(R11*1), Y1
	VADDPD Y0, Y1, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)(R11*1)
	ADDQ $16, R11
	CMPQ R11, CX
	JB   loop
	VZEROUPPER
	RET

// func trimAVX2(x, b, t *float32, n int, thr uint32, eq int) int
//
// t = (x − b) where |x − b|'s bits exceed thr, else +0, eight at a time (n a positive
// multiple of 8); keys equal to thr are kept, in index order, while eq > 0: a group's
// equal keys all at once if eq covers them, else (the group where eq runs out) element by
// element; once eq is 0 they are dropped like smaller ones. It returns what is left of eq.
TEXT ·trimAVX2(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ t+16(FP), DI
	MOVQ n+24(FP), CX
	MOVL thr+32(FP), R8
	MOVQ eq+40(FP), R9
	VMOVQ R8, X15
	VPBROADCASTD X15, Y15
	MOVL $0x7fffffff, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	XORQ R10, R10
	SHLQ $2, CX

trimloop:
	VMOVUPS (SI)(R10*1), Y0
	VSUBPS  (DX)(R10*1), Y0, Y0
	VPAND   Y14, Y0, Y1
	TESTQ   R9, R9
	JZ      trimfast
	VPCMPEQD Y15, Y1, Y3
	VMOVMSKPS Y3, AX
	TESTL   AX, AX
	JZ      trimfast
	// m keys equal thr: all kept if m ≤ eq, else element by element.
	POPCNTL AX, BX
	CMPQ    BX, R9
	JA      trimslow
	SUBQ    BX, R9
	VPCMPGTD Y15, Y1, Y2
	VPOR    Y3, Y2, Y2
	VPAND   Y2, Y0, Y0
	VMOVUPS Y0, (DI)(R10*1)
	JMP     trimnext

trimfast:
	VPCMPGTD Y15, Y1, Y2
	VPAND   Y2, Y0, Y0
	VMOVUPS Y0, (DI)(R10*1)

trimnext:
	ADDQ $32, R10
	CMPQ R10, CX
	JB   trimloop
	MOVQ R9, ret+48(FP)
	VZEROUPPER
	RET

trimslow:
	MOVQ R10, R11
	LEAQ 32(R10), R12

trimslowloop:
	VMOVSS (SI)(R11*1), X0
	VSUBSS (DX)(R11*1), X0, X0
	VMOVD  X0, AX
	MOVL   AX, BX
	ANDL   $0x7fffffff, BX
	CMPL   BX, R8
	JA     trimkeep
	JB     trimdrop
	TESTQ  R9, R9
	JZ     trimdrop
	DECQ   R9

trimkeep:
	MOVL AX, (DI)(R11*1)
	JMP  trimsnext

trimdrop:
	MOVL $0, (DI)(R11*1)

trimsnext:
	ADDQ $4, R11
	CMPQ R11, R12
	JB   trimslowloop
	JMP  trimnext

// func windowAVX2(x, b *float32, n int, lo, hi uint32, cand *uint32) (above, ncand int)
//
// Of the keys k = bits(|x − b|) (n a positive multiple of 8): above counts k > hi, and the
// keys with lo ≤ k ≤ hi are stored to cand in index order (room for n needed). Keys, lo
// and hi are at most 0x7fffffff, so signed compares order them.
TEXT ·windowAVX2(SB), NOSPLIT, $32-56
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	MOVL lo+24(FP), R8
	MOVL hi+28(FP), R9
	MOVQ cand+32(FP), DI
	VMOVQ R8, X13
	VPBROADCASTD X13, Y13
	VMOVQ R9, X15
	VPBROADCASTD X15, Y15
	MOVL $0x7fffffff, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	VPXOR Y12, Y12, Y12
	XORQ R10, R10
	XORQ R11, R11
	SHLQ $2, CX

winloop:
	VMOVUPS (SI)(R10*1), Y0
	VSUBPS  (DX)(R10*1), Y0, Y0
	VPAND   Y14, Y0, Y0
	VPCMPGTD Y15, Y0, Y1
	VPSUBD  Y1, Y12, Y12
	VPCMPGTD Y0, Y13, Y2
	VPOR    Y1, Y2, Y2
	VMOVMSKPS Y2, AX
	XORL    $0xff, AX
	JNZ     wincollect

winnext:
	ADDQ $32, R10
	CMPQ R10, CX
	JB   winloop
	HSUM8D(Y12, X12, X1)
	VMOVD  X12, AX
	MOVQ   AX, above+40(FP)
	MOVQ   R11, ncand+48(FP)
	VZEROUPPER
	RET

wincollect:
	VMOVDQU Y0, (SP)

winbits:
	BSFL AX, BX
	MOVL (SP)(BX*4), R12
	MOVL R12, (DI)(R11*4)
	INCQ R11
	LEAL -1(AX), R13
	ANDL R13, AX
	JNZ  winbits
	JMP  winnext

// func windowAVX512(x, b *float32, n int, lo, hi uint32, cand *uint32) (above, ncand int)
//
// windowAVX2 sixteen keys at a time and without branches: above counted in vector lanes,
// the keys inside [lo, hi] (k − lo ≤ hi − lo, unsigned) compressed into a vector that is
// stored whole at the candidates' end, which then moves by their count (n a positive
// multiple of 16; the room for n candidates holds the last store's spill).
TEXT ·windowAVX512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	MOVL lo+24(FP), R8
	MOVL hi+28(FP), R9
	MOVQ cand+32(FP), DI
	VPBROADCASTD R8, Z13
	VPBROADCASTD R9, Z15
	SUBL R8, R9
	VPBROADCASTD R9, Z16 // hi − lo
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z14
	VPXORD Z12, Z12, Z12
	VPTERNLOGD $0xff, Z11, Z11, Z11 // −1
	XORQ R10, R10
	XORQ R11, R11
	SHLQ $2, CX

win5loop:
	VMOVUPS (SI)(R10*1), Z0
	VSUBPS  (DX)(R10*1), Z0, Z0
	VPANDD  Z14, Z0, Z0
	VPCMPUD $6, Z15, Z0, K1 // k > hi
	VPSUBD  Z11, Z12, K1, Z12
	VPSUBD  Z13, Z0, Z1
	VPCMPUD $2, Z16, Z1, K2 // k − lo ≤ hi − lo
	VPCOMPRESSD Z0, K2, Z2
	VMOVDQU32 Z2, (DI)(R11*4)
	KMOVW   K2, AX
	POPCNTL AX, AX
	ADDQ    AX, R11
	ADDQ $64, R10
	CMPQ R10, CX
	JB   win5loop
	VEXTRACTI64X4 $1, Z12, Y1
	VPADDD Y1, Y12, Y12
	HSUM8D(Y12, X12, X1)
	VMOVD  X12, AX
	MOVQ   AX, above+40(FP)
	MOVQ   R11, ncand+48(FP)
	VZEROUPPER
	RET

DATA bitsel<>+0(SB)/4, $1
DATA bitsel<>+4(SB)/4, $2
DATA bitsel<>+8(SB)/4, $4
DATA bitsel<>+12(SB)/4, $8
DATA bitsel<>+16(SB)/4, $16
DATA bitsel<>+20(SB)/4, $32
DATA bitsel<>+24(SB)/4, $64
DATA bitsel<>+28(SB)/4, $128
GLOBL bitsel<>(SB), RODATA|NOPTR, $32

// func maskAVX2(x, b, t *float32, n int, mask *byte)
//
// t = x − b where the element's bit in mask (bit j%8 of byte j/8) is set, else +0 (the
// byte broadcast to every lane, lane i testing bit i); n a
// positive multiple of 8.
TEXT ·maskAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ t+16(FP), DI
	MOVQ n+24(FP), CX
	MOVQ mask+32(FP), R8
	VMOVDQU bitsel<>(SB), Y13
	XORQ R10, R10
	XORQ R11, R11
	SHLQ $2, CX

maskloop:
	VPBROADCASTB (R8)(R11*1), Y1
	VPAND   Y13, Y1, Y1
	VPCMPEQD Y13, Y1, Y1
	VMOVUPS (SI)(R10*1), Y0
	VSUBPS  (DX)(R10*1), Y0, Y0
	VPAND   Y1, Y0, Y0
	VMOVUPS Y0, (DI)(R10*1)
	INCQ R11
	ADDQ $32, R10
	CMPQ R10, CX
	JB   maskloop
	VZEROUPPER
	RET

DATA lanes8<>+0(SB)/8, $0
DATA lanes8<>+8(SB)/8, $1
DATA lanes8<>+16(SB)/8, $2
DATA lanes8<>+24(SB)/8, $3
DATA lanes8<>+32(SB)/8, $4
DATA lanes8<>+40(SB)/8, $5
DATA lanes8<>+48(SB)/8, $6
DATA lanes8<>+56(SB)/8, $7
GLOBL lanes8<>(SB), RODATA|NOPTR, $64

// func dareAVX512(x, b *float32, n int, z0, thr uint64, mask *byte, sums *[16]float64)
//
// DARE's keep draws for n elements (a positive multiple of 8): element j is kept iff
// mix64(z0 + j·γ) < thr; its bit is bit j%8 of mask[j/8]. sums[l] and sums[8+l] get
// Σ|x − b| over all and over the kept elements j ≡ l (mod 8), added in index order from
// +0 (eight lanes, as dareLanesGo).
TEXT ·dareAVX512(SB), NOSPLIT, $0-56
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	MOVQ z0+24(FP), AX
	MOVQ thr+32(FP), BX
	MOVQ mask+40(FP), DI
	MOVQ sums+48(FP), R8
	MIX64_INIT(AX, R9, lanes8<>(SB))
	VPBROADCASTQ BX, Z15
	MOVL $0x7fffffff, R9
	VPBROADCASTD R9, Y9
	VPXORQ Z7, Z7, Z7
	VPXORQ Z8, Z8, Z8
	XORQ R10, R10
	XORQ R11, R11
	SHLQ $2, CX

dareloop:
	VPSRLQ  $30, Z10, Z0
	VPXORQ  Z10, Z0, Z0
	VPMULLQ Z13, Z0, Z0
	VPSRLQ  $27, Z0, Z1
	VPXORQ  Z0, Z1, Z0
	VPMULLQ Z14, Z0, Z0
	VPSRLQ  $31, Z0, Z1
	VPXORQ  Z0, Z1, Z0
	VPCMPUQ $1, Z15, Z0, K1
	KMOVB   K1, AX
	MOVB    AX, (DI)(R11*1)
	VMOVUPS (SI)(R10*1), Y2
	VSUBPS  (DX)(R10*1), Y2, Y2
	VPAND   Y9, Y2, Y2
	VCVTPS2PD Y2, Z2
	VADDPD  Z2, Z7, Z7
	VADDPD  Z2, Z8, K1, Z8
	VPADDQ  Z11, Z10, Z10
	INCQ R11
	ADDQ $32, R10
	CMPQ R10, CX
	JB   dareloop
	VMOVUPD Z7, (R8)
	VMOVUPD Z8, 64(R8)
	VZEROUPPER
	RET

// func outlierAVX2(x, b, t *float32, n int, thr0, thr1 uint32, eq *[2]int)
//
// Breadcrumbs' band: t = x − b where the key exceeds thr0 (or equals it while eq[0] > 0)
// and does not exceed thr1 (nor equals it while eq[1] > 0), else +0; eight at a time (n a
// positive multiple of 8), a group holding a key equal to either threshold element by
// element in index order. eq is updated.
TEXT ·outlierAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ t+16(FP), DI
	MOVQ n+24(FP), CX
	MOVL thr0+32(FP), R8
	MOVL thr1+36(FP), R13
	MOVQ eq+40(FP), R14
	MOVQ 0(R14), R9
	MOVQ 8(R14), R15
	VMOVQ R8, X15
	VPBROADCASTD X15, Y15
	VMOVQ R13, X13
	VPBROADCASTD X13, Y13
	MOVL $0x7fffffff, AX
	VMOVQ AX, X14
	VPBROADCASTD X14, Y14
	XORQ R10, R10
	SHLQ $2, CX

outloop:
	VMOVUPS (SI)(R10*1), Y0
	VSUBPS  (DX)(R10*1), Y0, Y0
	VPAND   Y14, Y0, Y1
	MOVQ    R9, AX
	ORQ     R15, AX
	JZ      outfast
	VPCMPEQD Y15, Y1, Y3
	VPCMPEQD Y13, Y1, Y4
	VPOR    Y3, Y4, Y3
	VPTEST  Y3, Y3
	JNZ     outslow

outfast:
	VPCMPGTD Y15, Y1, Y2
	VPCMPGTD Y13, Y1, Y4
	VPANDN  Y2, Y4, Y2
	VPAND   Y2, Y0, Y0
	VMOVUPS Y0, (DI)(R10*1)

outnext:
	ADDQ $32, R10
	CMPQ R10, CX
	JB   outloop
	MOVQ R9, 0(R14)
	MOVQ R15, 8(R14)
	VZEROUPPER
	RET

outslow:
	MOVQ R10, R11
	LEAQ 32(R10), R12

outslowloop:
	VMOVSS (SI)(R11*1), X0
	VSUBSS (DX)(R11*1), X0, X0
	VMOVD  X0, AX
	MOVL   AX, BX
	ANDL   $0x7fffffff, BX
	// CX (the loop bound, reloaded after) = 1 iff kept.
	XORL   CX, CX
	CMPL   BX, R8
	JA     outin0
	JB     outchk1
	TESTQ  R9, R9
	JZ     outchk1
	DECQ   R9

outin0:
	MOVL $1, CX

outchk1:
	CMPL  BX, R13
	JA    outin1
	JB    outstore
	TESTQ R15, R15
	JZ    outstore
	DECQ  R15

outin1:
	XORL CX, CX

outstore:
	NEGL CX
	ANDL CX, AX
	MOVL AX, (DI)(R11*1)
	ADDQ $4, R11
	CMPQ R11, R12
	JB   outslowloop
	MOVQ n+24(FP), CX
	SHLQ $2, CX
	JMP  outnext

// func dellaKeepAVX512(keys *uint32, n int, shift, kmin, z0 uint64, pLo, pHi *uint64, keep, amb *byte)
//
// DELLA's keep draws for n entries of a row (n a positive multiple of 8): entry c's
// uniform u = unitFloat(mix64(z0 + c·γ)) is compared, as float64 bits, with the
// probabilities pLo, pHi of its bucket (keys[c]−kmin)>>shift: bit c of keep is u < pLo, bit c of
// amb is pLo ≤ u < pHi (the rank decides; left to the caller).
TEXT ·dellaKeepAVX512(SB), NOSPLIT, $0-72
	MOVQ keys+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ shift+16(FP), AX
	MOVQ kmin+24(FP), R13
	MOVQ z0+32(FP), BX
	MOVQ pLo+40(FP), R8
	MOVQ pHi+48(FP), R9
	MOVQ keep+56(FP), DI
	MOVQ amb+64(FP), DX
	VMOVQ AX, X9
	VPBROADCASTQ R13, Z15
	MIX64_INIT(BX, R10, lanes8<>(SB))
	MOVQ $0x3ca0000000000000, R10
	VPBROADCASTQ R10, Z12
	XORQ R11, R11
	XORQ R12, R12
	SHRQ $3, CX

dkloop:
	VPSRLQ  $30, Z10, Z0
	VPXORQ  Z10, Z0, Z0
	VPMULLQ Z13, Z0, Z0
	VPSRLQ  $27, Z0, Z1
	VPXORQ  Z0, Z1, Z0
	VPMULLQ Z14, Z0, Z0
	VPSRLQ  $31, Z0, Z1
	VPXORQ  Z0, Z1, Z0
	VPSRLQ  $11, Z0, Z0
	VCVTUQQ2PD Z0, Z0
	VMULPD  Z12, Z0, Z0
	VPMOVZXDQ (SI)(R12*1), Z1
	VPSUBQ  Z15, Z1, Z1
	VPSRLQ  X9, Z1, Z1
	KXNORB  K0, K0, K2
	VPGATHERQQ (R8)(Z1*8), K2, Z2
	KXNORB  K0, K0, K3
	VPGATHERQQ (R9)(Z1*8), K3, Z3
	VPCMPUQ $1, Z2, Z0, K1
	KMOVB   K1, AX
	MOVB    AX, (DI)(R11*1)
	VPSUBQ  Z2, Z0, Z4
	VPSUBQ  Z2, Z3, Z5
	VPCMPUQ $1, Z5, Z4, K4
	KMOVB   K4, AX
	MOVB    AX, (DX)(R11*1)
	VPADDQ  Z11, Z10, Z10
	INCQ R11
	ADDQ $32, R12
	CMPQ R11, CX
	JB   dkloop
	VZEROUPPER
	RET

// func dellaSumsAVX512(keys *uint32, n int, keep *byte, lanes *[16]float64)
//
// lanes[c%8] += keys[c] as a float32, lanes[8+c%8] += the same where bit c of keep is
// set, in index order (n a positive multiple of 8).
TEXT ·dellaSumsAVX512(SB), NOSPLIT, $0-32
	MOVQ keys+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ keep+16(FP), DI
	MOVQ lanes+24(FP), R8
	VMOVUPD (R8), Z7
	VMOVUPD 64(R8), Z8
	XORQ R11, R11
	XORQ R12, R12
	SHRQ $3, CX

dsloop:
	VCVTPS2PD (SI)(R12*1), Z0
	KMOVB   (DI)(R11*1), K1
	VADDPD  Z0, Z7, Z7
	VADDPD  Z0, Z8, K1, Z8
	INCQ R11
	ADDQ $32, R12
	CMPQ R11, CX
	JB   dsloop
	VMOVUPD Z7, (R8)
	VMOVUPD Z8, 64(R8)
	VZEROUPPER
	RET

// func dellaKeysAVX512(x, b *float32, keys *uint32, n int) (kmin, kmax uint32)
//
// keys[c] = bits(|x[c] − b[c]|) for n entries (a positive multiple of 16), and their
// smallest and largest.
TEXT ·dellaKeysAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ keys+16(FP), DI
	MOVQ n+24(FP), CX
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z9
	VPTERNLOGD $0xff, Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	XORQ R10, R10
	SHLQ $2, CX

dkeyloop:
	VMOVUPS (SI)(R10*1), Z0
	VSUBPS  (DX)(R10*1), Z0, Z0
	VPANDD  Z9, Z0, Z0
	VMOVDQU32 Z0, (DI)(R10*1)
	VPMINUD Z0, Z10, Z10
	VPMAXUD Z0, Z11, Z11
	ADDQ $64, R10
	CMPQ R10, CX
	JB   dkeyloop
	VEXTRACTI64X4 $1, Z10, Y1
	VPMINUD Y1, Y10, Y10
	VEXTRACTI128 $1, Y10, X1
	VPMINUD X1, X10, X10
	VPSHUFD $0x4e, X10, X1
	VPMINUD X1, X10, X10
	VPSHUFD $0xb1, X10, X1
	VPMINUD X1, X10, X10
	VMOVD X10, AX
	MOVL AX, kmin+32(FP)
	VEXTRACTI64X4 $1, Z11, Y1
	VPMAXUD Y1, Y11, Y11
	VEXTRACTI128 $1, Y11, X1
	VPMAXUD X1, X11, X11
	VPSHUFD $0x4e, X11, X1
	VPMAXUD X1, X11, X11
	VPSHUFD $0xb1, X11, X1
	VPMAXUD X1, X11, X11
	VMOVD X11, AX
	MOVL AX, kmax+36(FP)
	VZEROUPPER
	RET

// func dellaRankAVX512(keys *uint32, n int, key uint32, c int) int
//
// The number of entries of keys[:n] below key plus those equal to it before index c (n
// a positive multiple of 16, 0 ≤ c < n): the entry's rank, from 0, ties by index. One
// pass, counted in sixteen dword lanes: keys ≤ key in the groups of 16 before c's, keys
// < key after it, and within c's group ≤ below c and < above it.
TEXT ·dellaRankAVX512(SB), NOSPLIT, $0-40
	MOVQ keys+0(FP), SI
	MOVQ n+8(FP), BX
	MOVL key+16(FP), AX
	MOVQ c+24(FP), DX
	VPBROADCASTD AX, Z9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPTERNLOGD $0xff, Z5, Z5, Z5 // −1 per lane
	SHLQ $2, BX
	MOVQ DX, R12
	ANDQ $-16, R12
	SHLQ $2, R12 // c's group, in bytes
	XORQ R10, R10
	CMPQ R10, R12
	JAE  drmid

drle:
	VPCMPUD $5, (SI)(R10*1), Z9, K1 // key ≥ keys[j]
	VPSUBD  Z5, Z0, K1, Z0
	ADDQ $64, R10
	CMPQ R10, R12
	JB   drle

drmid:
	MOVQ DX, CX
	ANDQ $15, CX
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3                     // the lanes below c
	VPCMPUD $5, (SI)(R10*1), Z9, K3, K1
	VPSUBD  Z5, Z0, K1, Z0
	KNOTW   K3, K3
	VPCMPUD $6, (SI)(R10*1), Z9, K3, K1 // key > keys[j] (c itself is not)
	VPSUBD  Z5, Z1, K1, Z1
	ADDQ $64, R10
	CMPQ R10, BX
	JAE  drsum

drlt:
	VPCMPUD $6, (SI)(R10*1), Z9, K1
	VPSUBD  Z5, Z1, K1, Z1
	ADDQ $64, R10
	CMPQ R10, BX
	JB   drlt

drsum:
	VPADDD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD Y1, Y0, Y0
	HSUM8D(Y0, X0, X1)
	VMOVD X0, AX
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET

// func linear3AVX2(a *cons3Args)
//
// The three-model plain combine, four elements per step in float64 lanes:
// acc = ((0 + w₀t₀) + w₁t₁) + w₂t₂; o = float32(b + λ·acc) (λ: the scale; wv and
// normalize unused).
TEXT ·linear3AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), DI
	MOVQ 40(AX), CX
	VBROADCASTSD 48(AX), Y10
	VBROADCASTSD 56(AX), Y11
	VBROADCASTSD 64(AX), Y12
	VBROADCASTSD 96(AX), Y9
	VXORPD Y6, Y6, Y6
	XORQ R11, R11
	SHLQ $2, CX

linloop:
	VCVTPS2PD (R8)(R11*1), Y0
	VMULPD Y10, Y0, Y0
	VADDPD Y0, Y6, Y0
	VCVTPS2PD (R9)(R11*1), Y1
	VMULPD Y11, Y1, Y1
	VADDPD Y1, Y0, Y0
	VCVTPS2PD (R10)(R11*1), Y2
	VMULPD Y12, Y2, Y2
	VADDPD Y2, Y0, Y0
	VMULPD Y9, Y0, Y0
	VCVTPS2PD (SI)(R11*1), Y1
	VADDPD Y0, Y1, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)(R11*1)
	ADDQ $16, R11
	CMPQ R11, CX
	JB   linloop
	VZEROUPPER
	RET

// func taskArith3AVX2(a *cons3Args)
//
// Task arithmetic of three models, four elements per step: dᵢ = float64(xᵢ − b) (the
// difference in float32), o = float32(b + ((w₀d₀ + w₁d₁) + w₂d₂)). t0..t2 are the xᵢ.
TEXT ·taskArith3AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), DI
	MOVQ 40(AX), CX
	VBROADCASTSD 48(AX), Y10
	VBROADCASTSD 56(AX), Y11
	VBROADCASTSD 64(AX), Y12
	XORQ R11, R11
	SHLQ $2, CX

taloop:
	VMOVUPS (SI)(R11*1), X5
	VMOVUPS (R8)(R11*1), X0
	VSUBPS  X5, X0, X0
	VCVTPS2PD X0, Y0
	VMULPD  Y10, Y0, Y0
	VMOVUPS (R9)(R11*1), X1
	VSUBPS  X5, X1, X1
	VCVTPS2PD X1, Y1
	VMULPD  Y11, Y1, Y1
	VADDPD  Y1, Y0, Y0
	VMOVUPS (R10)(R11*1), X2
	VSUBPS  X5, X2, X2
	VCVTPS2PD X2, Y2
	VMULPD  Y12, Y2, Y2
	VADDPD  Y2, Y0, Y0
	VCVTPS2PD X5, Y5
	VADDPD  Y0, Y5, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)(R11*1)
	ADDQ $16, R11
	CMPQ R11, CX
	JB   taloop
	VZEROUPPER
	RET

// func weighted3AVX2(a *cons3Args)
//
// The weighted sum of three models, four elements per step:
// o = float32((w₀x₀ + w₁x₁) + w₂x₂). t0..t2 are the xᵢ; b is unused.
TEXT ·weighted3AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 8(AX), R8
	MOVQ 16(AX), R9
	MOVQ 24(AX), R10
	MOVQ 32(AX), DI
	MOVQ 40(AX), CX
	VBROADCASTSD 48(AX), Y10
	VBROADCASTSD 56(AX), Y11
	VBROADCASTSD 64(AX), Y12
	XORQ R11, R11
	SHLQ $2, CX

wloop:
	VCVTPS2PD (R8)(R11*1), Y0
	VMULPD  Y10, Y0, Y0
	VCVTPS2PD (R9)(R11*1), Y1
	VMULPD  Y11, Y1, Y1
	VADDPD  Y1, Y0, Y0
	VCVTPS2PD (R10)(R11*1), Y2
	VMULPD  Y12, Y2, Y2
	VADDPD  Y2, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS X0, (DI)(R11*1)
	ADDQ $16, R11
	CMPQ R11, CX
	JB   wloop
	VZEROUPPER
	RET
