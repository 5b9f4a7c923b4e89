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
// Only 2-D floating-point tensors (weight matrices) are compressed; 1-D biases and norm
// vectors, scalars, higher-rank and integer tensors are stored unchanged. The codec has
// no options.
//
// # Packed format
//
// A compressed tensor "<name>" of shape [rows, cols] is stored as
//
//	"<name>.ternary"  U8  [rows, ceil(cols/4)]   the codes, 2 bits each, 4 per byte
//	"<name>.scale"    F32 [1]                    γ
//	metadata "<name>.shape" = "rows,cols"        the original shape
//
// Each 2-bit code is the two's-complement integer of the ternary value:
//
//	00 → 0    01 → +1    11 → −1    10 → invalid (never written)
//
// Weight (r, c) lives in byte r·ceil(cols/4) + c/4 at bits 2·(c mod 4) and 2·(c mod 4)+1
// (the first weight of a group in the low bits). Every row starts on a byte boundary;
// the unused codes at the end of a row whose length is not a multiple of 4 are 00.
// So a weight costs 2 bits plus 32 bits of scale per matrix: 16× smaller than float32.
//
// # Kernels
//
// Quantize, Pack, Unpack and Dequantize convert between the forms above; Check validates
// packed data from a file. GEMV computes y = γ·W̃·x straight from the packed bytes
// without materializing W, by table lookup (T-MAC, J. Wei et al., arXiv:2407.00088): for
// each group of inputs it tabulates the dot product with every possible code pattern
// once per call (256 entries per 4 inputs, indexed by a packed byte; 16 per 2 inputs,
// indexed by a nibble, for matrices wider than 1024 columns, whose byte tables would not
// fit in cache), so each packed byte costs one or two loads and adds instead of four
// multiply-adds. PackedTernary bundles a matrix's codes and scale for layers that
// compute in the compressed domain. The kernels panic on inconsistent lengths (a
// programming error); Check and LoadPacked return errors for bad data instead.
package bitnet
