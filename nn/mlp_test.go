package nn

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/tensor"
)

func TestNewIsHeUniform(t *testing.T) {
	m, err := New(DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := DefaultConfig().NumParams(); n != 269322 {
		t.Errorf("NumParams = %d, want 269322", n)
	}
	// U(−a, a) with a = √(6/784): every weight inside, variance a²/3 = 2/784.
	w := m.Weights[0]
	bound := math.Sqrt(6.0 / 784)
	var sum, sq float64
	for _, v := range w {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("fc1 weight %v outside ±%v", v, bound)
		}
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(w))
	if mean, variance := sum/n, sq/n-(sum/n)*(sum/n); math.Abs(mean) > 0.001 || math.Abs(variance-2.0/784)/(2.0/784) > 0.02 {
		t.Errorf("fc1 weights have mean %.5f and variance %.6f, want 0 and %.6f", mean, variance, 2.0/784)
	}
	other, _ := New(DefaultConfig(), 2)
	if other.Weights[0][0] == m.Weights[0][0] && other.Weights[0][1] == m.Weights[0][1] {
		t.Error("seeds 1 and 2 gave the same initial weights")
	}
	if _, err := New(Config{Architecture: "mlp", LayerSizes: []int{784, 10}, Activation: "gelu"}, 1); err == nil || !strings.Contains(err.Error(), "gelu") {
		t.Errorf("New with activation gelu: error %v, want one naming gelu", err)
	}
}

