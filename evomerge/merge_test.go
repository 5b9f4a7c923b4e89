package evomerge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/tensor"
)

// writeModel writes a safetensors file with one tensor per (name, dtype, shape) whose
// values are base + scale·noise, returning its path.
func writeModel(t testing.TB, dir, file string, meta map[string]string, seed uint64, scale float32, specs []tensor.Info) string {
	t.Helper()
	var tensors []*tensor.Tensor
	for k, s := range specs {
		base := rand.New(rand.NewPCG(99, uint64(k)))
		noise := rand.New(rand.NewPCG(seed, uint64(k)))
		v := make([]float32, tensor.NumElements(s.Shape))
		for i := range v {
			v[i] = float32(base.NormFloat64()) + scale*float32(noise.NormFloat64())
		}
		tensors = append(tensors, tensor.FromFloat32(s.Name, s.DType, s.Shape, v))
	}
	path := filepath.Join(dir, file)
	if err := tensor.WriteFile(path, meta, tensors); err != nil {
		t.Fatal(err)
	}
	return path
}

var testSpecs = []tensor.Info{
	{Name: "layer.0.weight", DType: tensor.F32, Shape: []int{8, 16}},
	{Name: "layer.0.bias", DType: tensor.BF16, Shape: []int{8}},
	{Name: "layer.1.weight", DType: tensor.F16, Shape: []int{4, 8}},
	{Name: "scalar", DType: tensor.F32, Shape: []int{}},
}

func readAll(t *testing.T, path string) (map[string]string, map[string]*tensor.Tensor) {
	t.Helper()
	f, err := tensor.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*tensor.Tensor{}
	for _, info := range f.Infos() {
		tt, err := f.Read(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[info.Name] = tt
	}
	return f.Metadata(), out
}

func TestMergeFilesEqualsPerTensorMerge(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		writeModel(t, dir, "base.safetensors", map[string]string{"format": "pt", "origin": "base"}, 1, 0, testSpecs),
		writeModel(t, dir, "ft1.safetensors", map[string]string{"origin": "ft1"}, 2, 0.1, testSpecs),
		writeModel(t, dir, "ft2.safetensors", nil, 3, 0.1, testSpecs),
	}
	for _, tc := range []struct {
		recipe    Recipe
		baseIndex int
	}{
		{Recipe{Method: "ties", Weights: []float64{0.7, 1, 0.5}, Params: map[string]float64{"density": 0.3}}, 0},
		{Recipe{Method: "task_arithmetic", Weights: []float64{0, 0.6, 0.4}, Params: map[string]float64{"lambda": 1.5}}, 0},
		{Recipe{Method: "linear", Weights: []float64{1, 2, 3}}, -1},
		{Recipe{Method: "linear", Weights: []float64{1, 2, 3}}, 1},
	} {
		r := tc.recipe
		dst := filepath.Join(dir, r.Method+".safetensors")
		var calls [][2]int
		if err := MergeFiles(r, paths, tc.baseIndex, dst, func(done, total int) { calls = append(calls, [2]int{done, total}) }); err != nil {
			t.Fatalf("%s: %v", r.Method, err)
		}
		if len(calls) != len(testSpecs) || calls[len(calls)-1] != [2]int{len(testSpecs), len(testSpecs)} {
			t.Errorf("%s: progress calls %v", r.Method, calls)
		}
		meta, got := readAll(t, dst)

		// Metadata: the base's (or the first model's) plus the recipe, defaults filled in.
		ref := max(tc.baseIndex, 0)
		wantMeta, _ := readAll(t, paths[ref])
		m, _ := LookupMethod(r.Method)
		full, _ := ResolveParams(m, r.Params)
		recipeJSON, _ := json.Marshal(Recipe{Method: r.Method, Weights: r.Weights, Params: full})
		sum := sha256.Sum256(recipeJSON)
		wantMeta[MetadataRecipeDigest] = hex.EncodeToString(sum[:])
		if !reflect.DeepEqual(meta, wantMeta) {
			t.Errorf("%s: metadata %v, want %v", r.Method, meta, wantMeta)
		}

		// Every tensor equals Merge on the decoded inputs, re-encoded in its dtype.
		var models []map[string]*tensor.Tensor
		for _, p := range paths {
			_, ts := readAll(t, p)
			models = append(models, ts)
		}
		for _, spec := range testSpecs {
			in := MergeInput{Params: r.Params}
			for i := range paths {
				v, err := models[i][spec.Name].Float32s()
				if err != nil {
					t.Fatal(err)
				}
				if m.NeedsBase() && i == tc.baseIndex {
					in.Base = v
					continue
				}
				in.Models = append(in.Models, v)
				in.Weights = append(in.Weights, r.Weights[i])
			}
			want := tensor.FromFloat32(spec.Name, spec.DType, spec.Shape, mergeWith(t, r.Method, in))
			g := got[spec.Name]
			if g == nil || g.DType != spec.DType || !slices.Equal(g.Shape, want.Shape) || !bytes.Equal(g.Data, want.Data) {
				t.Errorf("%s: tensor %s differs from the per-tensor merge", r.Method, spec.Name)
			}
		}

		// Same inputs, same bytes.
		again := filepath.Join(dir, "again.safetensors")
		if err := MergeFiles(r, paths, tc.baseIndex, again, nil); err != nil {
			t.Fatal(err)
		}
		b1, _ := os.ReadFile(dst)
		b2, _ := os.ReadFile(again)
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s: two merges of the same inputs differ", r.Method)
		}
	}
}

