package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/workflows"
)

// controlFlags connect the control commands to a server.
type controlFlags struct{ address, namespace string }

func (f *controlFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.address, "address", "", addressHelp)
	fl.StringVar(&f.namespace, "namespace", "", namespaceHelp)
}

// controlCmd is pause, resume or stop: a Temporal update of the run's workflow.
func controlCmd(g *globals, name, short string) *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   name + " RUN",
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, _, err := dialServer(cmd.Context(), g, f.address, f.namespace)
			if err != nil {
				return err
			}
			defer c.Close()
			h, err := c.UpdateWorkflow(cmd.Context(), client.UpdateWorkflowOptions{
				WorkflowID: args[0], UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted,
			})
			if err == nil {
				var msg string
				if err = h.Get(cmd.Context(), &msg); err == nil {
					fmt.Println(msg)
					return nil
				}
			}
			return controlError(args[0], name, err)
		},
	}
	f.add(cmd)
	return cmd
}

// controlError says why a control command could not act: no such run, a finished run, or
// the run's own rejection (a validator's message) — all the user's to fix, exit 2.
func controlError(run, what string, err error) error {
	var notFound *serviceerror.NotFound
	switch {
	case strings.Contains(err.Error(), "already completed"):
		return usagef("%s: run %q has finished", what, run)
	case errors.As(err, &notFound):
		return usagef("%s: no run %q on this server", what, run)
	}
	return usagef("%s: %v", what, err)
}

func statusCmd(g *globals) *cobra.Command {
	var f controlFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status RUN",
		Short: "Show a run's stage, generation, evaluations, best scores, front and the work in flight",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, _, err := dialServer(ctx, g, f.address, f.namespace)
			if err != nil {
				return err
			}
			defer c.Close()
			// A finished run needs no worker to answer: its result says it all.
			d, err := c.DescribeWorkflowExecution(ctx, args[0], "")
			if err != nil {
				return controlError(args[0], "status", err)
			}
			if info := d.GetWorkflowExecutionInfo(); info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				var res workflows.RunResult
				err := c.GetWorkflow(ctx, args[0], "").Get(ctx, &res)
				switch {
				case asJSON:
					return printJSON(map[string]any{"status": info.GetStatus().String(), "result": res})
				case err != nil:
					fmt.Printf("run %s: %s: %v\n", args[0], strings.ToLower(info.GetStatus().String()), err)
				default:
					r := res.Report.Report
					fmt.Printf("run %s: completed after %d generations, %d evaluations; front of %d, hypervolume %.4f; report %s\n", args[0], r.Generations, r.Evaluations, len(r.Front), r.Hypervolume, res.Report.MDPath)
				}
				return nil
			}
			v, err := c.QueryWorkflow(ctx, args[0], "", "progress")
			if err != nil {
				return controlError(args[0], "status", err)
			}
			var p workflows.Progress
			if err := v.Get(&p); err != nil {
				return err
			}
			running := inFlight(ctx, c, args[0])
			if asJSON {
				return printJSON(map[string]any{"progress": p, "running": running})
			}
			printStatus(os.Stdout, p, running)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the progress and the work in flight as JSON")
	return cmd
}

// inFlight lists the run's pending activities and those of its running generation,
// as "workflow: activity (attempt n)".
func inFlight(ctx context.Context, c client.Client, run string) []string {
	var out []string
	var describe func(id string, depth int)
	describe = func(id string, depth int) {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return
		}
		for _, a := range d.GetPendingActivities() {
			line := fmt.Sprintf("%s: %s (attempt %d)", id, a.GetActivityType().GetName(), a.GetAttempt())
			if f := a.GetLastFailure(); f != nil {
				line += ", last failure: " + f.GetMessage()
			}
			out = append(out, line)
		}
		if depth == 0 {
			for _, ch := range d.GetPendingChildren() {
				describe(ch.GetWorkflowId(), depth+1)
			}
		}
	}
	describe(run, 0)
	return out
}

func printStatus(w *os.File, p workflows.Progress, running []string) {
	state := p.Stage
	switch {
	case p.Paused && p.Stage != workflows.StagePaused:
		state += ", pausing after this generation"
	case p.Stopping:
		state += ", stopping after this generation"
	}
	fmt.Fprintf(w, "run %s: stage %s, generation %d of %d done, %d evaluations\n", p.Run, state, p.Generation, p.Generations, p.Evaluations)
	if n := len(p.History); n > 0 {
		h := p.History[n-1]
		fmt.Fprintf(w, "best: %s %.4f validation accuracy; best uncompressed merge %s %.4f; front hypervolume %.4f\n", h.BestID, h.BestScore, h.BestMergeID, h.BestMergeScore, h.Hypervolume)
	}
	if len(p.Front) > 0 {
		fmt.Fprintf(w, "front (%d):\n", len(p.Front))
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  id\trecipe\taccuracy\tbytes\tcompression")
		for _, m := range p.Front {
			comp := "-"
			if m.Compression != nil {
				comp = fmt.Sprintf("%s %.1fx", m.Compression.Algorithm, m.Compression.Ratio)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.4f\t%d\t%s\n", m.ID, evomerge.RecipeString(m.Recipe), m.Score.Accuracy, m.Score.SizeBytes, comp)
		}
		tw.Flush()
	}
	if len(running) == 0 {
		fmt.Fprintln(w, "running: nothing in flight")
		return
	}
	fmt.Fprintln(w, "running:")
	for _, r := range running {
		fmt.Fprintf(w, "  %s\n", r)
	}
}
