package evomerge

import (
	"fmt"
	"sort"
	"strings"

	"github.com/evomerge/evomerge/bench"
)

// BuildReport turns the run's models into the report's shape.
func BuildReport(in ReportInput) Report {
	r := Report{
		Run: in.Config.Name, WorkflowID: in.WorkflowID, Seed: in.Config.Seed,
		Generations: in.Generations, Evaluations: in.Evaluations, Hypervolume: in.Hypervolume,
		StartedAt: in.StartedAt, FinishedAt: in.FinishedAt, WallSeconds: in.WallSeconds,
		Objectives: in.Config.Objectives, Compression: in.Config.Compression, OutputDir: in.Config.OutputDir,
		HypervolumeHistory: in.HypervolumeHistory, History: in.History, StoppedEarly: in.StoppedEarly, Stopped: in.Stopped,
		Strategy: in.Config.Evolution.Strategy, Budget: in.Config.Evolution.Budget, LayerGranularity: in.Config.Evolution.LayerGranularity,
		Sensitivity: in.Sensitivity,
	}
	if h := in.Config.Evaluator.Hardware; h != nil {
		r.Hardware, r.HardwareTaskQueue = h.Name, h.TaskQueue
	}
	for _, m := range in.Seeds {
		r.Seeds = append(r.Seeds, reportModel(m))
	}
	for _, m := range in.Front {
		r.Front = append(r.Front, reportModel(m))
	}
	for _, m := range in.Rejected {
		r.Rejected = append(r.Rejected, reportModel(m))
	}
	if in.BestMerge != nil {
		b := reportModel(*in.BestMerge)
		// The best merge is reported uncompressed.
		b.Objectives = objectives(in.BestMerge.MergedScore)
		b.Uncompressed, b.Compression, b.AccuracyRetention, b.UncompressedDigest = nil, nil, 0, ""
		b.Digest = in.BestMerge.Merged.Digest
		r.BestMerge = &b
	}
	return r
}

func reportModel(m Model) ReportModel {
	rm := ReportModel{
		ID: m.ID, Generation: m.Generation, Recipe: m.Recipe, Genes: m.Genes, Objectives: objectives(m.Score),
		Compression: m.Compression, Gates: m.Gates, Accepted: m.Accepted, Digest: m.Artifact.Digest,
	}
	if m.Compression != nil {
		u := objectives(m.MergedScore)
		rm.Uncompressed = &u
		rm.UncompressedDigest = m.Merged.Digest
		if m.MergedScore.Accuracy > 0 {
			rm.AccuracyRetention = m.Score.Accuracy / m.MergedScore.Accuracy
		}
	}
	return rm
}

func objectives(s bench.Result) Objectives {
	return Objectives{Accuracy: s.Accuracy, TestAccuracy: s.TestAccuracy, SizeBytes: s.SizeBytes, LatencyMs: s.LatencyMs, WeightBytes: s.WeightBytes, Speedup: s.Speedup, MeasuredOn: s.MeasuredOn, Metrics: s.Metrics}
}

