package evomerge

import (
	"math"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/bench"
)

var seedCompression = CompressionSpec{Enabled: true, Algorithm: "bitnet", ApplyAt: []string{"post_merge", "final"}, TargetRatio: 8, AccuracyThreshold: 0.85}

func compressedChild(mergedAcc, acc, ratio, mergedMs, ms float64) Model {
	return Model{
		ID:          "g1-c00",
		MergedScore: bench.Result{Accuracy: mergedAcc, LatencyMs: mergedMs, Finite: true, Examples: 100},
		Score:       bench.Result{Accuracy: acc, LatencyMs: ms, Finite: true, Examples: 100},
		Compression: &CompressionInfo{Algorithm: "bitnet", Ratio: ratio},
	}
}

func gate(out GateOutput, name string) GateResult {
	for _, g := range out.Gates {
		if g.Name == name {
			return g
		}
	}
	return GateResult{Name: "missing"}
}

func TestGates(t *testing.T) {
	// 0.80 ≥ 0.85 × 0.90 = 0.765: passes; ratio 15 ≥ 8 passes; latency 1.0/1.25 = 0.8× < 1 fails but is not enforced.
	off := false
	out := Gates(GateInput{Child: compressedChild(0.90, 0.80, 15, 1.0, 1.25), Compression: seedCompression,
		Gates: GatesSpec{Latency: LatencyGateSpec{MinSpeedup: 1, Enforce: &off}}})
	if !out.Accepted {
		t.Errorf("child should be accepted: %+v", out.Gates)
	}
	if g := gate(out, "accuracy"); !g.Passed || g.Threshold < 0.7649 || g.Threshold > 0.7651 {
		t.Errorf("accuracy gate %+v, want pass with threshold 0.765", g)
	}
	if g := gate(out, "latency"); g.Passed || g.Enforced || g.Value < 0.799 || g.Value > 0.801 {
		t.Errorf("latency gate %+v, want a non-enforced fail at 0.8×", g)
	}

	// 0.70 < 0.765: rejected by accuracy. Ratio 4 < 8: rejected by size.
	out = Gates(GateInput{Child: compressedChild(0.90, 0.70, 4, 1, 1), Compression: seedCompression})
	if out.Accepted || gate(out, "accuracy").Passed || gate(out, "size").Passed || !gate(out, "functional").Passed {
		t.Errorf("want accuracy and size failures: %+v", out.Gates)
	}

	// The latency gate is enforced by default and rejects a slower compressed child.
	out = Gates(GateInput{Child: compressedChild(0.90, 0.89, 15, 1.0, 2.0), Compression: seedCompression,
		Gates: GatesSpec{Latency: LatencyGateSpec{MinSpeedup: 1}}})
	if out.Accepted || !gate(out, "latency").Enforced {
		t.Errorf("default latency gate should reject a 0.5× child: %+v", out.Gates)
	}

	// The interleaved speed-up, when measured, decides rather than the separate medians.
	c2 := compressedChild(0.90, 0.89, 15, 1.0, 2.0)
	c2.Score.Speedup, c2.Score.ReferenceLatencyMs = 2.5, 5.0
	out = Gates(GateInput{Child: c2, Compression: seedCompression, Gates: GatesSpec{Latency: LatencyGateSpec{MinSpeedup: 2}}})
	if g := gate(out, "latency"); !g.Passed || g.Value != 2.5 || !out.Accepted {
		t.Errorf("interleaved speed-up 2.5× against min 2×: %+v", g)
	}

	// A compressed child of a poor merge is held to the base model: 0.29 retains 97% of
	// its merge's 0.30, but 0.29 < 0.85 × 0.89.
	out = Gates(GateInput{Child: compressedChild(0.30, 0.29, 15, 1, 1), Compression: seedCompression, Reference: bench.Result{Accuracy: 0.89}})
	if g := gate(out, "accuracy"); g.Passed || math.Abs(g.Threshold-0.7565) > 1e-9 || !strings.Contains(g.Detail, "base model") {
		t.Errorf("accuracy gate %+v, want a fail against 0.85 × base model 0.89", g)
	}
	// A compressed child of a good merge is held to its merge: 0.80 < 0.85 × 0.95.
	out = Gates(GateInput{Child: compressedChild(0.95, 0.80, 15, 1, 1), Compression: seedCompression, Reference: bench.Result{Accuracy: 0.89}})
	if g := gate(out, "accuracy"); g.Passed || math.Abs(g.Threshold-0.8075) > 1e-9 || !strings.Contains(g.Detail, "uncompressed merge") {
		t.Errorf("accuracy gate %+v, want a fail against 0.85 × uncompressed merge 0.95", g)
	}

	// Non-finite outputs fail the functional gate; an uncompressed child is compared with the base model.
	c := Model{Score: bench.Result{Accuracy: 0.95, Finite: false, Examples: 100}}
	out = Gates(GateInput{Child: c, Compression: seedCompression, Reference: bench.Result{Accuracy: 0.9}})
	if out.Accepted || gate(out, "functional").Passed || !strings.Contains(gate(out, "accuracy").Detail, "base model") {
		t.Errorf("functional gate should fail: %+v", out.Gates)
	}

	// A command evaluator's program that reports only quality: functional, and the
	// latency gate passes as not measured even when enforced.
	cmd := compressedChild(0.90, 0.88, 15, 0, 0)
	cmd.Score.Examples, cmd.Score.Metrics = 0, map[string]float64{"accuracy": 0.88}
	cmd.MergedScore.Examples, cmd.MergedScore.Metrics = 0, map[string]float64{"accuracy": 0.9}
	out = Gates(GateInput{Child: cmd, Compression: seedCompression, Gates: GatesSpec{Latency: LatencyGateSpec{MinSpeedup: 2}}})
	if g := gate(out, "latency"); !out.Accepted || !g.Passed || !strings.Contains(g.Detail, "not measured") || !gate(out, "functional").Passed {
		t.Errorf("command evaluator without latency should be accepted: %+v", out.Gates)
	}
	// …but a program that says its outputs were not finite fails it.
	cmd.Score.Finite = false
	if out = Gates(GateInput{Child: cmd, Compression: seedCompression}); out.Accepted || gate(out, "functional").Passed {
		t.Errorf("finite = 0 should fail the functional gate: %+v", out.Gates)
	}
}

