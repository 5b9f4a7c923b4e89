// Package seedlm implements SeedLM weight compression as a compress.Codec registered
// under the name "seedlm", with structured (block) pruning.
//
// # Method
//
// SeedLM (R. Shafipour et al., "SeedLM: Compressing LLM Weights into Seeds of
// Pseudo-Random Generators", arXiv:2410.10714, 2024) cuts every row of a weight matrix
// into blocks w of C weights and stores each block as a seed s of a K-bit linear
// feedback shift register, a shared exponent e and P small integer coefficients q:
//
//	w ≈ 2^e · U(s) · q        U(s) ∈ (−1, 1)^(C×P), the next C·P register states after s
//
// The encoder searches every seed (2^K − 1 of them). For each it knows, from a QR
// factorization done once per shape, the least-squares error of projecting w on U(s)'s
// columns; the Candidates best seeds then get their coefficients solved, rounded to
// coef_bits-bit two's-complement integers under the smallest exponent that fits, and the
// seed with the least error after rounding wins (ties to the smaller seed). The
// exponent is 4 bits per block relative to a per-tensor base. Seeds whose basis is
// ill-conditioned (about 0.1%) are never chosen. SeedLM needs no data: the same tensor
// and options give the same bytes on one CPU architecture (Go may fuse multiply–adds on
// arm64). U(s) is regenerated from the seed when decoding; it is never stored.
//
// The paper's 4-bit setting is K = 16, C = 8, P = 3 with 4-bit coefficients. The default
// here is K = 12 — (12 + 4 + 3·4)/8 = 3.5 bits per weight — because the search over
// 4,095 seeds is 16 times faster than over 65,535; it costs accuracy: on a Gaussian
// matrix the relative error is about 0.19 at K = 12 and 0.12 at K = 16 (4 bits per
// weight).
//
// Structured pruning (the notes' "battery saving" profile): with prune = f, the
// ⌊f·blocks⌋ blocks of smallest norm are dropped and a 1-bit-per-block mask records
// which remain; a dropped block is zero and costs nothing else.
//
// Options: block_size C (2–32, default 8), latent P (1–8, smaller than C, default 3),
// seed_bits K (4–16, default 12), coef_bits (2–8, default 4), prune (0–0.9, default 0).
// Only 2-D floating-point tensors are compressed; others are stored unchanged.
//
// # Stored format
//
// A compressed tensor "<name>" of shape [rows, cols], with blocks numbered row by row
// (row r holds blocks r·⌈cols/C⌉ …, the last one zero-padded), becomes
//
//	"<name>.seedlm.seeds"  U8  packed seeds, K bits each, one per kept block
//	"<name>.seedlm.exps"   U8  packed exponent codes, 4 bits each: e = exp_base + code
//	"<name>.seedlm.coefs"  U8  packed coefficients, coef_bits each, P per kept block
//	"<name>.seedlm.mask"   U8  packed kept flags, 1 bit per block   (only if pruned)
//	metadata "<name>.seedlm" JSON Layout: rows, cols, block_size, latent, seed_bits,
//	                         coef_bits, exp_base, kept, pruned
//
// all packed with compress.PackBits.
//
// # Kernels
//
// LFSR and Basis generate the matrices (the taps of every width are checked for the
// full period 2^K − 1 in the tests); NewBases tabulates them with their QR factors;
// Quantize searches; Quantized.MulVec multiplies from seeds without materializing W.
package seedlm
