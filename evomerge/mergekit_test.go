package evomerge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/tensor"
)

// synthFamily writes a small synthetic base and n fine-tunes under dir and returns their
// folders (base first).
func synthFamily(t *testing.T, dir string, n int, c tensor.SynthConfig) []string {
	t.Helper()
	if c.Hidden == 0 {
		c = tensor.SynthConfig{Hidden: 16, Intermediate: 24, Layers: 3, Vocab: 20, DType: tensor.BF16, ShardBytes: 4 << 10, Seed: 3}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for i := 0; i <= n; i++ {
		d := filepath.Join(dir, fmt.Sprintf("m%d", i))
		if _, err := tensor.WriteSynth(d, c, i); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

func parseMK(t *testing.T, yml string) *MergeKitConfig {
	t.Helper()
	c, err := ParseMergeKitConfig([]byte(yml), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readCheckpoint(t *testing.T, path string) map[string]*tensor.Tensor {
	t.Helper()
	c, err := tensor.OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out := map[string]*tensor.Tensor{}
	for _, info := range c.Infos() {
		tt, err := c.Read(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[info.Name] = tt
	}
	return out
}

func valuesOf(t *testing.T, tt *tensor.Tensor) []float32 {
	t.Helper()
	v, err := tt.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A TIES config over single-file models merges exactly as MergeFiles does with the same
// weights and parameters (the workflow's path and the CLI's share one core).
func TestMergeKitTIESEqualsMergeFiles(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		writeModel(t, dir, "base.safetensors", nil, 1, 0, llamaSpecs),
		writeModel(t, dir, "a.safetensors", nil, 2, 0.1, llamaSpecs),
		writeModel(t, dir, "b.safetensors", nil, 3, 0.1, llamaSpecs),
	}
	want := filepath.Join(dir, "want.safetensors")
	r := Recipe{Method: "ties", Weights: []float64{0, 0.7, 0.4}, Params: map[string]float64{"density": 0.4, "lambda": 1.2}}
	if err := MergeFiles(r, paths, 0, want, nil); err != nil {
		t.Fatal(err)
	}
	c := parseMK(t, fmt.Sprintf(`
merge_method: ties
base_model: %s
models:
  - model: %s
    parameters: {weight: 0.7, density: 0.4}
  - model: %s
    parameters: {weight: 0.4, density: 0.4}
parameters:
  lambda: 1.2
  normalize: true
  int8_mask: true
`, paths[0], paths[1], paths[2]))
	out := filepath.Join(dir, "out")
	res, err := MergeKit(context.Background(), c, out, MergeKitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, wantT := readAll(t, want)
	got := readCheckpoint(t, out)
	if len(got) != len(wantT) || res.Tensors != len(wantT) || res.Layers != 3 || res.Shards != 1 {
		t.Fatalf("%d tensors (result %+v), want %d", len(got), res, len(wantT))
	}
	for name, w := range wantT {
		g := got[name]
		if g == nil || g.DType != w.DType || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: differs from MergeFiles", name)
		}
	}
	var inBytes int64
	for _, p := range paths {
		st, _ := os.Stat(p)
		inBytes += st.Size()
	}
	if res.InputBytes <= 0 || res.InputBytes > inBytes {
		t.Errorf("input bytes %d, files hold %d", res.InputBytes, inBytes)
	}
}

// Gradients and filters: linear with weight gradients [1, 0] and [0, 1] over three layers
// gives layer 0 = A, layer 2 = B, layer 1 halfway; embeddings (t = 0) are A's, the final
// norm and head (t = 1) B's; a filter gives self_attn tensors weight only on A.
func TestMergeKitGradientsAndFilters(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 2, tensor.SynthConfig{Hidden: 16, Intermediate: 24, Layers: 3, Vocab: 20, DType: tensor.F32, ShardBytes: 1 << 20, Seed: 3})
	a, b := readCheckpoint(t, m[1]), readCheckpoint(t, m[2])
	c := parseMK(t, fmt.Sprintf(`
merge_method: linear
models:
  - model: %s
    parameters:
      weight:
        - filter: self_attn
          value: 1
        - value: [1, 0]
  - model: %s
    parameters:
      weight:
        - filter: self_attn
          value: 0
        - value: [0, 1]
`, m[1], m[2]))
	out := filepath.Join(dir, "out")
	if _, err := MergeKit(context.Background(), c, out, MergeKitOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readCheckpoint(t, out)
	for name, g := range got {
		gv, av, bv := valuesOf(t, g), valuesOf(t, a[name]), valuesOf(t, b[name])
		wa := 0.0
		l, inLayer := LayerIndex(name)
		switch {
		case strings.Contains(name, "self_attn"):
			wa = 1
		case inLayer:
			wa = 1 - float64(l)/2
		case isEmbedding(name):
			wa = 1
		}
		for j := range gv {
			want := float32((wa*float64(av[j]) + (1-wa)*float64(bv[j])) / 1)
			if math.Abs(float64(gv[j]-want)) > 1e-6 {
				t.Fatalf("%s[%d] = %g, want %g (weight of A %g)", name, j, gv[j], want, wa)
			}
		}
	}
}

func TestGradientAt(t *testing.T) {
	for _, c := range []struct {
		list []float64
		t    float64
		want float64
	}{
		{[]float64{0, 1}, 0.25, 0.25},
		{[]float64{0, 0.5, 1, 0}, 0.5, 0.75},
		{[]float64{0, 0.5, 1, 0}, 1, 0},
		{[]float64{3}, 0.7, 3},
		{[]float64{1, 2, 3}, 0, 1},
	} {
		if got := gradientAt(c.list, c.t); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("gradientAt(%v, %g) = %g, want %g", c.list, c.t, got, c.want)
		}
	}
}

// Passthrough stacks layer slices of two models, renumbered, bytes unchanged (dtype kept),
// embeddings from the first slice's model and the head from the last's; config.json's
// num_hidden_layers is updated and the tokenizer copied; scale multiplies.
func TestMergeKitPassthroughFrankenmerge(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 2, tensor.SynthConfig{})
	a, b := readCheckpoint(t, m[1]), readCheckpoint(t, m[2])
	c := parseMK(t, fmt.Sprintf(`
merge_method: passthrough
slices:
  - sources:
      - model: %s
        layer_range: [0, 2]
  - sources:
      - model: %s
        layer_range: [1, 3]
        parameters:
          scale:
            - filter: o_proj
              value: 0
            - value: 1
tokenizer_source: %s
`, m[1], m[2], m[0]))
	out := filepath.Join(dir, "out")
	res, err := MergeKit(context.Background(), c, out, MergeKitOptions{OutShardBytes: 3000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Layers != 4 || res.Shards < 2 {
		t.Errorf("result %+v, want 4 layers in several shards", res)
	}
	got := readCheckpoint(t, out)
	if len(got) != 3+4*9 {
		t.Fatalf("%d tensors, want %d", len(got), 3+4*9)
	}
	for name, g := range got {
		var want *tensor.Tensor
		switch l, ok := LayerIndex(name); {
		case !ok && isEmbedding(name):
			want = a[name]
		case !ok:
			want = b[name]
		case l < 2:
			want = a[name]
		default:
			want = b[renumberLayer(name, l-1)]
		}
		if strings.Contains(name, "o_proj") && !strings.Contains(name, "layers.0") && !strings.Contains(name, "layers.1") {
			for _, v := range valuesOf(t, g) {
				if v != 0 {
					t.Fatalf("%s: scale 0 left %g", name, v)
				}
			}
			continue
		}
		if !bytes.Equal(g.Data, want.Data) || g.DType != want.DType {
			t.Errorf("%s: not the source tensor's bytes", name)
		}
	}
	var cfg map[string]any
	raw, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg["num_hidden_layers"] != float64(4) || cfg["hidden_size"] != float64(16) {
		t.Errorf("config.json %s (%v)", raw, err)
	}
	if !bytes.HasPrefix(raw, []byte("{\n  \"architectures\"")) {
		t.Errorf("config.json key order not kept: %.60s", raw)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("output lacks %s", f)
		}
	}
}

// dtype converts the output; sharded inputs read like single files.
func TestMergeKitDTypeAndShardedInputs(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 1, tensor.SynthConfig{})
	if _, err := os.Stat(filepath.Join(m[0], "model.safetensors.index.json")); err != nil {
		t.Fatal("the test models should be sharded")
	}
	c := parseMK(t, fmt.Sprintf(`
merge_method: task_arithmetic
base_model: %s
models:
  - model: %s
    parameters: {weight: 0.5}
dtype: float16
tokenizer_source: base
`, m[0], m[1]))
	out := filepath.Join(dir, "out")
	if _, err := MergeKit(context.Background(), c, out, MergeKitOptions{}); err != nil {
		t.Fatal(err)
	}
	base, ft := readCheckpoint(t, m[0]), readCheckpoint(t, m[1])
	got := readCheckpoint(t, out)
	for name, g := range got {
		if g.DType != tensor.F16 {
			t.Fatalf("%s: dtype %s, want F16", name, g.DType)
		}
		gv, bv, fv := valuesOf(t, g), valuesOf(t, base[name]), valuesOf(t, ft[name])
		for j := range gv {
			want := bv[j] + 0.5*(fv[j]-bv[j])
			if math.Abs(float64(gv[j]-want)) > 1e-3*math.Abs(float64(want))+1e-6 {
				t.Fatalf("%s[%d] = %g, want %g", name, j, gv[j], want)
			}
		}
	}
	raw, _ := os.ReadFile(filepath.Join(out, "config.json"))
	if !strings.Contains(string(raw), `"torch_dtype": "float16"`) {
		t.Errorf("config.json torch_dtype not updated: %s", raw)
	}
}

// Every bad input is an ErrMergeInput naming what is wrong, and leaves no output.
func TestMergeKitErrors(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 2, tensor.SynthConfig{})
	odd := synthFamily(t, filepath.Join(dir, "odd"), 0, tensor.SynthConfig{Hidden: 32, Intermediate: 24, Layers: 3, Vocab: 20, DType: tensor.BF16, ShardBytes: 1 << 20, Seed: 3})[0]
	f32 := synthFamily(t, filepath.Join(dir, "f32"), 0, tensor.SynthConfig{Hidden: 16, Intermediate: 24, Layers: 3, Vocab: 20, DType: tensor.F32, ShardBytes: 1 << 20, Seed: 3})[0]

	// A model missing a tensor: copy m1's single... write one without the head.
	missing := filepath.Join(dir, "missing.safetensors")
	all := readCheckpoint(t, m[1])
	var kept []*tensor.Tensor
	for name, tt := range all {
		if name != "model.layers.1.mlp.up_proj.weight" {
			kept = append(kept, tt)
		}
	}
	if err := tensor.WriteFile(missing, nil, kept); err != nil {
		t.Fatal(err)
	}
	// A model with a NaN.
	nan := filepath.Join(dir, "nan.safetensors")
	var withNaN []*tensor.Tensor
	for name, tt := range all {
		if name == "model.layers.2.self_attn.v_proj.weight" {
			v := valuesOf(t, tt)
			v[5] = float32(math.NaN())
			tt = tensor.FromFloat32(name, tt.DType, tt.Shape, v)
		}
		withNaN = append(withNaN, tt)
	}
	if err := tensor.WriteFile(nan, nil, withNaN); err != nil {
		t.Fatal(err)
	}
	// A truncated shard (a copy of m2 with its second shard cut short).
	trunc := filepath.Join(dir, "trunc")
	os.Mkdir(trunc, 0o755)
	entries, _ := os.ReadDir(m[2])
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(m[2], e.Name()))
		if strings.HasPrefix(e.Name(), "model-00002-") {
			b = b[:len(b)-100]
		}
		os.WriteFile(filepath.Join(trunc, e.Name()), b, 0o644)
	}

	ties := func(base, a, b string) string {
		return fmt.Sprintf("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n    parameters: {weight: 1, density: 0.5}\n  - model: %s\n    parameters: {weight: 1, density: 0.5}\n", base, a, b)
	}
	for _, c := range []struct {
		name, yml string
		want      []string
	}{
		{"shape mismatch", ties(m[0], m[1], odd), []string{"models[1]", "shape [20 32]", "model.embed_tokens.weight"}},
		{"dtype mismatch", ties(m[0], m[1], f32), []string{"models[1]", "dtype F32", "set dtype"}},
		{"missing tensor", ties(m[0], m[1], missing), []string{"models[1]", missing, `no tensor "model.layers.1.mlp.up_proj.weight"`}},
		{"truncated shard", ties(m[0], m[1], trunc), []string{"models[1].model", "model-00002-of-", "end beyond the data section"}},
		{"non-finite weight", ties(m[0], m[1], nan), []string{nan, `tensor "model.layers.2.self_attn.v_proj.weight"`, "element 5 is NaN"}},
		{"unknown key", strings.Replace(ties(m[0], m[1], m[2]), "density: 0.5}\n  - model", "density: 0.5}\n    layer: 3\n  - model", 1), []string{`unknown key "layer"`, "line 6", "in a models entry"}},
		{"unknown top-level key", "merge_method: ties\nbase: x\n", []string{`unknown key "base"`, "at the top level"}},
		{"unknown method", strings.Replace(ties(m[0], m[1], m[2]), "ties", "tiez", 1), []string{"merge_method", `unknown merge method "tiez"`, "passthrough"}},
		{"unknown parameter", ties(m[0], m[1], m[2]) + "parameters:\n  rescale: true\n", []string{"parameters.rescale", `no parameter "rescale"`}},
		{"missing weight", fmt.Sprintf("merge_method: ties\nbase_model: %s\nmodels:\n  - model: %s\n", m[0], m[1]), []string{"models[0].parameters.weight", "missing"}},
		{"global parameter per model", strings.Replace(ties(m[0], m[1], m[2]), "density: 0.5}", "density: 0.5, lambda: 2}", 1), []string{"models[0].parameters.lambda", "not a per-model parameter"}},
		{"per-model density out of range", strings.Replace(ties(m[0], m[1], m[2]), "density: 0.5", "density: 1.5", 1), []string{"parameter density of model 0 = 1.5 is outside [0, 1]"}},
		{"density out of range", strings.ReplaceAll(ties(m[0], m[1], m[2]), "density: 0.5", "density: 1.5"), []string{"density = 1.5 is outside [0, 1]"}},
		{"missing model", ties(m[0], m[1], filepath.Join(dir, "nope")), []string{"models[1].model", "no such file"}},
		{"no base", fmt.Sprintf("merge_method: ties\nmodels:\n  - model: %s\n", m[1]), []string{"base_model", "needs a base"}},
		{"layer range", fmt.Sprintf("merge_method: passthrough\nslices:\n  - sources:\n      - model: %s\n        layer_range: [0, 5]\n", m[1]), []string{"slices[0].sources[0].layer_range", "3 layers"}},
		{"passthrough two sources", fmt.Sprintf("merge_method: passthrough\nslices:\n  - sources:\n      - model: %s\n        layer_range: [0, 1]\n      - model: %s\n        layer_range: [0, 1]\n", m[1], m[2]), []string{"slices[0].sources", "exactly one source"}},
		{"uneven slice", fmt.Sprintf("merge_method: linear\nslices:\n  - sources:\n      - model: %s\n        layer_range: [0, 1]\n        parameters: {weight: 1}\n      - model: %s\n        layer_range: [0, 2]\n        parameters: {weight: 1}\n", m[1], m[2]), []string{"slices[0].sources[1].layer_range", "same number"}},
		{"models and slices", fmt.Sprintf("merge_method: linear\nmodels:\n  - model: %s\nslices:\n  - sources:\n      - model: %s\n        layer_range: [0, 1]\n", m[1], m[2]), []string{"give one of them"}},
		{"bad dtype", ties(m[0], m[1], m[2]) + "dtype: float8\n", []string{"dtype", `"float8"`}},
		{"string parameter", ties(m[0], m[1], m[2]) + "parameters:\n  lambda: big\n", []string{"line", `"big" is not a number`}},
		{"tokenizer source without tokenizer", fmt.Sprintf("merge_method: linear\nbase_model: %s\nmodels:\n  - model: %s\n    parameters: {weight: 1}\ntokenizer_source: base\n", missing, m[1]), []string{"tokenizer_source", "not a model folder"}},
		{"zero-sum linear", fmt.Sprintf("merge_method: linear\nmodels:\n  - model: %s\n    parameters: {weight: 1}\n  - model: %s\n    parameters: {weight: -1}\n", m[1], m[2]), []string{"cannot normalize", "tensor"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out")
			cfg, err := ParseMergeKitConfig([]byte(c.yml), "test.yaml")
			if err == nil {
				_, err = MergeKit(context.Background(), cfg, out, MergeKitOptions{})
			}
			if err == nil || !errors.Is(err, ErrMergeInput) {
				t.Fatalf("got %v, want an ErrMergeInput", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			left, _ := filepath.Glob(filepath.Join(dir, "*out*"))
			if len(left) > 0 {
				t.Errorf("left behind %v", left)
			}
		})
	}
}

// Per-model densities reach the method as MergeInput.ModelParams, and the tensor's shape
// as MergeInput.Shape: the output equals TIES run by hand on the decoded tensors.
func TestMergeKitPerModelParams(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 2, tensor.SynthConfig{Hidden: 16, Intermediate: 24, Layers: 2, Vocab: 20, DType: tensor.F32, ShardBytes: 1 << 20, Seed: 4})
	c := parseMK(t, fmt.Sprintf(`
merge_method: ties
base_model: %s
models:
  - model: %s
    parameters: {weight: 1, density: 0.3}
  - model: %s
    parameters: {weight: 0.5, density: [0.9, 0.6]}
parameters: {lambda: 0.8}
`, m[0], m[1], m[2]))
	out := filepath.Join(dir, "out")
	if _, err := MergeKit(context.Background(), c, out, MergeKitOptions{}); err != nil {
		t.Fatal(err)
	}
	base, a, b := readCheckpoint(t, m[0]), readCheckpoint(t, m[1]), readCheckpoint(t, m[2])
	got := readCheckpoint(t, out)
	ties, _ := LookupMethod("ties")
	for name, g := range got {
		tt := 1.0 // post-layer tensors
		if l, ok := LayerIndex(name); ok {
			tt = float64(l)
		} else if isEmbedding(name) {
			tt = 0
		}
		in := MergeInput{
			Base:        valuesOf(t, base[name]),
			Models:      [][]float32{valuesOf(t, a[name]), valuesOf(t, b[name])},
			Weights:     []float64{1, 0.5},
			Params:      map[string]float64{"lambda": 0.8},
			ModelParams: map[string][]float64{"density": {0.3, 0.9 + (0.6-0.9)*tt}},
			Shape:       g.Shape,
			Seed:        tensorSeed(name),
		}
		want := make([]float32, len(in.Base))
		if err := ties.Merge(in, want); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(valuesOf(t, g), want) {
			t.Errorf("%s: differs from TIES with per-model densities %v", name, in.ModelParams["density"])
		}
	}
}

// A cancelled context stops the merge and leaves nothing.
func TestMergeKitCancelled(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 1, tensor.SynthConfig{})
	c := parseMK(t, fmt.Sprintf("merge_method: linear\nmodels:\n  - model: %s\n    parameters: {weight: 1}\n  - model: %s\n    parameters: {weight: 1}\n", m[0], m[1]))
	ctx, cancel := context.WithCancel(context.Background())
	out := filepath.Join(dir, "out")
	_, err := MergeKit(ctx, c, out, MergeKitOptions{Progress: func(done, total int, name string) {
		if done == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "after 3 of") {
		t.Fatalf("got %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*out*")); len(left) > 0 {
		t.Errorf("left %v", left)
	}
}

// A non-empty output directory is refused before any work; an empty one is replaced.
func TestMergeKitOutputDir(t *testing.T) {
	dir := t.TempDir()
	m := synthFamily(t, dir, 1, tensor.SynthConfig{})
	c := parseMK(t, fmt.Sprintf("merge_method: linear\nmodels:\n  - model: %s\n    parameters: {weight: 1}\n  - model: %s\n    parameters: {weight: 1}\n", m[0], m[1]))
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	if _, err := MergeKit(context.Background(), c, out, MergeKitOptions{}); err != nil {
		t.Fatalf("empty output dir: %v", err)
	}
	_, err := MergeKit(context.Background(), c, out, MergeKitOptions{})
	if !errors.Is(err, ErrMergeInput) || !errors.Is(err, tensor.ErrDirNotEmpty) {
		t.Errorf("second merge into the same dir: %v", err)
	}
	names, _ := os.ReadDir(out)
	if !slices.ContainsFunc(names, func(e os.DirEntry) bool { return e.Name() == "model.safetensors" }) {
		t.Errorf("the first merge's output was touched: %v", names)
	}
}

// BenchmarkMergeKitTIES merges three synthetic Llama-shaped BF16 fine-tunes (hidden 256,
// 4 layers: 4.6 MB each) with their base by TIES into a sharded checkpoint, fsync
// included; bytes/s counts the tensor bytes read.
func BenchmarkMergeKitTIES(b *testing.B) {
	dir := b.TempDir()
	c := tensor.SynthConfig{Hidden: 256, Intermediate: 688, Layers: 4, Vocab: 1000, DType: tensor.BF16, ShardBytes: 2 << 20, Seed: 1}
	var dirs []string
	for i := 0; i <= 3; i++ {
		d := filepath.Join(dir, fmt.Sprintf("m%d", i))
		if _, err := tensor.WriteSynth(d, c, i); err != nil {
			b.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	yml := fmt.Sprintf("merge_method: ties\nbase_model: %s\nmodels:\n", dirs[0])
	for _, d := range dirs[1:] {
		yml += fmt.Sprintf("  - model: %s\n    parameters: {weight: 1, density: 0.5}\n", d)
	}
	cfg, err := ParseMergeKitConfig([]byte(yml), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		res, err := MergeKit(context.Background(), cfg, out, MergeKitOptions{OutShardBytes: 4 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(res.InputBytes)
		os.RemoveAll(out)
	}
}
