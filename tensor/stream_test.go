package tensor

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func randomTensor(name string, dt DType, shape []int, seed uint64) *Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, NumElements(shape))
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return FromFloat32(name, dt, shape, v)
}

// ReadFloat32 decodes what Read + Float32s decode, through the map (large tensors) and
// through ReadAt (small ones), for every dtype.
func TestReadFloat32MatchesRead(t *testing.T) {
	for _, window := range []int{16 << 20, 64 << 10, 4096 + 6} { // one window, several, odd sizes
		t.Run(fmt.Sprint(window), func(t *testing.T) {
			old := mapWindowBytes
			mapWindowBytes = window
			defer func() { mapWindowBytes = old }()
			testReadFloat32MatchesRead(t)
		})
	}
}

func testReadFloat32MatchesRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	tensors := []*Tensor{
		randomTensor("big.f32", F32, []int{300, 300}, 1),
		randomTensor("big.bf16", BF16, []int{512, 300}, 2),
		randomTensor("big.f16", F16, []int{512, 300}, 3),
		randomTensor("small.bf16", BF16, []int{3, 5}, 4),
		{Name: "i8", DType: I8, Shape: []int{4}, Data: []byte{0xff, 1, 2, 0x80}},
		{Name: "empty", DType: F32, Shape: []int{0, 3}, Data: []byte{}},
	}
	if err := WriteFile(path, nil, tensors); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, want := range tensors {
		w, _ := want.Float32s()
		got := make([]float32, len(w))
		if err := f.ReadFloat32(want.Name, got); err != nil {
			t.Fatalf("%s: %v", want.Name, err)
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: ReadFloat32 differs from Float32s", want.Name)
		}
	}
	if err := f.ReadFloat32("big.f32", make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "90000 elements, the buffer 3") {
		t.Errorf("short buffer: %v", err)
	}
	if err := f.ReadFloat32("nope", nil); err == nil || !strings.Contains(err.Error(), `no tensor "nope"`) {
		t.Errorf("missing tensor: %v", err)
	}
}

// A file truncated after Open fails ReadFloat32 with an error naming file and tensor, on
// both read paths, and never crashes the process.
func TestReadFloat32TruncatedAfterOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := WriteFile(path, nil, []*Tensor{randomTensor("a", F32, []int{256, 512}, 1), randomTensor("b", F32, []int{4}, 2)}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(path, 1000); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		n := 4
		if name == "a" {
			n = 256 * 512
		}
		err := f.ReadFloat32(name, make([]float32, n))
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), fmt.Sprintf("tensor %q", name)) {
			t.Errorf("%s: %v, want an error naming the file and tensor", name, err)
		}
	}
}

// WriteFloat32 writes the bytes Write(FromFloat32(...)) writes.
func TestWriterWriteFloat32SameBytes(t *testing.T) {
	tensors := []*Tensor{
		randomTensor("a", BF16, []int{700, 800}, 1),
		randomTensor("b", F16, []int{9}, 2),
		randomTensor("c", F32, []int{2, 3}, 3),
	}
	var infos []Info
	for _, tt := range tensors {
		infos = append(infos, Info{Name: tt.Name, DType: tt.DType, Shape: tt.Shape})
	}
	var want, got bytes.Buffer
	w1, _ := NewWriter(&want, map[string]string{"k": "v"}, infos)
	w2, _ := NewWriter(&got, map[string]string{"k": "v"}, infos)
	for _, tt := range tensors {
		if err := w1.Write(tt); err != nil {
			t.Fatal(err)
		}
		v, _ := tt.Float32s()
		if err := w2.WriteFloat32(tt.Name, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want.Bytes(), got.Bytes()) {
		t.Error("WriteFloat32 bytes differ from Write")
	}
	w3, _ := NewWriter(&got, nil, infos)
	if err := w3.WriteFloat32("b", nil); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("out of order: %v", err)
	}
	w4, _ := NewWriter(&got, nil, infos)
	if err := w4.WriteFloat32("a", make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "3 values") {
		t.Errorf("wrong length: %v", err)
	}
}

