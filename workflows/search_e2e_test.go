package workflows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	sdkworker "go.temporal.io/sdk/worker"
)

// searchConfig searches merge and compression per layer group on the tiny seeds.
func searchConfig(name, out, strategy string) evomerge.Config {
	c := e2eConfig(name, models, out)
	c.Evolution = evomerge.EvolutionSpec{Generations: 3, Population: 6, Children: 6, Parallelism: 2, Strategy: strategy, LayerGranularity: 3}
	c.Compression = evomerge.CompressionSpec{Enabled: true, Algorithm: evomerge.AlgorithmSearch, Codecs: []string{"none", "bitnet", "vptq"},
		ApplyAt: []string{"post_merge"}, AccuracyThreshold: 0.5, Progressive: &evomerge.ProgressiveSpec{Start: 0, End: 0.6}}
	return c
}

// A searched run against a real server: children differ in codec per layer group, so the
// front spans sizes; the strategy's state rides across continue-as-new without changing
// the front; the report shows the strength floor rising per generation.
func TestSearchedCompressionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	cfg := searchConfig("e2e-search", filepath.Join(dir, "out"), evomerge.StrategyNSGA2)
	rep := runOnce(t, cfg, "e2e-search", filepath.Join(dir, "store"))
	if rep.Evaluations != 3+3*6 || rep.Strategy != "nsga2" || rep.LayerGranularity != 3 {
		t.Errorf("evaluations %d strategy %q granularity %d", rep.Evaluations, rep.Strategy, rep.LayerGranularity)
	}
	if len(rep.Front) < 2 {
		t.Fatalf("front of %d: searched compression should give a trade-off", len(rep.Front))
	}
	lo, hi := rep.Front[0].Objectives.SizeBytes, rep.Front[0].Objectives.SizeBytes
	codecs := map[string]bool{}
	for _, m := range rep.Front {
		lo, hi = min(lo, m.Objectives.SizeBytes), max(hi, m.Objectives.SizeBytes)
		if len(m.Genes) != 3 {
			t.Errorf("front member %s has genes %+v, want one per layer group", m.ID, m.Genes)
		}
		for _, g := range m.Genes {
			codecs[g.Codec] = true
		}
	}
	if float64(hi) < 2*float64(lo) {
		t.Errorf("front sizes span %d–%d bytes, want at least 2×", lo, hi)
	}
	if len(codecs) < 2 {
		t.Errorf("front uses codecs %v: the search did not vary them", codecs)
	}
	if len(rep.History) != 3 || rep.History[0].Floor != 0 || rep.History[2].Floor != 0.6 {
		t.Errorf("history %+v, want floors 0 → 0.6", rep.History)
	}
	for _, h := range rep.History {
		if h.MeanStrength < h.Floor {
			t.Errorf("generation %d: mean strength %.2f below its floor %.2f", h.Generation, h.MeanStrength, h.Floor)
		}
	}

	// The same run carried across continue-as-new every generation gives the same front:
	// the strategy's state is a plain value in the run state.
	can := searchConfig("e2e-search-can", filepath.Join(dir, "out-can"), evomerge.StrategyNSGA2)
	can.Evolution.ContinueAsNewEvery = 1
	if got := runOnce(t, can, "e2e-search-can", filepath.Join(dir, "store")); frontDigests(got) != frontDigests(rep) {
		t.Errorf("continue-as-new changed the front:\n%s\nvs\n%s", frontDigests(got), frontDigests(rep))
	}
}

// A hardware profile sends every benchmark to its own task queue: a second worker serves
// that queue, the run's own worker never measures latency, and every score records the
// queue it was measured on.
func TestHardwareProfileBenchmarksOnItsQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end run")
	}
	dir := t.TempDir()
	storeDir := filepath.Join(dir, "store")
	st, err := store.OpenFS(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	ts.NewWorker("e2e-hw-edge", func(r sdkworker.Registry) { worker.Register(r, activities.New(st)) })
	cfg := e2eConfig("e2e-hardware", models, filepath.Join(dir, "out"))
	cfg.Evolution.Generations = 1
	cfg.Evaluator.Hardware = &evomerge.HardwareSpec{Name: "edge", TaskQueue: "e2e-hw-edge"}
	rep := runOnce(t, cfg, "e2e-hardware", storeDir)
	if rep.Hardware != "edge" || rep.HardwareTaskQueue != "e2e-hw-edge" {
		t.Errorf("report hardware %q on %q, want edge on e2e-hw-edge", rep.Hardware, rep.HardwareTaskQueue)
	}
	models := append(append([]evomerge.ReportModel{}, rep.Seeds...), rep.Front...)
	for _, m := range models {
		if m.Objectives.MeasuredOn != "e2e-hw-edge" {
			t.Errorf("%s measured on %q, want the hardware queue e2e-hw-edge", m.ID, m.Objectives.MeasuredOn)
		}
		if u := m.Uncompressed; u != nil && u.MeasuredOn != "e2e-hw-edge" {
			t.Errorf("%s's uncompressed merge measured on %q, want e2e-hw-edge", m.ID, u.MeasuredOn)
		}
	}
	if len(rep.Front) == 0 {
		t.Fatal("empty front")
	}
	if md, err := os.ReadFile(filepath.Join(dir, "out", "report.md")); err != nil || !strings.Contains(string(md), "hardware profile \"edge\" (task queue `e2e-hw-edge`)") {
		t.Errorf("report.md does not name the hardware profile (err %v)", err)
	}
}
