// Package bitnet implements BitNet b1.58 ternary weight compression as a compress.Codec
// registered under the name "bitnet", plus the packed-format kernels it is built on.
//
// # Method
//
// BitNet b1.58 (S. Ma et al., "The Era of 1-bit LLMs: All Large Language Models are in
// 1.58 Bits", arXiv:2402.17764, 2024, §2, its absmean quantization function) constrains
// every weight of a matrix W (n×m) to {−1, 0, +1} with one per-matrix scale, the
// absmean γ:
//
//	γ  = max( (1/nm) Σ_ij |W_ij| , ε )          ε = Eps = 1e-5
//	W̃  = RoundClip(W/γ, −1, 1),  RoundClip(x, a, b) = max(a, min(b, round(x)))
//	W ≈ γ·W̃
//
// The paper writes W/(γ+ε); like the PyTorch reference code the authors published with
// it ("Training Tips, Code and FAQ": w.abs().mean().clamp(min=1e-5)), this package
// clamps γ from below by ε instead, so that for any ordinary matrix the stored scale is
// exactly the mean absolute weight and γ·W̃ is the dequantized matrix with no ε drift.
// round is round-half-to-even (as torch.round), decided on the exact quotient: a weight
// of exactly ±γ/2 becomes 0, anything larger in magnitude ±1. γ is accumulated in float64
// and rounded once to float32.
//
// Options: per_channel (0/1, default 0) gives each output row its own absmean scale γ_r
// (the per-channel variant BitNet inference engines use); values_per_byte (4 or 5,
// default 4) stores the codes 2 bits per weight or as base-3 digits, 5 per byte, 1.6
// bits per weight.
//
// Activations are quantized to 8 bits per token at inference, as in the paper (absmax,
// QuantizeActivations): s = 127/max|x|, q = clamp(round(x·s), −128, 127), so a layer
// computes y_r = γ_r·(1/s)·Σ_c W̃_rc·q_c.
//
// Only 2-D floating-point tensors (weight matrices) are compressed; 1-D biases and norm
// vectors, scalars, higher-rank and integer tensors are stored unchanged.
//
// # Packed format
//
// A compressed tensor "<name>" of shape [rows, cols] is stored as
//
//	"<name>.ternary"   U8  [rows, ceil(cols/4)]  2-bit codes, 4 per byte   (values_per_byte 4)
//	"<name>.ternary5"  U8  [rows, ceil(cols/5)]  base-3 codes, 5 per byte  (values_per_byte 5)
//	"<name>.scale"     F32 [1] or [rows]         γ, or γ_r per row         (per_channel)
//	metadata "<name>.shape" = "rows,cols"        the original shape
//
// In the 2-bit packing each code is the two's-complement integer of the ternary value:
//
//	00 → 0    01 → +1    11 → −1    10 → invalid (never written)
//
// Weight (r, c) lives in byte r·ceil(cols/4) + c/4 at bits 2·(c mod 4) and 2·(c mod 4)+1
// (the first weight of a group in the low bits). Every row starts on a byte boundary;
// the unused codes at the end of a row whose length is not a multiple of 4 are 00.
// So a weight costs 2 bits plus 32 bits of scale per matrix: 16× smaller than float32.
// The 1.6-bit packing is described at PackedRowBytes5.
//
// # Kernels
//
// Quantize, Pack/Pack5, Unpack/Unpack5 and Dequantize convert between the forms above;
// Check and Check5 validate packed data from a file. LoadOperator (compress.OperatorLoader)
// validates a stored matrix and repacks its codes once into the layout of the integer
// kernel (see Ternary), 2 bits per weight in memory whichever packing the file uses:
// decoding base-3 digits in the inner loop would cost more instructions than the 0.4 bit
// per weight it saves in memory traffic.
//
// The kernel multiplies int8 activations by the codes as unsigned bytes u = W̃+1 with
// the CPU's byte multiply-add (VPMADDUBSW on AVX2: 32 weights per instruction, decoded
// from 2-bit codes by one shift and one mask; on CPUs with AVX-512 VNNI, VPDPBUSD on
// 64 bytes, 256 weights per load, each 2-bit field masked in place into an accumulator
// of its own and divided exactly by its power of 4 at the end of the row; for matrices
// that stay in cache, such as the demo MLP's, a variant broadcasts each 16-byte chunk to
// the four 128-bit lanes and masks lane s with field s, one VPDPBUSD per 64 weights and
// eight rows at a time), subtracting Σq once per input. It is
// exact integer arithmetic, so the assembly and the pure-Go fallback agree bit for bit.
// Ternary.MulBias is a whole MLP layer: the bias and ReLU are applied in the same
// AVX-512 pass that scales the integer sums back to float32 (nn.Network uses it), with
// the same float32 roundings as Mul followed by separate bias and ReLU loops.
// An earlier kernel of this package did T-MAC-style table lookup (J. Wei et al.,
// arXiv:2407.00088) on float32 inputs; with 8-bit activations — which BitNet b1.58
// prescribes anyway — the multiply-add needs no per-call tables and measured about 7×
// faster on the same machine and load (4096×4096: 0.29 Gweights/s by table, 2.1 by
// multiply-add, both under a loaded machine).
package bitnet
