package seedlm

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
	"github.com/evomerge/evomerge/tensor"
)

func TestOptions(t *testing.T) {
	c, err := New(compress.Options{"block_size": 12, "latent": 4, "seed_bits": 16, "coef_bits": 3, "prune": 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Settings{BlockSize: 12, Latent: 4, SeedBits: 16, CoefBits: 3, Prune: 0.25}); c.Settings() != want {
		t.Errorf("settings %+v, want %+v", c.Settings(), want)
	}
	for _, tc := range []struct {
		opts compress.Options
		want string
	}{
		{compress.Options{"k": 16}, `unknown option "k" (known: block_size, latent, seed_bits, coef_bits, prune)`},
		{compress.Options{"seed_bits": 17}, "seed_bits = 17: want an integer in [4, 16]"},
		{compress.Options{"prune": 0.95}, "prune = 0.95: want a number in [0, 0.9]"},
		{compress.Options{"latent": 8, "block_size": 8}, "latent 8 must be smaller than block_size 8"},
		{compress.Options{"coef_bits": 3.5}, "coef_bits = 3.5"},
	} {
		if _, err := compress.New("seedlm", tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v): %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestDenseHandExample(t *testing.T) {
	// K = 4 from seed 1: states 2, 4, … so U(1) = [(2−8)/8, (4−8)/8] = [−0.75, −0.5]
	// (C = 2, P = 1). Block 0: 2^0·U·3 = [−2.25, −1.5]. Block 1: 2^1·U·(−2) = [3, 2],
	// of which column 2 is in the 1×3 matrix.
	q := &Quantized{Layout: Layout{Rows: 1, Cols: 3, BlockSize: 2, Latent: 1, SeedBits: 4, CoefBits: 4, Kept: 2},
		Seeds: []uint16{1, 1}, Exps: []uint16{0, 1}, Coefs: []int8{3, -2}}
	if got, want := q.Dense(), []float32{-2.25, -1.5, 3}; !slices.Equal(got, want) {
		t.Errorf("Dense = %v, want %v", got, want)
	}
	y := make([]float32, 1)
	NewOperator(q).Mul(1, []float32{1, 2, 3}, y)
	if y[0] != -2.25-3+9 {
		t.Errorf("Mul = %v, want %v", y[0], -2.25-3+9)
	}
}

// Blocks that are exactly 2^e·U(s)·q for some seed and small integers are found again
// without error: the search covers every seed.
func TestGeneratedBlocksAreRecoveredExactly(t *testing.T) {
	s := Settings{BlockSize: 8, Latent: 3, SeedBits: 8, CoefBits: 4}
	b := NewBases(s.SeedBits, s.BlockSize, s.Latent)
	rng := rand.New(rand.NewPCG(5, 5))
	const rows, cols = 6, 20 // 3 blocks per row, the last one padded
	w := make([]float32, rows*cols)
	for r := range rows {
		for bi := range 3 {
			seed := 1 + rng.IntN(255)
			for !b.Full[seed-1] {
				seed = 1 + rng.IntN(255)
			}
			q := []float32{float32(rng.IntN(15) - 7), float32(rng.IntN(15) - 7), 7} // 7 pins the exponent
			u := b.U[(seed-1)*24 : seed*24]
			for i := range 8 {
				if col := bi*8 + i; col < cols {
					w[r*cols+col] = 0.125 * (u[i*3]*q[0] + u[i*3+1]*q[1] + u[i*3+2]*q[2])
				}
			}
		}
	}
	// The padded blocks hold 4 of 8 generated weights: only the full ones are exact.
	got := Quantize(w, rows, cols, s).Dense()
	for r := range rows {
		for col := range 16 {
			if got[r*cols+col] != w[r*cols+col] {
				t.Fatalf("row %d column %d: %v, want %v", r, col, got[r*cols+col], w[r*cols+col])
			}
		}
	}
}

func relError(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i] - b[i])
		num, den = num+d*d, den+float64(b[i])*float64(b[i])
	}
	return math.Sqrt(num / den)
}

