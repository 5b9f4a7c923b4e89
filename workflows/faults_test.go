package workflows_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// A corrupt seed model fails the run at once — no retries — with an error that names
// the file, and leaves nothing half-written in the store.
func TestCorruptSeedFailsWithoutRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the in-process server")
	}
	dir := t.TempDir()
	good, err := os.ReadFile(models[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := filepath.Join(dir, "truncated.safetensors")
	if err := os.WriteFile(corrupt, good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	failSeedRun(t, dir, "corrupt-seed", corrupt, "")
}

// A seed with one NaN weight fails before the first generation, naming the file and the
// tensor, instead of running every generation into "no child passed the gates".
func TestNonFiniteSeedFailsBeforeTheFirstGeneration(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the in-process server")
	}
	dir := t.TempDir()
	m, err := nn.LoadFile(models[1].Path)
	if err != nil {
		t.Fatal(err)
	}
	m.Weights[1][77] = float32(math.NaN())
	bad := filepath.Join(dir, "nan.safetensors")
	if err := m.SaveFile(bad); err != nil {
		t.Fatal(err)
	}
	failSeedRun(t, dir, "nan-seed", bad, `tensor "fc2.weight": element 77 is NaN`)
}

// failSeedRun runs a config whose second seed is path and checks the run fails with one
// non-retryable bad-input error naming path (and want), with nothing left in the store.
func failSeedRun(t *testing.T, dir, name, corrupt, want string) {
	t.Helper()
	ms := []evomerge.ModelSpec{models[0], {Name: "bad-seed", Path: corrupt}, models[2]}
	cfg := e2eConfig(name, ms, filepath.Join(dir, "out"))
	storeDir := filepath.Join(dir, "store")
	st, err := store.OpenFS(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	serve(name, st)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := ts.GetDefaultClient()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cfg.Name, TaskQueue: name}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != activities.ErrBadInput || !appErr.NonRetryable() {
		t.Fatalf("want a non-retryable %s error, got %v", activities.ErrBadInput, err)
	}
	if !strings.Contains(err.Error(), corrupt) || !strings.Contains(err.Error(), want) {
		t.Errorf("error should name the file %s and say %q: %v", corrupt, want, err)
	}
	if n := strings.Count(err.Error(), corrupt); n != 1 {
		t.Errorf("the file is named %d times; say it once: %v", n, err)
	}

	// The Ingest activity ran once.
	it := c.GetWorkflowHistory(ctx, cfg.Name, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && a.GetAttempt() != 1 {
			t.Errorf("activity retried: attempt %d", a.GetAttempt())
		}
	}
	if left, _ := os.ReadDir(filepath.Join(storeDir, "tmp")); len(left) != 0 {
		t.Errorf("the failed ingest left %d files in the store's temp area", len(left))
	}
}

// A worker that dies mid-run loses nothing: a new worker on the same store finishes the
// run, and the front is the one an uninterrupted run finds.
func TestRunSurvivesWorkerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the in-process server")
	}
	dir := t.TempDir()
	cfg := e2eConfig("crashed-run", models, filepath.Join(dir, "out"))
	cfg.Evolution.Generations = 3
	storeDir := filepath.Join(dir, "store")
	newWorker := func() *worker.Workers {
		st, err := store.OpenFS(storeDir)
		if err != nil {
			t.Fatal(err)
		}
		w, err := worker.New(ts.GetDefaultClient(), worker.Options{TaskQueue: "crash", Store: st})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := ts.GetDefaultClient()
	w1 := newWorker()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cfg.Name, TaskQueue: "crash"}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// Kill the worker once the first generation is done and the second under way.
	for {
		var p workflows.Progress
		if v, err := c.QueryWorkflow(ctx, cfg.Name, "", "progress"); err == nil && v.Get(&p) == nil && p.Generation >= 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the first generation did not finish")
		}
		time.Sleep(100 * time.Millisecond)
	}
	w1.Stop()

	w2 := newWorker()
	defer w2.Stop()
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("after the crash: %v", err)
	}

	ref := e2eConfig("uncrashed-run", models, filepath.Join(dir, "out-ref"))
	ref.Evolution.Generations = 3
	want := runOnce(t, ref, "uncrashed", filepath.Join(dir, "store-ref"))
	if got := frontDigests(res.Report.Report); got != frontDigests(want) {
		t.Errorf("front after a crash differs from an uninterrupted run:\n%s\n%s", got, frontDigests(want))
	}
	if res.Report.Report.Evaluations != want.Evaluations {
		t.Errorf("evaluations %d, want %d", res.Report.Report.Evaluations, want.Evaluations)
	}
}
