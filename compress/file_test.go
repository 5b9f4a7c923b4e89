package compress_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all"
	"github.com/evomerge/evomerge/tensor"
)

// halveCodec is a stand-in codec for testing the file plumbing: it stores each 2-D
// tensor "<name>" as "<name>.half" (F32, values halved) with metadata "<name>.note", and
// fails on a tensor called "fail".
type halveCodec struct{}

func (halveCodec) Name() string    { return "test-halve" }
func (halveCodec) Version() string { return "test-halve/1" }

func (halveCodec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	if t.Name == "fail" {
		return nil, nil, errors.New("refusing this tensor")
	}
	if len(t.Shape) != 2 {
		return []*tensor.Tensor{t}, nil, nil
	}
	v, err := t.Float32s()
	if err != nil {
		return nil, nil, err
	}
	for i := range v {
		v[i] /= 2
	}
	return []*tensor.Tensor{tensor.FromFloat32(t.Name+".half", tensor.F32, t.Shape, v)}, map[string]string{t.Name + ".note": "halved"}, nil
}

func (halveCodec) Decode(name string, meta map[string]string, get func(string) (*tensor.Tensor, error)) (*tensor.Tensor, error) {
	if meta[name+".note"] != "halved" {
		return nil, fmt.Errorf("metadata %q missing", name+".note")
	}
	h, err := get(name + ".half")
	if err != nil {
		return nil, err
	}
	v, err := h.Float32s()
	if err != nil {
		return nil, err
	}
	for i := range v {
		v[i] *= 2
	}
	return tensor.FromFloat32(name, tensor.F32, h.Shape, v), nil
}

func init() {
	compress.Register("test-halve", func(compress.Options) (compress.Codec, error) { return halveCodec{}, nil })
}

func write(t *testing.T, path string, meta map[string]string, ts ...*tensor.Tensor) string {
	t.Helper()
	if err := tensor.WriteFile(path, meta, ts); err != nil {
		t.Fatal(err)
	}
	return path
}

