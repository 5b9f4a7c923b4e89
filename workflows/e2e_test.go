package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporaltest"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// One in-process Temporal server and one set of seed models for the package's tests.
var (
	ts     *temporaltest.TestServer
	models []evomerge.ModelSpec
)

func TestMain(m *testing.M) {
	if os.Getenv(benchHelperEnv) == "1" {
		// This binary was started by a command evaluator (command_e2e_test.go).
		os.Exit(benchHelper(os.Args))
	}
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "evomerge-workflows-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if models, err = trainTinySeeds(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		ts = temporaltest.NewServer()
		defer ts.Stop()
		if err := worker.EnsureSearchAttributes(context.Background(), ts.GetDefaultClient(), ts.GetDefaultNamespace()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// trainTinySeeds trains a small base and two specialists, enough for merging to matter.
func trainTinySeeds(dir string) ([]evomerge.ModelSpec, error) {
	train, _, err := nn.LoadMNIST("")
	if err != nil {
		return nil, err
	}
	base, err := nn.New(nn.DefaultConfig(), 1)
	if err != nil {
		return nil, err
	}
	if err := nn.Train(base, train.Head(1500), nn.TrainConfig{Epochs: 1, BatchSize: 32, LearningRate: 0.05, Seed: 1}, nil); err != nil {
		return nil, err
	}
	specs := []evomerge.ModelSpec{{Name: "base", Path: filepath.Join(dir, "base.safetensors")}}
	if err := base.SaveFile(specs[0].Path); err != nil {
		return nil, err
	}
	for i, digits := range [][]int{{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}} {
		m, err := nn.LoadFile(specs[0].Path)
		if err != nil {
			return nil, err
		}
		if err := nn.Train(m, train.Filter(digits).Head(1500), nn.TrainConfig{Epochs: 1, BatchSize: 32, LearningRate: 0.05, Seed: uint64(2 + i)}, nil); err != nil {
			return nil, err
		}
		s := evomerge.ModelSpec{Name: fmt.Sprintf("spec-%d", i), Path: filepath.Join(dir, fmt.Sprintf("spec-%d.safetensors", i))}
		if err := m.SaveFile(s.Path); err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func e2eConfig(name string, models []evomerge.ModelSpec, out string) evomerge.Config {
	c := evomerge.Config{
		Name: name, Seed: 11, OutputDir: out, BaseModel: "base", Models: models,
		Evolution: evomerge.EvolutionSpec{Generations: 2, Population: 4, Children: 4, Parallelism: 2},
		Evaluator: evomerge.EvaluatorSpec{Spec: bench.Spec{Kind: "mnist", LatencyRuns: 5, Limit: 1000}},
		Compression: evomerge.CompressionSpec{
			Enabled: true, Algorithm: "bitnet", ApplyAt: []string{"post_merge", "final"},
			TargetRatio: 8, AccuracyThreshold: 0.5,
		},
		// These tests compare fronts across runs and crashes: a wall-clock gate would
		// make them depend on how busy the machine is.
		Gates: evomerge.GatesSpec{Latency: evomerge.LatencyGateSpec{Enforce: new(bool)}},
	}
	return c
}

// runOnce runs one evolution on its own task queue and store, and returns the report.
func runOnce(t *testing.T, cfg evomerge.Config, queue, storeDir string) evomerge.Report {
	t.Helper()
	return runFor(t, cfg, queue, storeDir, 3*time.Minute)
}

// runFor is runOnce with a deadline.
func runFor(t *testing.T, cfg evomerge.Config, queue, storeDir string, limit time.Duration) evomerge.Report {
	t.Helper()
	st, err := store.OpenFS(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	serve(queue, st)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c := ts.GetDefaultClient()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: cfg.Name, TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name)),
	}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("run %s: %v", cfg.Name, err)
	}
	return res.Report.Report
}

func TestEvolutionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	ctx := context.Background()
	c := ts.GetDefaultClient()
	dir := t.TempDir()

	out := filepath.Join(dir, "out")
	cfg := e2eConfig("e2e-run", models, out)
	rep := runOnce(t, cfg, "e2e-a", filepath.Join(dir, "store-a"))

	// The run did what a user would look for.
	if rep.Generations != 2 || rep.Evaluations != 3+2*4 {
		t.Errorf("generations %d evaluations %d, want 2 and 11", rep.Generations, rep.Evaluations)
	}
	if len(rep.Seeds) != 3 || len(rep.Front) == 0 {
		t.Fatalf("report has %d seeds and %d front members", len(rep.Seeds), len(rep.Front))
	}
	for _, m := range rep.Front {
		if m.Compression == nil || m.Compression.Algorithm != "bitnet" || m.Compression.Ratio < 8 {
			t.Errorf("front member %s compression %+v, want bitnet ≥ 8×", m.ID, m.Compression)
		}
		if len(m.Gates) != 4 || !m.Accepted {
			t.Errorf("front member %s gates %+v accepted %v", m.ID, m.Gates, m.Accepted)
		}
		if _, err := nn.LoadFile(m.Path); err != nil {
			t.Errorf("exported front model %s: %v", m.Path, err)
		}
	}
	for _, s := range rep.Seeds {
		if len(s.Gates) != 4 {
			t.Errorf("seed %s has %d gate verdicts, want 4", s.ID, len(s.Gates))
		}
	}
	if rep.BestMerge == nil || rep.BestMerge.Objectives.Accuracy <= 0 {
		t.Fatalf("no best merge in report")
	}
	for _, f := range []string{"report.json", "report.md"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	var onDisk evomerge.Report
	b, _ := os.ReadFile(filepath.Join(out, "report.json"))
	if err := json.Unmarshal(b, &onDisk); err != nil || onDisk.Run != "e2e-run" {
		t.Errorf("report.json: %v (run %q)", err, onDisk.Run)
	}
	// The plots: an SVG and PNGs a viewer opens, embedded in report.md, one
	// hypervolume per generation.
	if len(onDisk.HypervolumeHistory) != cfg.Evolution.Generations {
		t.Errorf("hypervolume history %v for %d generations", onDisk.HypervolumeHistory, cfg.Evolution.Generations)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, f := range []string{evomerge.FrontSVG, evomerge.FrontPNG, evomerge.ProgressPNG} {
		data, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Error(err)
			continue
		}
		if f == evomerge.FrontSVG {
			if !bytes.Contains(data, []byte("<svg")) {
				t.Errorf("%s is not an SVG", f)
			}
		} else if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() < 300 {
			t.Errorf("%s: %v", f, err)
		}
		if f != evomerge.FrontPNG && !bytes.Contains(md, []byte("]("+f+")")) {
			t.Errorf("report.md does not embed %s", f)
		}
	}

	recordHistory(t, c, "e2e-run", "evolution.json")
	recordHistory(t, c, "e2e-run/gen-2", "generation.json")

	// The progress query answers after the run, with one summary per generation.
	v, err := c.QueryWorkflow(ctx, "e2e-run", "", "progress")
	if err != nil {
		t.Fatal(err)
	}
	var p workflows.Progress
	if err := v.Get(&p); err != nil || p.Stage != workflows.StageDone || len(p.History) != 2 {
		t.Errorf("progress: stage %q, %d generations (err %v)", p.Stage, len(p.History), err)
	}

	// The run and its generations are findable by search attribute in visibility.
	var ids []string
	for _, e := range listWorkflows(t, `EvoRun = "e2e-run"`, 3) {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	if s := strings.Join(ids, " "); !strings.Contains(s, "e2e-run/gen-1") || !strings.Contains(s, "e2e-run/gen-2") {
		t.Errorf("visibility lists %v", ids)
	}

	// The front's hypervolume is in the report, in every generation's summary, and on
	// the run's search attributes with the report's value.
	if rep.Hypervolume <= 0 || rep.Hypervolume > 1 {
		t.Errorf("report hypervolume %v, want in (0, 1]", rep.Hypervolume)
	}
	for _, h := range p.History {
		if h.Hypervolume <= 0 || h.Hypervolume > 1 {
			t.Errorf("generation %d hypervolume %v, want in (0, 1]", h.Generation, h.Hypervolume)
		}
	}
	// Finished generations say so (the run itself too).
	listWorkflows(t, `EvoRun = "e2e-run" AND EvoStage = "done"`, 3)
	hvRun := listWorkflows(t, `EvoRun = "e2e-run" AND EvoHypervolume > 0`, 1)[0]
	var hv float64
	if err := converter.GetDefaultDataConverter().FromPayload(hvRun.GetSearchAttributes().GetIndexedFields()["EvoHypervolume"], &hv); err != nil || hv != rep.Hypervolume {
		t.Errorf("EvoHypervolume = %v (%v), report says %v", hv, err, rep.Hypervolume)
	}

	// Same config and seed, fresh store and worker, and a history continued as new after
	// every generation: the same front, digest for digest.
	cfg2 := e2eConfig("e2e-run-again", models, filepath.Join(dir, "out2"))
	cfg2.Evolution.ContinueAsNewEvery = 1
	rep2 := runOnce(t, cfg2, "e2e-b", filepath.Join(dir, "store-b"))
	if got, want := frontDigests(rep2), frontDigests(rep); got != want {
		t.Errorf("same seed, different front:\n%s\n%s", got, want)
	}
	if rep2.Evaluations != rep.Evaluations || rep2.Generations != 2 {
		t.Errorf("continued as new: %d generations, %d evaluations; want 2 and %d", rep2.Generations, rep2.Evaluations, rep.Evaluations)
	}
	desc, err := c.DescribeWorkflowExecution(ctx, "e2e-run-again", "")
	if err != nil {
		t.Fatal(err)
	}
	if desc.GetWorkflowExecutionInfo().GetFirstRunId() == desc.GetWorkflowExecutionInfo().GetExecution().GetRunId() {
		t.Errorf("e2e-run-again was not continued as new")
	}
}

// listWorkflows waits until visibility answers query with n executions, and returns them.
func listWorkflows(t *testing.T, query string, n int) []*workflowpb.WorkflowExecutionInfo {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := ts.GetDefaultClient().ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ts.GetDefaultNamespace(), Query: query,
		})
		if err == nil && len(resp.GetExecutions()) == n {
			return resp.GetExecutions()
		}
		if time.Now().After(deadline) {
			t.Fatalf("visibility: %s lists %d executions, want %d (err %v)", query, len(resp.GetExecutions()), n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func frontDigests(r evomerge.Report) string {
	var s []string
	for _, m := range r.Front {
		s = append(s, m.ID+"="+m.Digest)
	}
	return strings.Join(s, ",")
}

// With pre_merge compression the seeds are compressed and the children merge their
// dequantized weights.
func TestPreMergeCompression(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	cfg := e2eConfig("pre-merge-run", models, filepath.Join(dir, "out"))
	cfg.Evolution = evomerge.EvolutionSpec{Generations: 1, Population: 2, Children: 2}
	cfg.Compression.ApplyAt = []string{"pre_merge"}
	rep := runOnce(t, cfg, "pre-merge", filepath.Join(dir, "store"))
	for _, s := range rep.Seeds {
		if s.Compression == nil || s.Compression.Stage != "pre_merge" || s.Uncompressed == nil {
			t.Fatalf("seed %s not compressed pre-merge: %+v", s.ID, s.Compression)
		}
		if s.Objectives.SizeBytes*8 > s.Uncompressed.SizeBytes {
			t.Errorf("seed %s: compressed %d bytes vs %d uncompressed", s.ID, s.Objectives.SizeBytes, s.Uncompressed.SizeBytes)
		}
	}
	for _, m := range rep.Front {
		if m.Compression != nil {
			t.Errorf("front member %s compressed without post_merge or final: %+v", m.ID, m.Compression)
		}
		// A merge of ternary-valued weights is not itself ternary: the child is a dense model.
		if m.Objectives.SizeBytes < rep.Seeds[0].Uncompressed.SizeBytes/2 {
			t.Errorf("front member %s is %d bytes; a dense merge was expected", m.ID, m.Objectives.SizeBytes)
		}
	}
}

// Distillation recovery through a real run: every compressed child is distilled (the
// report says so) and, on the tiny seeds, the best recovered child is at least as
// accurate as the best child of the same run without recovery.
func TestDistillationRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	plain := e2eConfig("no-recovery-run", models, filepath.Join(dir, "out-plain"))
	plain.Evolution = evomerge.EvolutionSpec{Generations: 1, Population: 2, Children: 2}
	plain.Compression.ApplyAt = []string{"post_merge"}
	rec := plain
	rec.Name, rec.OutputDir = "recovery-run", filepath.Join(dir, "out-rec")
	rec.Compression.Recovery = &evomerge.RecoverySpec{Kind: "distill", Steps: 150}
	if err := rec.Compression.Recovery.Normalize(rec.Compression.Algorithm); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "store")
	base := runOnce(t, plain, "no-recovery", store)
	got := runOnce(t, rec, "recovery", store)
	accuracy := func(r evomerge.Report) (float64, int) {
		var best float64
		n := 0
		for _, m := range append(append([]evomerge.ReportModel{}, r.Front...), r.Rejected...) {
			if m.Compression == nil {
				continue
			}
			n++
			if m.Compression.Recovery != nil != (r.Run == "recovery-run") {
				t.Errorf("%s %s: recovery = %+v", r.Run, m.ID, m.Compression.Recovery)
			}
			best = max(best, m.Objectives.Accuracy)
		}
		return best, n
	}
	a0, n0 := accuracy(base)
	a1, n1 := accuracy(got)
	if n0 == 0 || n1 == 0 {
		t.Fatalf("no compressed children: %d and %d", n0, n1)
	}
	if a1 < a0 {
		t.Errorf("best compressed child: %.4f with distillation, %.4f without", a1, a0)
	}
	t.Logf("best compressed child: %.4f with distillation, %.4f without", a1, a0)
}

// Front members that fail the final gates are not delivered: with a size target BitNet
// cannot meet, the run fails after writing a report that lists them as rejected.
func TestFinalGatesRejectTheFront(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := e2eConfig("final-reject-run", models, out)
	cfg.Evolution = evomerge.EvolutionSpec{Generations: 1, Population: 2, Children: 2}
	cfg.Compression.ApplyAt = []string{"final"}
	cfg.Compression.TargetRatio = 20 // BitNet with F32 biases reaches about 15×
	st, err := store.OpenFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	serve("final-reject", st)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := ts.GetDefaultClient().ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cfg.Name, TaskQueue: "final-reject"}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	err = run.Get(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "no model passed the final gates") {
		t.Fatalf("want the run to fail at the final gates, got %v", err)
	}
	var rep evomerge.Report
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Front) != 0 || len(rep.Rejected) == 0 {
		t.Fatalf("report front %d, rejected %d", len(rep.Front), len(rep.Rejected))
	}
	for _, g := range rep.Rejected[0].Gates {
		if g.Name == "size" && g.Passed {
			t.Errorf("size gate passed at ratio %.1f vs 20", g.Value)
		}
	}
}

// serve runs evomerge's workers for a run on queue (and its kinds' queues) with store st.
func serve(queue string, st store.Store) {
	worker.Serve(queue, activities.New(st), func(q string, register func(sdkworker.Registry)) { ts.NewWorker(q, register) })
}