func TestMergeFilesTaskArithmeticByHand(t *testing.T) {
	// One F32 tensor: base [1, 2], ft [3, 6]; task_arithmetic w=0.5, λ=1 → [2, 4].
	dir := t.TempDir()
	write := func(name string, v []float32) string {
		p := filepath.Join(dir, name)
		if err := tensor.WriteFile(p, nil, []*tensor.Tensor{tensor.FromFloat32("w", tensor.F32, []int{2}, v)}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	paths := []string{write("base.safetensors", []float32{1, 2}), write("ft.safetensors", []float32{3, 6})}
	dst := filepath.Join(dir, "out.safetensors")
	// The base's weight (9) is ignored by a method that needs a base.
	if err := MergeFiles(Recipe{Method: "task_arithmetic", Weights: []float64{9, 0.5}}, paths, 0, dst, nil); err != nil {
		t.Fatal(err)
	}
	_, got := readAll(t, dst)
	v, _ := got["w"].Float32s()
	if !reflect.DeepEqual(v, []float32{2, 4}) {
		t.Fatalf("merged %v, want [2 4]", v)
	}
}

func TestMergeFilesShapeMismatch(t *testing.T) {
	dir := t.TempDir()
	bad := append([]tensor.Info(nil), testSpecs...)
	bad[2] = tensor.Info{Name: "layer.1.weight", DType: tensor.F16, Shape: []int{8, 4}}
	paths := []string{
		writeModel(t, dir, "base.safetensors", nil, 1, 0, testSpecs),
		writeModel(t, dir, "ft1.safetensors", nil, 2, 0.1, testSpecs),
		writeModel(t, dir, "broken.safetensors", nil, 3, 0.1, bad),
	}
	dst := filepath.Join(dir, "out.safetensors")
	err := MergeFiles(Recipe{Method: "ties", Weights: []float64{1, 1, 1}}, paths, 0, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "broken.safetensors") || !strings.Contains(err.Error(), `"layer.1.weight"`) {
		t.Fatalf("want an error naming broken.safetensors and layer.1.weight, got %v", err)
	}
	assertOnlyInputs(t, dir, 3)

	// A missing tensor and a dtype mismatch are named too.
	missing := writeModel(t, dir, "missing.safetensors", nil, 4, 0.1, testSpecs[:3])
	err = MergeFiles(Recipe{Method: "linear", Weights: []float64{1, 1}}, []string{paths[0], missing}, -1, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.safetensors") || !strings.Contains(err.Error(), `"scalar"`) {
		t.Fatalf("want an error naming missing.safetensors and scalar, got %v", err)
	}
	bad[2] = tensor.Info{Name: "layer.1.weight", DType: tensor.F32, Shape: []int{4, 8}}
	dtype := writeModel(t, dir, "dtype.safetensors", nil, 5, 0.1, bad)
	err = MergeFiles(Recipe{Method: "linear", Weights: []float64{1, 1}}, []string{paths[0], dtype}, -1, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "dtype.safetensors") || !strings.Contains(err.Error(), "dtype F32") {
		t.Fatalf("want a dtype error naming dtype.safetensors, got %v", err)
	}
	assertOnlyInputs(t, dir, 5)
}

// assertOnlyInputs checks that a failed merge left no output or temporary file in dir.
func assertOnlyInputs(t *testing.T, dir string, n int) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != n {
		t.Fatalf("directory holds %v, want only the %d inputs", names, n)
	}
}

func TestMergeFilesRecipeErrors(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		writeModel(t, dir, "a.safetensors", nil, 1, 0, testSpecs),
		writeModel(t, dir, "b.safetensors", nil, 2, 0.1, testSpecs),
	}
	dst := filepath.Join(dir, "out.safetensors")
	for _, c := range []struct {
		r    Recipe
		base int
		want string
	}{
		{Recipe{Method: "ties", Weights: []float64{1, 1}}, -1, "needs a base"},
		{Recipe{Method: "slurp", Weights: []float64{1, 1}}, 0, `unknown merge method "slurp"`},
		{Recipe{Method: "linear", Weights: []float64{1}}, 0, "1 weights for 2 models"},
		{Recipe{Method: "linear", Weights: []float64{1, 1}}, 2, "base index 2"},
		{Recipe{Method: "linear", Weights: []float64{1, -1}}, 0, "cannot normalize"},
		{Recipe{Method: "linear"}, -1, "no models"},
	} {
		p := paths
		if len(c.r.Weights) == 0 {
			p = nil
		}
		err := MergeFiles(c.r, p, c.base, dst, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.r, err, c.want)
		}
	}
	assertOnlyInputs(t, dir, 2)
}

