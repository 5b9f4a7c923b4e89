package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all"
	"github.com/evomerge/evomerge/nn"
)

var _ Evaluator = (*MNIST)(nil)

// tinyModel trains a model for one epoch on 1,000 images and saves it, once per test binary.
var tinyModel = sync.OnceValues(func() (*nn.MLP, error) {
	train, _, err := nn.LoadMNIST("")
	if err != nil {
		return nil, err
	}
	m, err := nn.New(nn.DefaultConfig(), 1)
	if err != nil {
		return nil, err
	}
	err = nn.Train(m, train.Head(1000), nn.TrainConfig{Epochs: 1, BatchSize: 8, LearningRate: 0.08, Seed: 1}, nil)
	return m, err
})

func savedTinyModel(t testing.TB) (*nn.MLP, string) {
	t.Helper()
	m, err := tinyModel()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := nn.Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	return m, dir
}

// compressWithDefaults compresses the model file dense with alg's default settings into
// the test's temporary folder and returns the codec and the compressed file.
func compressWithDefaults(t *testing.T, alg, dense string) (compress.Codec, string) {
	t.Helper()
	codec, err := compress.New(alg, nil)
	if err != nil {
		t.Fatal(err)
	}
	packed := filepath.Join(t.TempDir(), alg+".safetensors")
	if _, err := compress.CompressFile(context.Background(), codec, dense, packed); err != nil {
		t.Fatal(err)
	}
	return codec, packed
}