func TestTrainingLearnsDigits(t *testing.T) {
	train, test := mnist(t)
	m, _ := New(DefaultConfig(), 1)
	// Mean loss over the first and the last 25 of 250 batches.
	var first, last float64
	err := Train(m, train.Head(2000), TrainConfig{Epochs: 1, BatchSize: 8, LearningRate: 0.08, Seed: 1}, func(epoch, batch, batches int, loss float64) {
		if epoch != 1 || batches != 250 {
			t.Fatalf("progress(epoch %d, batch %d of %d), want epoch 1 of 250 batches", epoch, batch, batches)
		}
		switch {
		case batch <= 25:
			first += loss / 25
		case batch > 225:
			last += loss / 25
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	acc := m.Accuracy(test.Head(2000))
	t.Logf("1 epoch on 2,000 images: loss %.3f → %.3f, accuracy %.1f%% on 2,000 test images", first, last, 100*acc)
	if acc < 0.80 {
		t.Errorf("accuracy %.1f%% after one epoch on 2,000 images, want > 80%%", 100*acc)
	}
	if first < 1.5 || last > 0.8 {
		t.Errorf("loss went %.3f → %.3f; want from near ln 10 = 2.3 to below 0.8", first, last)
	}
	if !m.AllFinite() {
		t.Error("trained weights are not finite")
	}
}

func TestAccuracyAgreesWithPredict(t *testing.T) {
	_, test := mnist(t)
	m, _ := New(DefaultConfig(), 4)
	ds := test.Head(300)
	correct := 0
	for i := range ds.N {
		if m.Predict(ds.Image(i)) == int(ds.Labels[i]) {
			correct++
		}
	}
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		tally, err := m.Evaluate(context.Background(), ds)
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		if tally.Correct != correct || tally.Total != 300 || !tally.Finite {
			t.Errorf("GOMAXPROCS %d: Evaluate = %+v, Predict counted %d of 300 correct", procs, tally, correct)
		}
	}
	if got, want := m.Accuracy(ds), float64(correct)/300; got != want {
		t.Errorf("Accuracy = %v, want %v", got, want)
	}
	m.Biases[2][3] = float32(math.Inf(1))
	if tally, _ := m.Evaluate(context.Background(), ds); tally.Finite {
		t.Error("Evaluate reports finite logits with an infinite bias")
	}
	if m.AllFinite() {
		t.Error("AllFinite is true with an infinite bias")
	}
}

func TestEvaluateHonoursCancellation(t *testing.T) {
	_, test := mnist(t)
	m, _ := New(DefaultConfig(), 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Evaluate(ctx, test); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate with a cancelled context: %v, want context.Canceled", err)
	}
}

// trainedBytes trains a fresh model on a small subset and returns its file's bytes.
func trainedBytes(t *testing.T, ds *Dataset, seed uint64, procs int) []byte {
	t.Helper()
	prev := runtime.GOMAXPROCS(procs)
	defer runtime.GOMAXPROCS(prev)
	m, _ := New(DefaultConfig(), seed)
	if err := Train(m, ds, TrainConfig{Epochs: 1, BatchSize: 50, LearningRate: 0.1, Seed: seed}, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := m.SaveFile(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainingIsDeterministicAcrossGoroutineCounts(t *testing.T) {
	train, _ := mnist(t)
	ds := train.Head(500)
	one := trainedBytes(t, ds, 9, 1)
	two := trainedBytes(t, ds, 9, 2)
	again := trainedBytes(t, ds, 9, 2)
	if !bytes.Equal(one, two) {
		t.Error("training with GOMAXPROCS 1 and 2 gave different files")
	}
	if !bytes.Equal(two, again) {
		t.Error("training twice with the same seed gave different files")
	}
	if bytes.Equal(one, trainedBytes(t, ds, 10, 2)) {
		t.Error("seeds 9 and 10 gave the same file")
	}
}

func TestTrainRejectsBadSettings(t *testing.T) {
	train, _ := mnist(t)
	m, _ := New(DefaultConfig(), 1)
	for _, tc := range []struct {
		cfg  TrainConfig
		want string
	}{
		{TrainConfig{Epochs: 1, BatchSize: 0, LearningRate: 0.1}, "batch size"},
		{TrainConfig{Epochs: 1, BatchSize: 8, LearningRate: 0}, "learning rate"},
		{TrainConfig{Epochs: -1, BatchSize: 8, LearningRate: 0.1}, "epochs"},
	} {
		if err := Train(m, train.Head(10), tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Train(%+v) error %v, want one about %s", tc.cfg, err, tc.want)
		}
	}
	small, _ := New(Config{Architecture: "mlp", LayerSizes: []int{784, 4}, Activation: "relu"}, 1)
	if err := Train(small, train.Head(10), TrainConfig{Epochs: 1, BatchSize: 8, LearningRate: 0.1}, nil); err == nil || !strings.Contains(err.Error(), "4 classes") {
		t.Errorf("training a 4-class model on digits 0–9: error %v", err)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m, _ := New(DefaultConfig(), 11)
	m.Biases[1][7] = 0.25
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, map[string]string{"origin": "test"}); err != nil {
		t.Fatal(err)
	}
	same := func(what string, got *MLP) {
		t.Helper()
		for l := range m.Weights {
			if !slicesEqual(got.Weights[l], m.Weights[l]) || !slicesEqual(got.Biases[l], m.Biases[l]) {
				t.Fatalf("%s: layer %d differs after the round trip", what, l+1)
			}
		}
		if got.Config.canonicalJSON() != m.Config.canonicalJSON() {
			t.Fatalf("%s: config %+v, want %+v", what, got.Config, m.Config)
		}
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	same("Load(dir)", loaded)
	fromFile, err := Load(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	same("Load(file)", fromFile)

	f, err := tensor.Open(filepath.Join(dir, ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	meta := f.Metadata()
	f.Close()
	if meta["origin"] != "test" || meta[MetaFormat] != "pt" || meta[MetaConfig] != `{"architecture":"mlp","layer_sizes":[784,256,256,10],"activation":"relu"}` {
		t.Errorf("metadata = %v", meta)
	}
	cfgJSON, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := parseConfig("config.json", string(cfgJSON)); err != nil || c.LayerSizes[1] != 256 {
		t.Errorf("config.json = %s (%v)", cfgJSON, err)
	}
	if err := Save(dir, m, map[string]string{MetaConfig: "{}"}); err == nil {
		t.Error("Save let extra metadata replace nn.config")
	}

	// A file from another tool: no metadata at all, layout inferred from the shapes.
	bare := filepath.Join(t.TempDir(), "bare.safetensors")
	if err := tensor.WriteFile(bare, nil, m.Tensors()); err != nil {
		t.Fatal(err)
	}
	inferred, err := LoadFile(bare)
	if err != nil {
		t.Fatal(err)
	}
	same("LoadFile(no metadata)", inferred)
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestFromTensorsNamesTheBadTensor(t *testing.T) {
	m, _ := New(DefaultConfig(), 1)
	ts := m.Tensors()
	for i, tt := range ts {
		if tt.Name == "fc2.weight" {
			ts[i] = tensor.FromFloat32("fc2.weight", tensor.F32, []int{128, 256}, make([]float32, 128*256))
		}
	}
	_, err := FromTensors(ts, m.Metadata())
	if err == nil {
		t.Fatal("FromTensors accepted fc2.weight of shape [128 256]")
	}
	for _, want := range []string{`"fc2.weight"`, "[128 256]", "[256 256]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}

	_, err = FromTensors(m.Tensors()[1:], m.Metadata()) // drops fc1.bias
	if err == nil || !strings.Contains(err.Error(), `"fc1.bias" is missing`) {
		t.Errorf("missing fc1.bias: error %v", err)
	}
	extra := append(m.Tensors(), tensor.FromFloat32("fc4.weight", tensor.F32, []int{1}, []float32{0}))
	if _, err = FromTensors(extra, m.Metadata()); err == nil || !strings.Contains(err.Error(), "fc4.weight") {
		t.Errorf("extra fc4.weight: error %v", err)
	}
	if _, err = FromTensors(m.Tensors(), map[string]string{MetaConfig: `{"architecture":"cnn"}`}); err == nil || !strings.Contains(err.Error(), "cnn") {
		t.Errorf("architecture cnn: error %v", err)
	}
}
