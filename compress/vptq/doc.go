// Package vptq implements vector post-training quantization as a compress.Codec
// registered under the name "vptq", with the k-means it is built on and a packed
// operator (compress.OperatorLoader) that multiplies by table lookup.
//
// # Method
//
// VPTQ (Y. Liu et al., "VPTQ: Extreme Low-bit Vector Post-Training Quantization for
// Large Language Models", arXiv:2409.17066, 2024) replaces a weight matrix by short
// vectors drawn from a learned codebook plus an index per vector. The weights may first
// be normalized per column (input channel), and a residual codebook quantizes what the
// first one missed (residual vector quantization, §4.3 of the paper). Since vptq/2 the
// vectors run along rows — v consecutive inputs of one output — so that the
// normalization folds into the input of a product (see Kernel):
//
//	u[r, c]       = (W[r, c] − μ_c) / σ_c             per-column mean μ_c, deviation σ_c
//	vector (r, g) = u[r, g·v : g·v+v]                  zero-padded on the right
//	W[r, g·v+t]  ≈ σ_c · (C[i_rg] + R[j_rg])[t] + μ_c  c = g·v + t
//
// C (2^codebook_bits × v) and R (2^residual_bits × v) are trained by k-means (k-means++
// seeding, Lloyd iterations; large matrices train on a sample, see TrainVectors) on the
// vectors and on the residuals. The paper weights the k-means objective and corrects
// later columns GPTQ-style with the layer's Hessian, which needs calibration inputs; a
// codec here sees one tensor and no data, so this is VPTQ with the Hessian taken as the
// identity: plain Euclidean k-means, no error feedback. A seed makes it reproducible:
// the same tensor, name and options give the same bytes on one CPU architecture (Go may
// fuse multiply–adds on arm64).
//
// Options (all integers): vector_length v (1–16, default 4), codebook_bits (1–12,
// default 7), residual_bits (0–12, 0 = no residual codebook, default 1), normalize (0/1,
// default 1), iterations (Lloyd iterations per codebook, default 20), seed (default 0).
//
// Only 2-D floating-point tensors are compressed; others are stored unchanged.
//
// # Defaults and their size
//
// The defaults spend 7 + 1 = 8 bits of index per 4-weight vector (2 bits per weight),
// plus the codebooks (128×4 and 2×4 float32) and 64 bits of column statistics per
// column. On the demo's 784-256-256-10 MLP (the "base" seed of `evomerge seeds`) the
// compressed file stores 2.49 bits per weight over the three matrices — indices,
// codebooks and statistics (`evomerge compress` reports it; 88,512 bytes on disk with
// the dense biases) — and scores 0.8851 MNIST test accuracy against the float32
// model's 0.8862 (99.9 %; `evomerge bench -e mnist`). Measured alternatives on the
// same model (bits per weight, accuracy): v=4 with 4+4 bits (2.35, 0.8626), 8+0 (2.67,
// 0.8789), 6+2 (2.41, 0.8831), 5+3 (2.37, 0.8810); v=3 with 4+4 (3.02, 0.8882); v=5
// with 8+0 (2.37, 0.8805), 7+1 (2.15, 0.8747); v=6 with 8+0 (2.20, 0.8522). Keeping
// codebook_bits + residual_bits ≤ 8 keeps the fast kernel (below).
//
// # Stored format
//
// A compressed tensor "<name>" of shape [rows, cols] becomes
//
//	"<name>.vq.codebook"      F32 [2^codebook_bits, v]
//	"<name>.vq.indices"       U8  packed indices, codebook_bits each (compress.PackBits)
//	"<name>.vq.res_codebook"  F32 [2^residual_bits, v]     if residual_bits > 0
//	"<name>.vq.res_indices"   U8  packed residual indices  if residual_bits > 0
//	"<name>.vq.col_scale"     F32 [cols]  σ                if normalize
//	"<name>.vq.col_bias"      F32 [cols]  μ                if normalize
//	metadata "<name>.vq"      JSON Layout: rows, cols, vector_length, codebook_bits,
//	                          residual_bits, normalize, orientation
//
// With orientation "rows" (written by vptq/2) index k of the streams belongs to vector
// (r, g), k = r·G + g, G = ⌈cols/v⌉. A layout without orientation (written by vptq/1)
// or with "columns" has vectors along columns: vector (g, c) holds rows g·v … g·v+v−1
// of column c (zero-padded at the bottom), k = g·cols + c. Decode reads both;
// LoadOperator runs only "rows" and asks for a vptq/1 file to be re-compressed.
//
// Load and LoadOperator check the layout and every part's dtype, shape and values
// (finite codebooks and statistics, positive scales, zero padding bits after the last
// index — indices below 2^bits then hold by construction — and no part the layout does
// not use), and fail with an error naming the tensor and the part.
//
// # Kernel
//
// Operator (see its doc) holds the indices, the codebooks and the statistics. For an
// input x it forms x' = σ∘x and o = μ·x, builds for each group g the table of the dot
// products of x'[g·v : g·v+v] with every codeword pair C[i] + R[j] (K·K_R entries; a
// per-codebook table of K + K_R entries first, then their sums), and computes each
// output as o plus one table entry per vector. Tables cost (K + K_R)·cols multiply–adds
// and K·K_R·G adds per input whatever the number of rows, so they dominate small
// matrices (at 256×784 the operator is slower than compress.Dense) and vanish in large
// ones. The pair index i + K·j is kept as one byte when codebook_bits + residual_bits ≤
// 8 (two bytes, and a pure-Go kernel, otherwise), laid out for the kernel: blocks of 16
// groups, whose tables (16 KiB) stay in L1 while every row of a range is looked up in
// them, rows in tiles of 8 stored group by group. On amd64 with AVX2 and FMA, the
// assembly of lut_amd64.s (written by asm_gen.go, whose doc lists the variants
// measured) builds the tables and does the lookups: one 8-byte load per group and tile,
// then per index a shift, a byte extraction and a scalar add with the table load folded
// in, 8 rows in independent accumulators. Where the CPU has AVX-512 (F, VL) the
// lookups are gathers instead (lut_gather_amd64.s, hand-written): per tile and group,
// the 8 index bytes widened to dwords and one VGATHERDPS of the 8 entries, added to the
// tile's 8 sums in one register in the scalar kernel's order, bit for bit the same
// results. Elsewhere (or with -tags purego) pure-Go
// loops do the same arithmetic: the lookups add the same values in the same order, bit
// for bit, while the assembly table builder fuses multiply–adds, so outputs differ from
// the Go path by float32 rounding (up to about 1e-5 relative to Σ|w·x|). Large products split their rows
// across cores (compress.SplitRows); several inputs are run two at a time over each
// block of groups, each index byte extracted once and looked up in both inputs' tables.
package vptq