func TestMNISTEvaluateMatchesTheModel(t *testing.T) {
	m, dir := savedTinyModel(t)
	e, err := NewMNIST(MNISTSettings{Limit: 2000, LatencyRuns: 50})
	if err != nil {
		t.Fatal(err)
	}
	if e.Name() != "mnist" {
		t.Errorf("Name() = %q", e.Name())
	}
	file := filepath.Join(dir, nn.ModelFile)
	r, err := e.Evaluate(context.Background(), Request{Model: file})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	splits, err := nn.LoadMNISTSplits("")
	if err != nil {
		t.Fatal(err)
	}
	// Accuracy is on the held-out validation images, TestAccuracy on the test images.
	if want := m.Accuracy(splits.Validation.Head(2000)); r.Accuracy != want {
		t.Errorf("Accuracy = %v, the model's own accuracy on the first 2,000 validation images = %v", r.Accuracy, want)
	}
	if want := m.Accuracy(splits.Test.Head(2000)); r.TestAccuracy != want {
		t.Errorf("TestAccuracy = %v, the model's own accuracy on the first 2,000 test images = %v", r.TestAccuracy, want)
	}
	if r.Accuracy < 0.7 {
		t.Errorf("Accuracy = %.3f for a model trained on 1,000 images; want ≥ 0.7", r.Accuracy)
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if r.SizeBytes != st.Size() || r.SizeBytes < 4*int64(nn.DefaultConfig().NumParams()) {
		t.Errorf("SizeBytes = %d, file size %d, F32 parameters alone %d", r.SizeBytes, st.Size(), 4*nn.DefaultConfig().NumParams())
	}
	if r.LatencyMs <= 0 || r.LatencyMs > 1000 {
		t.Errorf("LatencyMs = %v, want a positive time under a second", r.LatencyMs)
	}
	if !r.Finite || r.Examples != 2000 || r.TestExamples != 2000 {
		t.Errorf("Finite = %v, Examples = %d, TestExamples = %d; want true and 2000", r.Finite, r.Examples, r.TestExamples)
	}

	// The model's directory works too and gives the same scores.
	rd, err := e.Evaluate(context.Background(), Request{Model: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rd.Accuracy != r.Accuracy || rd.SizeBytes != r.SizeBytes {
		t.Errorf("Evaluate(dir) = %+v, Evaluate(file) = %+v", rd, r)
	}
}

func TestMNISTEvaluateScoresCompressedModels(t *testing.T) {
	_, dir := savedTinyModel(t)
	dense := filepath.Join(dir, nn.ModelFile)
	e, err := NewMNIST(MNISTSettings{Limit: 1000, LatencyRuns: 20})
	if err != nil {
		t.Fatal(err)
	}
	rDense, err := e.Evaluate(context.Background(), Request{Model: dense})
	if err != nil {
		t.Fatal(err)
	}
	if rDense.WeightBytes != 4*int64(nn.DefaultConfig().NumParams()) || rDense.Params != int64(nn.DefaultConfig().NumParams()) {
		t.Errorf("dense WeightBytes = %d, Params = %d; want 4 bytes per parameter of %d", rDense.WeightBytes, rDense.Params, nn.DefaultConfig().NumParams())
	}
	if rDense.Speedup != 0 || rDense.ReferenceLatencyMs != 0 {
		t.Errorf("without a reference: Speedup %v, ReferenceLatencyMs %v; want 0", rDense.Speedup, rDense.ReferenceLatencyMs)
	}
	for _, alg := range []string{"bitnet", "vptq", "seedlm"} {
		t.Run(alg, func(t *testing.T) {
			_, packed := compressWithDefaults(t, alg, dense)
			r, err := e.Evaluate(context.Background(), Request{Model: packed, Reference: dense})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("dense %+v, %s %+v", rDense, alg, r)
			if r.SizeBytes*4 > rDense.SizeBytes {
				t.Errorf("%s model is %d bytes, dense %d: want at least 4× smaller", alg, r.SizeBytes, rDense.SizeBytes)
			}
			// The packed model holds its codes, not float32 weights.
			if !r.Packed {
				t.Errorf("%s model not reported packed", alg)
			}
			if r.WeightBytes*4 > rDense.WeightBytes || r.Params != rDense.Params {
				t.Errorf("%s holds %d bytes of weights for %d parameters, dense %d for %d: want at least 4× less", alg, r.WeightBytes, r.Params, rDense.WeightBytes, rDense.Params)
			}
			if !r.Finite {
				t.Error("compressed model's logits are not finite")
			}
			if !(r.Speedup > 0) || !(r.ReferenceLatencyMs > 0) || !(r.LatencyMs > 0) {
				t.Errorf("with a reference: Speedup %v, latencies %v / %v ms; want all positive", r.Speedup, r.LatencyMs, r.ReferenceLatencyMs)
			}
			if r.Accuracy < 0.85*rDense.Accuracy {
				t.Errorf("%s accuracy %.3f, below 85%% of the dense %.3f", alg, r.Accuracy, rDense.Accuracy)
			}
		})
	}
}

func TestMNISTEvaluateErrors(t *testing.T) {
	e, err := NewMNIST(MNISTSettings{Limit: 100, LatencyRuns: 10})
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "none.safetensors")
	if _, err := e.Evaluate(context.Background(), Request{Model: missing}); err == nil || !strings.Contains(err.Error(), "none.safetensors") {
		t.Errorf("missing model: error %v, want one naming the file", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.safetensors")
	os.WriteFile(junk, []byte("not a model"), 0o644)
	if _, err := e.Evaluate(context.Background(), Request{Model: junk}); err == nil || !strings.Contains(err.Error(), "junk.safetensors") {
		t.Errorf("corrupt model: error %v, want one naming the file", err)
	}
	_, dir := savedTinyModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Evaluate(ctx, Request{Model: dir}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v, want context.Canceled", err)
	}
	if _, err := NewMNIST(MNISTSettings{Limit: -1}); err == nil {
		t.Error("NewMNIST accepted a negative limit")
	}
}

// BenchmarkMNISTEvaluate scores a model on all 10,000 test images plus 200 latency runs.
func BenchmarkMNISTEvaluate(b *testing.B) {
	_, dir := savedTinyModel(b)
	e, err := NewMNIST(MNISTSettings{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.Evaluate(context.Background(), Request{Model: dir}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "images/s")
}
