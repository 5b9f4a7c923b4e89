package nn

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/evomerge/evomerge/compress"
)

// mulOnly hides an operator's fused MulBias, so forward takes the Mul-then-loops path.
type mulOnly struct{ compress.Operator }

// A BitNet network's fused layers (MulBias) give bit for bit the logits of Mul followed
// by forward's own bias and ReLU loops, one image at a time and in evaluation blocks.
func TestFusedLayersMatchMulThenBiasReLU(t *testing.T) {
	train, test := mnist(t)
	m, _ := New(DefaultConfig(), 5)
	if err := Train(m, train.Head(2000), TrainConfig{Epochs: 1, BatchSize: 16, LearningRate: 0.08, Seed: 5}, nil); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dense := filepath.Join(dir, "dense")
	if err := Save(dense, m, nil); err != nil {
		t.Fatal(err)
	}
	c, err := compress.New("bitnet", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "bitnet.safetensors")
	if _, err := compress.CompressFile(context.Background(), c, filepath.Join(dense, ModelFile), path); err != nil {
		t.Fatal(err)
	}
	fused, err := LoadNetwork(path)
	if err != nil {
		t.Fatal(err)
	}
	plain := *fused
	plain.Layers = nil
	for _, l := range fused.Layers {
		if _, ok := l.W.(biasMuler); !ok {
			t.Fatalf("%v has no MulBias", l.W)
		}
		plain.Layers = append(plain.Layers, Layer{W: mulOnly{l.W}, B: l.B})
	}
	ds := test.Head(1000)
	a, b := make([]float32, 10), make([]float32, 10)
	for i := range ds.N {
		fused.Forward(ds.Image(i), a)
		plain.Forward(ds.Image(i), b)
		for k := range a {
			if math.Float32bits(a[k]) != math.Float32bits(b[k]) {
				t.Fatalf("image %d logit %d: fused %v, Mul then loops %v", i, k, a[k], b[k])
			}
		}
	}
	var s1, s2 netScratch
	l1 := fused.forward(&s1, 64, ds.Images[:64*ImageSize])
	l2 := plain.forward(&s2, 64, ds.Images[:64*ImageSize])
	for i := range l1 {
		if math.Float32bits(l1[i]) != math.Float32bits(l2[i]) {
			t.Fatalf("block of 64, logit %d: fused %v, Mul then loops %v", i, l1[i], l2[i])
		}
	}
}
