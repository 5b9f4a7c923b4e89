package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/nn"
)

// run executes the CLI and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	stderr = captureStderr(t, func() {
		stdout = capture(t, &os.Stdout, func() { code = execute(context.Background(), args) })
	})
	return code, stdout, stderr
}

// smallModel saves an untrained MLP 784→hidden→10 as the model folder dir/model.
func smallModel(t *testing.T, dir string, hidden int) string {
	t.Helper()
	m, err := nn.New(nn.Config{Architecture: "mlp", LayerSizes: []int{784, hidden, 10}, Activation: "relu"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "model")
	if err := nn.Save(src, m, nil); err != nil {
		t.Fatal(err)
	}
	return src
}

// compress → inspect → bench on a small model, as a user would chain them.
func TestCompressInspectBench(t *testing.T) {
	dir := t.TempDir()
	src := smallModel(t, dir, 32)
	out := filepath.Join(dir, "small")
	code, stdout, stderr := runCLI(t, "compress", "-a", "seedlm", "--option", "prune=0.5", "--json", src, out)
	if code != 0 {
		t.Fatalf("compress: exit %d\n%s", code, stderr)
	}
	var stats compress.Stats
	if err := json.Unmarshal([]byte(stdout), &stats); err != nil || stats.Algorithm != "seedlm" || stats.CompressedTensors != 2 || stats.Ratio < 8 {
		t.Errorf("compress --json: %+v (%v)\n%s", stats, err, stdout)
	}
	if _, err := nn.Load(out); err != nil {
		t.Errorf("the compressed folder does not load as a model: %v", err)
	}

	code, stdout, _ = runCLI(t, "inspect", out)
	if code != 0 || !strings.Contains(stdout, "compressed with seedlm: fc1.weight, fc2.weight") || !strings.Contains(stdout, "fc1.weight.seedlm.mask") {
		t.Errorf("inspect: exit %d\n%s", code, stdout)
	}

	code, stdout, stderr = runCLI(t, "bench", "--limit", "200", "--latency-runs", "5", "--json", out)
	var r bench.Result
	if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil || r.Examples != 200 || !r.Finite || r.SizeBytes != stats.OutputBytes {
		t.Errorf("bench: exit %d, %+v\n%s%s", code, r, stdout, stderr)
	}
}

// compress refuses to write over its own input, also through a symlinked OUT_DIR, and
// a failed compress leaves no OUT_DIR it created.
func TestCompressProtectsItsInput(t *testing.T) {
	dir := t.TempDir()
	src := smallModel(t, dir, 16)
	before, _ := os.ReadFile(filepath.Join(src, nn.ModelFile))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{src, link} {
		if code, _, stderr := runCLI(t, "compress", "-a", "bitnet", src, out); code != 2 || !strings.Contains(stderr, "is the input") {
			t.Errorf("compress into %s: exit %d\n%s", out, code, stderr)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(src, nn.ModelFile)); !bytes.Equal(before, after) {
		t.Error("the input model changed")
	}

	compressed := filepath.Join(dir, "c")
	if code, _, stderr := runCLI(t, "compress", "-a", "bitnet", src, compressed); code != 0 {
		t.Fatalf("compress: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "twice")
	if code, _, stderr := runCLI(t, "compress", "-a", "bitnet", compressed, out); code != 1 || !strings.Contains(stderr, "already compressed") {
		t.Errorf("compressing a compressed model: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed compress left %s behind: %v", out, err)
	}
}

func TestToolUsageErrorsExitTwo(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	os.WriteFile(file, []byte("x"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	sharded := filepath.Join(dir, "sharded")
	os.MkdirAll(sharded, 0o755)
	os.WriteFile(filepath.Join(sharded, "model.safetensors.index.json"), []byte("{}"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compress", dir, filepath.Join(dir, "o")}, "-a ALGORITHM is required"},
		{[]string{"compress", "-a", "zip", dir, filepath.Join(dir, "o")}, `unknown compression algorithm "zip"`},
		{[]string{"compress", "-a", "vptq", "--option", "bits=3", dir, filepath.Join(dir, "o")}, `unknown option "bits"`},
		{[]string{"compress", "-a", "vptq", "--option", "codebook_bits", dir, filepath.Join(dir, "o")}, "want key=value"},
		{[]string{"compress", "-a", "bitnet", filepath.Join(dir, "none"), filepath.Join(dir, "o")}, "no such file or folder"},
		{[]string{"compress", "-a", "bitnet", sharded, filepath.Join(dir, "o")}, "is a sharded checkpoint"},
		{[]string{"compress", "-a", "bitnet", dir}, "want 2 argument(s), got 1"},
		{[]string{"bench", "-e", "glue", dir}, `unknown evaluator "glue"`},
		{[]string{"bench", dir}, "folder has no model.safetensors"},
		{[]string{"inspect", filepath.Join(dir, "none")}, "no such file or folder"},
		{[]string{"inspect", empty}, "folder has neither model.safetensors nor model.safetensors.index.json"},
		{[]string{"compress", "-a", "seedlm", "--option", "prune=0.1", "--option", "prune=0.2", dir, filepath.Join(dir, "o")}, "--option prune is given twice"},
		{[]string{"compress", "-a", "bitnet", file, filepath.Join(file, "o")}, "compress: OUT_DIR:"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q\n%s", tc.args, code, tc.want, stderr)
		}
	}
}
