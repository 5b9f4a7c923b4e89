package nn

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/evomerge/evomerge/tensor"
)

// SeedSpec says how one of the demo's seed models is trained.
type SeedSpec struct {
	Name string `json:"name"`
	// Digits restricts training to these labels; nil trains on all ten.
	Digits []int `json:"digits"`
	// FromBase starts from the trained "base" seed instead of a fresh initialisation.
	FromBase bool `json:"from_base"`
	// TrainLimit keeps only the first TrainLimit matching training images; 0 keeps all.
	TrainLimit   int     `json:"train_limit"`
	Epochs       int     `json:"epochs"`
	LearningRate float64 `json:"learning_rate"`
	BatchSize    int     `json:"batch_size"`
	// Seed seeds the initialisation (for a fresh model) and the shuffling.
	Seed uint64 `json:"seed"`
}

// BaseSeed is the name of the seed that FromBase specs start from.
const BaseSeed = "base"

// seedVersion changes whenever training code changes what a spec produces, so cached
// seeds from older code are retrained.
const seedVersion = 2 // 2: trained on MNISTSplits.Train, the validation images held out

// MetaSeedSpec is the metadata key under which a seed model records how it was made.
const MetaSeedSpec = "nn.seed_spec"

// DemoSeeds are the demo's four parents, trained by plain SGD (learning rate 0.1, batch
// 32). "base" learns all digits from a small sample (the first 3,000 training images, 2
// epochs). Each specialist starts from base and trains one more epoch on every training
// image of its digits, so it becomes strong on those and forgets the rest. The
// specialists' task vectors (specialist − base) add up: the task-arithmetic merge
// base + 0.5·Σ(specialist − base) (Ilharco et al. 2023, "Editing Models with Task
// Arithmetic") beats every seed, which is what the evolutionary search should discover.
// Measured on the 10,000 test images: base 88.6%; digits-0-3 42.2%, digits-4-6 38.5%,
// digits-7-9 33.0% overall (98–99% on their own digits); the merge 92.9%
// (TestDemoSeedsMergeBeatsEverySeed with EVOMERGE_SEED_CHECK=1).
func DemoSeeds() []SeedSpec {
	const lr, batch = 0.1, 32
	return []SeedSpec{
		{Name: BaseSeed, TrainLimit: 3000, Epochs: 2, LearningRate: lr, BatchSize: batch, Seed: 1},
		{Name: "digits-0-3", Digits: []int{0, 1, 2, 3}, FromBase: true, Epochs: 1, LearningRate: lr, BatchSize: batch, Seed: 2},
		{Name: "digits-4-6", Digits: []int{4, 5, 6}, FromBase: true, Epochs: 1, LearningRate: lr, BatchSize: batch, Seed: 3},
		{Name: "digits-7-9", Digits: []int{7, 8, 9}, FromBase: true, Epochs: 1, LearningRate: lr, BatchSize: batch, Seed: 4},
	}
}

// TrainSeeds trains the DemoSeeds on train (MNISTSplits.Train: the validation images must stay out) into dir/<name>/
// (model.safetensors and config.json, written atomically) and returns name → directory.
// A seed whose model.safetensors already records the same spec (and base spec, training
// set size and code version) under "nn.seed_spec" is reused, not retrained. progress, if
// not nil, receives one line per step.
func TrainSeeds(dir string, train *Dataset, progress func(msg string)) (paths map[string]string, err error) {
	return trainSeeds(dir, train, DemoSeeds(), progress)
}

// seedRecord is what a seed's "nn.seed_spec" metadata holds: everything its weights
// depend on.
type seedRecord struct {
	Version       int       `json:"version"`
	Spec          SeedSpec  `json:"spec"`
	Base          *SeedSpec `json:"base,omitempty"`
	TrainExamples int       `json:"train_examples"`
}

