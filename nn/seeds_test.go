package nn

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDemoSeedsCoverEveryDigitOnce(t *testing.T) {
	specs := DemoSeeds()
	if specs[0].Name != BaseSeed || specs[0].FromBase || specs[0].Digits != nil {
		t.Fatalf("first demo seed is %+v, want the all-digit base", specs[0])
	}
	var digits []int
	for _, s := range specs[1:] {
		if !s.FromBase {
			t.Errorf("specialist %s does not start from base", s.Name)
		}
		digits = append(digits, s.Digits...)
	}
	slices.Sort(digits)
	if !slices.Equal(digits, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("specialists cover digits %v, want each of 0–9 once", digits)
	}
}

func TestTrainSeedsReusesUpToDateSeeds(t *testing.T) {
	train, _ := mnist(t)
	train = train.Head(600)
	specs := []SeedSpec{
		{Name: BaseSeed, TrainLimit: 200, Epochs: 1, LearningRate: 0.1, BatchSize: 20, Seed: 1},
		{Name: "digits-0-1", Digits: []int{0, 1}, FromBase: true, Epochs: 1, LearningRate: 0.1, BatchSize: 20, Seed: 2},
	}
	dir := t.TempDir()
	run := func(specs []SeedSpec) (trained []string) {
		t.Helper()
		paths, err := trainSeeds(dir, train, specs, func(msg string) {
			if name, ok := strings.CutPrefix(msg, "seed "); ok && strings.Contains(msg, ": training on") {
				trained = append(trained, strings.SplitN(name, ":", 2)[0])
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range specs {
			if paths[s.Name] != filepath.Join(dir, s.Name) {
				t.Fatalf("path of %s = %q", s.Name, paths[s.Name])
			}
		}
		return trained
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	if got := run(specs); !slices.Equal(got, []string{"base", "digits-0-1"}) {
		t.Fatalf("first run trained %v, want both seeds", got)
	}
	before := read("digits-0-1")
	if got := run(specs); len(got) != 0 {
		t.Fatalf("second run retrained %v, want nothing", got)
	}
	if !bytes.Equal(read("digits-0-1"), before) {
		t.Error("an up-to-date seed was rewritten")
	}
	m, err := Load(filepath.Join(dir, "digits-0-1"))
	if err != nil {
		t.Fatal(err)
	}
	ones := train.Filter([]int{0, 1})
	if acc := m.Accuracy(ones); acc < 0.9 {
		t.Errorf("specialist scores %.1f%% on its own digits", 100*acc)
	}

	// A changed base spec retrains the base and, through it, the specialist.
	specs[0].LearningRate = 0.05
	if got := run(specs); !slices.Equal(got, []string{"base", "digits-0-1"}) {
		t.Fatalf("after changing the base, retrained %v, want both", got)
	}
	// A damaged file is retrained rather than trusted or fatal.
	if err := os.WriteFile(filepath.Join(dir, "digits-0-1", ModelFile), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run(specs); !slices.Equal(got, []string{"digits-0-1"}) {
		t.Fatalf("with a damaged specialist, retrained %v", got)
	}
}

// TestDemoSeedsMergeBeatsEverySeed trains the real demo seeds (about a minute on two
// cores) and checks the property the demo relies on. Run it with EVOMERGE_SEED_CHECK=1.
func TestDemoSeedsMergeBeatsEverySeed(t *testing.T) {
	if os.Getenv("EVOMERGE_SEED_CHECK") == "" {
		t.Skip("set EVOMERGE_SEED_CHECK=1 to train the demo seeds (about a minute)")
	}
	train, test := mnist(t)
	paths, err := TrainSeeds(t.TempDir(), train, func(msg string) { t.Log(msg) })
	if err != nil {
		t.Fatal(err)
	}
	base, err := Load(paths[BaseSeed])
	if err != nil {
		t.Fatal(err)
	}
	baseAcc := base.Accuracy(test)
	t.Logf("base: %.2f%% test accuracy", 100*baseAcc)
	if baseAcc < 0.85 || baseAcc > 0.90 {
		t.Errorf("base accuracy %.2f%%, want 85–90%%", 100*baseAcc)
	}
	// Task arithmetic, tensor by tensor: merged = base + 0.5·Σᵢ(sᵢ − base).
	merged := base.Clone()
	best := baseAcc
	for _, s := range DemoSeeds()[1:] {
		m, err := Load(paths[s.Name])
		if err != nil {
			t.Fatal(err)
		}
		acc, own := m.Accuracy(test), m.Accuracy(test.Filter(s.Digits))
		t.Logf("%s: %.2f%% overall, %.2f%% on its digits", s.Name, 100*acc, 100*own)
		if acc < 0.30 || acc > 0.45 || own < 0.95 {
			t.Errorf("%s: %.2f%% overall and %.2f%% on its digits; want 30–45%% and ≥ 95%%", s.Name, 100*acc, 100*own)
		}
		best = max(best, acc)
		for l := range merged.Weights {
			for i := range merged.Weights[l] {
				merged.Weights[l][i] += 0.5 * (m.Weights[l][i] - base.Weights[l][i])
			}
			for i := range merged.Biases[l] {
				merged.Biases[l][i] += 0.5 * (m.Biases[l][i] - base.Biases[l][i])
			}
		}
	}
	macc := merged.Accuracy(test)
	t.Logf("task-arithmetic merge (λ = 0.5): %.2f%%", 100*macc)
	if macc <= best {
		t.Errorf("merge %.2f%% does not beat the best seed %.2f%%", 100*macc, 100*best)
	}
}
