package workflows_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// Each kind of work goes to its own queue: with one worker limited to merges ("a
// big-disk machine") and another serving the rest, every merge runs on the first and
// nothing else does.
func TestWorkRoutedByKind(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	st, err := store.OpenFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	dialAs := func(identity string) client.Client {
		c, err := client.Dial(client.Options{HostPort: ts.GetFrontendHostPort(), Namespace: ts.GetDefaultNamespace(), Identity: identity})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	start := func(identity string, only ...string) {
		w, err := worker.New(dialAs(identity), worker.Options{TaskQueue: "e2e-route", Store: st, Only: only})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	start("merge-box", workflows.KindMerge)
	start("main-box", workflows.KindWorkflows, workflows.KindCompress, workflows.KindBenchmark)
	if _, err := worker.New(dialAs("x"), worker.Options{Only: []string{"gpu"}}); err == nil {
		t.Error("an unknown kind was accepted")
	}

	cfg := e2eConfig("e2e-route", models, filepath.Join(dir, "out"))
	cfg.Evolution.Generations = 1
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: cfg.Name, TaskQueue: "e2e-route",
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Which worker started each activity, from the generation's history.
	byType := map[string]map[string]int{}
	scheduled := map[int64]string{}
	it := c.GetWorkflowHistory(ctx, "e2e-route/gen-1", "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil {
			scheduled[e.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			typ := scheduled[a.GetScheduledEventId()]
			if byType[typ] == nil {
				byType[typ] = map[string]int{}
			}
			byType[typ][a.GetIdentity()]++
		}
	}
	if byType["Merge"]["merge-box"] == 0 || byType["Merge"]["main-box"] != 0 {
		t.Errorf("merges ran on %v, want only merge-box", byType["Merge"])
	}
	for _, typ := range []string{"Benchmark", "Compress", "Gate", "Ask", "Select"} {
		if byType[typ]["merge-box"] != 0 || byType[typ]["main-box"] == 0 {
			t.Errorf("%s ran on %v, want only main-box", typ, byType[typ])
		}
	}
}
