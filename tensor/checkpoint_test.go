package tensor

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// shardTensors are six tensors of 16, 16, 16, 40, 4 and 4 bytes (names in sorted order).
func shardTensors() []*Tensor {
	return []*Tensor{
		FromFloat32("a", F32, []int{4}, []float32{1, 2, 3, 4}),
		FromFloat32("b", F32, []int{2, 2}, []float32{-1, -2, -3, -4}),
		FromFloat32("c", BF16, []int{8}, []float32{1, 2, 3, 4, 5, 6, 7, 8}),
		{Name: "d", DType: U8, Shape: []int{40}, Data: bytes.Repeat([]byte{0xAB}, 40)},
		{Name: "e", DType: I8, Shape: []int{4}, Data: []byte{0xFF, 0x80, 0x7F, 0}},
		FromFloat32("f", F16, []int{2}, []float32{0.5, -0.5}),
	}
}

func dirNames(t *testing.T, dir string) []string {
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

func mustOpenCheckpoint(t *testing.T, path string) *Checkpoint {
	t.Helper()
	c, err := OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func checkCheckpointContents(t *testing.T, c *Checkpoint, meta map[string]string, want []*Tensor) {
	t.Helper()
	if got := c.Metadata(); !reflect.DeepEqual(got, meta) {
		t.Errorf("Metadata() = %v, want %v", got, meta)
	}
	var names []string
	for _, info := range c.Infos() {
		names = append(names, info.Name)
	}
	var wantNames []string
	for _, x := range want {
		wantNames = append(wantNames, x.Name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("Infos() names = %q, want %q", names, wantNames)
	}
	for _, x := range want {
		got, err := c.Read(x.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != x.DType || !slices.Equal(got.Shape, x.Shape) || !bytes.Equal(got.Data, x.Data) {
			t.Errorf("Read(%q) = %s %v % x, want %s %v % x", x.Name, got.DType, got.Shape, got.Data, x.DType, x.Shape, x.Data)
		}
	}
}

func TestWriteShardedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	meta := map[string]string{"format": "pt", "merge_method": "ties"}
	in := shardTensors()
	// Greedy packing at 32 bytes: [a b] [c] [d, alone since 40 > 32] [e f].
	if err := WriteSharded(dir, meta, in, 32); err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors",
		"model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors",
		"model.safetensors.index.json",
	}
	if got := dirNames(t, dir); !slices.Equal(got, wantFiles) {
		t.Fatalf("files = %q, want %q", got, wantFiles)
	}
	index, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantIndex := `{
  "metadata": {
    "total_size": 96
  },
  "weight_map": {
    "a": "model-00001-of-00004.safetensors",
    "b": "model-00001-of-00004.safetensors",
    "c": "model-00002-of-00004.safetensors",
    "d": "model-00003-of-00004.safetensors",
    "e": "model-00004-of-00004.safetensors",
    "f": "model-00004-of-00004.safetensors"
  }
}
`
	if string(index) != wantIndex {
		t.Errorf("index =\n%s\nwant\n%s", index, wantIndex)
	}
	// Each shard is a valid file on its own, carrying the metadata.
	shard := mustOpen(t, filepath.Join(dir, "model-00004-of-00004.safetensors"))
	if got := shard.Infos(); len(got) != 2 || got[0].Name != "e" || got[1].Name != "f" {
		t.Errorf("shard 4 holds %+v, want e and f", got)
	}
	if !reflect.DeepEqual(shard.Metadata(), meta) {
		t.Errorf("shard metadata = %v", shard.Metadata())
	}

	c := mustOpenCheckpoint(t, dir)
	checkCheckpointContents(t, c, meta, in)
	if info := c.Infos()[3]; info.Name != "d" || info.Begin != 0 || info.End != 40 {
		t.Errorf("Info d = %+v, want offsets relative to its shard [0, 40]", info)
	}
	if _, err := c.Read("zzz"); err == nil || !strings.Contains(err.Error(), `"zzz"`) {
		t.Errorf("Read(missing) = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteShardedDeterministic(t *testing.T) {
	d1, d2 := t.TempDir(), t.TempDir()
	in := shardTensors()
	rev := slices.Clone(in)
	slices.Reverse(rev)
	if err := WriteSharded(d1, map[string]string{"k": "v"}, in, 32); err != nil {
		t.Fatal(err)
	}
	if err := WriteSharded(d2, map[string]string{"k": "v"}, rev, 32); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, d1)
	if !slices.Equal(names, dirNames(t, d2)) {
		t.Fatalf("file sets differ: %q vs %q", names, dirNames(t, d2))
	}
	for _, n := range names {
		b1, _ := os.ReadFile(filepath.Join(d1, n))
		b2, _ := os.ReadFile(filepath.Join(d2, n))
		if !bytes.Equal(b1, b2) {
			t.Errorf("%s differs between runs", n)
		}
	}
}

func TestWriteShardedSingleAndStaleFiles(t *testing.T) {
	dir := t.TempDir()
	in := shardTensors()
	meta := map[string]string{"format": "pt"}
	if err := WriteSharded(dir, meta, in, 32); err != nil {
		t.Fatal(err)
	}
	// Everything fits in one shard: model.safetensors, and the old sharded files go.
	if err := WriteSharded(dir, meta, in, 1<<20); err != nil {
		t.Fatal(err)
	}
	if got := dirNames(t, dir); !slices.Equal(got, []string{"model.safetensors"}) {
		t.Fatalf("files = %q, want only model.safetensors", got)
	}
	checkCheckpointContents(t, mustOpenCheckpoint(t, dir), meta, in)
	single, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var encoded bytes.Buffer
	if err := Encode(&encoded, meta, in); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(single, encoded.Bytes()) {
		t.Error("single-shard model.safetensors differs from Encode output")
	}

	// Back to four shards, then to two: the four-shard names must not linger.
	if err := WriteSharded(dir, meta, in, 32); err != nil {
		t.Fatal(err)
	}
	if err := WriteSharded(dir, meta, in, 48); err != nil { // [a b c] [d e f]
		t.Fatal(err)
	}
	want := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	checkCheckpointContents(t, mustOpenCheckpoint(t, dir), meta, in)

	// OpenCheckpoint also takes a file path.
	file := filepath.Join(t.TempDir(), "x.safetensors")
	if err := WriteFile(file, nil, in[:2]); err != nil {
		t.Fatal(err)
	}
	checkCheckpointContents(t, mustOpenCheckpoint(t, file), map[string]string{}, in[:2])
}

func TestWriteShardedValidatesFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	in := append(shardTensors(), &Tensor{Name: "zz", DType: F32, Shape: []int{3}, Data: make([]byte, 4)})
	err := WriteSharded(dir, nil, in, 32)
	if err == nil || !strings.Contains(err.Error(), `tensor "zz": 4 bytes of data`) {
		t.Fatalf("WriteSharded = %v, want a data length error for zz", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteSharded created %s before failing validation", dir)
	}
	if err := WriteSharded(dir, nil, shardTensors(), 0); err == nil {
		t.Error("WriteSharded with maxShardBytes 0 succeeded")
	}
}

// shardFixture writes s1 = {a, b}, s2 = {c} and s3 = {a, z} (metadata as given) into a
// fresh directory, for hand-written indexes.
func shardFixture(t *testing.T, meta1, meta2 map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	a := FromFloat32("a", F32, []int{1}, []float32{1})
	b := FromFloat32("b", F32, []int{1}, []float32{2})
	c := FromFloat32("c", F32, []int{1}, []float32{3})
	z := FromFloat32("z", F32, []int{1}, []float32{4})
	for name, ts := range map[string][]*Tensor{"s1.safetensors": {a, b}, "s2.safetensors": {c}, "s3.safetensors": {a, z}} {
		meta := meta1
		if name == "s2.safetensors" {
			meta = meta2
		}
		if err := WriteFile(filepath.Join(dir, name), meta, ts); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestOpenCheckpointHandWrittenIndex(t *testing.T) {
	dir := shardFixture(t, map[string]string{"format": "pt"}, map[string]string{"format": "pt", "extra": "x"})
	index := filepath.Join(dir, "model.safetensors.index.json")
	if err := os.WriteFile(index, []byte(`{"metadata": {"total_size": 12, "note": "hand"}, "other": [1],
		"weight_map": {"c": "s2.safetensors", "a": "s1.safetensors", "b": "s1.safetensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustOpenCheckpoint(t, dir)
	// Index string metadata and every shard's __metadata__, but not the numeric total_size.
	if got, want := c.Metadata(), map[string]string{"format": "pt", "extra": "x", "note": "hand"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Metadata() = %v, want %v", got, want)
	}
	x, err := c.Read("c")
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := x.Float32s(); !slices.Equal(v, []float32{3}) {
		t.Errorf("c = %v, want [3]", v)
	}
}

func TestOpenCheckpointMissingShard(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "model-00001-of-00002.safetensors"), nil, []*Tensor{FromFloat32("a", F32, []int{1}, []float32{1})}); err != nil {
		t.Fatal(err)
	}
	index := filepath.Join(dir, "model.safetensors.index.json")
	content := `{"metadata": {"total_size": 8}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}`
	if err := os.WriteFile(index, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenCheckpoint(dir)
	if err == nil {
		t.Fatal("OpenCheckpoint succeeded with a missing shard")
	}
	for _, want := range []string{index, `weight_map references missing shard "model-00002-of-00002.safetensors" (for tensor "b")`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
}

func TestOpenCheckpointBadIndex(t *testing.T) {
	same := map[string]string{"format": "pt"}
	cases := []struct {
		name  string
		meta2 map[string]string
		index string
		want  string
	}{
		{"invalid JSON", same, `{"weight_map": {"a": `, "not valid JSON"},
		{"not an object", same, `["s1.safetensors"]`, "not a JSON object"},
		{"no weight_map", same, `{"metadata": {}}`, `missing "weight_map"`},
		{"empty weight_map", same, `{"weight_map": {}}`, `"weight_map" is empty`},
		{"shard not a string", same, `{"weight_map": {"a": 1}}`, `weight_map: tensor "a" maps to 1, not a file name`},
		{"path traversal", same, `{"weight_map": {"a": "../s1.safetensors"}}`, `maps to "../s1.safetensors", which is not a file name`},
		{"duplicate tensor key", same, `{"weight_map": {"a": "s1.safetensors", "a": "s1.safetensors", "b": "s1.safetensors"}}`, `weight_map: duplicate key "a"`},
		{"listed but not in shard", same, `{"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors", "x": "s2.safetensors"}}`,
			`weight_map lists tensor "x" in s2.safetensors, but that shard does not contain it`},
		{"listed in the wrong shard", same, `{"weight_map": {"a": "s2.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}`,
			`weight_map lists tensor "a" in s2.safetensors, but it is in s1.safetensors`},
		{"in shard but not listed", same, `{"weight_map": {"a": "s1.safetensors", "c": "s2.safetensors"}}`,
			`shard s1.safetensors holds tensor "b", which weight_map does not list`},
		{"tensor in two shards", same, `{"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "z": "s3.safetensors"}}`,
			`tensor "a" is in two shards, s1.safetensors and s3.safetensors`},
		{"metadata conflict", map[string]string{"format": "tf"}, `{"weight_map": {"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}}`,
			`metadata "format" is "pt" in s1.safetensors but "tf" in s2.safetensors`},
		{"index metadata conflict", same, `{"metadata": {"format": "flax"}, "weight_map": {"a": "s1.safetensors", "b": "s1.safetensors"}}`,
			`metadata "format" is "flax" in model.safetensors.index.json but "pt" in s1.safetensors`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := shardFixture(t, same, c.meta2)
			index := filepath.Join(dir, "model.safetensors.index.json")
			if err := os.WriteFile(index, []byte(c.index), 0o644); err != nil {
				t.Fatal(err)
			}
			ck, err := OpenCheckpoint(dir)
			if err == nil {
				ck.Close()
				t.Fatalf("OpenCheckpoint succeeded, want error mentioning %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), "safetensors: "+index+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should name %s and mention %q", err, index, c.want)
			}
		})
	}
}

func TestOpenCheckpointAmbiguousOrEmpty(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "neither model.safetensors nor model.safetensors.index.json") {
		t.Errorf("OpenCheckpoint(empty dir) = %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "model.safetensors"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(dir); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("OpenCheckpoint(both) = %v", err)
	}
	if _, err := OpenCheckpoint(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenCheckpoint(missing) = %v, want fs.ErrNotExist", err)
	}
	// A corrupt shard reports the shard's own problem.
	sharded := t.TempDir()
	if err := os.WriteFile(filepath.Join(sharded, "s1.safetensors"), []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sharded, "model.safetensors.index.json"), []byte(`{"weight_map":{"a":"s1.safetensors"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint(sharded); err == nil || !strings.Contains(err.Error(), filepath.Join(sharded, "s1.safetensors")+": file is 3 bytes") {
		t.Errorf("OpenCheckpoint(corrupt shard) = %v", err)
	}
}
