// The vector setup of maskBits' draws, mix64(z0 + j·γ) for element j, shared by the
// AVX-512 kernels that draw them (dareAVX512, dellaKeepAVX512, dellaHistAVX512).
// MIX64_INIT(z0, tmp, iota) sets Z10 = z0 + (0..7)·γ (iota: a table of the qwords
// 0..7), Z11 = 8γ (the step to the next eight elements), Z13 and Z14 = mix64's two
// multipliers; it uses Z12 and the general register tmp.
#define MIX64_INIT(z0, tmp, iota) \
	MOVQ $0x9e3779b97f4a7c15, tmp \
	VPBROADCASTQ tmp, Z11 \
	VMOVDQU64 iota, Z10 \
	VPMULLQ Z11, Z10, Z10 \
	VPBROADCASTQ z0, Z12 \
	VPADDQ  Z12, Z10, Z10 \
	VPSLLQ  $3, Z11, Z11 \
	MOVQ $0xbf58476d1ce4e5b9, tmp \
	VPBROADCASTQ tmp, Z13 \
	MOVQ $0x94d049bb133111eb, tmp \
	VPBROADCASTQ tmp, Z14
