package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// buildBinary builds evomerge into dir, as a user would run it.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "evomerge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// workLog counts the work log's lines per "kind key".
func workLog(t *testing.T, storeDir string) (map[string]int, int) {
	t.Helper()
	f, err := os.Open(filepath.Join(storeDir, activities.WorkLogFile))
	if os.IsNotExist(err) {
		return map[string]int{}, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, counts := 0, map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 {
			counts[fields[0]+" "+fields[1]]++
			n++
		}
	}
	return counts, n
}

// The worker process — the built binary — SIGKILLed three times in the middle of a run
// and restarted: the run finishes with the front of an uninterrupted run, and no merge,
// compression or benchmark that had completed was done again (the store's work log has
// one line per step).
func TestRunSurvivesKilledWorkerProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	srv := testServer(t)

	// Seeds with some training, so merges and gates have something to decide.
	train, _, err := nn.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for i, digits := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}} {
		m, err := nn.New(nn.Config{Architecture: "mlp", LayerSizes: []int{784, 64, 10}, Activation: "relu"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := nn.Train(m, train.Filter(digits).Head(800), nn.TrainConfig{Epochs: 1, BatchSize: 32, LearningRate: 0.05, Seed: uint64(i + 1)}, nil); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("seed-%d.safetensors", i))
		if err := m.SaveFile(p); err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, p)
	}
	config := func(name string) evomerge.Config {
		body := fmt.Sprintf(`name: %s
seed: 5
output_dir: %s
models:
  - {name: base, path: %s}
  - {name: lo, path: %s}
  - {name: hi, path: %s}
evolution: {generations: 4, population: 4, children: 4, methods: [linear, task_arithmetic, ties]}
evaluator: {limit: 1000, latency_runs: 20}
compression: {enabled: true, algorithm: bitnet, apply_at: [post_merge], accuracy_threshold: 0.5}
gates: {latency: {enforce: false}}
`, name, filepath.Join(dir, "out-"+name), seeds[0], seeds[1], seeds[2])
		p := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := evomerge.LoadConfig(p)
		if err != nil {
			t.Fatal(err)
		}
		return *c
	}

	state := filepath.Join(dir, "state")
	st, err := store.OpenFS(filepath.Join(state, "store"))
	if err != nil {
		t.Fatal(err)
	}
	queue, err := worker.TaskQueueFor(st)
	if err != nil {
		t.Fatal(err)
	}
	var proc *exec.Cmd
	startWorker := func() {
		proc = exec.Command(bin, "worker", "--address", srv.Address(), "--state-dir", state, "--log-level", "error")
		proc.Stderr = os.Stderr
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if proc != nil && proc.Process != nil {
			proc.Process.Kill()
			proc.Wait()
		}
	}()
	startWorker()

	c, err := client.Dial(client.Options{HostPort: srv.Address()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cfg := config("killed")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cfg.Name, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// Kill the worker three times as the work log grows: in the middle of generations.
	for _, at := range []int{8, 22, 36} {
		for {
			if _, n := workLog(t, st.Root); n >= at {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("the work log never reached %d lines", at)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
		startWorker()
	}
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("after three kills: %v", err)
	}
	counts, n := workLog(t, st.Root)
	for step, k := range counts {
		if k > 1 {
			t.Errorf("%s was done %d times", step, k)
		}
	}
	if n < 40 {
		t.Errorf("only %d steps in the work log: were the kills mid-run?", n)
	}

	// The uninterrupted run, on a fresh store served by an in-process worker.
	refCfg := config("uninterrupted")
	refCfg.Name = "killed" // the same config, so the same children
	refCfg.OutputDir = filepath.Join(dir, "out-ref")
	refState := filepath.Join(dir, "state-ref")
	refStore, err := store.OpenFS(filepath.Join(refState, "store"))
	if err != nil {
		t.Fatal(err)
	}
	refQueue, _ := worker.TaskQueueFor(refStore)
	w, err := worker.New(c, worker.Options{TaskQueue: refQueue, Store: refStore})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	refRun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "uninterrupted", TaskQueue: refQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet("uninterrupted"))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: refCfg})
	if err != nil {
		t.Fatal(err)
	}
	var ref workflows.RunResult
	if err := refRun.Get(ctx, &ref); err != nil {
		t.Fatal(err)
	}
	digests := func(r workflows.RunResult) string {
		var s []string
		for _, m := range r.Report.Report.Front {
			s = append(s, m.ID+"="+m.Digest)
		}
		b, _ := json.Marshal(s)
		return string(b)
	}
	if a, b := digests(res), digests(ref); a != b || len(res.Report.Report.Front) == 0 {
		t.Errorf("front after three kills differs from the uninterrupted run's:\n%s\n%s", a, b)
	}
	t.Logf("%d steps computed once each; front of %d", n, len(res.Report.Report.Front))
}
