package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// `run` against a server: a second `run` of the same config attaches to the run in
// progress; a changed config under the same ID is refused with exit code 2. Opening the
// store sweeps what interrupted writes left.
func TestRunResumesOnlyTheSameConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)

	dir := t.TempDir()
	model := filepath.Join(dir, "m.safetensors")
	if err := os.WriteFile(model, []byte("not read: no worker runs"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(gens string) string {
		p := filepath.Join(dir, "run-"+gens+".yaml")
		body := "name: cli-resume\nmodels:\n  - {name: base, path: " + model + "}\n  - {name: a, path: " + model + "}\nevolution: {generations: " + gens + ", population: 2}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(cfg string) (int, string) {
		var code int
		out := captureStderr(t, func() {
			code = execute(context.Background(), []string{"run", "-c", cfg, "--address", srv.Address(), "--detach", "--state-dir", filepath.Join(dir, "state")})
		})
		return code, out
	}

	// A write interrupted long ago left a temp file in the store: run removes it.
	stale := filepath.Join(dir, "state", "store", "tmp", "blob-123")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	// --detach starts the run and leaves it to workers; there are none, so it stays running.
	if code, out := run(write("1")); code != 0 || !strings.Contains(out, "workflow cli-resume") {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file left in the store: %v", err)
	}
	if code, out := run(write("1")); code != 0 || !strings.Contains(out, "resuming run cli-resume") {
		t.Errorf("same config again: exit %d, want 0 and a resume\n%s", code, out)
	}
	if code, out := run(write("2")); code != 2 || !strings.Contains(out, "in progress with a different config") {
		t.Errorf("changed config: exit %d, want 2\n%s", code, out)
	}
}
