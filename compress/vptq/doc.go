// Package vptq implements vector post-training quantization as a compress.Codec
// registered under the name "vptq", with the k-means, index-packing and GEMV kernels it
// is built on.
//
// # Method
//
// VPTQ (Y. Liu et al., "VPTQ: Extreme Low-bit Vector Post-Training Quantization for
// Large Language Models", arXiv:2409.17066, 2024) replaces a weight matrix by short
// vectors drawn from a learned codebook plus an index per vector. As in VPTQ, vectors run
// along columns (v consecutive output rows of one input channel), the weights may first
// be normalized per column, and a residual codebook quantizes what the first one missed
// (residual vector quantization, §4.3 of the paper):
//
//	u_c      = (W[:, c] − μ_c) / σ_c                  per-column mean μ_c, deviation σ_c
//	vector (g, c) = u_c[g·v : g·v+v]                  zero-padded at the bottom
//	W ≈ σ_c · (C[i_gc] + R[r_gc]) + μ_c
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
// default 8), residual_bits (0–12, 0 = no residual codebook, default 8), normalize (0/1,
// default 1), iterations (Lloyd iterations per codebook, default 20), seed (default 0).
// The defaults store (8+8)/4 = 4 bits of index per weight, plus the codebooks (2·256·4
// float32) and 64 bits of column statistics per column.
//
// Only 2-D floating-point tensors are compressed; others are stored unchanged.
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
//	                          residual_bits, normalize
//
// Index k of the stream belongs to vector (g, c) with k = g·cols + c.
//
// # Kernels
//
// KMeans clusters; indices are packed with compress.PackBits; Quantized.MulVec computes
// y = W·x from the codebooks and indices without materializing W (see its doc). Kernels panic on inconsistent lengths; Load returns
// errors for bad data from a file.
package vptq
