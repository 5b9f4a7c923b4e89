package evomerge

import (
	"bytes"
	"cmp"
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"slices"

	"github.com/evomerge/evomerge/tensor"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot files written next to report.md.
const (
	FrontSVG    = "front.svg"
	FrontPNG    = "front.png"
	ProgressPNG = "progress.png"
)

var (
	fadedColor = color.RGBA{R: 185, G: 185, B: 185, A: 255}
	seedColor  = color.RGBA{R: 200, G: 110, B: 20, A: 255}
	frontColor = color.RGBA{R: 20, G: 90, B: 200, A: 255}
)

// WritePlots draws the run into dir: front.svg and front.png (accuracy against size on
// disk, log scale; every evaluated child faded, the seeds as triangles, the front as
// filled circles joined by its staircase) and progress.png (the front's hypervolume per
// generation). Files are written through a temporary name and renamed, like the report.
func WritePlots(dir string, in ReportInput, r Report) error {
	fp, err := frontPlot(in, r)
	if err != nil {
		return err
	}
	for _, name := range []string{FrontSVG, FrontPNG} {
		if err := savePlot(fp, filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	if len(in.HypervolumeHistory) == 0 {
		return nil
	}
	pp, err := progressPlot(in.HypervolumeHistory)
	if err != nil {
		return err
	}
	return savePlot(pp, filepath.Join(dir, ProgressPNG))
}

func frontPlot(in ReportInput, r Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: accuracy against size (front of %d)", r.Run, len(r.Front))
	p.X.Label.Text = "size on disk (bytes, log scale)"
	p.Y.Label.Text = "validation accuracy"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())

	xy := func(acc float64, size int64) plotter.XY { return plotter.XY{X: float64(max(size, 1)), Y: acc} }
	var children, seeds, front plotter.XYs
	for _, c := range in.Children {
		children = append(children, xy(c.Accuracy, c.SizeBytes))
	}
	for _, s := range r.Seeds {
		seeds = append(seeds, xy(s.Objectives.Accuracy, s.Objectives.SizeBytes))
	}
	for _, f := range r.Front {
		front = append(front, xy(f.Objectives.Accuracy, f.Objectives.SizeBytes))
	}
	add := func(name string, pts plotter.XYs, c color.Color, shape draw.GlyphDrawer, radius vg.Length) error {
		if len(pts) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: c, Shape: shape, Radius: radius}
		p.Add(s)
		p.Legend.Add(name, s)
		return nil
	}
	if err := add("children", children, fadedColor, draw.RingGlyph{}, vg.Points(2.5)); err != nil {
		return nil, err
	}
	if err := add("seeds", seeds, seedColor, draw.TriangleGlyph{}, vg.Points(4)); err != nil {
		return nil, err
	}
	if len(front) > 0 {
		// The staircase: smallest first, accuracy held until the next member (maximize
		// accuracy, minimize size).
		stairs := slices.Clone(front)
		slices.SortFunc(stairs, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		l, err := plotter.NewLine(stairs)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.LineStyle.Color = frontColor
		l.LineStyle.Width = vg.Points(1)
		p.Add(l)
	}
	if err := add("front", front, frontColor, draw.CircleGlyph{}, vg.Points(4)); err != nil {
		return nil, err
	}
	// Bottom left: compressed children sit at the left edge, seeds at the right.
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(40), vg.Points(10)
	return p, nil
}

func progressPlot(hv []float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "front hypervolume per generation"
	p.X.Label.Text = "generation"
	p.Y.Label.Text = "hypervolume (normalized against the seeds)"
	p.Add(plotter.NewGrid())
	pts := make(plotter.XYs, len(hv))
	for i, v := range hv {
		pts[i] = plotter.XY{X: float64(i + 1), Y: v}
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, err
	}
	l.Color, s.Color = frontColor, frontColor
	p.Add(l, s)
	return p, nil
}

// savePlot renders p to path (the format from its extension) atomically.
func savePlot(p *plot.Plot, path string) error {
	w, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, filepath.Ext(path)[1:])
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

func writeAtomic(path string, b []byte) error {
	return tensor.WriteAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
