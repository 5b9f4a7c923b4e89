//go:build amd64 && !purego

#include "textflag.h"
#include "mix64_amd64.h"

// DELLA's packed-rank row kernels (della_row.go). Each is the Go function of the same
// name without the AVX512 suffix (dellaHistGo, dellaPrefixGo, dellaTabKeepGo).

DATA dellaIota<>+0(SB)/8, $0
DATA dellaIota<>+8(SB)/8, $1
DATA dellaIota<>+16(SB)/8, $2
DATA dellaIota<>+24(SB)/8, $3
DATA dellaIota<>+32(SB)/8, $4
DATA dellaIota<>+40(SB)/8, $5
DATA dellaIota<>+48(SB)/8, $6
DATA dellaIota<>+56(SB)/8, $7
GLOBL dellaIota<>(SB), RODATA|NOPTR, $64

// func dellaHistAVX512(keys *uint32, n int, kmin uint32, shift uint64, idx *uint16, hist *uint16, stride int, z0 uint64, h *uint16, pf *float32)
//
// idx[c] = (max(keys[c], kmin) − kmin) >> shift (16 at a time), then, sixteen entries a
// step, hist[(c%2)·stride + idx[c]]++ (16-bit counters, so that the tables take less of
// the L1) and h[c] = mix64(z0 + c·γ) >> 48 (two vectors of
// eight hashes, the high dwords gathered into one and shifted; mix64's last step,
// z ^ z>>31, leaves the top 16 bits as they are and is skipped). The hashes' vector
// multiplies run beside the counts' scalar loads and stores. Meanwhile the n float32s at
// pf are prefetched into L2, a cache line per step.
TEXT ·dellaHistAVX512(SB), NOSPLIT, $0-80
	MOVQ keys+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL kmin+16(FP), AX
	MOVQ shift+24(FP), DX
	MOVQ idx+32(FP), DI
	MOVQ hist+40(FP), R8
	MOVQ stride+48(FP), R9
	MOVQ z0+56(FP), BX
	MOVQ h+64(FP), R12
	MOVQ pf+72(FP), R13
	VPBROADCASTD AX, Z8
	VPBROADCASTD DX, Z9
	XORQ R10, R10

dhidx:
	VMOVDQU32 (SI)(R10*4), Z0
	VPMAXUD Z8, Z0, Z0
	VPSUBD  Z8, Z0, Z0
	VPSRLVD Z9, Z0, Z0
	VPMOVDW Z0, (DI)(R10*2)
	ADDQ $16, R10
	CMPQ R10, CX
	JB   dhidx

	MIX64_INIT(BX, R10, dellaIota<>(SB))
	VPADDQ  Z11, Z10, Z16 // the second eight
	VPSLLQ  $1, Z11, Z11  // 16γ
	VMOVDQU32 dellaOdd<>(SB), Z23
	LEAQ (R8)(R9*2), R11
	XORQ R10, R10

#define DHCOUNT4(off) \
	MOVWLZX (off+0)(DI)(R10*2), AX \
	MOVWLZX (off+2)(DI)(R10*2), BX \
	MOVWLZX (off+4)(DI)(R10*2), DX \
	MOVWLZX (off+6)(DI)(R10*2), SI \
	INCW (R8)(AX*2) \
	INCW (R11)(BX*2) \
	INCW (R8)(DX*2) \
	INCW (R11)(SI*2)

dhcount:
	VPSRLQ  $30, Z10, Z0
	VPXORQ  Z10, Z0, Z0
	VPMULLQ Z13, Z0, Z0
	VPSRLQ  $30, Z16, Z2
	VPXORQ  Z16, Z2, Z2
	VPMULLQ Z13, Z2, Z2
	DHCOUNT4(0)
	DHCOUNT4(8)
	VPSRLQ  $27, Z0, Z1
	VPXORQ  Z0, Z1, Z0
	VPMULLQ Z14, Z0, Z0
	VPSRLQ  $27, Z2, Z3
	VPXORQ  Z2, Z3, Z2
	VPMULLQ Z14, Z2, Z2
	DHCOUNT4(16)
	DHCOUNT4(24)
	VPERMT2D Z2, Z23, Z0
	VPSRLD  $16, Z0, Z0
	VPMOVDW Z0, (R12)(R10*2)
	PREFETCHT1 (R13)
	ADDQ $64, R13
	VPADDQ  Z11, Z10, Z10
	VPADDQ  Z11, Z16, Z16
	ADDQ $16, R10
	CMPQ R10, CX
	JB   dhcount
	VZEROUPPER
	RET