func trainSeeds(dir string, train *Dataset, specs []SeedSpec, progress func(msg string)) (map[string]string, error) {
	say := func(format string, args ...any) {
		if progress != nil {
			progress(fmt.Sprintf(format, args...))
		}
	}
	var base *MLP
	var baseSpec *SeedSpec
	paths := map[string]string{}
	for _, spec := range specs {
		rec := seedRecord{Version: seedVersion, Spec: spec, TrainExamples: train.N}
		if spec.FromBase {
			if baseSpec == nil {
				return nil, fmt.Errorf("seed %q starts from %q, which must come before it", spec.Name, BaseSeed)
			}
			rec.Base = baseSpec
		}
		recJSON, err := json.Marshal(rec)
		if err != nil {
			return nil, fmt.Errorf("seed %q: %w", spec.Name, err)
		}
		seedDir := filepath.Join(dir, spec.Name)
		path := filepath.Join(seedDir, ModelFile)
		paths[spec.Name] = seedDir

		var m *MLP
		if recordedSeed(path) == string(recJSON) {
			say("seed %s: up to date in %s", spec.Name, seedDir)
			if spec.Name == BaseSeed {
				if m, err = LoadFile(path); err != nil {
					return nil, err
				}
			}
		} else {
			if m, err = trainSeed(spec, base, train, say); err != nil {
				return nil, err
			}
			if err := Save(seedDir, m, map[string]string{MetaSeedSpec: string(recJSON)}); err != nil {
				return nil, fmt.Errorf("seed %q: %w", spec.Name, err)
			}
			say("seed %s: saved %s", spec.Name, path)
		}
		if spec.Name == BaseSeed {
			base, baseSpec = m, &spec
		}
	}
	return paths, nil
}

// recordedSeed returns the "nn.seed_spec" metadata of the model at path, or "" if there
// is no such file. A file that cannot be read as safetensors counts as absent, so it is
// retrained and replaced.
// SeedsStale reports whether a demo seed in dir was trained by an older version of the
// training code (so TrainSeeds would retrain it). Missing seeds are not stale.
func SeedsStale(dir string) bool {
	for _, spec := range DemoSeeds() {
		rec := recordedSeed(filepath.Join(dir, spec.Name, ModelFile))
		if rec == "" {
			continue
		}
		var r seedRecord
		if json.Unmarshal([]byte(rec), &r) != nil || r.Version != seedVersion {
			return true
		}
	}
	return false
}

func recordedSeed(path string) string {
	f, err := tensor.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return f.Metadata()[MetaSeedSpec]
}

// trainSeed trains one seed model from spec.
func trainSeed(spec SeedSpec, base *MLP, train *Dataset, say func(string, ...any)) (*MLP, error) {
	var m *MLP
	if spec.FromBase {
		if base == nil {
			return nil, fmt.Errorf("seed %q starts from %q, which was not trained", spec.Name, BaseSeed)
		}
		m = base.Clone()
	} else {
		var err error
		if m, err = New(DefaultConfig(), spec.Seed); err != nil {
			return nil, fmt.Errorf("seed %q: %w", spec.Name, err)
		}
	}
	ds := train.Filter(spec.Digits)
	if spec.TrainLimit > 0 {
		ds = ds.Head(spec.TrainLimit)
	}
	digits := "all digits"
	if spec.Digits != nil {
		digits = fmt.Sprintf("digits %v", spec.Digits)
	}
	say("seed %s: training on %d images (%s), %d epoch(s), lr %g, batch %d", spec.Name, ds.N, digits, spec.Epochs, spec.LearningRate, spec.BatchSize)
	var sum float64
	var n int
	tc := TrainConfig{Epochs: spec.Epochs, BatchSize: spec.BatchSize, LearningRate: spec.LearningRate, Seed: spec.Seed}
	err := Train(m, ds, tc, func(epoch, batch, batches int, loss float64) {
		sum, n = sum+loss, n+1
		if batch == batches {
			say("seed %s: epoch %d/%d mean loss %.4f", spec.Name, epoch, spec.Epochs, sum/float64(n))
			sum, n = 0, 0
		}
	})
	if err != nil {
		return nil, fmt.Errorf("seed %q: %w", spec.Name, err)
	}
	return m, nil
}
