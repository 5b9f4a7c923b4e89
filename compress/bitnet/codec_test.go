package bitnet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/bitnet"
	"github.com/evomerge/evomerge/compress/internal/codectest"
	"github.com/evomerge/evomerge/tensor"
)

func newCodec(t *testing.T) compress.Codec {
	t.Helper()
	c, err := compress.New("bitnet", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestUnknownOptionIsRejected(t *testing.T) {
	_, err := compress.New("bitnet", compress.Options{"eps": 1e-3, "bits": 2})
	if err == nil || !strings.Contains(err.Error(), `unknown option "bits"`) || !strings.Contains(err.Error(), "per_channel, values_per_byte") {
		t.Errorf("New with options: err = %v, want one naming the unknown keys", err)
	}
}

func TestEncodeLeavesNonMatricesAlone(t *testing.T) {
	c := newCodec(t)
	for _, in := range []*tensor.Tensor{
		tensor.FromFloat32("bias", tensor.F32, []int{3}, []float32{1, 2, 3}),
		tensor.FromFloat32("conv", tensor.F32, []int{1, 2, 2}, []float32{1, 2, 3, 4}),
		tensor.FromFloat32("scalar", tensor.F32, []int{}, []float32{1}),
		tensor.FromFloat32("empty", tensor.F32, []int{0, 4}, nil),
		{Name: "int", DType: tensor.I8, Shape: []int{2, 2}, Data: []byte{1, 2, 3, 4}},
	} {
		stored, meta, err := c.Encode(in)
		if err != nil || len(stored) != 1 || stored[0] != in || len(meta) != 0 {
			t.Errorf("Encode(%q %s %v) = %d tensors, %v, %v; want the tensor itself", in.Name, in.DType, in.Shape, len(stored), meta, err)
		}
	}
}

func TestEncodeRejectsNonFinite(t *testing.T) {
	in := tensor.FromFloat32("w", tensor.F32, []int{2, 2}, []float32{1, 2, float32(math.Inf(1)), 4})
	_, _, err := newCodec(t).Encode(in)
	if err == nil || !strings.Contains(err.Error(), `"w"`) || !strings.Contains(err.Error(), "row 1, column 0") {
		t.Errorf("Encode with +Inf: err = %v, want one naming the tensor and element", err)
	}
}

// writeModel writes a small MLP-shaped model: two 2-D weights (one F16) and two biases.
func writeModel(t *testing.T, dir string) (path string, tensors map[string]*tensor.Tensor) {
	t.Helper()
	rng := rand.New(rand.NewPCG(31, 32))
	list := []*tensor.Tensor{
		tensor.FromFloat32("fc1.weight", tensor.F32, []int{3, 5}, randomWeights(rng, 15)),
		tensor.FromFloat32("fc1.bias", tensor.F32, []int{3}, randomWeights(rng, 3)),
		tensor.FromFloat32("fc2.weight", tensor.F16, []int{2, 3}, randomWeights(rng, 6)),
		tensor.FromFloat32("fc2.bias", tensor.F32, []int{2}, randomWeights(rng, 2)),
	}
	path = filepath.Join(dir, "model.safetensors")
	if err := tensor.WriteFile(path, map[string]string{"format": "pt", "origin": "test"}, list); err != nil {
		t.Fatal(err)
	}
	tensors = map[string]*tensor.Tensor{}
	for _, x := range list {
		tensors[x.Name] = x
	}
	return path, tensors
}

func TestCompressFileThenReadDense(t *testing.T) {
	dir := t.TempDir()
	src, orig := writeModel(t, dir)
	dst := filepath.Join(dir, "model.bitnet.safetensors")
	stats, err := compress.CompressFile(context.Background(), newCodec(t), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	// Stored bits: fc1 3 rows × 2 bytes × 8 + 32 (scale) = 80, fc2 2 × 1 × 8 + 32 = 48;
	// 128 bits for 15 + 6 = 21 weights.
	if stats.Algorithm != "bitnet" || stats.CompressedTensors != 2 || stats.DenseTensors != 2 || stats.BitsPerWeight != 128.0/21 {
		t.Errorf("stats = %+v, want bitnet, 2 compressed, 2 dense, %v bits/weight", stats, 128.0/21)
	}

	got, meta, err := compress.ReadDense(dst)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range got {
		names = append(names, x.Name)
	}
	if want := []string{"fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight"}; !slices.Equal(names, want) {
		t.Fatalf("ReadDense names = %v, want %v", names, want)
	}
	for _, x := range got {
		in := orig[x.Name]
		if x.DType != tensor.F32 || !slices.Equal(x.Shape, in.Shape) {
			t.Errorf("%s: %s %v, want F32 %v", x.Name, x.DType, x.Shape, in.Shape)
		}
		if strings.HasSuffix(x.Name, ".bias") {
			if !bytes.Equal(x.Data, in.Data) {
				t.Errorf("%s: bias changed by compression", x.Name)
			}
			continue
		}
		// Expect exactly γ·W̃ from the paper's formula applied to the source values.
		w, _ := in.Float32s()
		codes, gamma := naiveQuantize(w)
		v, _ := x.Float32s()
		for i := range v {
			if want := gamma * float32(codes[i]); v[i] != want {
				t.Errorf("%s[%d] = %v, want γ·W̃ = %v·%d = %v", x.Name, i, v[i], gamma, codes[i], want)
			}
		}
	}
	for k, want := range map[string]string{
		"format": "pt", "origin": "test",
		"compress.algorithm": "bitnet", "compress.tensors": "fc1.weight,fc2.weight",
		"fc1.weight.shape": "3,5", "fc2.weight.shape": "2,3",
	} {
		if meta[k] != want {
			t.Errorf("metadata %q = %q, want %q", k, meta[k], want)
		}
	}

	// The stored form is the documented one.
	f, err := tensor.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stored []string
	for _, info := range f.Infos() {
		stored = append(stored, fmt.Sprintf("%s %s %v", info.Name, info.DType, info.Shape))
	}
	want := []string{"fc1.bias F32 [3]", "fc1.weight.scale F32 [1]", "fc1.weight.ternary U8 [3 2]",
		"fc2.bias F32 [2]", "fc2.weight.scale F32 [1]", "fc2.weight.ternary U8 [2 1]"}
	if !slices.Equal(stored, want) {
		t.Errorf("stored tensors = %q, want %q", stored, want)
	}
}

func TestCompressFileIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeModel(t, dir)
	codectest.CompressTwice(t, func() compress.Codec { return newCodec(t) }, src, dir)
}

func TestBitsPerWeightAndRatio(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(33, 34))
	for _, tc := range []struct {
		rows, cols int
		bits       float64 // hand computed
	}{
		// 256 rows × 196 bytes × 8 bits + 32 bits of scale over 256·784 weights.
		{256, 784, 2 + 32.0/(256*784)},
		// cols = 5 pads each row to 2 bytes = 16 bits for 5 weights: (64·16 + 32)/(64·5).
		{64, 5, (64*16 + 32) / (64.0 * 5)},
	} {
		src := filepath.Join(dir, "w.safetensors")
		w := tensor.FromFloat32("w", tensor.F32, []int{tc.rows, tc.cols}, randomWeights(rng, tc.rows*tc.cols))
		if err := tensor.WriteFile(src, nil, []*tensor.Tensor{w}); err != nil {
			t.Fatal(err)
		}
		stats, err := compress.CompressFile(context.Background(), newCodec(t), src, filepath.Join(dir, "w.bitnet.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(stats.BitsPerWeight-tc.bits) > 1e-12 {
			t.Errorf("%d×%d: bits/weight = %v, want %v", tc.rows, tc.cols, stats.BitsPerWeight, tc.bits)
		}
		if tc.cols == 784 {
			// 802,816 bytes of F32 against 50,176 packed + 4 scale bytes, plus headers.
			if stats.Ratio < 15.5 || stats.Ratio > 16 {
				t.Errorf("256×784 F32: ratio = %v (%d → %d bytes), want close to 16", stats.Ratio, stats.InputBytes, stats.OutputBytes)
			}
		}
		if st, _ := os.Stat(src); st.Size() != stats.InputBytes {
			t.Errorf("InputBytes = %d, file is %d", stats.InputBytes, st.Size())
		}
	}
}

func TestCompressingCompressedFileFails(t *testing.T) {
	dir := t.TempDir()
	src, _ := writeModel(t, dir)
	dst := filepath.Join(dir, "once.safetensors")
	if _, err := compress.CompressFile(context.Background(), newCodec(t), src, dst); err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "twice.safetensors")
	_, err := compress.CompressFile(context.Background(), newCodec(t), dst, again)
	if err == nil || !strings.Contains(err.Error(), dst) || !strings.Contains(err.Error(), "already compressed") {
		t.Errorf("second compression: err = %v, want 'already compressed' naming %s", err, dst)
	}
	if _, statErr := os.Stat(again); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("failed compression left %s behind", again)
	}
}