// func dellaPrefixAVX512(hist *uint16, stride, nb int, tab *uint32, p0s, steps float32)
//
// Sixteen buckets at a time: ct = the two histograms' sum (then cleared), the inclusive
// scan P of ct within the vector by shifted adds, plus the running total; st = P − ct,
// e = P − 1; in float32, f(r) = p0s + steps·r (p0s = p0·2¹⁶, steps = step·2¹⁶, each
// operation rounded), and tab = max(⌊f(st)⌋ − 1, 0) | min(⌊f(e)⌋ + 1, 0xffff) << 16; the
// running total then P's last lane.
TEXT ·dellaPrefixAVX512(SB), NOSPLIT, $0-40
	MOVQ hist+0(FP), R8
	MOVQ stride+8(FP), R9
	MOVQ nb+16(FP), CX
	MOVQ tab+24(FP), DI
	VBROADCASTSS p0s+32(FP), Z20
	VBROADCASTSS steps+36(FP), Z21
	LEAQ (R8)(R9*2), R11
	VPXORD Z31, Z31, Z31
	VPXORD Z7, Z7, Z7
	MOVL $15, AX
	VPBROADCASTD AX, Z6
	MOVL $0xffff, AX
	VPBROADCASTD AX, Z30
	VPTERNLOGD $0xff, Z5, Z5, Z5 // −1
	XORQ R10, R10

dploop:
	VPMOVZXWD (R8)(R10*2), Z0
	VPMOVZXWD (R11)(R10*2), Z1
	VPADDD  Z1, Z0, Z0
	VMOVDQU32 Y31, (R8)(R10*2)
	VMOVDQU32 Y31, (R11)(R10*2)
	VALIGND $15, Z31, Z0, Z1
	VPADDD  Z1, Z0, Z1
	VALIGND $14, Z31, Z1, Z2
	VPADDD  Z2, Z1, Z1
	VALIGND $12, Z31, Z1, Z2
	VPADDD  Z2, Z1, Z1
	VALIGND $8, Z31, Z1, Z2
	VPADDD  Z2, Z1, Z1
	VPADDD  Z7, Z1, Z1
	VPSUBD  Z0, Z1, Z2 // st
	VPADDD  Z5, Z1, Z3 // e
	VPERMD  Z1, Z6, Z7
	VCVTUDQ2PS Z2, Z8
	VCVTUDQ2PS Z3, Z10
	VMULPS  Z21, Z8, Z8
	VMULPS  Z21, Z10, Z10
	VADDPS  Z20, Z8, Z8
	VADDPS  Z20, Z10, Z10
	VCVTTPS2DQ Z8, Z8
	VCVTTPS2DQ Z10, Z10
	VPADDD  Z5, Z8, Z8
	VPMAXSD Z31, Z8, Z8
	VPSUBD  Z5, Z10, Z10
	VPMINSD Z30, Z10, Z10
	VPSLLD  $16, Z10, Z10
	VPORD   Z10, Z8, Z8
	VMOVDQU32 Z8, (DI)(R10*4)
	ADDQ $16, R10
	CMPQ R10, CX
	JB   dploop
	VZEROUPPER
	RET

