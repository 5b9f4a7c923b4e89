package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/tensor"
)

// synth then merge, as a user would: a TIES merge of two fine-tunes into sharded output,
// then the error paths exit 2 and leave no output folder.
func TestSynthAndMerge(t *testing.T) {
	dir := t.TempDir()
	fam := filepath.Join(dir, "fam")
	code, stdout, stderr := runCLI(t, "synth", "-o", fam, "--hidden", "32", "--intermediate", "48", "--layers", "3", "--vocab", "40", "--fine-tunes", "2", "--shard-size", "8K", "--seed", "7")
	if code != 0 {
		t.Fatalf("synth: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(fam, "ft-2")) {
		t.Errorf("synth output: %s", stdout)
	}
	cfg := filepath.Join(dir, "ties.yaml")
	os.WriteFile(cfg, []byte(`merge_method: ties
base_model: `+filepath.Join(fam, "base")+`
models:
  - model: `+filepath.Join(fam, "ft-1")+`
    parameters: {weight: 1, density: 0.5}
  - model: `+filepath.Join(fam, "ft-2")+`
    parameters: {weight: [0.5, 1], density: 0.5}
parameters: {normalize: true}
dtype: bfloat16
tokenizer_source: base
`), 0o644)
	out := filepath.Join(dir, "merged")
	code, stdout, stderr = runCLI(t, "merge", "-c", cfg, "-o", out, "--out-shard-size", "10K", "--json", "-q")
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	var res struct {
		Result struct {
			Tensors, Layers, Shards int
			InputBytes              int64 `json:"input_bytes"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Result.Tensors != 3+3*9 || res.Result.Layers != 3 || res.Result.Shards < 2 {
		t.Errorf("merge --json: %+v (%v)\n%s", res, err, stdout)
	}
	c, err := tensor.OpenCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, f := range []string{"config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("no %s in the output", f)
		}
	}

	bad := filepath.Join(dir, "bad.yaml")
	for _, c := range []struct {
		yml  string
		args []string
		want string
	}{
		{"merge_method: ties\nbase_model: x\nmodels:\n  - model: y\n    weight: 1\n", nil, `unknown key "weight"`},
		{"merge_method: slerpy\nmodels:\n  - model: " + filepath.Join(fam, "ft-1") + "\n", nil, `unknown merge method "slerpy"`},
		{"merge_method: linear\nmodels:\n  - model: " + filepath.Join(fam, "ft-1") + "\n    parameters: {weight: 1}\n  - model: " + filepath.Join(fam, "nope") + "\n    parameters: {weight: 1}\n", nil, "models[1].model"},
		{"merge_method: linear\nmodels:\n  - model: x\n", []string{"--out-shard-size", "lots"}, "--out-shard-size"},
	} {
		os.WriteFile(bad, []byte(c.yml), 0o644)
		o := filepath.Join(dir, "bad-out")
		code, _, stderr := runCLI(t, append([]string{"merge", "-c", bad, "-o", o, "-q"}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want 2 with %q\n%s", c.yml, code, c.want, stderr)
		}
		if _, err := os.Stat(o); err == nil {
			t.Errorf("%q: left %s behind", c.yml, o)
		}
	}
	// Merging into the existing output is refused with exit 2, and the output is kept.
	code, _, stderr = runCLI(t, "merge", "-c", cfg, "-o", out, "-q")
	if code != exitUsage || !strings.Contains(stderr, "not empty") {
		t.Errorf("merge into a non-empty folder: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "merge", "-c", cfg, "-o", filepath.Join(dir, "no", "such"), "-q"); code != exitUsage || !strings.Contains(stderr, "parent folder") {
		t.Errorf("merge into a folder whose parent is missing: exit %d\n%s", code, stderr)
	}
	if code, _, _ := runCLI(t, "merge", "-o", out); code != exitUsage {
		t.Errorf("merge without -c: exit %d", code)
	}
	if code, _, _ := runCLI(t, "synth", "-o", fam); code != exitUsage {
		t.Errorf("synth into existing models: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "synth", "-o", filepath.Join(dir, "x"), "--dtype", "int4"); code != exitUsage {
		t.Errorf("synth --dtype int4: exit %d, want 2", code)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"5B": 5e9, "500M": 5e8, "1GiB": 1 << 30, "123": 123, "2K": 2000, "1.5G": 1.5e9, "64KiB": 64 << 10} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "0", "5T"} {
		if _, err := parseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