// More seeds to search and more coefficients per block both lower the error.
func TestMoreSeedsAndCoefficientsLessError(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := codectest.Gaussian(rng, 64*96)
	errOf := func(s Settings) float64 { return relError(Quantize(w, 64, 96, s).Dense(), w) }
	base := DefaultSettings()
	few := base
	few.SeedBits = 6
	more := base
	more.Latent++
	eFew, eBase, eMore := errOf(few), errOf(base), errOf(more)
	t.Logf("relative error: 63 seeds %.3f, the defaults %.3f, one more coefficient %.3f", eFew, eBase, eMore)
	// The defaults (31/13 ≈ 2.38 bits per weight) measure about 0.36 on Gaussian weights.
	if !(eBase < eFew && eMore < eBase && eBase < 0.38) {
		t.Errorf("relative errors %.3f, %.3f, %.3f: want falling, and below 0.38 with the defaults", eFew, eBase, eMore)
	}
}

func TestPruningDropsTheSmallestBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	const rows, cols = 8, 32
	w := codectest.Gaussian(rng, rows*cols)
	for i := range 8 { // row 0's first block is tiny: it must be among the dropped
		w[i] *= 1e-3
	}
	s := c8
	s.Prune = 0.5
	q := Quantize(w, rows, cols, s)
	if q.Kept != 16 || len(q.Seeds) != 16 {
		t.Fatalf("kept %d of 32 blocks, want 16", q.Kept)
	}
	d := q.Dense()
	var zero int
	var keptMin, droppedMax float64 = math.Inf(1), 0
	for bi := range 32 {
		var norm float64
		allZero := true
		for i := range 8 {
			x := w[bi*8+i] // 4 blocks per row: block bi is row bi/4, columns (bi%4)·8…
			norm += float64(x) * float64(x)
			if d[bi*8+i] != 0 {
				allZero = false
			}
		}
		if q.Mask[bi] {
			keptMin = min(keptMin, norm)
		} else {
			droppedMax = max(droppedMax, norm)
			if !allZero {
				t.Errorf("dropped block %d is not zero", bi)
			}
			zero++
		}
	}
	if zero != 16 || droppedMax > keptMin || q.Mask[0] {
		t.Errorf("%d dropped blocks; largest dropped norm %v, smallest kept %v; block 0 kept %v", zero, droppedMax, keptMin, q.Mask[0])
	}
}

func TestQuantizeIsReproducibleOnAnyCoreCount(t *testing.T) {
	w := codectest.Gaussian(rand.New(rand.NewPCG(6, 6)), 64*100) // more than one chunk of blocks
	old := runtime.GOMAXPROCS(1)
	a := Quantize(w, 64, 100, DefaultSettings())
	runtime.GOMAXPROCS(2)
	b := Quantize(w, 64, 100, DefaultSettings())
	runtime.GOMAXPROCS(old)
	if !slices.Equal(a.Seeds, b.Seeds) || !slices.Equal(a.Coefs, b.Coefs) || !slices.Equal(a.Exps, b.Exps) || a.ExpBase != b.ExpBase {
		t.Error("different results on 1 and 2 cores")
	}
}

// c8 is the layout of blocks of 8 weights, 3 coefficients and 12-bit seeds (the
// paper's C and P) that the tests with hand-counted blocks and bits use.
var c8 = Settings{BlockSize: 8, Latent: 3, SeedBits: 12, CoefBits: 4}

// c8Options is c8 as codec options, with opts added.
func c8Options(opts compress.Options) compress.Options {
	o := compress.Options{"block_size": 8, "latent": 3, "seed_bits": 12}
	for k, v := range opts {
		o[k] = v
	}
	return o
}

