package compress_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
	"github.com/evomerge/evomerge/tensor"
)

// countCodec is halveCodec counting its Encode calls on 2-D tensors.
type countCodec struct{ halveCodec }

var encodes atomic.Int64

func (countCodec) Name() string    { return "test-count" }
func (countCodec) Version() string { return "test-count/1" }
func (c countCodec) Encode(t *tensor.Tensor) ([]*tensor.Tensor, map[string]string, error) {
	if len(t.Shape) == 2 {
		encodes.Add(1)
	}
	return c.halveCodec.Encode(t)
}

func init() {
	compress.Register("test-count", func(compress.Options) (compress.Codec, error) { return countCodec{}, nil })
}

// mixedSource writes a model of four matrices and a bias.
func mixedSource(t *testing.T, dir string) string {
	rng := rand.New(rand.NewPCG(7, 8))
	m := func(name string, r, c int) *tensor.Tensor {
		return tensor.FromFloat32(name, tensor.F32, []int{r, c}, codectest.Gaussian(rng, r*c))
	}
	return write(t, filepath.Join(dir, "src.safetensors"), map[string]string{"origin": "x"},
		m("a", 32, 48), m("b", 32, 48), m("c", 16, 48), m("d", 8, 8),
		tensor.FromFloat32("bias", tensor.F32, []int{8}, codectest.Gaussian(rng, 8)))
}

