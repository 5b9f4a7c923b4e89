package workflows_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/converter"
)

// What the Web UI shows, read back from the server: the generation's static summary,
// an activity summary naming the child and the step, and the run's current details
// with the front as a table.
func TestWebUIShowsTheStory(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	cfg := e2eConfig("e2e-ui", models, filepath.Join(dir, "out"))
	cfg.Evolution.Generations = 1
	rep := runOnce(t, cfg, "e2e-ui", filepath.Join(dir, "store"))
	c := ts.GetDefaultClient()
	ctx := context.Background()
	dc := converter.GetDefaultDataConverter()

	d, err := c.DescribeWorkflowExecution(ctx, "e2e-ui/gen-1", "")
	if err != nil {
		t.Fatal(err)
	}
	var summary string
	if err := dc.FromPayload(d.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary); err != nil || summary != "e2e-ui: generation 1 of 1" {
		t.Errorf("generation summary %q (%v)", summary, err)
	}
	var activitySummaries []string
	it := c.GetWorkflowHistory(ctx, "e2e-ui/gen-1", "", false, 0)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if p := e.GetUserMetadata().GetSummary(); p != nil && e.GetActivityTaskScheduledEventAttributes() != nil {
			var s string
			if dc.FromPayload(p, &s) == nil {
				activitySummaries = append(activitySummaries, s)
			}
		}
	}
	joined := strings.Join(activitySummaries, "; ")
	for _, want := range []string{"breed generation 1 (nsga2)", "merge g1-c00", "benchmark g1-c00", "compress g1-c00 (bitnet, post_merge)", "benchmark g1-c00 compressed", "gate g1-c00", "select survivors of generation 1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no activity summary %q among: %s", want, joined)
		}
	}

	v, err := c.QueryWorkflow(ctx, "e2e-ui", "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	details := meta.GetCurrentDetails()
	if !strings.Contains(details, "## e2e-ui: done") || !strings.Contains(details, "### Front (") || !strings.Contains(details, "| "+rep.Front[0].ID+" |") {
		t.Errorf("current details:\n%s", details)
	}
}