func newCodec(t *testing.T, opts compress.Options) compress.Codec {
	t.Helper()
	c, err := compress.New("seedlm", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompressFileIsDeterministicAndCountsEveryStoredBit(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	src := filepath.Join(dir, "m.safetensors")
	err := tensor.WriteFile(src, nil, []*tensor.Tensor{
		tensor.FromFloat32("fc.weight", tensor.F32, []int{32, 50}, codectest.Gaussian(rng, 1600)),
		tensor.FromFloat32("fc.bias", tensor.F32, []int{32}, codectest.Gaussian(rng, 32)),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, stats := codectest.CompressTwice(t, func() compress.Codec { return newCodec(t, c8Options(compress.Options{"prune": 0.25})) }, src, dir)
	// 32 rows × 7 blocks = 224 blocks, 168 kept: seeds 168·12 bits (252 bytes), exponents
	// 168·4 (84), coefficients 168·3·4 (252), mask 224 bits (28).
	if want := float64(8*(252+84+252+28)) / 1600; stats.BitsPerWeight != want || stats.CompressedTensors != 1 {
		t.Errorf("stats %+v, want %v bits/weight", stats, want)
	}
	got, _, err := compress.ReadDense(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].Name != "fc.weight" {
		t.Fatalf("ReadDense: %d tensors", len(got))
	}
}

func TestReadDenseAndLoadModelRejectCorruptFiles(t *testing.T) {
	type edit = func(ts map[string]*tensor.Tensor, meta map[string]string)
	layout := func(m map[string]string, from, to string) {
		m["w.seedlm"] = strings.Replace(m["w.seedlm"], from, to, 1)
	}
	for _, tc := range []struct {
		name string
		edit edit
		want string
	}{
		{"missing layout", func(_ map[string]*tensor.Tensor, m map[string]string) { delete(m, "w.seedlm") }, `metadata key "w.seedlm" is missing`},
		{"unknown layout field", func(_ map[string]*tensor.Tensor, m map[string]string) { layout(m, "{", `{"x":1,`) }, `unknown field "x"`},
		{"latent not below block size", func(_ map[string]*tensor.Tensor, m map[string]string) { layout(m, `"latent":3`, `"latent":8`) }, "sizes out of range"},
		{"kept count off", func(_ map[string]*tensor.Tensor, m map[string]string) { layout(m, `"kept":15`, `"kept":14`) }, "the mask keeps 15 blocks, the layout says 14"},
		{"sizes that overflow", func(_ map[string]*tensor.Tensor, m map[string]string) {
			layout(m, `"rows":5`, `"rows":4611686018427387904`)
		}, "sizes out of range"},
		{"mask the layout does not use", func(_ map[string]*tensor.Tensor, m map[string]string) {
			layout(m, `"pruned":true`, `"pruned":false`)
			layout(m, `"kept":15`, `"kept":20`)
		}, `stored tensor "w.seedlm.mask" is present but the layout does not use it`},
		{"missing coefficients", func(ts map[string]*tensor.Tensor, _ map[string]string) { delete(ts, "w.seedlm.coefs") }, `no tensor "w.seedlm.coefs"`},
		{"seed zero", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			d := ts["w.seedlm.seeds"].Data
			d[0], d[1] = 0, d[1]&0xF0 // block 0's 12 bits
		}, "block 0 has seed 0"},
		{"exponent base beyond float32", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.seedlm"] = regexp.MustCompile(`"exp_base":-?\d+`).ReplaceAllString(m["w.seedlm"], `"exp_base":1000`)
		}, "sizes out of range"},
		{"data after the layout", func(_ map[string]*tensor.Tensor, m map[string]string) { m["w.seedlm"] += "garbage" }, "data after the JSON object"},
		{"mask disagrees", func(ts map[string]*tensor.Tensor, _ map[string]string) { ts["w.seedlm.mask"].Data[0] ^= 0x01 }, "the mask keeps"},
		{"stray bits", func(ts map[string]*tensor.Tensor, _ map[string]string) { ts["w.seedlm.mask"].Data[2] |= 0x80 }, "nonzero bits after the last value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "m.safetensors")
			// 5 rows × 4 blocks (the last padded) = 20 blocks; prune 0.25 keeps 15, so
			// the seeds (180 bits) and the mask (20 bits) end in padding.
			if err := tensor.WriteFile(src, nil, []*tensor.Tensor{tensor.FromFloat32("w", tensor.F32, []int{5, 30}, codectest.Gaussian(rand.New(rand.NewPCG(1, 1)), 150))}); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, "c.safetensors")
			if _, err := compress.CompressFile(context.Background(), newCodec(t, c8Options(compress.Options{"prune": 0.25})), src, dst); err != nil {
				t.Fatal(err)
			}
			codectest.Corrupt(t, dst, tc.edit)
			_, _, err := compress.ReadDense(dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `tensor "w"`) || !strings.Contains(err.Error(), dst) {
				t.Errorf("ReadDense: %v; want an error naming the file, the tensor and %q", err, tc.want)
			}
			// The packed operator (LoadOperator) rejects it the same way.
			_, err = compress.LoadModel(dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), `tensor "w"`) || !strings.Contains(err.Error(), dst) {
				t.Errorf("LoadModel: %v; want an error naming the file, the tensor and %q", err, tc.want)
			}
		})
	}
}

func TestEncodeLeavesNonMatricesAloneAndRejectsNonFinite(t *testing.T) {
	c := newCodec(t, nil)
	bias := tensor.FromFloat32("bias", tensor.F32, []int{3}, []float32{1, 2, 3})
	if stored, meta, err := c.Encode(bias); err != nil || len(stored) != 1 || stored[0] != bias || meta != nil {
		t.Errorf("Encode(bias) changed it: %v", err)
	}
	in := tensor.FromFloat32("w", tensor.F32, []int{2, 2}, []float32{1, 2, float32(math.Inf(-1)), 4})
	if _, _, err := c.Encode(in); err == nil || !strings.Contains(err.Error(), "row 1, column 0") {
		t.Errorf("Encode(-Inf): %v", err)
	}
}

