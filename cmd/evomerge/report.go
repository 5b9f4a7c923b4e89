package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
)

// reportActivity is the activity type the evolution workflow writes its report with.
const reportActivity = "Report"

func reportCmd(g *globals) *cobra.Command {
	var f controlFlags
	var out string
	cmd := &cobra.Command{
		Use:   "report RUN",
		Short: "Rewrite the report of a finished run (report.json, report.md, plots, front models) from its recorded history",
		Long: "report reads the input the run's report step recorded in its workflow history (front, seeds, generations,\n" +
			"configuration) and writes the report again with this build of evomerge, exporting the front's models from the\n" +
			"artifact store (--store / --state-dir must name the run's store). Use it after a report was deleted, or to\n" +
			"regenerate it with a newer evomerge. -o writes to another folder instead of the run's output_dir.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, _, err := dialServer(ctx, g, f.address, f.namespace)
			if err != nil {
				return err
			}
			defer c.Close()
			in, err := recordedReportInput(cmd, c, args[0])
			if err != nil {
				return err
			}
			if out != "" {
				if in.Config.OutputDir, err = filepath.Abs(out); err != nil {
					return usagef("report: -o %s: %v", out, err)
				}
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "writing the report of run %s (%d generations, front of %d) to %s\n", args[0], in.Generations, len(in.Front), in.Config.OutputDir)
			res, err := activities.New(st).Report(ctx, in)
			if err != nil {
				return fmt.Errorf("report of run %s: %w", args[0], err)
			}
			fmt.Println(res.MDPath)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVarP(&out, "out", "o", "", "folder to write the report to (default: the run's output_dir)")
	return cmd
}

// recordedReportInput finds the input of the run's last report step in its history (the
// latest execution of a run that continued as new).
func recordedReportInput(cmd *cobra.Command, c client.Client, run string) (evomerge.ReportInput, error) {
	ctx := cmd.Context()
	d, err := c.DescribeWorkflowExecution(ctx, run, "")
	if err != nil {
		return evomerge.ReportInput{}, controlError(run, "report", err)
	}
	if s := d.GetWorkflowExecutionInfo().GetStatus(); s == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return evomerge.ReportInput{}, usagef("report: run %q is still running (evomerge stop %s ends it with a report)", run, run)
	}
	var found bool
	var in evomerge.ReportInput
	it := c.GetWorkflowHistory(ctx, run, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return in, fmt.Errorf("report: history of run %s: %w", run, err)
		}
		a := ev.GetActivityTaskScheduledEventAttributes()
		if a.GetActivityType().GetName() != reportActivity {
			continue
		}
		var next evomerge.ReportInput
		if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &next); err != nil {
			return in, fmt.Errorf("report: run %s: decoding its report step's input: %w", run, err)
		}
		in, found = next, true
	}
	if !found {
		return in, usagef("report: run %q ended before its report stage (%s); nothing to report", run, stageOf(d.GetWorkflowExecutionInfo().GetStatus()))
	}
	return in, nil
}

func stageOf(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return "failed; evomerge run -c CONFIG resumes it"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return "terminated"
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled"
	}
	return s.String()
}
