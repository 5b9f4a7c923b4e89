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
// here is C = 13, P = 4, K = 11 with 4-bit coefficients: (11 + 4 + 4·4)/13 ≈ 2.38 bits
// per weight, plus a row's zero-padded last block (2.41 on the demo MLP, whose rows of
// 784 and 256 are not multiples of 13), and 2.53 for the whole file (biases and header
// included): 6.3x smaller than fp16, under the 2.67 bits that 6x allows; a block is then
// one 31-bit word, which the kernel reads as one 32-bit load. The choice is measured on
// the demo's best merge (runs/mnist-demo/best-merge, MNIST test accuracy 0.9220 and
// validation 0.9287 uncompressed) and its base seed (0.8862 and 0.8917), compress with
// the options below then bench (all 10,000 test and 10,000 validation images; bits per
// weight of the whole file, per parameter; retained = compressed / uncompressed accuracy,
// test / validation):
//
//	C  P  K  cb  bits/weight  vs fp16  retained, best merge  retained, base  encode
//	12 4  11  4     2.74       5.84x      98.9% / 99.0%      100.9% / 100.8%  3.7 s  the previous default
//	13 4  11  4     2.53       6.32x      98.1% / 98.4%       97.2% / 97.9%   3.3 s  the default
//	12 4  10  4     2.66       6.03x      98.7% / 99.0%       97.0% / 98.3%   1.9 s  base test 0.96998
//	13 4  12  4     2.61       6.13x      97.9% / 97.9%       95.7% / 96.2%   6.8 s
//	14 4  12  4     2.42       6.60x      98.2% / 98.1%       97.4% / 97.4%   5.8 s
//	14 4  11  4     2.35       6.80x      96.6% / 97.0%                       3.2 s
//	13 4  10  4     2.45       6.52x      97.2% / 97.2%                       1.0 s
//	13 3  12  5     2.53       6.32x      95.7% / 96.1%                       2.2 s
//
// The accuracy of one small model moves by about a percent between layouts of nearly the
// same weight error: 13/4/12 has less of it than 13/4/11 (relative squared error 0.104
// against 0.123 on each of the four demo models; 0.097 for 12/4/11, 0.118 for 12/4/10,
// 0.128 for 14/4/12) yet lost more accuracy. The default is 13/4/11 because it kept 97%
// on both models with room under 2.67 bits and keeps K = 11: 14/4/12 also kept 97%, but
// doubles the seed search and the kernel's tables. (The digit specialists, whose own
// accuracy over all ten digits is 0.43, keep less: digits 0–3 97.1% / 96.2% under the
// previous default and 96.5% / 95.6% under this one.) Encoding times are wall time on
// the shared 2-core machine, and vary with its load. With prune = 0.25 the base seed
// measured 2.05 bits per weight (matrices only) and 96.6% under the previous default.
// Smaller K is also what makes the kernel fast (# Kernel): its tables grow as 2^K.
// The encoder searches all 2^K − 1 seeds per block: 3–7 s for the MLP's 268,800
// weights, so by extrapolation (not measured) 12–30 minutes for a 16384×4096 matrix.
//
// Structured pruning (the notes' "battery saving" profile): with prune = f, the
// ⌊f·blocks⌋ blocks of smallest norm are dropped and a 1-bit-per-block mask records
// which remain; a dropped block is zero and costs nothing else.
//
// Options: block_size C (2–32, default 13), latent P (1–8, smaller than C, default 4),
// seed_bits K (4–16, default 11), coef_bits (2–8, default 4), prune (0–0.9, default 0).
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
// # Kernel
//
// Operator (compress.OperatorLoader: LoadOperator) multiplies from the packed blocks.
// A block of row r covering columns j·C … j·C+C−1 contributes 2^e·qᵀ·(U(s)ᵀ·x_j) to
// y_r, and U(s)ᵀ·x_j — P numbers — depends on the seed s and the block column j, not on
// r. Moreover U(s) is the C·P register states after s, row-major: with v the register's
// cycle mapped to (−1, 1) and pos(s) the place of s in it, U(s)[i][l] = v[pos(s)+1+i·P+l],
// so
//
//	(U(s)ᵀ·x_j)_l = T_j[pos(s) + l]     T_j[u] = Σ_{i<C} v[1 + u + i·P] · x_j[i]
//
// One correlation T_j of x_j with the cycle (C taps P apart) serves every seed: S ≈ 2^K
// + P entries, S·C multiply–adds per block column and input — P times fewer than one
// projection per seed (2^K·P·C), and independent of the number of rows. The operator
// keeps, per kept block, one 32-bit word (pos(s) in K bits, the exponent code, the
// coefficients; 4/C bytes per weight) when K + 4 + P·coef_bits ≤ 32, otherwise the
// fields in separate narrow arrays; a pruned matrix adds its mask and each row's first
// kept block. No float32 copy of W or of any U(s) exists; the only float table is the
// register's cycle, shared per process.
//
// Mul builds, per tile of tw block columns (tw·S·4 bytes ≤ 320 KiB: tw = 32 at K = 11,
// 64 at K ≤ 10, 1 at K = 16), the tables of one input, then runs the rows. The kernel
// set is chosen once by CPU features (kernel, bestKernel): AVX-512 F/VL (tables 128
// outputs per step; rows eight blocks per step: one 8-word load, the positions masked
// and offset by each block column's table, the four projections of every block as two
// 64-bit gathers (VPGATHERDQ), the words duplicated into lane pairs and decoded there
// by variable shifts and a conversion, 2^code from VPERMPS, two FMAs; a row's last
// cnt mod 8 blocks under a mask; pruned rows take eight block columns at a time, the
// kept blocks' table offsets compressed by VPCOMPRESSD), else AVX2 (tables 64 outputs
// per step; rows one block at a time: a word load, one 16-byte load of the P ≤ 4
// projections, the coefficients decoded in lanes, a multiply by 2^code and an FMA;
// pruned rows walk their mask bits), else pure Go (also for P > 4 and the general
// form). Both assembly kernels prefetch the words of the row eight ahead. A large
// product runs on all cores: for each tile they build its tables together (each once,
// shared), then take chunks of 128 rows from a shared counter (not compress.SplitRows'
// fixed halves: on a shared machine a core slowed by other work would hold up the
// product, and each half would build every table). A batch of n inputs is n passes.
//
// # When regenerating beats reading
//
// Per block column and input, with R rows, W cores, projection rate F_p, kernel time
// per block t_b and dense bandwidth B (compress.Dense reads 4 bytes per weight; at
// 16384×4096, 256 MiB, it is memory-bound):
//
//	SeedLM  (S·C/F_p + R·t_b)/W          dense  R·C·4/B
//
// so SeedLM wins when C·4/B > t_b/W and R > R* = (S·C/F_p)/(W·C·4/B − t_b); the bound,
// as R grows, is (C·4/B)/(t_b/W). Measured on this machine (Intel Xeon, AVX-512 F/BW/
// DQ/VL/VNNI; L1d 48 KiB, L2 2 MiB per core, L3 105 MiB; 2 vCPUs shared with other
// jobs, so figures move by ±30% between runs), BenchmarkKernels (one core, 4096×4096,
// defaults, medians of 3): AVX-512 F_p ≈ 23 multiply–adds per ns and t_b ≈ 1.5 ns per
// 13-weight block (8.6 weights/ns); AVX2 ≈ 17 and 3.3 ns (3.9 weights/ns). Per block
// the AVX-512 kernel issues about 2.5 instructions and 2 gathered 8-byte loads, against
// 14 instructions and one 16-byte load for AVX2, and reads 4 bytes of words against
// dense's 52. BenchmarkOperator, 16384×4096, batch 1, medians of 5 in one run: one
// core, packed 10.4 ms against dense 24.3 ms (2.34x); two, 8.2 against 14.2 (1.73x),
// the second vCPU adding only 1.26x to the packed kernel (1.71x to dense); 4096×4096
// on two cores 1.07x (R* near 4096 rows; the tables, 316 block columns × 27,500
// multiply–adds, are a larger share).
//
// Where it cannot win: a matrix that fits in cache (256×784: dense reads it at
// 10–12 Gweights/s, and the 66 tables alone cost more than the whole dense product:
// 0.09x); batches (each input is a pass of tables and blocks, while dense reads W once
// and runs 17–22 Gweights/s at batch 8: 0.06–0.31x); wide seeds (K = 16, the paper's:
// S ≈ 65,600, 63 µs per block column, and one block column per tile, which raises t_b
// to 18 ns in BenchmarkKernels with seed_bits 16 and latent 3: never). Pruning helps
// the kernel where its words are in cache (BenchmarkKernels, 4096×4096: 7.4 and 11.4
// weights/ns at a random half and three quarters pruned, against 4.7 unpruned), but at
// 16384×4096 a random quarter or half pruned is slower than none (BenchmarkPruned: 5.1
// and 6.3 against 6.8 Gweights/s; three quarters: 10.5), for a reason not found (not
// the prefetch distance; masks equal in every row cost less than random ones, so part
// of it is the mispredicted loop exits).
package seedlm
