package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pause, status, resume and stop from the CLI against a run on a real server.
func TestControlCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)
	c, dir, cfg, state := smallRun(t, srv, "ctl", "generations: 4, population: 2, children: 2", "")
	addr := []string{"--address", srv.Address()}
	cli := func(args ...string) (int, string, string) { return runCLI(t, append(args, addr...)...) }
	if code, _, stderr := cli("run", "-c", cfg, "--detach", "--state-dir", state); code != 0 {
		t.Fatalf("run --detach: exit %d\n%s", code, stderr)
	}
	// Pause once a generation is done (stopping before any would leave no front).
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		_, status, _ := cli("status", "ctl")
		if strings.Contains(status, "generation 1 of 4 done") || strings.Contains(status, "generation 2 of 4 done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no generation finished; status:\n%s", status)
		}
	}
	if code, stdout, stderr := cli("pause", "ctl"); code != 0 || !strings.Contains(stdout, "run ctl pauses") {
		t.Fatalf("pause: exit %d\n%s%s", code, stdout, stderr)
	}
	var status string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		_, status, _ = cli("status", "ctl")
		if strings.Contains(status, "stage paused") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never paused; status:\n%s", status)
		}
	}
	if !strings.Contains(status, "front (") || !strings.Contains(status, "running: nothing in flight") {
		t.Errorf("status of a paused run:\n%s", status)
	}
	if code, _, stderr := cli("pause", "ctl"); code != 2 || !strings.Contains(stderr, "already paused") {
		t.Errorf("second pause: exit %d, want 2 and the reason\n%s", code, stderr)
	}
	if code, _, stderr := cli("report", "ctl", "--state-dir", state); code != 2 || !strings.Contains(stderr, "still running") {
		t.Errorf("report of a running run: exit %d, want 2 and the reason\n%s", code, stderr)
	}
	if code, stdout, stderr := cli("stop", "ctl"); code != 0 || !strings.Contains(stdout, "stops now") {
		t.Fatalf("stop: exit %d\n%s%s", code, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.GetWorkflow(ctx, "ctl", "").Get(ctx, nil); err != nil {
		t.Fatalf("stopped run: %v", err)
	}
	if md, err := os.ReadFile(filepath.Join(dir, "out", "report.md")); err != nil || !strings.Contains(string(md), "stopped by request") {
		t.Errorf("report: %v", err)
	}
	if code, stdout, _ := cli("status", "ctl"); code != 0 || !strings.Contains(stdout, "run ctl: completed after") || !strings.Contains(stdout, "report.md") {
		t.Errorf("status of a finished run: exit %d\n%s", code, stdout)
	}
	// report rewrites what a finished run reported, from its history: the same bytes, and
	// the front's models exported again from the store.
	out := filepath.Join(dir, "out")
	wantJSON, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "report.md", "front"} {
		if err := os.RemoveAll(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	if code, stdout, stderr := cli("report", "ctl", "--state-dir", state); code != 0 || strings.TrimSpace(stdout) != filepath.Join(out, "report.md") {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	if got, err := os.ReadFile(filepath.Join(out, "report.json")); err != nil || string(got) != string(wantJSON) {
		t.Errorf("rewritten report.json differs from the run's (%v)", err)
	}
	if md, err := os.ReadFile(filepath.Join(out, "report.md")); err != nil || !strings.Contains(string(md), "stopped by request") {
		t.Errorf("rewritten report.md: %v", err)
	}
	if models, _ := filepath.Glob(filepath.Join(out, "front", "*", "model.safetensors")); len(models) == 0 {
		t.Errorf("rewritten report exported no front models")
	}
	other := filepath.Join(dir, "elsewhere")
	if code, stdout, stderr := cli("report", "ctl", "--state-dir", state, "-o", other); code != 0 || strings.TrimSpace(stdout) != filepath.Join(other, "report.md") {
		t.Errorf("report -o: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := cli("report", "nosuch", "--state-dir", state); code != 2 || !strings.Contains(stderr, `no run "nosuch"`) {
		t.Errorf("report of an unknown run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cli("resume", "ctl"); code != 2 || !strings.Contains(stderr, "finished") {
		t.Errorf("resume of a finished run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cli("status", "nosuch"); code != 2 || !strings.Contains(stderr, `no run "nosuch"`) {
		t.Errorf("status of an unknown run: exit %d\n%s", code, stderr)
	}
}