// What the file stores decodes to exactly what the encoder computed, bit for bit:
// seeds, exponents, negative coefficients (sign extension) and the pruning mask.
func TestFileRoundTripIsBitExact(t *testing.T) {
	dir := t.TempDir()
	w := codectest.Gaussian(rand.New(rand.NewPCG(8, 1)), 24*37)
	src := filepath.Join(dir, "m.safetensors")
	if err := tensor.WriteFile(src, nil, []*tensor.Tensor{tensor.FromFloat32("w", tensor.F32, []int{24, 37}, w)}); err != nil {
		t.Fatal(err)
	}
	opts := compress.Options{"prune": 0.3, "coef_bits": 5}
	dst := filepath.Join(dir, "c.safetensors")
	if _, err := compress.CompressFile(context.Background(), newCodec(t, opts), src, dst); err != nil {
		t.Fatal(err)
	}
	c, _ := New(opts)
	want := Quantize(w, 24, 37, c.Settings())
	if !slices.ContainsFunc(want.Coefs, func(v int8) bool { return v < 0 }) || want.Mask == nil {
		t.Fatal("the example needs negative coefficients and pruning")
	}
	got, _, err := compress.ReadDense(dst)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := got[0].Float32s()
	if !slices.Equal(v, want.Dense()) {
		t.Error("decoded file differs from the encoder's reconstruction")
	}
}

// Rows of very different magnitudes share one exponent base: no block's least-squares
// outlier may coarsen the others, so a wider search (K = 16) never does worse than K = 12.
func TestMixedMagnitudesAndWiderSearch(t *testing.T) {
	const rows, cols = 64, 64
	w := codectest.Gaussian(rand.New(rand.NewPCG(3, 9)), rows*cols)
	for r := range rows {
		for c := range cols {
			w[r*cols+c] *= float32(math.Ldexp(1, -(r % 7))) // row scales 1 … 2^-6
		}
	}
	errOf := func(k int) float64 {
		s := c8
		s.SeedBits = k
		return relError(Quantize(w, rows, cols, s).Dense(), w)
	}
	e12, e16 := errOf(12), errOf(16)
	t.Logf("relative error on mixed-scale rows: K=12 %.3f, K=16 %.3f", e12, e16)
	if !(e16 <= e12 && e12 < 0.25) {
		t.Errorf("relative error K=12 %.3f, K=16 %.3f: want K=16 no worse, and K=12 below 0.25", e12, e16)
	}
}

func TestExponentFor(t *testing.T) {
	for _, tc := range []struct {
		t    []float64
		want int
	}{
		{[]float64{7.4}, 0},             // rounds to 7
		{[]float64{-7.5, 1}, 1},         // 7.5 would round to 8: next exponent
		{[]float64{0.875, 0.1}, -3},     // exactly 7·2^-3
		{[]float64{0.9375 - 1e-12}, -3}, // just under 7.5·2^-3
		{[]float64{0, 0}, math.MinInt32},
	} {
		if got := exponentFor(tc.t, 7); got != tc.want {
			t.Errorf("exponentFor(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestSettingsWithoutAUsableSeedAreRejected(t *testing.T) {
	// A 4-bit register repeats after 15 states: with 5 coefficients per block, U has only
	// 15/gcd(5, 15) = 3 distinct rows, so no seed gives 5 independent columns.
	_, err := New(compress.Options{"seed_bits": 4, "latent": 5})
	if err == nil || !strings.Contains(err.Error(), "no seed of a 4-bit register gives 5 independent columns") {
		t.Errorf("New: %v", err)
	}
	if _, err := New(compress.Options{"seed_bits": 5, "latent": 5}); err != nil {
		t.Errorf("5-bit register, 5 coefficients: %v", err)
	}
}

func TestPruneFractionIsExact(t *testing.T) {
	w := codectest.Gaussian(rand.New(rand.NewPCG(1, 2)), 100*8) // 100 blocks
	s := DefaultSettings()
	s.Prune = 0.29
	if q := Quantize(w, 100, 8, s); q.Kept != 71 {
		t.Errorf("prune 0.29 of 100 blocks kept %d, want 71", q.Kept)
	}
}
