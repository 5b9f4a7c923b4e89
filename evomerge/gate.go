package evomerge

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/evomerge/evomerge/pareto"
)

// Gates applies the seed document's quality gates to a child:
//
//   - functional: inference ran and every output was finite;
//   - accuracy: accuracy ≥ accuracy_threshold × reference, where the reference is the
//     base model, and for a compressed child the better of the base model and its own
//     uncompressed merge: compression must retain the merge's accuracy, and a poor merge
//     that compresses well does not pass for that;
//   - size: compression ratio on disk ≥ target_ratio (passes when not compressed);
//   - latency: speed-up of the compressed over the uncompressed model ≥ min_speedup,
//     the median ratio of their interleaved batch-1 timings (bench.Result.Speedup);
//     passes when not compressed. Enforced unless gates.latency.enforce is false.
//
// A child is accepted when every enforced gate passes.
func Gates(in GateInput) GateOutput {
	c := in.Child
	var gates []GateResult
	// A user's program (command evaluator) that reported is functional unless it
	// reports finite = 0; it need not count examples.
	functional := c.Score.Finite && c.Score.Scored()
	detail := fmt.Sprintf("inference on %d examples, outputs finite: %v", c.Score.Examples, c.Score.Finite)
	if c.Score.Examples == 0 && c.Score.Metrics != nil {
		detail = fmt.Sprintf("the evaluator's program reported %d metrics, finite: %v", len(c.Score.Metrics), c.Score.Finite)
	}
	gates = append(gates, GateResult{
		Name: "functional", Passed: functional, Enforced: true, Value: b2f(functional), Threshold: 1, Detail: detail,
	})

	ref, refName := in.Reference.Accuracy, "base model"
	if c.Compression != nil && c.MergedScore.Accuracy >= ref {
		ref, refName = c.MergedScore.Accuracy, "uncompressed merge"
	}
	need := in.Compression.AccuracyThreshold * ref
	gates = append(gates, GateResult{
		Name: "accuracy", Passed: c.Score.Accuracy >= need, Enforced: true, Value: c.Score.Accuracy, Threshold: need,
		Detail: fmt.Sprintf("accuracy %.4f vs %.2f × %s %.4f", c.Score.Accuracy, in.Compression.AccuracyThreshold, refName, ref),
	})

	size := GateResult{Name: "size", Passed: true, Enforced: true, Threshold: in.Compression.TargetRatio, Detail: "not compressed"}
	latency := GateResult{Name: "latency", Passed: true, Enforced: in.Gates.Latency.Enforced(), Threshold: in.Gates.Latency.MinSpeedup, Detail: "not compressed"}
	if ci := c.Compression; ci != nil {
		size.Value = ci.Ratio
		size.Passed = ci.Ratio >= in.Compression.TargetRatio
		size.Detail = fmt.Sprintf("%s ratio %.2f× vs target %.2f×", ci.Algorithm, ci.Ratio, in.Compression.TargetRatio)
		// The interleaved measurement against the uncompressed merge; a score without one
		// (benchmarked alone) falls back to the ratio of the separately measured medians.
		speedup, refMs := c.Score.Speedup, c.Score.ReferenceLatencyMs
		if speedup == 0 {
			speedup, refMs = math.NaN(), c.MergedScore.LatencyMs
			if c.Score.LatencyMs > 0 {
				speedup = c.MergedScore.LatencyMs / c.Score.LatencyMs
			}
		}
		latency.Value = speedup
		latency.Passed = speedup >= in.Gates.Latency.MinSpeedup
		latency.Detail = fmt.Sprintf("speed-up %.2f× (%.4f ms → %.4f ms, interleaved) vs %.2f×", speedup, refMs, c.Score.LatencyMs, in.Gates.Latency.MinSpeedup)
		if c.Score.LatencyMs == 0 && c.Score.Speedup == 0 && c.MergedScore.LatencyMs == 0 {
			// An evaluator that times nothing (a user's program reporting only quality)
			// gives the gate nothing to hold a child to.
			latency.Value, latency.Passed = 0, true
			latency.Detail = "not measured: the evaluator reports no latency"
		} else if !latency.Enforced {
			latency.Detail += " (reported, not enforced)"
		}
	}
	gates = append(gates, size, latency)

	accepted := true
	for _, g := range gates {
		if g.Enforced && !g.Passed {
			accepted = false
		}
	}
	return GateOutput{Gates: gates, Accepted: accepted}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Select keeps in.Survivors candidates by NSGA-II survival over the accepted candidates
// (rank, then crowding distance, then candidate order). If fewer are accepted, the rest
// of the places go to rejected candidates by uncompressed accuracy, so the search can
// continue; they never enter the front. The front is every accepted candidate of rank 0.
func Select(in SelectInput) (SelectOutput, error) {
	var accepted, rejected []int
	for i, c := range in.Candidates {
		if c.Accepted {
			accepted = append(accepted, i)
		} else {
			rejected = append(rejected, i)
		}
	}
	points := make([][]float64, len(accepted))
	var dirs []pareto.Direction
	for k, i := range accepted {
		v, d, err := objectiveVector(in.Candidates[i], in.Objectives)
		if err != nil {
			return SelectOutput{}, err
		}
		points[k], dirs = v, d
	}
	ranked := make([]Model, len(in.Candidates))
	copy(ranked, in.Candidates)
	worst := 0
	if len(points) > 0 {
		rank, crowd := pareto.Rank(points, dirs)
		for k, i := range accepted {
			// JSON has no infinity: a boundary point's +Inf becomes the largest float,
			// which orders the same in the crowded comparison.
			ranked[i].Rank, ranked[i].Crowding = rank[k], min(crowd[k], math.MaxFloat64)
			worst = max(worst, rank[k])
		}
	}
	for _, i := range rejected {
		ranked[i].Rank, ranked[i].Crowding = worst+1, 0
	}

	var out SelectOutput
	n := min(in.Survivors, len(accepted))
	if n > 0 {
		for _, k := range pareto.Survive(points, dirs, n) {
			out.Population = append(out.Population, ranked[accepted[k]])
		}
	}
	if short := in.Survivors - len(out.Population); short > 0 {
		sort.SliceStable(rejected, func(a, b int) bool {
			return ranked[rejected[a]].MergedScore.Accuracy > ranked[rejected[b]].MergedScore.Accuracy
		})
		for _, i := range rejected[:min(short, len(rejected))] {
			out.Population = append(out.Population, ranked[i])
		}
	}
	front, err := Front(append(append([]Model(nil), in.Front...), in.Candidates...), in.Objectives)
	if err != nil {
		return SelectOutput{}, err
	}
	out.Front = front
	return out, nil
}

// Front is the non-dominated set of the accepted models, in their order: the run's
// archive of the best trade-offs found, which survival's population size does not
// truncate. A model appears once: the first of equal IDs, and the first of equal
// deployed artifacts (children that decode to the same model).
func Front(models []Model, objectives []Objective) ([]Model, error) {
	seen := map[string]bool{}
	var ms []Model
	var points [][]float64
	var dirs []pareto.Direction
	for _, m := range models {
		if !m.Accepted || seen[m.ID] || (m.Artifact.Digest != "" && seen["artifact:"+m.Artifact.Digest]) {
			continue
		}
		seen[m.ID] = true
		if m.Artifact.Digest != "" {
			seen["artifact:"+m.Artifact.Digest] = true
		}
		v, d, err := objectiveVector(m, objectives)
		if err != nil {
			return nil, err
		}
		ms, points, dirs = append(ms, m), append(points, v), d
	}
	if len(ms) == 0 {
		return nil, nil
	}
	rank, _ := pareto.Rank(points, dirs)
	var front []Model
	for i, m := range ms {
		if rank[i] == 0 {
			front = append(front, m)
		}
	}
	return front, nil
}

// FrontHypervolume is the hypervolume of front's objective vectors (pareto.Hypervolume)
// in a space normalized against the seed models (Normalizer), so that runs and
// generations compare: accuracy as is, against 0; size_bytes and latency_ms as fractions
// of the largest and slowest seed, against 1. With the default objectives it is the
// share of the unit square (accuracy × size relative to the biggest seed) that the front
// dominates, in [0, 1]; a front no smaller than every seed scores 0. Without seeds it is 0.
func FrontHypervolume(front, seeds []Model, objectives []Objective) (float64, error) {
	if len(seeds) == 0 {
		return 0, nil
	}
	n, err := NewNormalizer(seeds, objectives)
	if err != nil || n == nil {
		return 0, err
	}
	points := make([][]float64, 0, len(front))
	for _, m := range front {
		v, err := n.Point(m)
		if err != nil {
			return 0, err
		}
		points = append(points, v)
	}
	return pareto.Hypervolume(points, n.Dirs, n.Ref), nil
}

// Normalizer scales objective vectors against the seed models: a minimized metric as a
// fraction of the seeds' largest value (reference point 1), a maximized one as a
// fraction of the seeds' largest value, accuracy as is (reference point 0).
type Normalizer struct {
	Objectives []Objective
	Dirs       []pareto.Direction
	// Scale divides each objective; Ref is the hypervolume reference point.
	Scale, Ref []float64
}

// NewNormalizer builds the normalizer of a run. A minimized objective that every seed
// scores 0 on, and any metric that is not one of evomerge's own (a command evaluator's),
// is left unscaled: against reference 0 when maximized, 1 when minimized.
func NewNormalizer(seeds []Model, objectives []Objective) (*Normalizer, error) {
	n := &Normalizer{Objectives: objectives, Scale: make([]float64, len(objectives)), Ref: make([]float64, len(objectives))}
	for _, s := range seeds {
		v, d, err := objectiveVector(s, objectives)
		if err != nil {
			return nil, err
		}
		n.Dirs = d
		for k := range v {
			n.Scale[k] = max(n.Scale[k], v[k])
		}
	}
	if n.Dirs == nil {
		_, d, err := objectiveVector(Model{}, objectives)
		if err != nil {
			return nil, err
		}
		n.Dirs = d
	}
	for k, o := range objectives {
		switch {
		case o.Metric == ObjAccuracy:
			n.Scale[k] = 1
		case !slices.ContainsFunc(metrics, func(m Objective) bool { return m.Metric == o.Metric }):
			// A command evaluator's own metric is taken as it is, against 0 when
			// maximized and 1 when minimized: the seeds need not span it (a fine-tune's
			// "interference" is 0 up to rounding).
			n.Scale[k] = 1
			if n.Dirs[k] == pareto.Minimize {
				n.Ref[k] = 1
			}
		case n.Dirs[k] == pareto.Minimize:
			// A latency nobody measured (every seed 0) is taken as is.
			if !(n.Scale[k] > 0) {
				n.Scale[k] = 1
			}
			n.Ref[k] = 1
		case !(n.Scale[k] > 0):
			n.Scale[k] = 1
		}
	}
	return n, nil
}

// Point is m's normalized objective vector.
func (n *Normalizer) Point(m Model) ([]float64, error) {
	v, _, err := objectiveVector(m, n.Objectives)
	if err != nil {
		return nil, err
	}
	for k := range v {
		v[k] /= n.Scale[k]
	}
	return v, nil
}

// Minimized is m's normalized objective vector with maximized objectives negated: the
// form search strategies minimize.
func (n *Normalizer) Minimized(m Model) ([]float64, error) {
	v, err := n.Point(m)
	if err != nil {
		return nil, err
	}
	for k, d := range n.Dirs {
		if d == pareto.Maximize {
			v[k] = -v[k]
		}
	}
	return v, nil
}

// Violation is how badly m fails its enforced gates: 0 when accepted, otherwise the
// number of enforced gates failed plus each one's relative shortfall (so that a child
// nearly passing ranks above one far off, under constrained domination).
func Violation(m Model) float64 {
	if m.Accepted {
		return 0
	}
	v := 0.0
	for _, g := range m.Gates {
		if !g.Enforced || g.Passed {
			continue
		}
		v++
		if g.Threshold > 0 && g.Value >= 0 && g.Value < g.Threshold {
			v += (g.Threshold - g.Value) / g.Threshold
		}
	}
	if v == 0 {
		v = 1 // rejected without a failed enforced gate (a recipe that could not merge)
	}
	return v
}

// objectiveVector returns m's objectives in order, with their directions.
func objectiveVector(m Model, objectives []Objective) ([]float64, []pareto.Direction, error) {
	v := make([]float64, len(objectives))
	d := make([]pareto.Direction, len(objectives))
	for i, o := range objectives {
		x, ok := MetricValue(m.Score, o.Metric)
		if !ok && m.Score.Scored() {
			return nil, nil, fmt.Errorf("%s: no value for objective %q", m.ID, o.Metric)
		}
		// (An unscored child — its merge failed — has no metrics; it is rejected and
		// its vector, zeros, only orders it among the rejected.)
		v[i], d[i] = x, pareto.Minimize
		if o.Direction == Maximize {
			d[i] = pareto.Maximize
		}
	}
	return v, d, nil
}
