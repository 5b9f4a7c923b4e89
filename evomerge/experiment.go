package evomerge

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ExperimentRun is one run of `evomerge experiment`: a strategy and a seed at the
// experiment's budget.
type ExperimentRun struct {
	Strategy string `json:"strategy"`
	Seed     uint64 `json:"seed"`
	// Hypervolume is the delivered front's normalized hypervolume (FrontHypervolume).
	Hypervolume float64 `json:"hypervolume"`
	// BestAccuracy is the front's best validation accuracy and BestTestAccuracy that same
	// model's test accuracy (reported, never selected on).
	BestAccuracy     float64   `json:"best_accuracy"`
	BestTestAccuracy float64   `json:"best_test_accuracy"`
	FrontSize        int       `json:"front_size"`
	Evaluations      int       `json:"evaluations"`
	WallSeconds      float64   `json:"wall_seconds"`
	History          []float64 `json:"history,omitempty"`
}

// RunOf summarizes a finished run's report for an experiment.
func RunOf(strategy string, r Report) ExperimentRun {
	e := ExperimentRun{Strategy: strategy, Seed: r.Seed, Hypervolume: r.Hypervolume, FrontSize: len(r.Front),
		Evaluations: r.Evaluations, WallSeconds: r.WallSeconds, History: r.HypervolumeHistory}
	for _, m := range r.Front {
		if m.Objectives.Accuracy > e.BestAccuracy {
			e.BestAccuracy, e.BestTestAccuracy = m.Objectives.Accuracy, m.Objectives.TestAccuracy
		}
	}
	return e
}

// Spread is the median, minimum and maximum of some values.
type Spread struct{ Median, Min, Max float64 }

// SpreadOf returns the spread of v (zero for no values); the median of an even count is
// the mean of the middle two.
func SpreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1]}
}

// StrategySummary is one strategy's line of the experiment table.
type StrategySummary struct {
	Strategy         string `json:"strategy"`
	Runs             int    `json:"runs"`
	Hypervolume      Spread `json:"hypervolume"`
	BestAccuracy     Spread `json:"best_accuracy"`
	BestTestAccuracy Spread `json:"best_test_accuracy"`
}

// Summarize groups runs by strategy, in order of first appearance.
func Summarize(runs []ExperimentRun) []StrategySummary {
	var order []string
	by := map[string][]ExperimentRun{}
	for _, r := range runs {
		if _, ok := by[r.Strategy]; !ok {
			order = append(order, r.Strategy)
		}
		by[r.Strategy] = append(by[r.Strategy], r)
	}
	var out []StrategySummary
	for _, s := range order {
		var hv, acc, test []float64
		for _, r := range by[s] {
			hv, acc, test = append(hv, r.Hypervolume), append(acc, r.BestAccuracy), append(test, r.BestTestAccuracy)
		}
		out = append(out, StrategySummary{Strategy: s, Runs: len(by[s]), Hypervolume: SpreadOf(hv), BestAccuracy: SpreadOf(acc), BestTestAccuracy: SpreadOf(test)})
	}
	return out
}

// ExperimentTable renders the summary for a terminal or a README.
func ExperimentTable(sum []StrategySummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| strategy | runs | hypervolume median [min, max] | best validation accuracy median [min, max] | its test accuracy median [min, max] |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|\n")
	for _, s := range sum {
		fmt.Fprintf(&b, "| %s | %d | %.4f [%.4f, %.4f] | %.4f [%.4f, %.4f] | %.4f [%.4f, %.4f] |\n", s.Strategy, s.Runs,
			s.Hypervolume.Median, s.Hypervolume.Min, s.Hypervolume.Max,
			s.BestAccuracy.Median, s.BestAccuracy.Min, s.BestAccuracy.Max,
			s.BestTestAccuracy.Median, s.BestTestAccuracy.Min, s.BestTestAccuracy.Max)
	}
	return b.String()
}

// Experiment files.
const (
	ExperimentCSV = "experiment.csv"
	ExperimentPNG = "experiment.png"
	ExperimentMD  = "experiment.md"
)

// WriteExperiment writes experiment.csv (one row per run), experiment.png (hypervolume per
// generation, one line per run, coloured by strategy) and experiment.md (the table) to dir.
func WriteExperiment(dir string, runs []ExperimentRun) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"strategy", "seed", "hypervolume", "best_accuracy", "best_test_accuracy", "front_size", "evaluations", "wall_seconds"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, r := range runs {
		_ = w.Write([]string{r.Strategy, strconv.FormatUint(r.Seed, 10), f(r.Hypervolume), f(r.BestAccuracy), f(r.BestTestAccuracy),
			strconv.Itoa(r.FrontSize), strconv.Itoa(r.Evaluations), f(r.WallSeconds)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, ExperimentCSV), buf.Bytes()); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, ExperimentMD), []byte(ExperimentTable(Summarize(runs)))); err != nil {
		return err
	}
	p, err := experimentPlot(runs)
	if err != nil {
		return err
	}
	return savePlot(p, filepath.Join(dir, ExperimentPNG))
}

var strategyColors = []color.Color{
	color.RGBA{R: 20, G: 90, B: 200, A: 255},
	color.RGBA{R: 200, G: 110, B: 20, A: 255},
	color.RGBA{R: 90, G: 160, B: 60, A: 255},
	color.RGBA{R: 150, G: 60, B: 160, A: 255},
}

func experimentPlot(runs []ExperimentRun) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "front hypervolume per generation, by strategy"
	p.X.Label.Text = "generation"
	p.Y.Label.Text = "hypervolume (normalized against the seeds)"
	p.Add(plotter.NewGrid())
	var order []string
	for _, r := range runs {
		if !slices.Contains(order, r.Strategy) {
			order = append(order, r.Strategy)
		}
	}
	for _, r := range runs {
		if len(r.History) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(r.History))
		for i, v := range r.History {
			pts[i] = plotter.XY{X: float64(i + 1), Y: v}
		}
		l, s, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		c := strategyColors[slices.Index(order, r.Strategy)%len(strategyColors)]
		l.Color, s.Color = c, c
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(2)
		p.Add(l, s)
		if r.Seed == firstSeed(runs, r.Strategy) {
			p.Legend.Add(r.Strategy, l, s)
		}
	}
	p.Legend.Top, p.Legend.Left = false, false
	return p, nil
}

func firstSeed(runs []ExperimentRun, strategy string) uint64 {
	for _, r := range runs {
		if r.Strategy == strategy {
			return r.Seed
		}
	}
	return 0
}
