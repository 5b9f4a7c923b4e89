package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/evomerge/evomerge/evomerge"
)

// What the Temporal Web UI shows of a run: a static summary on each workflow (set where
// it starts), current details (markdown, kept up to date as the run goes) and a
// summary on each activity naming the child and the step. None of it is a workflow
// command, so none of it touches replay.

// summarized is ctx with the activity summary s ("merge g3-c05").
func summarized(ctx workflow.Context, s string) workflow.Context {
	o := workflow.GetActivityOptions(ctx)
	o.Summary = s
	return workflow.WithActivityOptions(ctx, o)
}

// RunSummary is the static summary of a run's workflow: its name and shape.
func RunSummary(cfg evomerge.Config) string {
	comp := "no compression"
	if cfg.Compression.Enabled {
		comp = "compression " + cfg.Compression.Algorithm
	}
	return fmt.Sprintf("evomerge %s: %d generations × %d children, %s, %s, %s evaluator; objectives %s",
		cfg.Name, cfg.Evolution.Generations, cfg.Evolution.Children, cfg.Evolution.Strategy, comp, cfg.Evaluator.Kind, evomerge.ObjectivesString(cfg.Objectives))
}

// maxRows bounds the tables in current details.
const maxRows = 20

// details is the run's current details: stage, progress, best scores and the front.
func (r *run) details() string {
	var b strings.Builder
	s := r.state
	fmt.Fprintf(&b, "## %s: %s\n\n", r.cfg.Name, s.Stage)
	fmt.Fprintf(&b, "**generation %d of %d** done · %d evaluations of a budget of %d", s.Generation, r.cfg.Evolution.Generations, s.Evaluations, r.cfg.Evolution.Budget)
	switch {
	case s.Paused:
		b.WriteString(" · **paused** (`evomerge resume`)")
	case s.Stopping:
		b.WriteString(" · **stopping** after this generation")
	}
	b.WriteString("\n\n")
	if n := len(s.History); n > 0 {
		h := s.History[n-1]
		fmt.Fprintf(&b, "best **%s %.4f**, best uncompressed merge %s %.4f, front hypervolume %.4f\n\n", h.BestID, h.BestScore, h.BestMergeID, h.BestMergeScore, h.Hypervolume)
	}
	if len(s.Front) > 0 {
		fmt.Fprintf(&b, "### Front (%d)\n\n", len(s.Front))
		modelTable(&b, s.Front)
	}
	return b.String()
}

// details is a generation's current details: its children so far.
func (g *generation) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s, generation %d of %d\n\n%d of %d children evaluated\n\n", g.in.Config.Name, g.in.Generation, g.in.Config.Evolution.Generations, len(g.done), g.planned)
	if len(g.done) > 0 {
		modelTable(&b, g.done)
	}
	return b.String()
}

// modelTable writes models as a markdown table, at most maxRows of them.
func modelTable(b *strings.Builder, ms []evomerge.Model) {
	b.WriteString("| id | recipe | accuracy | bytes | compression | verdict |\n|---|---|---|---|---|---|\n")
	for i, m := range ms {
		if i == maxRows {
			fmt.Fprintf(b, "| … %d more | | | | | |\n", len(ms)-maxRows)
			break
		}
		comp := "—"
		if c := m.Compression; c != nil {
			comp = fmt.Sprintf("%s %.1f×", c.Algorithm, c.Ratio)
		}
		verdict := "accepted"
		if !m.Accepted {
			verdict = "rejected"
			for _, g := range m.Gates {
				if g.Enforced && !g.Passed {
					verdict += ": " + g.Name
					break
				}
			}
		}
		fmt.Fprintf(b, "| %s | %s | %.4f | %d | %s | %s |\n", m.ID, strings.ReplaceAll(evomerge.RecipeString(m.Recipe), "|", "/"), m.Score.Accuracy, m.Score.SizeBytes, comp, verdict)
	}
}
