package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// benchHelperEnv makes this test binary act as a user's evaluator program: it scores
// the model with the MNIST evaluator at e2eConfig's settings and writes the command
// evaluator's {"metrics": …} result, as `evomerge bench --metrics-out` does.
const benchHelperEnv = "EVOMERGE_BENCH_HELPER"

// benchHelper runs "… -- MODE MODEL REFERENCE RESULT".
func benchHelper(args []string) int {
	i := 0
	for i < len(args) && args[i] != "--" {
		i++
	}
	mode, model, reference, result := args[i+1], args[i+2], args[i+3], args[i+4]
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "evaluator crashed: no GPU")
		return 3
	}
	e, err := bench.NewMNIST(bench.MNISTSettings{LatencyRuns: 5, Limit: 1000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := e.Evaluate(context.Background(), bench.Request{Model: model, Reference: reference})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	b, _ := json.Marshal(map[string]any{"metrics": r.MetricMap()})
	if err := os.WriteFile(result, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func commandConfig(t *testing.T, name, mode, out string) evomerge.Config {
	t.Setenv(benchHelperEnv, "1")
	cfg := e2eConfig(name, models, out)
	cfg.Evaluator = evomerge.EvaluatorSpec{Spec: bench.Spec{Kind: "command",
		Command: []string{os.Args[0], "-test.run=^$", "--", mode, "{model}", "{reference}", "{result}"}}}
	return cfg
}

// A run scored by a user's program through the command evaluator, on its own benchmark
// task queue, finds the same front as the built-in evaluator: same children, same
// digests, same accuracies.
func TestCommandEvaluatorRunMatchesTheBuiltIn(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	builtin := runOnce(t, e2eConfig("e2e-builtin-eval", models, filepath.Join(dir, "builtin")), "e2e-builtin-eval", filepath.Join(dir, "store-builtin"))

	cmdStore := filepath.Join(dir, "store-command")
	st, err := store.OpenFS(cmdStore)
	if err != nil {
		t.Fatal(err)
	}
	ts.NewWorker("e2e-command-bench", func(r sdkworker.Registry) { worker.Register(r, activities.New(st)) })
	cfg := commandConfig(t, "e2e-command-eval", "ok", filepath.Join(dir, "command"))
	cfg.Evaluator.TaskQueue = "e2e-command-bench"
	viaCommand := runOnce(t, cfg, "e2e-command-eval", cmdStore)

	if a, b := frontDigests(builtin), frontDigests(viaCommand); a != b || a == "" {
		t.Errorf("fronts differ:\nbuilt-in %s\ncommand  %s", a, b)
	}
	for i, m := range viaCommand.Front {
		if i < len(builtin.Front) && m.Objectives.Accuracy != builtin.Front[i].Objectives.Accuracy {
			t.Errorf("%s: accuracy %v through the command, %v built in", m.ID, m.Objectives.Accuracy, builtin.Front[i].Objectives.Accuracy)
		}
		if m.Objectives.MeasuredOn != "e2e-command-bench" {
			t.Errorf("%s measured on %q, want evaluator.task_queue e2e-command-bench", m.ID, m.Objectives.MeasuredOn)
		}
	}
}

// A program that fails stops the run at once with its message, not after retries.
func TestCommandEvaluatorFailureStopsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	cfg := commandConfig(t, "e2e-command-fail", "fail", filepath.Join(dir, "out"))
	st, err := store.OpenFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	serve("e2e-command-fail", st)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := ts.GetDefaultClient().ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: cfg.Name, TaskQueue: "e2e-command-fail",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name)),
	}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "exited with status 3; last output:\nevaluator crashed: no GPU") || !strings.Contains(err.Error(), os.Args[0]) {
		t.Fatalf("run error %v: want the program, its status and its output named", err)
	}
	if n := strings.Count(err.Error(), "evaluator crashed"); n != 1 {
		t.Errorf("the program's message appears %d times in the error, want once", n)
	}
}