// Markdown renders the report for people.
func Markdown(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# evomerge run %s\n\n", r.Run)
	fmt.Fprintf(&b, "- workflow: `%s`, seed %d\n- generations: %d, evaluations: %d\n- wall time: %.1f s (%s → %s)\n- objectives: %s\n",
		r.WorkflowID, r.Seed, r.Generations, r.Evaluations, r.WallSeconds, r.StartedAt, r.FinishedAt, ObjectivesString(r.Objectives))
	fmt.Fprintf(&b, "- front hypervolume: %.4f (objectives normalized against the seeds: accuracy from 0, size and latency as fractions of the largest and slowest seed)\n", r.Hypervolume)
	fmt.Fprintf(&b, "- search: %s, budget %d evaluations, %d layer group(s)", r.Strategy, r.Budget, r.LayerGranularity)
	if r.StoppedEarly {
		b.WriteString(", stopped early (the front stopped improving)")
	}
	if r.Stopped {
		fmt.Fprintf(&b, ", stopped by request after generation %d", r.Generations)
	}
	b.WriteString("\n")
	if r.Hardware != "" {
		fmt.Fprintf(&b, "- latency measured on hardware profile %q (task queue `%s`)\n", r.Hardware, r.HardwareTaskQueue)
	}
	if c := r.Compression; c.Enabled {
		fmt.Fprintf(&b, "- compression: %s at %s, target ratio %.1f×, accuracy threshold %.2f",
			c.Algorithm, strings.Join(c.ApplyAt, ", "), c.TargetRatio, c.AccuracyThreshold)
		if c.Profile != "" {
			fmt.Fprintf(&b, ", profile %s", c.Profile)
		}
		if len(c.Codecs) > 0 {
			fmt.Fprintf(&b, ", codecs %s", strings.Join(c.Codecs, ", "))
		}
		if p := c.Progressive; p != nil {
			fmt.Fprintf(&b, ", progressive strength floor %.2f → %.2f", p.Start, p.End)
		}
		b.WriteString("\n")
	}
	table := func(title string, ms []ReportModel) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		b.WriteString("| id | recipe | validation accuracy | test accuracy | size (bytes) | weight memory (bytes) | latency (ms) | speed-up | compression | retention | gates | digest |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range ms {
			comp, ret, speed := "—", "—", "—"
			if c := m.Compression; c != nil {
				comp = fmt.Sprintf("%s %.2f bpw, %.1f×", c.Algorithm, c.BitsPerWeight, c.Ratio)
				if r := c.Recovery; r != nil {
					comp += fmt.Sprintf(", distilled %d steps", r.Steps)
				}
				ret = fmt.Sprintf("%.1f%%", 100*m.AccuracyRetention)
			}
			if m.Objectives.Speedup > 0 {
				speed = fmt.Sprintf("%.2f×", m.Objectives.Speedup)
			}
			fmt.Fprintf(&b, "| %s | %s | %.4f | %.4f | %d | %d | %.4f | %s | %s | %s | %s | `%s` |\n",
				m.ID, RecipeString(m.Recipe)+genesCell(m.Genes), m.Objectives.Accuracy, m.Objectives.TestAccuracy, m.Objectives.SizeBytes, m.Objectives.WeightBytes, m.Objectives.LatencyMs,
				speed, comp, ret, gateString(m.Gates), shortDigest(m.Digest))
		}
	}
	fmt.Fprintf(&b, "\n![accuracy against size: children faded, seeds as triangles, the front and its staircase](%s)\n", FrontSVG)
	if len(r.HypervolumeHistory) > 0 {
		fmt.Fprintf(&b, "\n![front hypervolume per generation](%s)\n", ProgressPNG)
	}
	if len(r.History) > 0 {
		b.WriteString("\n## Generations\n\n| generation | children | accepted | front | hypervolume | best validation accuracy | strength floor | mean strength |\n|---|---|---|---|---|---|---|---|\n")
		for _, h := range r.History {
			fmt.Fprintf(&b, "| %d | %d | %d | %d | %.4f | %.4f | %.2f | %.2f |\n", h.Generation, h.Children, h.Accepted, h.FrontSize, h.Hypervolume, h.BestAccuracy, h.Floor, h.MeanStrength)
		}
	}
	table("Seed models", r.Seeds)
	table("Pareto front", r.Front)
	if len(r.Rejected) > 0 {
		table("Rejected at the final gates", r.Rejected)
	}
	if m := r.BestMerge; m != nil {
		fmt.Fprintf(&b, "\n## Best uncompressed merge\n\n%s (generation %d, chosen on validation): validation accuracy %.4f, test accuracy %.4f, %d bytes, %.4f ms; recipe %s; digest `%s`\n",
			m.ID, m.Generation, m.Objectives.Accuracy, m.Objectives.TestAccuracy, m.Objectives.SizeBytes, m.Objectives.LatencyMs, RecipeString(m.Recipe), m.Digest)
	}
	if len(r.Sensitivity) > 0 {
		b.WriteString("\n## Layer sensitivity (algorithm auto, measured on the base model)\n\n| tensor | weights | codec | options | bits per weight | error |\n|---|---|---|---|---|---|\n")
		for _, l := range r.Sensitivity {
			for _, o := range l.Options {
				fmt.Fprintf(&b, "| %s | %d | %s | %s | %.2f | %.5f |\n", l.Tensor, l.Weights, o.Codec, optionsString(o.Options), o.BitsPerWeight, o.Error)
			}
		}
	}
	b.WriteString("\nFront models are exported under `front/<id>/model.safetensors`; the best uncompressed merge under `best-merge/`.\n")
	return b.String()
}

// RecipeString renders a recipe compactly: method(w1,w2,...; param=v).
func RecipeString(r *Recipe) string {
	if r == nil {
		return "seed"
	}
	ws := make([]string, len(r.Weights))
	for i, w := range r.Weights {
		ws[i] = fmt.Sprintf("%.2f", w)
	}
	s := r.Method + "(" + strings.Join(ws, ",")
	names := make([]string, 0, len(r.Params))
	for k := range r.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s += fmt.Sprintf("; %s=%.2f", k, r.Params[k])
	}
	return s + ")"
}

func gateString(gs []GateResult) string {
	if len(gs) == 0 {
		return "—"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		mark := "pass"
		if !g.Passed {
			mark = "FAIL"
			if !g.Enforced {
				mark = "fail (not enforced)"
			}
		}
		parts[i] = g.Name + " " + mark
	}
	return strings.Join(parts, ", ")
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

// ObjectivesString renders objectives as "accuracy ↑, size_bytes ↓".
func ObjectivesString(objs []Objective) string {
	var parts []string
	for _, o := range objs {
		arrow := "↓"
		if o.Direction == Maximize {
			arrow = "↑"
		}
		parts = append(parts, o.Metric+" "+arrow)
	}
	return strings.Join(parts, ", ")
}

func genesCell(genes []CodecGene) string {
	if len(genes) == 0 {
		return ""
	}
	return " [" + GenesString(genes) + "]"
}

func optionsString(o map[string]float64) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%g", k, o[k]))
	}
	return strings.Join(parts, " ")
}
