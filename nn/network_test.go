package nn

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// The dense Network computes what the MLP computes: same predictions, logits within
// float32 rounding of the MLP's own forward pass.
func TestNetworkMatchesTheMLP(t *testing.T) {
	train, test := mnist(t)
	m, _ := New(DefaultConfig(), 3)
	if err := Train(m, train.Head(2000), TrainConfig{Epochs: 1, BatchSize: 16, LearningRate: 0.08, Seed: 3}, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := Save(dir, m, nil); err != nil {
		t.Fatal(err)
	}
	net, err := LoadNetwork(dir)
	if err != nil {
		t.Fatal(err)
	}
	if net.Algorithm != "" || net.NumParams() != int64(DefaultConfig().NumParams()) || net.WeightBytes() != 4*net.NumParams() {
		t.Errorf("dense network: algorithm %q, %d params, %d weight bytes", net.Algorithm, net.NumParams(), net.WeightBytes())
	}
	ds := test.Head(500)
	a, b := make([]float32, 10), make([]float32, 10)
	for i := range ds.N {
		m.Forward(ds.Image(i), a)
		net.Forward(ds.Image(i), b)
		for k := range a {
			if d := math.Abs(float64(a[k] - b[k])); d > 1e-4*(1+math.Abs(float64(a[k]))) {
				t.Fatalf("image %d logit %d: MLP %v, Network %v", i, k, a[k], b[k])
			}
		}
	}
	tm, _ := m.Evaluate(context.Background(), ds)
	tn, err := net.Evaluate(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	if tm != tn {
		t.Errorf("Evaluate: MLP %+v, Network %+v", tm, tn)
	}
	pred, _ := net.Predictions(ds)
	for i, p := range pred {
		if p != m.Predict(ds.Image(i)) {
			t.Fatalf("image %d: Predictions %d, MLP.Predict %d", i, p, m.Predict(ds.Image(i)))
		}
	}
}

func TestLoadNetworkNamesTheBadTensor(t *testing.T) {
	m, _ := New(DefaultConfig(), 1)
	for _, tc := range []struct {
		name string
		edit func([]*tensor.Tensor) []*tensor.Tensor
		want string
	}{
		{"missing bias", func(ts []*tensor.Tensor) []*tensor.Tensor { return ts[1:] }, `"fc1.bias" is missing`},
		{"extra tensor", func(ts []*tensor.Tensor) []*tensor.Tensor {
			return append(ts, tensor.FromFloat32("extra", tensor.F32, []int{3}, []float32{1, 2, 3}))
		}, "unexpected"},
		{"wrong bias shape", func(ts []*tensor.Tensor) []*tensor.Tensor {
			ts[0] = tensor.FromFloat32("fc1.bias", tensor.F32, []int{3}, []float32{1, 2, 3})
			return ts
		}, `"fc1.bias" has shape [3]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.safetensors")
			if err := tensor.WriteFile(path, m.Metadata(), tc.edit(m.Tensors())); err != nil {
				t.Fatal(err)
			}
			_, err := LoadNetwork(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "m.safetensors") {
				t.Errorf("error %v, want one naming the file and containing %q", err, tc.want)
			}
		})
	}
	junk := filepath.Join(t.TempDir(), "junk.safetensors")
	os.WriteFile(junk, []byte("junk"), 0o644)
	if _, err := LoadNetwork(junk); err == nil || !strings.Contains(err.Error(), "junk.safetensors") {
		t.Errorf("junk file: error %v", err)
	}
}

// Network's weights are the MLP's: building one shares, not copies, them.
func TestMLPNetworkSharesWeights(t *testing.T) {
	m, _ := New(DefaultConfig(), 1)
	net := m.Network()
	if d, ok := net.Layers[0].W.(*compress.Dense); !ok || &d.Weights()[0] != &m.Weights[0][0] {
		t.Error("MLP.Network copied the weights or is not dense")
	}
}