func TestValidateRecipe(t *testing.T) {
	ok := Recipe{Method: "ties", Weights: []float64{0, 1, 1}, Params: map[string]float64{"density": 0.2}}
	if err := ValidateRecipe(ok, 3); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    Recipe
		want string
	}{
		{Recipe{Method: "nope", Weights: []float64{1}}, "unknown merge method"},
		{Recipe{Method: "linear", Weights: []float64{1, 1}}, "2 weights for 3 models"},
		{Recipe{Method: "linear", Weights: []float64{1, 1, math.Inf(1)}}, "weights[2]: +Inf is not finite"},
		{Recipe{Method: "ties", Weights: []float64{1, 1, 1}, Params: map[string]float64{"gamma": 1}}, `unknown parameter "gamma"`},
		{Recipe{Method: "ties", Weights: []float64{1, 1, 1}, Params: map[string]float64{"density": -0.1}}, "density = -0.1 is outside [0, 1]"},
		{Recipe{Method: "task_arithmetic", Weights: []float64{1, 1, 1}, Params: map[string]float64{"normalize": 0.3}}, "normalize = 0.3 must be 0 or 1"},
	} {
		err := ValidateRecipe(c.r, 3)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.r, err, c.want)
		}
	}
}

// BenchmarkMergeFiles merges three 8 MB F32 files (8 tensors of 256Ki elements) by TIES,
// fsync included; bytes/s and elements/s count the input read.
func BenchmarkMergeFiles(b *testing.B) {
	dir := b.TempDir()
	var specs []tensor.Info
	for i := 0; i < 8; i++ {
		specs = append(specs, tensor.Info{Name: "layer." + string(rune('a'+i)), DType: tensor.F32, Shape: []int{512, 512}})
	}
	paths := []string{
		writeModel(b, dir, "base.safetensors", nil, 1, 0, specs),
		writeModel(b, dir, "ft1.safetensors", nil, 2, 0.1, specs),
		writeModel(b, dir, "ft2.safetensors", nil, 3, 0.1, specs),
	}
	r := Recipe{Method: "ties", Weights: []float64{0, 1, 1}, Params: map[string]float64{"density": 0.5}}
	dst := filepath.Join(dir, "out.safetensors")
	b.SetBytes(3 * 8 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := MergeFiles(r, paths, 0, dst, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(3*8<<20/4)*float64(b.N)/b.Elapsed().Seconds(), "elements/s")
}

// Errors a different recipe would avoid are marked ErrRecipe (the run can skip that
// child); errors in the models are not.
func TestMergeErrorsMarkRecipeFaults(t *testing.T) {
	dir := t.TempDir()
	a := writeModel(t, dir, "a.safetensors", nil, 1, 0.1, testSpecs)
	b := writeModel(t, dir, "b.safetensors", nil, 2, 0.1, testSpecs)
	other := writeModel(t, dir, "other.safetensors", nil, 3, 0.1, testSpecs[:2])
	zero := Recipe{Method: "linear", Weights: []float64{0, 0}}
	if err := MergeFiles(zero, []string{a, b}, -1, filepath.Join(dir, "out.safetensors"), nil); !errors.Is(err, ErrRecipe) {
		t.Errorf("zero-sum linear: %v, want ErrRecipe", err)
	}
	if err := ValidateRecipe(Recipe{Method: "slerp2", Weights: []float64{1, 1}}, 2); !errors.Is(err, ErrRecipe) {
		t.Errorf("unknown method: %v, want ErrRecipe", err)
	}
	ok := Recipe{Method: "linear", Weights: []float64{1, 1}}
	if err := MergeFiles(ok, []string{a, other}, -1, filepath.Join(dir, "out.safetensors"), nil); err == nil || errors.Is(err, ErrRecipe) {
		t.Errorf("mismatched models: %v, want an error that is not ErrRecipe", err)
	}
}

// llamaSpecs is a small three-layer Llama-shaped model: embeddings, per layer an
// attention projection, an MLP projection and a norm, then the final norm and head.
var llamaSpecs = []tensor.Info{
	{Name: "model.embed_tokens.weight", DType: tensor.F32, Shape: []int{10, 4}},
	{Name: "model.layers.0.self_attn.q_proj.weight", DType: tensor.F32, Shape: []int{4, 4}},
	{Name: "model.layers.0.mlp.up_proj.weight", DType: tensor.BF16, Shape: []int{8, 4}},
	{Name: "model.layers.0.input_layernorm.weight", DType: tensor.F16, Shape: []int{4}},
	{Name: "model.layers.1.self_attn.q_proj.weight", DType: tensor.F32, Shape: []int{4, 4}},
	{Name: "model.layers.1.mlp.up_proj.weight", DType: tensor.BF16, Shape: []int{8, 4}},
	{Name: "model.layers.1.input_layernorm.weight", DType: tensor.F16, Shape: []int{4}},
	{Name: "model.layers.2.self_attn.q_proj.weight", DType: tensor.F32, Shape: []int{4, 4}},
	{Name: "model.layers.2.mlp.up_proj.weight", DType: tensor.BF16, Shape: []int{8, 4}},
	{Name: "model.layers.2.input_layernorm.weight", DType: tensor.F16, Shape: []int{4}},
	{Name: "model.norm.weight", DType: tensor.F32, Shape: []int{4}},
	{Name: "lm_head.weight", DType: tensor.F32, Shape: []int{10, 4}},
}

// A recipe without groups merges to the same bytes as before groups existed: the sha256
// below is of the file MergeFiles wrote at commit 4551f4b, before Recipe had Groups.
func TestMergeFilesWithoutGroupsUnchanged(t *testing.T) {
	dir := t.TempDir()
	paths := []string{
		writeModel(t, dir, "base.safetensors", map[string]string{"format": "pt"}, 1, 0, llamaSpecs),
		writeModel(t, dir, "a.safetensors", nil, 2, 0.1, llamaSpecs),
		writeModel(t, dir, "b.safetensors", nil, 3, 0.1, llamaSpecs),
	}
	for _, c := range []struct {
		r    Recipe
		base int
		want string
	}{
		{Recipe{Method: "linear", Weights: []float64{0.2, 0.5, 0.3}}, -1, "17c839b9fee98902a28d9fdc4a108cde7cb0d045620562a557aa68158439b6a0"},
		{Recipe{Method: "ties", Weights: []float64{0, 1, 0.5}, Params: map[string]float64{"density": 0.4}}, 0, "4ef67dc090362fc4b708a89e3d5ae586f556535f865a632b4ae76919257f0b21"},
	} {
		dst := filepath.Join(dir, c.r.Method+".safetensors")
		if err := MergeFiles(c.r, paths, c.base, dst, nil); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != c.want {
			t.Errorf("%s: merged file sha256 %s, want %s (as before groups)", c.r.Method, got, c.want)
		}
	}
}

// Recipe JSON without groups is what it was before groups existed (memo keys hash it).
func TestRecipeJSONWithoutGroups(t *testing.T) {
	for r, want := range map[*Recipe]string{
		{Method: "linear", Weights: []float64{1, 0.5}}:                                         `{"method":"linear","weights":[1,0.5]}`,
		{Method: "ties", Weights: []float64{0, 1}, Params: map[string]float64{"density": 0.3}}: `{"method":"ties","weights":[0,1],"params":{"density":0.3}}`,
		{Method: "linear", Weights: []float64{1}, Groups: []GroupParams{}}:                     `{"method":"linear","weights":[1]}`,
	} {
		b, err := json.Marshal(*r)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%+v: JSON %s, want %s", *r, b, want)
		}
	}
	g := Recipe{Method: "linear", Weights: []float64{1, 1}, Groups: []GroupParams{{Weights: []float64{1, 0}}, {Weights: []float64{0, 1}, Params: map[string]float64{"normalize": 0}}}}
	b, _ := json.Marshal(g)
	if want := `{"method":"linear","weights":[1,1],"groups":[{"weights":[1,0]},{"weights":[0,1],"params":{"normalize":0}}]}`; string(b) != want {
		t.Errorf("grouped recipe JSON %s, want %s", b, want)
	}
	var back Recipe
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("grouped recipe round trip: %+v, %v", back, err)
	}
}

