package compress_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// A plan with two codecs writes a mixed file that LoadModel runs packed and ReadDense
// decodes; a second run through the cache encodes nothing and writes the same bytes.
func TestCompressFilePlanMixedAndCached(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	mat := func(name string, r, c int) *tensor.Tensor {
		w := make([]float32, r*c)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		return tensor.FromFloat32(name, tensor.F32, []int{r, c}, w)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "m.safetensors")
	bias := tensor.FromFloat32("fc1.bias", tensor.F32, []int{64}, make([]float32, 64))
	if err := tensor.WriteFile(src, nil, []*tensor.Tensor{mat("fc1.weight", 64, 128), bias, mat("fc2.weight", 32, 64), mat("fc3.weight", 8, 32)}); err != nil {
		t.Fatal(err)
	}
	plan := compress.Plan{"fc1.weight": {Codec: "bitnet"}, "fc2.weight": {Codec: "vptq", Options: compress.Options{"codebook_bits": 4}}, "fc3.weight": {Codec: "none"}}
	cache := compress.DirCache(filepath.Join(dir, "cache"))
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	st, err := compress.CompressFilePlan(context.Background(), plan, src, a, cache)
	if err != nil {
		t.Fatal(err)
	}
	if st.Algorithm != compress.Mixed || st.CompressedTensors != 2 || st.DenseTensors != 2 || st.CachedTensors != 0 {
		t.Errorf("stats %+v", st)
	}
	m, err := compress.LoadModel(a)
	if err != nil {
		t.Fatal(err)
	}
	if m.Algorithm != compress.Mixed || len(m.Operators) != 3 {
		t.Fatalf("loaded %s with %d operators", m.Algorithm, len(m.Operators))
	}
	if _, dense := m.Operators["fc3.weight"].(*compress.Dense); !dense {
		t.Error("fc3 (codec none) should load dense")
	}
	if _, dense := m.Operators["fc1.weight"].(*compress.Dense); dense {
		t.Error("fc1 (bitnet) loaded dense")
	}
	ts, _, err := compress.ReadDense(a)
	if err != nil || len(ts) != 4 {
		t.Fatalf("ReadDense: %d tensors, %v", len(ts), err)
	}
	st2, err := compress.CompressFilePlan(context.Background(), plan, src, b, cache)
	if err != nil {
		t.Fatal(err)
	}
	if st2.CachedTensors != 2 {
		t.Errorf("second run: %d tensors from the cache, want 2", st2.CachedTensors)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Error("cached run wrote different bytes")
	}
	if _, err := compress.CompressFilePlan(context.Background(), compress.Plan{"nope": {Codec: "bitnet"}}, src, filepath.Join(dir, "c.safetensors"), nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown tensor: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "c.safetensors")); !os.IsNotExist(err) {
		t.Error("a failed plan left a file")
	}
}