// func dellaTabKeepAVX512(idx *uint16, n int, h *uint16, tab *uint32, bound uint32, keep, amb *byte, pf *float32, sk *uint32, sw *byte, lanes *[16]float64)
//
// Sixteen entries at a time: H = h[c], t = tab[idx[c]] gathered for the lanes with
// bound&0xffff ≤ H ≤ bound>>16 only, the others taking t = bound&0xffff · 0x10001;
// keep = H < t&0xffff, amb = !keep && H ≤ t>>16. Meanwhile the n float32s at pf are
// prefetched into L2, a cache line per step, and, if sk is not nil, the sums of another row of n entries are added to lanes as
// dellaSumsAVX512 adds them (keys sk, keep bits sw): their chains of dependent adds
// run beside this row's work.
TEXT ·dellaTabKeepAVX512(SB), NOSPLIT, $0-88
	MOVQ idx+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ h+16(FP), BX
	MOVQ tab+24(FP), R8
	MOVL bound+32(FP), AX
	MOVQ keep+40(FP), DI
	MOVQ amb+48(FP), DX
	MOVQ pf+56(FP), R9
	MOVL AX, R14
	ANDL $0xffff, R14
	VPBROADCASTD R14, Z24 // bound's low half: P0
	SHRL $16, AX
	VPBROADCASTD AX, Z26 // its high half: PM
	VPSLLD $16, Z24, Z27
	VPORD  Z24, Z27, Z27 // P0 · 0x10001
	MOVL $0xffff, AX
	VPBROADCASTD AX, Z22
	MOVQ sk+64(FP), R14
	MOVQ sw+72(FP), AX
	SHRQ $4, CX
	XORQ R11, R11
	XORQ R12, R12
	TESTQ R14, R14
	JZ   dtkloop
	MOVQ lanes+80(FP), R10
	VMOVUPD (R10), Z17
	VMOVUPD 64(R10), Z18

#define DTKSTEP \
	VPMOVZXWD (BX)(R12*1), Z0 \
	VPMOVZXWD (SI)(R12*1), Z4 \
	VPCMPUD $5, Z24, Z0, K1 \
	VPCMPUD $2, Z26, Z0, K1, K1 \
	VMOVDQA32 Z27, Z5 \
	VPGATHERDD (R8)(Z4*4), K1, Z5 \
	VPANDD  Z22, Z5, Z6 \
	VPSRLD  $16, Z5, Z7 \
	VPCMPUD $1, Z6, Z0, K2 \
	VPCMPUD $2, Z7, Z0, K3 \
	KANDNW  K3, K2, K4 \
	KMOVW   K2, (DI)(R11*2) \
	KMOVW   K4, (DX)(R11*2) \
	PREFETCHT1 (R9) \
	ADDQ $64, R9

dtksloop:
	DTKSTEP
	VCVTPS2PD (R14)(R12*2), Z1
	KMOVB   (AX)(R11*2), K5
	VADDPD  Z1, Z17, Z17
	VADDPD  Z1, Z18, K5, Z18
	VCVTPS2PD 32(R14)(R12*2), Z2
	KMOVB   1(AX)(R11*2), K6
	VADDPD  Z2, Z17, Z17
	VADDPD  Z2, Z18, K6, Z18
	INCQ R11
	ADDQ $32, R12
	CMPQ R11, CX
	JB   dtksloop
	MOVQ lanes+80(FP), R10
	VMOVUPD Z17, (R10)
	VMOVUPD Z18, 64(R10)
	VZEROUPPER
	RET

dtkloop:
	DTKSTEP
	INCQ R11
	ADDQ $32, R12
	CMPQ R11, CX
	JB   dtkloop
	VZEROUPPER
	RET

// dellaOdd selects the high dword of each qword of two vectors (VPERMT2D indices).
DATA dellaOdd<>+0(SB)/4, $1
DATA dellaOdd<>+4(SB)/4, $3
DATA dellaOdd<>+8(SB)/4, $5
DATA dellaOdd<>+12(SB)/4, $7
DATA dellaOdd<>+16(SB)/4, $9
DATA dellaOdd<>+20(SB)/4, $11
DATA dellaOdd<>+24(SB)/4, $13
DATA dellaOdd<>+28(SB)/4, $15
DATA dellaOdd<>+32(SB)/4, $17
DATA dellaOdd<>+36(SB)/4, $19
DATA dellaOdd<>+40(SB)/4, $21
DATA dellaOdd<>+44(SB)/4, $23
DATA dellaOdd<>+48(SB)/4, $25
DATA dellaOdd<>+52(SB)/4, $27
DATA dellaOdd<>+56(SB)/4, $29
DATA dellaOdd<>+60(SB)/4, $31
GLOBL dellaOdd<>(SB), RODATA|NOPTR, $64