// Per-group weights [1, 0] and [0, 1] over two groups of a three-layer model: layers 0 and
// 1 and the embeddings are exactly model A's, layer 2, the final norm and the head
// exactly model B's, in every dtype.
func TestMergeFilesPerGroupWeights(t *testing.T) {
	dir := t.TempDir()
	a := writeModel(t, dir, "a.safetensors", map[string]string{"origin": "a"}, 2, 0.5, llamaSpecs)
	b := writeModel(t, dir, "b.safetensors", nil, 3, 0.5, llamaSpecs)
	_, ta := readAll(t, a)
	_, tb := readAll(t, b)
	r := Recipe{Method: "linear", Groups: []GroupParams{{Weights: []float64{1, 0}}, {Weights: []float64{0, 1}}}}
	dst := filepath.Join(dir, "out.safetensors")
	if err := MergeFiles(r, []string{a, b}, -1, dst, nil); err != nil {
		t.Fatal(err)
	}
	meta, got := readAll(t, dst)
	fromB := map[string]bool{
		"model.layers.2.self_attn.q_proj.weight": true,
		"model.layers.2.mlp.up_proj.weight":      true,
		"model.layers.2.input_layernorm.weight":  true,
		"model.norm.weight":                      true,
		"lm_head.weight":                         true,
	}
	for _, s := range llamaSpecs {
		want, other := ta[s.Name], tb[s.Name]
		if fromB[s.Name] {
			want, other = other, want
		}
		if bytes.Equal(want.Data, other.Data) {
			t.Fatalf("%s: the two models have the same bytes; the test cannot tell them apart", s.Name)
		}
		g := got[s.Name]
		if g == nil || g.DType != s.DType || !bytes.Equal(g.Data, want.Data) {
			t.Errorf("%s: merged tensor is not the expected model's", s.Name)
		}
	}
	if meta["origin"] != "a" {
		t.Errorf("metadata %v, want paths[0]'s", meta)
	}
	// The digest covers the groups, parameters resolved.
	canon := Recipe{Method: "linear", Params: map[string]float64{"normalize": 1}, Groups: []GroupParams{
		{Weights: []float64{1, 0}, Params: map[string]float64{"normalize": 1}},
		{Weights: []float64{0, 1}, Params: map[string]float64{"normalize": 1}},
	}}
	js, _ := json.Marshal(canon)
	sum := sha256.Sum256(js)
	if meta[MetadataRecipeDigest] != hex.EncodeToString(sum[:]) {
		t.Errorf("recipe digest %s, want sha256 of %s", meta[MetadataRecipeDigest], js)
	}

	// Groups all equal to the recipe-wide weights merge the same tensors as no groups.
	w := []float64{0.3, 0.7}
	plain := filepath.Join(dir, "plain.safetensors")
	grouped := filepath.Join(dir, "grouped.safetensors")
	if err := MergeFiles(Recipe{Method: "linear", Weights: w}, []string{a, b}, -1, plain, nil); err != nil {
		t.Fatal(err)
	}
	if err := MergeFiles(Recipe{Method: "linear", Weights: w, Groups: []GroupParams{{Weights: w}, {Weights: w}, {Weights: w}}}, []string{a, b}, -1, grouped, nil); err != nil {
		t.Fatal(err)
	}
	_, tp := readAll(t, plain)
	_, tg := readAll(t, grouped)
	for _, s := range llamaSpecs {
		if !bytes.Equal(tp[s.Name].Data, tg[s.Name].Data) {
			t.Errorf("%s: equal groups merge differently from no groups", s.Name)
		}
	}
}

