package vptq_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
	"github.com/evomerge/evomerge/compress/vptq"
	"github.com/evomerge/evomerge/tensor"
)

func newCodec(t *testing.T, opts compress.Options) compress.Codec {
	t.Helper()
	c, err := compress.New("vptq", opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOptions(t *testing.T) {
	c, err := vptq.New(compress.Options{"vector_length": 2, "codebook_bits": 6, "residual_bits": 0, "normalize": 0, "iterations": 5, "seed": 12})
	if err != nil {
		t.Fatal(err)
	}
	want := vptq.Settings{VectorLength: 2, CodebookBits: 6, ResidualBits: 0, Normalize: false, Iterations: 5, Seed: 12}
	if c.Settings() != want {
		t.Errorf("settings %+v, want %+v", c.Settings(), want)
	}
	d, _ := vptq.New(nil)
	if d.Settings() != vptq.DefaultSettings() {
		t.Errorf("no options: %+v, want the defaults", d.Settings())
	}
	for _, tc := range []struct {
		opts compress.Options
		want string
	}{
		{compress.Options{"bits": 4}, `unknown option "bits" (known: vector_length, codebook_bits, residual_bits, normalize, iterations, seed)`},
		{compress.Options{"codebook_bits": 13}, "codebook_bits = 13: want an integer in [1, 12]"},
		{compress.Options{"vector_length": 2.5}, "vector_length = 2.5: want an integer"},
		{compress.Options{"vector_length": 0}, "vector_length = 0"},
		{compress.Options{"normalize": 2}, "normalize = 2"},
	} {
		if _, err := compress.New("vptq", tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%v): err = %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func dense(t *testing.T, c compress.Codec, in *tensor.Tensor) []float32 {
	t.Helper()
	stored, meta, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Decode(in.Name, meta, codectest.Lookup(stored))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.Shape, in.Shape) {
		t.Fatalf("decoded shape %v, want %v", out.Shape, in.Shape)
	}
	v, _ := out.Float32s()
	return v
}

// A matrix whose row vectors take at most 2^codebook_bits distinct values is stored
// exactly: k-means puts a centroid on each.
func TestFewDistinctVectorsAreStoredExactly(t *testing.T) {
	// 6 columns, vector length 4: two groups per row, the second padded with two zeros.
	patterns := [][]float32{{1, 2, 3, 4, 5, 6}, {-1, 0, 1, 0, -1, 0}, {0.5, 0.5, 0.5, 0.5, 0.25, 0.25}}
	const rows, cols = 10, 6
	w := make([]float32, rows*cols)
	for r := range rows {
		copy(w[r*cols:(r+1)*cols], patterns[r%3])
	}
	in := tensor.FromFloat32("w", tensor.F32, []int{rows, cols}, w)
	// Six distinct vectors (three per group) share one codebook of 2^3 entries.
	got := dense(t, newCodec(t, compress.Options{"codebook_bits": 3, "residual_bits": 0, "normalize": 0}), in)
	if !slices.Equal(got, w) {
		t.Errorf("decoded\n%v\nwant\n%v", got, w)
	}
}

// Columns that are shifted and scaled copies of one pattern become identical after
// normalization, so few codewords hold them, and σ·u + μ restores each column.
func TestNormalizationRestoresScaledColumns(t *testing.T) {
	pattern := []float32{3, -1, 0, 2, 1, -5, 4, 0}
	const rows, cols = 8, 5
	w := make([]float32, rows*cols)
	for c := range cols {
		for r := range rows {
			w[r*cols+c] = pattern[r]*float32(c+1)*0.5 + float32(c) - 2
		}
	}
	in := tensor.FromFloat32("w", tensor.F32, []int{rows, cols}, w)
	// Along rows, row r holds u_r = (pattern[r] − mean)/deviation in every column: the
	// vectors (u_r, u_r, u_r, u_r) and the padded (u_r, 0, 0, 0), 16 in all.
	got := dense(t, newCodec(t, compress.Options{"codebook_bits": 4, "residual_bits": 0}), in)
	for i := range w {
		if math.Abs(float64(got[i]-w[i])) > 1e-5 {
			t.Fatalf("element %d: %v, want %v", i, got[i], w[i])
		}
	}
}

func relError(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i] - b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	return math.Sqrt(num / den)
}

// On an unstructured matrix the error falls as bits are added: 2, 3 and 4 bits of
// index per weight (a residual codebook of 0, 16 and 256 entries).
func TestMoreBitsLessError(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	w := codectest.Gaussian(rng, 128*200)
	in := tensor.FromFloat32("w", tensor.F32, []int{128, 200}, w)
	var errs []float64
	for _, res := range []float64{0, 4, 8} {
		errs = append(errs, relError(dense(t, newCodec(t, compress.Options{"residual_bits": res}), in), w))
	}
	t.Logf("relative error at 2, 3, 4 bits per weight: %.3f", errs)
	if !(errs[1] < 0.8*errs[0] && errs[2] < 0.8*errs[1] && errs[2] < 0.2) {
		t.Errorf("relative error at 2, 3, 4 bits per weight: %.3f; want each at least 20%% below the last, and under 0.2 at 4 bits", errs)
	}
}

func TestEncodeLeavesNonMatricesAloneAndRejectsNonFinite(t *testing.T) {
	c := newCodec(t, nil)
	for _, in := range []*tensor.Tensor{
		tensor.FromFloat32("bias", tensor.F32, []int{3}, []float32{1, 2, 3}),
		tensor.FromFloat32("empty", tensor.F32, []int{0, 4}, nil),
		{Name: "int", DType: tensor.I8, Shape: []int{2, 2}, Data: []byte{1, 2, 3, 4}},
	} {
		stored, meta, err := c.Encode(in)
		if err != nil || len(stored) != 1 || stored[0] != in || len(meta) != 0 {
			t.Errorf("Encode(%q) changed a tensor it should leave alone: %v", in.Name, err)
		}
	}
	in := tensor.FromFloat32("w", tensor.F32, []int{2, 2}, []float32{1, float32(math.NaN()), 3, 4})
	if _, _, err := c.Encode(in); err == nil || !strings.Contains(err.Error(), `"w"`) || !strings.Contains(err.Error(), "row 0, column 1") {
		t.Errorf("Encode with NaN: %v", err)
	}
}

func writeModel(t *testing.T, dir string) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(31, 32))
	path := filepath.Join(dir, "model.safetensors")
	err := tensor.WriteFile(path, map[string]string{"format": "pt"}, []*tensor.Tensor{
		tensor.FromFloat32("fc1.weight", tensor.F32, []int{256, 784}, codectest.Gaussian(rng, 256*784)),
		tensor.FromFloat32("fc1.bias", tensor.F32, []int{256}, codectest.Gaussian(rng, 256)),
		tensor.FromFloat32("fc2.weight", tensor.F16, []int{10, 256}, codectest.Gaussian(rng, 2560)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCompressFileIsDeterministicAndCountsEveryStoredBit(t *testing.T) {
	dir := t.TempDir()
	src := writeModel(t, dir)
	a, stats := codectest.CompressTwice(t, func() compress.Codec { return newCodec(t, nil) }, src, dir)
	// fc1: 256 rows × 196 groups of 4 × (7 + 1) index bits, a 128×4 and a 2×4 F32
	// codebook, two F32 statistics per column. fc2: 10 rows × 64 groups × 8 bits, the
	// codebooks, 2 × 256 × 32.
	books := (128 + 2) * 4 * 32
	fc1 := 256*196*8 + books + 2*784*32
	fc2 := 10*64*8 + books + 2*256*32
	if want := float64(fc1+fc2) / float64(256*784+2560); stats.BitsPerWeight != want || stats.CompressedTensors != 2 || stats.DenseTensors != 1 {
		t.Errorf("stats %+v, want %v bits/weight, 2 compressed, 1 dense", stats, want)
	}
	got, _, err := compress.ReadDense(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Name != "fc1.weight" || !slices.Equal(got[1].Shape, []int{256, 784}) {
		t.Fatalf("ReadDense gave %d tensors", len(got))
	}
}

func TestReadDenseAndLoadModelRejectCorruptFiles(t *testing.T) {
	type edit = func(ts map[string]*tensor.Tensor, meta map[string]string)
	for _, tc := range []struct {
		name string
		edit edit
		want []string
	}{
		{"missing layout", func(_ map[string]*tensor.Tensor, m map[string]string) { delete(m, "w.vq") },
			[]string{`tensor "w"`, `metadata key "w.vq" is missing`}},
		{"unknown layout field", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.vq"] = `{"rows":6,"cols":9,"vector_length":4,"codebook_bits":2,"residual_bits":2,"normalize":true,"extra":1}`
		}, []string{`tensor "w"`, `unknown field "extra"`}},
		{"layout out of range", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.vq"] = `{"rows":6,"cols":9,"vector_length":0,"codebook_bits":2,"residual_bits":2,"normalize":true}`
		}, []string{`tensor "w"`, "out of range"}},
		{"sizes that overflow", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.vq"] = `{"rows":1,"cols":2305843009213693952,"vector_length":1,"codebook_bits":8,"residual_bits":2,"normalize":true}`
		}, []string{`tensor "w"`, "out of range"}},
		{"part the layout does not use", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.vq"] = strings.Replace(m["w.vq"], `"normalize":true`, `"normalize":false`, 1)
		}, []string{`tensor "w"`, `stored tensor "w.vq.col_scale" is present but the layout does not use it`}},
		{"unknown orientation", func(_ map[string]*tensor.Tensor, m map[string]string) {
			m["w.vq"] = strings.Replace(m["w.vq"], `"orientation":"rows"`, `"orientation":"diagonal"`, 1)
		}, []string{`tensor "w"`, `unknown orientation "diagonal"`}},
		{"data after the layout", func(_ map[string]*tensor.Tensor, m map[string]string) { m["w.vq"] += " {}" },
			[]string{`tensor "w"`, "data after the JSON object"}},
		{"closing bracket after the layout", func(_ map[string]*tensor.Tensor, m map[string]string) { m["w.vq"] += "}]" },
			[]string{`tensor "w"`, "data after the JSON object"}},
		{"missing residual codebook", func(ts map[string]*tensor.Tensor, _ map[string]string) { delete(ts, "w.vq.res_codebook") },
			[]string{`tensor "w"`, `no tensor "w.vq.res_codebook"`}},
		{"codebook shape", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			x := ts["w.vq.codebook"]
			x.Shape, x.Data = []int{2, 4}, x.Data[:32]
		}, []string{`"w.vq.codebook" is F32 [2 4], want F32 [4 4]`}},
		{"NaN in codebook", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			copy(ts["w.vq.codebook"].Data[4:8], tensor.FromFloat32("", tensor.F32, []int{1}, []float32{float32(math.NaN())}).Data)
		}, []string{`"w.vq.codebook": element 1 is NaN`}},
		{"truncated indices", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			x := ts["w.vq.indices"]
			x.Shape, x.Data = []int{4}, x.Data[:4]
		}, []string{`"w.vq.indices" is U8 [4], want U8 [5] (18 values of 2 bits)`}},
		{"stray index bits", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			x := ts["w.vq.res_indices"]
			x.Data[len(x.Data)-1] |= 0x80
		}, []string{`"w.vq.res_indices": nonzero bits after the last value`}},
		{"zero column scale", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			clear(ts["w.vq.col_scale"].Data[8:12])
		}, []string{`tensor "w"`, "column 2 scale 0 is not positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(1, 1))
			src := filepath.Join(dir, "m.safetensors")
			if err := tensor.WriteFile(src, nil, []*tensor.Tensor{tensor.FromFloat32("w", tensor.F32, []int{6, 9}, codectest.Gaussian(rng, 54))}); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, "c.safetensors")
			opts := compress.Options{"vector_length": 4, "codebook_bits": 2, "residual_bits": 2}
			if _, err := compress.CompressFile(context.Background(), newCodec(t, opts), src, dst); err != nil {
				t.Fatal(err)
			}
			codectest.Corrupt(t, dst, tc.edit)
			// Decoding and loading the packed operator both check every part.
			_, _, errDense := compress.ReadDense(dst)
			_, errOp := compress.LoadModel(dst)
			for _, err := range []error{errDense, errOp} {
				if err == nil {
					t.Fatal("reading a corrupt file succeeded")
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if !strings.Contains(err.Error(), dst) {
					t.Errorf("error %q does not name the file", err)
				}
			}
		})
	}
}

