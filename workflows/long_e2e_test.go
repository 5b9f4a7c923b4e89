package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
)

// longGenerations is the long run's length (issue: 300 generations, every execution's
// history under 10,000 events).
const longGenerations = 300

// A 300-generation run (opt-in: EVOMERGE_LONG=1) continues as new when the server suggests it (no
// continue_as_new_every), so no execution — the run's nor a generation's — nears the
// 10,000-event mark at which histories get slow to replay (and 51,200 at which Temporal
// terminates them).
func TestLongRunKeepsHistoriesShort(t *testing.T) {
	if os.Getenv("EVOMERGE_LONG") == "" {
		t.Skip("300 generations, 1.5-4 minutes: EVOMERGE_LONG=1 go test -run TestLongRun ./workflows/")
	}
	cfg := e2eConfig("long-run", models, filepath.Join(t.TempDir(), "out"))
	cfg.Evolution.Generations, cfg.Evolution.Population, cfg.Evolution.Children = longGenerations, 2, 1
	cfg.Evolution.Parallelism = 1
	cfg.Evolution.Budget = longGenerations
	cfg.Evaluator.Limit, cfg.Evaluator.LatencyRuns = 100, 1
	cfg.Compression.Enabled = false
	start := time.Now()
	rep := runFor(t, cfg, "long-run", filepath.Join(t.TempDir(), "store"), 15*time.Minute)
	if rep.Generations != longGenerations {
		t.Fatalf("%d generations, want %d", rep.Generations, longGenerations)
	}
	// Every execution: the run's (one per continue-as-new) and the generations'.
	var runs, gens int
	var most int64
	var mostID string
	c := ts.GetDefaultClient()
	var next []byte
	for {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: ts.GetDefaultNamespace(), Query: `EvoRun = "long-run"`, PageSize: 1000, NextPageToken: next,
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetExecutions() {
			if e.GetType().GetName() == "EvolutionWorkflow" {
				runs++
			} else {
				gens++
			}
			if n := e.GetHistoryLength(); n > most {
				most, mostID = n, e.GetExecution().GetWorkflowId()
			}
		}
		if next = resp.GetNextPageToken(); len(next) == 0 {
			break
		}
	}
	if gens != longGenerations {
		t.Errorf("visibility lists %d generation executions, want %d", gens, longGenerations)
	}
	if most >= 10000 || most == 0 {
		t.Errorf("largest history: %d events (%s), want under 10,000", most, mostID)
	}
	d, err := c.DescribeWorkflowExecution(context.Background(), "long-run", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d generations in %.0f s: %d executions of the run, largest history %d events (%s); the last execution's %d",
		longGenerations, time.Since(start).Seconds(), runs, most, mostID, d.GetWorkflowExecutionInfo().GetHistoryLength())
}