// TestReadDenseRejectsCorruptFiles checks both readers of a compressed file: ReadDense
// (decoding) and LoadModel (the packed operators inference runs).
func TestReadDenseRejectsCorruptFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(ts map[string]*tensor.Tensor, meta map[string]string)
		want []string
	}{
		{"missing scale", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			delete(ts, "fc1.weight.scale")
		}, []string{`tensor "fc1.weight"`, "scale", `no tensor "fc1.weight.scale"`}},
		{"wrong packed length", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			x := ts["fc1.weight.ternary"]
			x.Shape, x.Data = []int{3, 1}, x.Data[:3]
		}, []string{`tensor "fc1.weight"`, "U8 [3 1], want U8 [3 2] for a 3×5 matrix"}},
		{"invalid code", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			ts["fc2.weight.ternary"].Data[1] = 0x02
		}, []string{`tensor "fc2.weight"`, "row 1 byte 0", "invalid ternary code"}},
		{"missing shape", func(_ map[string]*tensor.Tensor, meta map[string]string) {
			delete(meta, "fc2.weight.shape")
		}, []string{`tensor "fc2.weight"`, `"fc2.weight.shape" is missing`}},
		{"bad shape", func(_ map[string]*tensor.Tensor, meta map[string]string) {
			meta["fc2.weight.shape"] = "2x3"
		}, []string{`"fc2.weight.shape"="2x3"`, "rows,cols"}},
		{"negative scale", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			ts["fc1.weight.scale"] = tensor.FromFloat32("fc1.weight.scale", tensor.F32, []int{1}, []float32{-1})
		}, []string{`tensor "fc1.weight"`, "scale[0] = -1 is not a finite positive number"}},
		{"scale as F16", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			ts["fc1.weight.scale"] = tensor.FromFloat32("fc1.weight.scale", tensor.F16, []int{1}, []float32{1})
		}, []string{`"fc1.weight.scale" is F16 [1], want F32 [1] or [3]`}},
		{"scale of wrong length", func(ts map[string]*tensor.Tensor, _ map[string]string) {
			ts["fc1.weight.scale"] = tensor.FromFloat32("fc1.weight.scale", tensor.F32, []int{2}, []float32{1, 1})
		}, []string{`"fc1.weight.scale" is F32 [2], want F32 [1] or [3]`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src, _ := writeModel(t, dir)
			dst := filepath.Join(dir, "c.safetensors")
			if _, err := compress.CompressFile(context.Background(), newCodec(t), src, dst); err != nil {
				t.Fatal(err)
			}
			codectest.Corrupt(t, dst, tc.edit)
			_, _, err := compress.ReadDense(dst)
			if err == nil {
				t.Fatal("ReadDense of a corrupt file succeeded")
			}
			_, loadErr := compress.LoadModel(dst)
			if loadErr == nil {
				t.Fatal("LoadModel of a corrupt file succeeded")
			}
			for _, w := range append(tc.want, dst) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
				if !strings.Contains(loadErr.Error(), w) {
					t.Errorf("LoadModel error %q does not contain %q", loadErr, w)
				}
			}
			if tc.name == "invalid code" && !errors.Is(err, bitnet.ErrInvalidCode) {
				t.Errorf("error %v does not wrap ErrInvalidCode", err)
			}
		})
	}
}