// With split_kinds each layer group has attention, MLP and other entries; a task
// arithmetic merge with a base picks the group's parameters (here λ 0 keeps the base).
func TestMergeFilesSplitKinds(t *testing.T) {
	dir := t.TempDir()
	base := writeModel(t, dir, "base.safetensors", nil, 1, 0, llamaSpecs)
	ft := writeModel(t, dir, "ft.safetensors", nil, 2, 0.5, llamaSpecs)
	_, tbase := readAll(t, base)
	_, tft := readAll(t, ft)
	keep := GroupParams{Weights: []float64{0, 1}, Params: map[string]float64{"lambda": 0}}
	take := GroupParams{Weights: []float64{0, 1}}
	// One layer group; only MLP tensors take the fine-tune.
	r := Recipe{Method: "task_arithmetic", SplitKinds: true, Groups: []GroupParams{keep, take, keep}}
	dst := filepath.Join(dir, "out.safetensors")
	if err := MergeFiles(r, []string{base, ft}, 0, dst, nil); err != nil {
		t.Fatal(err)
	}
	_, got := readAll(t, dst)
	for _, s := range llamaSpecs {
		want := tbase[s.Name]
		if strings.Contains(s.Name, ".mlp.") {
			want = tft[s.Name]
		}
		if !bytes.Equal(got[s.Name].Data, want.Data) {
			t.Errorf("%s (kind %s): merged tensor is not the expected model's", s.Name, KindOf(s.Name))
		}
	}
}