// The sharded writer's checkpoint opens with OpenCheckpoint and holds the tensors; it
// has the same files and index as WriteSharded for tensors given in name order.
func TestShardedWriterRoundTrip(t *testing.T) {
	var tensors []*Tensor
	for i := 0; i < 7; i++ {
		tensors = append(tensors, randomTensor(fmt.Sprintf("t%d", i), BF16, []int{10, 10 + i}, uint64(i)))
	}
	var infos []Info
	for _, tt := range tensors {
		infos = append(infos, Info{Name: tt.Name, DType: tt.DType, Shape: tt.Shape})
	}
	for _, shard := range []int64{1 << 20, 600, 1} {
		dir := filepath.Join(t.TempDir(), "out")
		os.Mkdir(dir, 0o755)
		w, err := NewShardedWriter(dir, map[string]string{"format": "pt"}, infos, shard)
		if err != nil {
			t.Fatal(err)
		}
		for i, tt := range tensors {
			if i%2 == 0 {
				err = w.Write(tt)
			} else {
				v, _ := tt.Float32s()
				err = w.WriteFloat32(tt.Name, v)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		ref := filepath.Join(t.TempDir(), "ref")
		if err := WriteSharded(ref, map[string]string{"format": "pt"}, tensors, shard); err != nil {
			t.Fatal(err)
		}
		for _, name := range listDir(t, ref) {
			a, _ := os.ReadFile(filepath.Join(ref, name))
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("shard size %d: %s differs from WriteSharded's (%v)", shard, name, err)
			}
		}
		if got, want := listDir(t, dir), listDir(t, ref); !slices.Equal(got, want) {
			t.Errorf("shard size %d: files %v, want %v", shard, got, want)
		}
		c, err := OpenCheckpoint(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tensors {
			v := make([]float32, tt.NumElements())
			want, _ := tt.Float32s()
			if err := c.ReadFloat32(tt.Name, v); err != nil || !slices.Equal(v, want) {
				t.Errorf("%s: %v", tt.Name, err)
			}
		}
		c.Close()
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestShardedWriterIncompleteAndAbort(t *testing.T) {
	dir := t.TempDir()
	infos := []Info{{Name: "a", DType: F32, Shape: []int{4}}, {Name: "b", DType: F32, Shape: []int{4}}}
	w, err := NewShardedWriter(dir, nil, infos, 16)
	if err != nil {
		t.Fatal(err)
	}
	if w.Shards() != 2 {
		t.Fatalf("%d shards, want 2", w.Shards())
	}
	if err := w.WriteFloat32("a", make([]float32, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil || !strings.Contains(err.Error(), "Close after 1 of 2 tensors") {
		t.Errorf("early Close: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("Abort left %v", names)
	}
	if _, err := NewShardedWriter(dir, nil, infos, 0); err == nil {
		t.Error("shard size 0 accepted")
	}
}

func TestCreateDirAtomic(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	boom := errors.New("boom")
	err := CreateDirAtomic(dir, func(tmp string) error {
		os.WriteFile(filepath.Join(tmp, "x"), []byte("1"), 0o644)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if names := listDir(t, parent); len(names) != 0 {
		t.Fatalf("a failed fill left %v", names)
	}
	if err := CreateDirAtomic(dir, func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "x"), []byte("1"), 0o644) }); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "x")); err != nil || string(b) != "1" {
		t.Fatalf("%q %v", b, err)
	}
	called := false
	err = CreateDirAtomic(dir, func(string) error { called = true; return nil })
	if !errors.Is(err, ErrDirNotEmpty) || called {
		t.Errorf("non-empty target: %v (fill called: %v)", err, called)
	}
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if err := CreateDirAtomic(empty, func(tmp string) error { return os.WriteFile(filepath.Join(tmp, "y"), nil, 0o644) }); err != nil {
		t.Errorf("empty target: %v", err)
	}
}

// Synthetic checkpoints: Llama names and shapes, deterministic in the seed and
// independent of the shard size, fine-tunes are the base plus a low-rank task vector.
func TestWriteSynth(t *testing.T) {
	c := SynthConfig{Hidden: 32, Intermediate: 48, Layers: 2, Vocab: 50, DType: BF16, ShardBytes: 8 << 10, Seed: 5}
	root := t.TempDir()
	base, ft := filepath.Join(root, "base"), filepath.Join(root, "ft")
	if _, err := WriteSynth(base, c, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSynth(ft, c, 1); err != nil {
		t.Fatal(err)
	}
	names := listDir(t, base)
	for _, want := range []string{"config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors.index.json", "model-00001-of-"} {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, want) }) {
			t.Errorf("base has %v, no %s", names, want)
		}
	}
	cb, err := OpenCheckpoint(base)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	cf, err := OpenCheckpoint(ft)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.Close()
	infos, _ := SynthTensors(c)
	if len(cb.Infos()) != len(infos) || len(infos) != 3+9*2 {
		t.Fatalf("%d tensors, want %d", len(cb.Infos()), len(infos))
	}
	q, _ := cb.Info("model.layers.1.self_attn.q_proj.weight")
	down, _ := cb.Info("model.layers.0.mlp.down_proj.weight")
	if !slices.Equal(q.Shape, []int{32, 32}) || !slices.Equal(down.Shape, []int{32, 48}) || q.DType != BF16 {
		t.Errorf("shapes %v %v", q, down)
	}
	// The task vector is small against the base (Delta 0.1: about 1% of its energy).
	name := "model.layers.0.mlp.up_proj.weight"
	info, _ := cb.Info(name)
	vb := make([]float32, NumElements(info.Shape))
	vf := make([]float32, len(vb))
	cb.ReadFloat32(name, vb)
	cf.ReadFloat32(name, vf)
	var d2, b2 float64
	for i := range vb {
		d := float64(vf[i] - vb[i])
		d2 += d * d
		b2 += float64(vb[i]) * float64(vb[i])
	}
	if ratio := d2 / b2; ratio < 0.001 || ratio > 0.1 {
		t.Errorf("task vector energy / base energy = %g, want about 0.01", ratio)
	}
	// Same seed, other shard size: same tensors.
	again := filepath.Join(root, "again")
	c2 := c
	c2.ShardBytes = 1 << 30
	if _, err := WriteSynth(again, c2, 1); err != nil {
		t.Fatal(err)
	}
	ca, err := OpenCheckpoint(again)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	for _, info := range infos {
		x, _ := cf.Read(info.Name)
		y, _ := ca.Read(info.Name)
		if !bytes.Equal(x.Data, y.Data) {
			t.Errorf("%s differs with another shard size", info.Name)
		}
	}
	if _, err := WriteSynth(filepath.Join(root, "bad"), SynthConfig{Hidden: 30, Intermediate: 1, Layers: 1, Vocab: 1, Heads: 4, DType: BF16, ShardBytes: 1}, 0); err == nil {
		t.Error("heads not dividing hidden accepted")
	}
}
