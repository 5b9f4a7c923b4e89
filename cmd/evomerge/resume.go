package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// resumable are the ends of a run that `evomerge run` with the same config takes up again
// where it stopped, instead of starting over.
func resumable(s enumspb.WorkflowExecutionStatus) bool {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return true
	}
	return false
}

// resumeEnded takes up a run that ended without finishing (failed, timed out, terminated
// or cancelled) at the generation it was in: a Temporal reset of its latest execution to
// the workflow task that started that generation's workflow. The generations before it
// stay done in the history — not even looked up again — and the failed one runs again
// (its finished steps are found in the store). ok=false if the execution started no
// generation (it ended while checking its seeds): then the caller starts it anew.
func resumeEnded(ctx context.Context, c client.Client, namespace, id, runID string) (gen string, ok bool, err error) {
	var point int64
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", false, fmt.Errorf("resume %s: reading its history: %w", id, err)
		}
		if a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes(); a != nil {
			point, gen = a.GetWorkflowTaskCompletedEventId(), a.GetWorkflowId()
		}
	}
	if point == 0 {
		return "", false, nil
	}
	_, err = c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Reason:                    "evomerge run: resume at " + gen,
		WorkflowTaskFinishEventId: point,
		RequestId:                 fmt.Sprintf("evomerge-resume-%s-%d", runID, point),
	})
	if err != nil {
		return "", false, fmt.Errorf("resume %s at %s: %w", id, gen, err)
	}
	return strings.TrimPrefix(gen, id+"/"), true, nil
}

// endFailure is the failure type and message the close event of an ended run records
// (empty if it did not fail).
func endFailure(ctx context.Context, c client.Client, id, runID string) (typ, msg string, err error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", "", fmt.Errorf("run %s: reading how it ended: %w", id, err)
		}
		if a := ev.GetWorkflowExecutionFailedEventAttributes(); a != nil {
			return a.GetFailure().GetApplicationFailureInfo().GetType(), a.GetFailure().GetMessage(), nil
		}
	}
	return "", "", nil
}

// buildChanged is the warning `run` prints before resetting run id when the evomerge that
// started it (build ID started, from its memo) is not this one (current); empty when they
// are the same or either is unknown.
func buildChanged(id, started, current string) string {
	if started == "" || current == "" || started == current {
		return ""
	}
	return fmt.Sprintf("warning: run %s was started by another evomerge build; resuming replays its history with this build's workflow code, "+
		"which fails with a non-determinism error if that code changed: then pass --id NAME for a new run (finished steps are found in the store)", id)
}

// reportResume says on stderr what resumeEnded did.
func reportResume(id string, status enumspb.WorkflowExecutionStatus, gen string) {
	ended := map[enumspb.WorkflowExecutionStatus]string{
		enumspb.WORKFLOW_EXECUTION_STATUS_FAILED: "failed", enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed out",
		enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED: "was terminated", enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED: "was cancelled",
	}[status]
	fmt.Fprintf(os.Stderr, "run %s %s; resuming it at %s: the generations before it are kept, finished work is not redone\n", id, ended, gen)
}