func readAll(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	ts, _, err := compress.ReadDense(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, x := range ts {
		out[x.Name] = values(t, x)
	}
	return out
}

func TestCompressFilePlanMixed(t *testing.T) {
	dir := t.TempDir()
	src := mixedSource(t, dir)
	plan := compress.Plan{
		"a":    {Codec: "bitnet", Options: compress.Options{"per_channel": 1}},
		"b":    {Codec: "vptq"},
		"c":    {Codec: "seedlm", Options: compress.Options{"prune": 0.25}},
		"d":    {Codec: "none"},
		"bias": {Codec: "bitnet"}, // left dense by the codec
	}
	dst := filepath.Join(dir, "mixed.safetensors")
	stats, err := compress.CompressFilePlan(context.Background(), plan, src, dst, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Reference: each tensor through its codec alone, by CompressFile.
	want := map[string][]float32{}
	for name, ch := range plan {
		c, err := compress.New(ch.Codec, ch.Options)
		if ch.Dense() {
			c = halveCodec{} // any codec: the tensor is read dense from src below
		} else if err != nil {
			t.Fatal(err)
		}
		ref := filepath.Join(dir, "ref-"+name+".safetensors")
		if _, err := compress.CompressFile(context.Background(), c, src, ref); err != nil {
			t.Fatal(err)
		}
		if ch.Dense() {
			ref = src
		}
		want[name] = readAll(t, ref)[name]
	}
	got := readAll(t, dst)
	for name, w := range want {
		if !slicesEqual(got[name], w) {
			t.Errorf("tensor %s of the mixed file differs from its codec's own file", name)
		}
	}
	f, err := tensor.Open(dst)
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata()
	var storedBytes int64
	for _, in := range f.Infos() {
		if in.Name != "d" && in.Name != "bias" {
			storedBytes += in.End - in.Begin
		}
	}
	f.Close()
	if meta[compress.MetaAlgorithm] != "mixed" || meta[compress.MetaTensors] != "a,b,c" ||
		meta[compress.MetaCodecs] != `{"a":"bitnet","b":"vptq","c":"seedlm"}` || meta["origin"] != "x" {
		t.Errorf("metadata = %v", meta)
	}
	var sum int64
	for _, cs := range stats.Codecs {
		sum += cs.StoredBytes
		if cs.Tensors != 1 || cs.BitsPerWeight != 8*float64(cs.StoredBytes)/float64(cs.Weights) {
			t.Errorf("codec stats %+v", cs)
		}
	}
	if stats.Algorithm != "mixed" || len(stats.Codecs) != 3 || stats.CompressedTensors != 3 || stats.DenseTensors != 2 ||
		sum != storedBytes || stats.BitsPerWeight != 8*float64(storedBytes)/float64(32*48*2+16*48) ||
		stats.Codecs["seedlm"].Weights != 16*48 {
		t.Errorf("stats = %+v (stored bytes %d)", stats, storedBytes)
	}

	m, err := compress.LoadModel(dst)
	if err != nil {
		t.Fatal(err)
	}
	if m.Algorithm != "mixed" || len(m.Operators) != 4 || len(m.Tensors) != 1 {
		t.Fatalf("LoadModel: %s, %d operators, %d tensors", m.Algorithm, len(m.Operators), len(m.Tensors))
	}
	if _, ok := m.Operators["d"].(*compress.Dense); !ok {
		t.Errorf("d is %T, want *compress.Dense", m.Operators["d"])
	}
	// The vptq and seedlm operators compute with the decoded weights.
	x := codectest.Gaussian(rand.New(rand.NewPCG(1, 2)), 48)
	for _, name := range []string{"b", "c"} {
		op, w := m.Operators[name], got[name]
		y := make([]float32, op.Rows())
		op.Mul(1, x, y)
		for r := range op.Rows() {
			var ref, mag float64
			for c := range 48 {
				ref += float64(w[r*48+c]) * float64(x[c])
				mag += abs(float64(w[r*48+c]) * float64(x[c]))
			}
			if d := abs(float64(y[r]) - ref); d > 1e-4*mag+1e-7 {
				t.Fatalf("%s row %d: operator %v, decoded weights %v", name, r, y[r], ref)
			}
		}
	}

	// Same inputs, same bytes.
	again := filepath.Join(dir, "again.safetensors")
	if _, err := compress.CompressFilePlan(context.Background(), plan, src, again, nil); err != nil {
		t.Fatal(err)
	}
	sameBytes(t, dst, again)
}

func TestCompressFilePlanSingleCodecIsCompressFile(t *testing.T) {
	dir := t.TempDir()
	src := mixedSource(t, dir)
	c, _ := compress.New("bitnet", nil)
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	if _, err := compress.CompressFile(context.Background(), c, src, a); err != nil {
		t.Fatal(err)
	}
	plan := compress.Plan{}
	for _, n := range []string{"a", "b", "c", "d", "bias"} {
		plan[n] = compress.Choice{Codec: "bitnet"}
	}
	stats, err := compress.CompressFilePlan(context.Background(), plan, src, b, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameBytes(t, a, b)
	if stats.Algorithm != "bitnet" || len(stats.Codecs) != 1 {
		t.Errorf("stats = %+v", stats)
	}
}

func TestCompressFilePlanCache(t *testing.T) {
	dir := t.TempDir()
	src := mixedSource(t, dir)
	plan := compress.Plan{"a": {Codec: "test-count"}, "b": {Codec: "test-count"}, "c": {Codec: "bitnet"}}
	plain := filepath.Join(dir, "plain.safetensors")
	if _, err := compress.CompressFilePlan(context.Background(), plan, src, plain, nil); err != nil {
		t.Fatal(err)
	}
	cache := compress.DirCache(filepath.Join(dir, "cache"))
	first, second := filepath.Join(dir, "1.safetensors"), filepath.Join(dir, "2.safetensors")
	before := encodes.Load()
	s1, err := compress.CompressFilePlan(context.Background(), plan, src, first, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := encodes.Load() - before; n != 2 || s1.CachedTensors != 0 {
		t.Fatalf("first run: %d encodes, %d cached, want 2 and 0", n, s1.CachedTensors)
	}
	s2, err := compress.CompressFilePlan(context.Background(), plan, src, second, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := encodes.Load() - before; n != 2 || s2.CachedTensors != 3 {
		t.Fatalf("second run: %d encodes in all, %d cached; want the encoder not called again and 3 cached", n, s2.CachedTensors)
	}
	sameBytes(t, plain, first)
	sameBytes(t, first, second)
	s1.CachedTensors, s2.CachedTensors = 0, 0
	if s1.BitsPerWeight != s2.BitsPerWeight || s1.OutputBytes != s2.OutputBytes {
		t.Errorf("stats differ: %+v, %+v", s1, s2)
	}

	// A damaged entry is a miss: encoded again, same bytes.
	entries, _ := filepath.Glob(filepath.Join(dir, "cache", "*.safetensors"))
	if len(entries) != 3 {
		t.Fatalf("cache holds %v, want 3 entries", entries)
	}
	for _, e := range entries {
		if err := os.WriteFile(e, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	third := filepath.Join(dir, "3.safetensors")
	s3, err := compress.CompressFilePlan(context.Background(), plan, src, third, cache)
	if err != nil {
		t.Fatal(err)
	}
	if n := encodes.Load() - before; n != 4 || s3.CachedTensors != 0 {
		t.Errorf("after damage: %d encodes, %d cached; want 4 and 0", n, s3.CachedTensors)
	}
	sameBytes(t, first, third)

	// The key changes with options and content.
	c, _ := compress.New("bitnet", nil)
	x := tensor.FromFloat32("w", tensor.F32, []int{1, 2}, []float32{1, 2})
	y := tensor.FromFloat32("w", tensor.F32, []int{1, 2}, []float32{1, 3})
	k := compress.CacheKey(c, nil, x)
	if k == compress.CacheKey(c, compress.Options{"per_channel": 1}, x) || k == compress.CacheKey(c, nil, y) ||
		k != compress.CacheKey(c, compress.Options{}, x) {
		t.Error("CacheKey does not separate options and contents")
	}
}

func TestCompressFilePlanErrors(t *testing.T) {
	dir := t.TempDir()
	src := mixedSource(t, dir)
	dst := filepath.Join(dir, "dst.safetensors")
	for _, tc := range []struct {
		plan compress.Plan
		want string
	}{
		{compress.Plan{"zz": {Codec: "bitnet"}}, `tensor "zz", which the file does not have`},
		{compress.Plan{"a": {Codec: "nope"}}, `tensor "a": unknown compression algorithm "nope"`},
		{compress.Plan{"a": {Codec: "bitnet", Options: compress.Options{"values_per_byte": 3}}}, `tensor "a": bitnet: option values_per_byte`},
	} {
		_, err := compress.CompressFilePlan(context.Background(), tc.plan, src, dst, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), src) {
			t.Errorf("plan %v: err = %v, want one naming %s and containing %q", tc.plan, err, src, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := compress.CompressFilePlan(ctx, compress.Plan{"a": {Codec: "bitnet"}}, src, dst, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("a failed compression left %s", dst)
	}

	// Damaged mixed metadata.
	good := filepath.Join(dir, "good.safetensors")
	if _, err := compress.CompressFilePlan(context.Background(), compress.Plan{"a": {Codec: "bitnet"}, "b": {Codec: "test-halve"}}, src, good, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ codecs, want string }{
		{`{"a":"bitnet"}`, `tensor "b" is listed in compress.tensors but has no codec`},
		{`{"a":"bitnet","b":"test-halve","c":"bitnet"}`, `tensor "c" has a codec in compress.codecs but is not listed`},
		{`{"a":"bitnet","b":"nope"}`, `unknown compression algorithm "nope"`},
	} {
		bad := filepath.Join(dir, "bad.safetensors")
		data, _ := os.ReadFile(good)
		os.WriteFile(bad, data, 0o644)
		codectest.Corrupt(t, bad, func(_ map[string]*tensor.Tensor, meta map[string]string) { meta[compress.MetaCodecs] = tc.codecs })
		_, _, err := compress.ReadDense(bad)
		_, err2 := compress.LoadModel(bad)
		for _, e := range []error{err, err2} {
			if e == nil || !strings.Contains(e.Error(), tc.want) || !strings.Contains(e.Error(), bad) {
				t.Errorf("codecs %s: err = %v, want one naming the file and containing %q", tc.codecs, e, tc.want)
			}
		}
	}
}

func sameBytes(t *testing.T, a, b string) {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ (%v, %v)", a, b, err1, err2)
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
