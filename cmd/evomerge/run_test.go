package main

import (
	"context"
	"os"
	"os/exec"
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

// A run that failed because no model passed its gates is not reset and run again by the
// same command: it would end the same way. The command says so, and the run keeps its
// execution (a reset would start a new one).
func TestRunWithNoModelPassedIsNotResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)
	// BitNet cannot make this MLP 100× smaller, so the final gates reject the whole front.
	c, _, cfg, state := smallRun(t, srv, "nopass", "generations: 1, population: 2, children: 2",
		"compression: {enabled: true, algorithm: bitnet, apply_at: [final], target_ratio: 100}\n")
	run := func() (int, string) {
		code, _, stderr := runCLI(t, "run", "-c", cfg, "--address", srv.Address(), "--state-dir", state)
		return code, stderr
	}
	code, stderr := run()
	if code != 1 || !strings.Contains(stderr, "no model passed the final gates") {
		t.Fatalf("first run: exit %d, want 1 and the gates' verdict\n%s", code, stderr)
	}
	ctx := context.Background()
	d, err := c.DescribeWorkflowExecution(ctx, "nopass", "")
	if err != nil {
		t.Fatal(err)
	}
	first := d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	var build string
	if p := d.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoBuild]; p == nil {
		t.Errorf("the run's memo has no %s", memoBuild)
	} else if build = memoString(d.GetWorkflowExecutionInfo(), memoBuild); build != buildID() {
		t.Errorf("memo %s = %q, this build is %q", memoBuild, build, buildID())
	}

	code, stderr = run()
	if code != 1 || !strings.Contains(stderr, "would end the same way") || strings.Contains(stderr, "resuming") {
		t.Fatalf("same command again: exit %d, want 1 and no resume\n%s", code, stderr)
	}
	if d, err = c.DescribeWorkflowExecution(ctx, "nopass", ""); err != nil {
		t.Fatal(err)
	}
	if got := d.GetWorkflowExecutionInfo().GetExecution().GetRunId(); got != first {
		t.Errorf("the failed run was reset: execution %s, was %s", got, first)
	}
}

// buildID is the Go build ID `go tool buildid` reads from the same executable, and the
// resume warning appears only for a different, known build.
func TestBuildIDMatchesGoToolBuildid(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	want := strings.TrimSpace(string(out))
	if got := buildID(); got != want || got == "" {
		t.Fatalf("buildID() = %q, go tool buildid says %q", got, want)
	}
	if w := buildChanged("r", want, want); w != "" {
		t.Errorf("same build warned: %s", w)
	}
	if w := buildChanged("r", "", want); w != "" {
		t.Errorf("unknown build warned: %s", w)
	}
	if w := buildChanged("r", "other", want); !strings.Contains(w, "another evomerge build") {
		t.Errorf("different build: %q", w)
	}
}