// A vptq/1 file (vectors along columns, no orientation in the layout) still decodes:
// vector (g, c) holds rows g·v … g·v+v−1 of column c, index k = g·cols + c. Its packed
// operator is refused with a request to re-compress.
func TestColumnLayoutOfVersion1Decodes(t *testing.T) {
	const rows, cols, v = 5, 3, 2 // 3 groups per column, the last padded
	book := []float32{0, 0, 1, -1, 2, 0.5, -3, 4}
	res := []float32{0.25, 0, 0, -0.5}
	idx := []uint16{0, 1, 2, 3, 0, 1, 2, 3, 1}
	ridx := []uint16{1, 0, 1, 1, 0, 0, 1, 0, 1}
	scale, bias := []float32{1, 2, 0.5}, []float32{0, -1, 3}
	want := make([]float32, rows*cols)
	for r := range rows {
		for c := range cols {
			k := (r/v)*cols + c
			u := book[int(idx[k])*v+r%v] + res[int(ridx[k])*v+r%v]
			want[r*cols+c] = u*scale[c] + bias[c]
		}
	}
	pack := func(name string, x []uint16, bits int) *tensor.Tensor {
		b := compress.PackBits(x, bits)
		return &tensor.Tensor{Name: name, DType: tensor.U8, Shape: []int{len(b)}, Data: b}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "v1.safetensors")
	meta := map[string]string{
		compress.MetaAlgorithm: "vptq",
		compress.MetaTensors:   "w",
		"w.vq":                 `{"rows":5,"cols":3,"vector_length":2,"codebook_bits":2,"residual_bits":1,"normalize":true}`,
	}
	err := tensor.WriteFile(path, meta, []*tensor.Tensor{
		tensor.FromFloat32("w.vq.codebook", tensor.F32, []int{4, 2}, book),
		pack("w.vq.indices", idx, 2),
		tensor.FromFloat32("w.vq.res_codebook", tensor.F32, []int{2, 2}, res),
		pack("w.vq.res_indices", ridx, 1),
		tensor.FromFloat32("w.vq.col_scale", tensor.F32, []int{cols}, scale),
		tensor.FromFloat32("w.vq.col_bias", tensor.F32, []int{cols}, bias),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := compress.ReadDense(path)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := got[0].Float32s(); !slices.Equal(w, want) || !slices.Equal(got[0].Shape, []int{rows, cols}) {
		t.Errorf("decoded %v %v, want %v", got[0].Shape, w, want)
	}
	if _, err := compress.LoadModel(path); err == nil || !strings.Contains(err.Error(), "re-compress the model with vptq/2") || !strings.Contains(err.Error(), `tensor "w"`) {
		t.Errorf("LoadModel of a vptq/1 file: %v", err)
	}
}