func TestValidateRecipeGroups(t *testing.T) {
	g := func(w ...float64) GroupParams { return GroupParams{Weights: w} }
	ok := []Recipe{
		{Method: "linear", Groups: []GroupParams{g(1, 0)}},
		{Method: "linear", Weights: []float64{1, 1}, Groups: []GroupParams{g(1, 0), g(0, 1)}},
		{Method: "ties", SplitKinds: true, Groups: []GroupParams{g(0, 1), g(0, 1), {Weights: []float64{0, 1}, Params: map[string]float64{"density": 0.1}}}},
	}
	for _, r := range ok {
		if err := ValidateRecipe(r, 2); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
	for _, c := range []struct {
		r    Recipe
		want string
	}{
		{Recipe{Method: "linear", Groups: []GroupParams{g(1, 0), g(1)}}, "recipe groups[1] weights: 1 weights for 2 models"},
		{Recipe{Method: "linear", Groups: []GroupParams{g(1, 0), g(0, 1), g(1, math.NaN())}}, "recipe groups[2] weights[1]: NaN is not finite"},
		{Recipe{Method: "ties", Groups: []GroupParams{g(0, 1), {Weights: []float64{0, 1}, Params: map[string]float64{"density": 2}}}}, "recipe groups[1] params: merge method ties: parameter density = 2 is outside [0, 1]"},
		{Recipe{Method: "linear", Groups: []GroupParams{{Weights: []float64{1, 1}, Params: map[string]float64{"lambda": 1}}}}, `recipe groups[0] params: merge method linear: unknown parameter "lambda"`},
		{Recipe{Method: "linear", Groups: []GroupParams{{Weights: []float64{1, 1}, Params: map[string]float64{"normalize": 0.5}}}}, "recipe groups[0] params: merge method linear: parameter normalize = 0.5 must be 0 or 1"},
		{Recipe{Method: "linear", Weights: []float64{1}, Groups: []GroupParams{g(1, 0)}}, "recipe weights: 1 weights for 2 models"},
		{Recipe{Method: "linear", SplitKinds: true, Groups: []GroupParams{g(1, 0), g(0, 1)}}, "2 groups with split_kinds, want a multiple of 3"},
		{Recipe{Method: "linear", SplitKinds: true, Weights: []float64{1, 1}}, "split_kinds: set, but the recipe has no groups"},
		{Recipe{Method: "slurp", Groups: []GroupParams{g(1, 0)}}, `unknown merge method "slurp"`},
	} {
		err := ValidateRecipe(c.r, 2)
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrRecipe) {
			t.Errorf("%+v: got %v, want an ErrRecipe containing %q", c.r, err, c.want)
		}
	}
	// A group whose linear weights cannot be normalized fails the merge, naming the group.
	dir := t.TempDir()
	a := writeModel(t, dir, "a.safetensors", nil, 1, 0.1, llamaSpecs)
	b := writeModel(t, dir, "b.safetensors", nil, 2, 0.1, llamaSpecs)
	err := MergeFiles(Recipe{Method: "linear", Groups: []GroupParams{g(1, 0), g(1, -1)}}, []string{a, b}, -1, filepath.Join(dir, "out.safetensors"), nil)
	if err == nil || !strings.Contains(err.Error(), "group 1") || !strings.Contains(err.Error(), "cannot normalize") || !errors.Is(err, ErrRecipe) {
		t.Errorf("zero-sum group: got %v, want an ErrRecipe naming group 1", err)
	}
	assertOnlyInputs(t, dir, 2)
}