func TestSelectKeepsAcceptedFrontAndFillsWithRejected(t *testing.T) {
	m := func(id string, acc float64, size int64, accepted bool) Model {
		return Model{ID: id, Accepted: accepted, Score: bench.Result{Accuracy: acc, SizeBytes: size}, MergedScore: bench.Result{Accuracy: acc}}
	}
	in := SelectInput{
		Objectives: []Objective{{ObjAccuracy, Maximize}, {ObjSizeBytes, Minimize}},
		Survivors:  4,
		Candidates: []Model{
			m("a", 0.90, 100, true), // front: most accurate
			m("b", 0.85, 50, true),  // front: smallest
			m("c", 0.80, 100, true), // dominated by a
			m("d", 0.99, 10, false), // would dominate all, but rejected
			m("e", 0.50, 10, false),
		},
	}
	out, err := Select(in)
	if err != nil {
		t.Fatal(err)
	}
	var front, pop []string
	for _, x := range out.Front {
		front = append(front, x.ID)
	}
	for _, x := range out.Population {
		pop = append(pop, x.ID)
	}
	if strings.Join(front, ",") != "a,b" {
		t.Errorf("front %v, want a,b", front)
	}
	if strings.Join(pop, ",") != "a,b,c,d" {
		t.Errorf("population %v, want a,b,c then the best rejected d", pop)
	}
	if out.Population[2].Rank != 1 || out.Population[3].Rank != 2 {
		t.Errorf("ranks %d %d, want 1 for c and 2 for rejected d", out.Population[2].Rank, out.Population[3].Rank)
	}
}

func TestFrontHypervolumeIsNormalizedAgainstTheSeeds(t *testing.T) {
	m := func(acc float64, size int64, ms float64) Model {
		return Model{Score: bench.Result{Accuracy: acc, SizeBytes: size, LatencyMs: ms, Examples: 100}}
	}
	seeds := []Model{m(0.88, 1000, 0.05), m(0.40, 1200, 0.08)}
	front := []Model{m(0.90, 1200, 0.04), m(0.80, 300, 0.06)}
	cases := []struct {
		objectives []string
		want       float64
	}{
		// Sizes as fractions of 1200: (0.9, 1) adds nothing, (0.8, 0.25) adds 0.8 × 0.75.
		{[]string{"accuracy", "size_bytes"}, 0.6},
		{[]string{"accuracy"}, 0.9},
		// Latencies as fractions of 0.08: (0.9, 0.5) and (0.8, 0.75): 0.9·0.5 + 0 = 0.45
		// (the second point is dominated).
		{[]string{"accuracy", "latency_ms"}, 0.45},
		// Three objectives: (0.9, 1, 0.5) contributes nothing (size not below the
		// reference); (0.8, 0.25, 0.75) spans 0.8 × 0.75 × 0.25.
		{[]string{"accuracy", "size_bytes", "latency_ms"}, 0.8 * 0.75 * 0.25},
	}
	for _, c := range cases {
		objs := objectivesOf(c.objectives...)
		got, err := FrontHypervolume(front, seeds, objs)
		if err != nil || math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%v: FrontHypervolume = %v, %v; want %v", c.objectives, got, err, c.want)
		}
	}
	if got, err := FrontHypervolume(front, nil, objectivesOf("accuracy")); got != 0 || err != nil {
		t.Errorf("without seeds: %v, %v; want 0", got, err)
	}
	if _, err := FrontHypervolume(front, seeds, []Objective{{Metric: "loss", Direction: Maximize}}); err == nil || !strings.Contains(err.Error(), `"loss"`) {
		t.Errorf("unknown objective: %v", err)
	}
	// A program's own metric, minimized, is taken as is (even when the seeds score a
	// rounding error on it):
	// (0.9, 0.2) and (0.8, 0.1) against (0, 1): 0.9 × 0.8 + 0.8 × 0.1 = 0.80.
	custom := func(acc, interference float64) Model {
		return Model{Score: bench.Result{Accuracy: acc, Metrics: map[string]float64{"accuracy": acc, "interference": interference}}}
	}
	objs := []Objective{{ObjAccuracy, Maximize}, {"interference", Minimize}}
	got, err := FrontHypervolume([]Model{custom(0.9, 0.2), custom(0.8, 0.1)}, []Model{custom(1, 3e-12), custom(0.3, 0)}, objs)
	if err != nil || math.Abs(got-0.80) > 1e-12 {
		t.Errorf("custom metric: FrontHypervolume = %v, %v; want 0.80", got, err)
	}
}

// objectivesOf is the objectives of metric names in their natural directions.
func objectivesOf(names ...string) []Objective {
	var objs []Objective
	for _, n := range names {
		objs = append(objs, Objective{Metric: n})
	}
	objs, _ = normalizeObjectives(objs, MetricNames())
	return objs
}