func values(t *testing.T, x *tensor.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAllRegistersEveryCodec(t *testing.T) {
	for _, name := range []string{"bitnet", "vptq"} {
		if !slices.Contains(compress.Names(), name) {
			t.Errorf("Names() = %v, want %s registered by compress/all", compress.Names(), name)
		}
	}
}

func TestReadDenseUncompressedConvertsToF32(t *testing.T) {
	dir := t.TempDir()
	path := write(t, filepath.Join(dir, "m.safetensors"), map[string]string{"format": "pt"},
		tensor.FromFloat32("b.half", tensor.F16, []int{2}, []float32{1.5, -2}),
		tensor.FromFloat32("a.bf16", tensor.BF16, []int{1, 2}, []float32{0.5, 3}),
		&tensor.Tensor{Name: "c.int8", DType: tensor.I8, Shape: []int{3}, Data: []byte{1, 0xFF, 7}},
		tensor.FromFloat32("d.f32", tensor.F32, []int{2, 1}, []float32{0.1, 0.2}),
	)
	got, meta, err := compress.ReadDense(path)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{"a.bf16": {0.5, 3}, "b.half": {1.5, -2}, "c.int8": {1, -1, 7}, "d.f32": {0.1, 0.2}}
	var names []string
	for _, x := range got {
		names = append(names, x.Name)
		if x.DType != tensor.F32 || !slices.Equal(values(t, x), want[x.Name]) {
			t.Errorf("%s: %s %v, want F32 %v", x.Name, x.DType, values(t, x), want[x.Name])
		}
	}
	if !slices.Equal(names, []string{"a.bf16", "b.half", "c.int8", "d.f32"}) {
		t.Errorf("names = %v, want sorted", names)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata = %v, want format=pt", meta)
	}
}

func TestCompressFileRoundTripWithCodec(t *testing.T) {
	dir := t.TempDir()
	src := write(t, filepath.Join(dir, "m.safetensors"), map[string]string{"origin": "x"},
		tensor.FromFloat32("w2", tensor.F32, []int{1, 2}, []float32{4, 6}),
		tensor.FromFloat32("w1", tensor.F32, []int{2, 2}, []float32{1, 2, 3, 4}),
		tensor.FromFloat32("bias", tensor.F16, []int{2}, []float32{1, 2}),
	)
	dst := filepath.Join(dir, "out.safetensors")
	stats, err := compress.CompressFile(context.Background(), halveCodec{}, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.Stat(src)
	out, _ := os.Stat(dst)
	want := compress.Stats{Algorithm: "test-halve", InputBytes: in.Size(), OutputBytes: out.Size(),
		Ratio: float64(in.Size()) / float64(out.Size()), BitsPerWeight: 32, CompressedTensors: 2, DenseTensors: 1,
		Codecs: map[string]compress.CodecStats{"test-halve": {Tensors: 2, Weights: 6, StoredBytes: 24, BitsPerWeight: 32}}}
	if !reflect.DeepEqual(stats, want) {
		t.Errorf("stats = %+v, want %+v", stats, want)
	}
	got, meta, err := compress.ReadDense(dst)
	if err != nil {
		t.Fatal(err)
	}
	wantMeta := map[string]string{"origin": "x", "compress.algorithm": "test-halve", "compress.tensors": "w1,w2",
		"w1.note": "halved", "w2.note": "halved"}
	if fmt.Sprint(meta) != fmt.Sprint(wantMeta) {
		t.Errorf("metadata = %v, want %v", meta, wantMeta)
	}
	var summary []string
	for _, x := range got {
		summary = append(summary, fmt.Sprintf("%s %s %v %v", x.Name, x.DType, x.Shape, values(t, x)))
	}
	wantSummary := []string{"bias F32 [2] [1 2]", "w1 F32 [2 2] [1 2 3 4]", "w2 F32 [1 2] [4 6]"}
	if !slices.Equal(summary, wantSummary) {
		t.Errorf("ReadDense = %q, want %q", summary, wantSummary)
	}
}

func TestCompressFileErrors(t *testing.T) {
	dir := t.TempDir()
	w := tensor.FromFloat32("w", tensor.F32, []int{1, 1}, []float32{1})
	for _, tc := range []struct {
		name string
		meta map[string]string
		ts   []*tensor.Tensor
		want string
	}{
		{"stored name collides", nil, []*tensor.Tensor{w, tensor.FromFloat32("w.half", tensor.F32, []int{1}, []float32{1})},
			`output name "w.half" is already used by the output of tensor "w"`},
		{"metadata clash", map[string]string{"w.note": "mine"}, []*tensor.Tensor{w},
			`codec metadata key "w.note" clashes`},
		{"comma in name", nil, []*tensor.Tensor{tensor.FromFloat32("a,b", tensor.F32, []int{1, 1}, []float32{1})},
			`tensor "a,b": a compressed tensor's name cannot contain a comma`},
		{"codec error", nil, []*tensor.Tensor{tensor.FromFloat32("fail", tensor.F32, []int{1}, []float32{1})},
			`tensor "fail": refusing this tensor`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := write(t, filepath.Join(dir, "src.safetensors"), tc.meta, tc.ts...)
			dst := filepath.Join(dir, "dst.safetensors")
			_, err := compress.CompressFile(context.Background(), halveCodec{}, src, dst)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), src) {
				t.Errorf("err = %v, want one naming %s and containing %q", err, src, tc.want)
			}
			if _, statErr := os.Stat(dst); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("a failed compression left %s", dst)
			}
		})
	}

	missing := filepath.Join(dir, "nope.safetensors")
	if _, err := compress.CompressFile(context.Background(), halveCodec{}, missing, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing source: err = %v, want one naming %s", err, missing)
	}
	src := write(t, filepath.Join(dir, "ok.safetensors"), nil, w)
	if _, err := compress.CompressFile(context.Background(), halveCodec{}, src, filepath.Join(dir, "no-such-dir", "out")); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestReadDenseErrors(t *testing.T) {
	dir := t.TempDir()
	unknown := write(t, filepath.Join(dir, "unknown.safetensors"), map[string]string{"compress.algorithm": "nope", "compress.tensors": "w"},
		tensor.FromFloat32("w.half", tensor.F32, []int{1}, []float32{1}))
	_, _, err := compress.ReadDense(unknown)
	if err == nil || !strings.Contains(err.Error(), unknown) || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "compress/all") {
		t.Errorf("unknown algorithm: err = %v, want one naming the file, the algorithm and compress/all", err)
	}

	// A tensor listed as compressed whose parts are gone.
	missing := write(t, filepath.Join(dir, "missing.safetensors"), map[string]string{"compress.algorithm": "test-halve", "compress.tensors": "w", "w.note": "halved"},
		tensor.FromFloat32("other", tensor.F32, []int{1}, []float32{1}))
	_, _, err = compress.ReadDense(missing)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), `tensor "w"`) || !strings.Contains(err.Error(), `no tensor "w.half"`) {
		t.Errorf("missing part: err = %v, want one naming the file, the tensor and the part", err)
	}

	// A logical name that is also stored dense.
	dup := write(t, filepath.Join(dir, "dup.safetensors"), map[string]string{"compress.algorithm": "test-halve", "compress.tensors": "w", "w.note": "halved"},
		tensor.FromFloat32("w.half", tensor.F32, []int{1}, []float32{1}),
		tensor.FromFloat32("w", tensor.F32, []int{1}, []float32{1}))
	_, _, err = compress.ReadDense(dup)
	if err == nil || !strings.Contains(err.Error(), `tensor "w" is both stored dense and listed`) {
		t.Errorf("duplicate logical name: err = %v", err)
	}
}

func TestCompressFileStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	src := write(t, filepath.Join(dir, "m.safetensors"), nil, tensor.FromFloat32("w", tensor.F32, []int{2, 2}, []float32{1, 2, 3, 4}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst := filepath.Join(dir, "out.safetensors")
	_, err := compress.CompressFile(ctx, halveCodec{}, src, dst)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `before tensor "w"`) {
		t.Errorf("CompressFile with a cancelled context: %v", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a stopped compression wrote %s: %v", dst, err)
	}
}
