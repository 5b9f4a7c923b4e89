package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/evomerge"
)

// configs/llama-example.yaml, shortened to two generations: llama-synth seeds written on
// first use, every child scored by examples/retention through the command evaluator
// (go run, a real process), and the search's best beating every seed.
func TestLlamaExampleRunsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and runs go run per child")
	}
	srv := testServer(t)
	raw, err := os.ReadFile("../../configs/llama-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	body := strings.NewReplacer(
		".evomerge/llama", filepath.Join(dir, "llama"),
		"output_dir: runs/llama-example", "output_dir: "+filepath.Join(dir, "out"),
		"generations: 6", "generations: 2",
		"children: 10", "children: 6",
	).Replace(string(raw))
	cfgPath := filepath.Join(dir, "llama.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir("../..") // the command runs ./examples/retention from the repository root
	var code int
	stderr := captureStderr(t, func() {
		code = execute(context.Background(), []string{"run", "-c", cfgPath, "--address", srv.Address(), "--state-dir", filepath.Join(dir, "state")})
	})
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep evomerge.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Seeds) != 4 || len(rep.Front) == 0 {
		t.Fatalf("%d seeds, %d front members", len(rep.Seeds), len(rep.Front))
	}
	best := 0.0
	for _, s := range rep.Seeds {
		best = max(best, s.Objectives.Accuracy)
	}
	top := rep.Front[0]
	for _, m := range rep.Front {
		if m.Objectives.Accuracy > top.Objectives.Accuracy {
			top = m
		}
	}
	// A fine-tune keeps its own task vector only: 1/3. Merging keeps more of all three.
	if !(top.Objectives.Accuracy > best) || best < 0.333 || best > 0.334 {
		t.Errorf("best child %s %.4f, best seed %.4f: want the seeds at 1/3 and a child above", top.ID, top.Objectives.Accuracy, best)
	}
	if _, ok := top.Objectives.Metrics["retention.ft-2"]; !ok {
		t.Errorf("the program's metrics are not in the report: %v", top.Objectives.Metrics)
	}
}
