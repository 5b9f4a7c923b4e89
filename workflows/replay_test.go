package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/evomerge/evomerge/workflows"
)

// Histories recorded from real runs (testdata/*.json) must replay on the current code:
// a change to workflow code that would break runs already in progress fails here. When
// such a change is intended, guard it with workflow.GetVersion, or re-record with
// EVOMERGE_RECORD_HISTORY=1 go test ./workflows -run EndToEnd if no run can be in flight.
func TestReplayRecordedHistories(t *testing.T) {
	recorded := []struct{ file, workflowID string }{
		{"evolution.json", "e2e-run"},
		{"generation.json", "e2e-run/gen-2"},
	}
	for _, rec := range recorded {
		t.Run(rec.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", rec.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := sdkworker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.EvolutionWorkflow)
			r.RegisterWorkflow(workflows.GenerationWorkflow)
			// The original workflow ID: child workflow IDs derive from it.
			opts := sdkworker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: rec.workflowID}}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Errorf("replaying %s: %v", rec.file, err)
			}
		})
	}
}

// recordHistory writes a workflow's history as JSON to testdata/name when
// EVOMERGE_RECORD_HISTORY is set.
func recordHistory(t *testing.T, c client.Client, workflowID, name string) {
	t.Helper()
	if os.Getenv("EVOMERGE_RECORD_HISTORY") == "" {
		return
	}
	it := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: " "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
