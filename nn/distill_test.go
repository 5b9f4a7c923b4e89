package nn

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/evomerge/evomerge/compress"
	_ "github.com/evomerge/evomerge/compress/all"
)

// packedAccuracy compresses m's weight matrices with codec, in memory, and scores the
// packed network on ds.
func packedAccuracy(t *testing.T, m *MLP, codec compress.Codec, ds *Dataset) float64 {
	t.Helper()
	net := &Network{Config: m.Config}
	for l, w := range m.Weights {
		rows, cols := m.Config.LayerSizes[l+1], m.Config.LayerSizes[l]
		op, err := compress.EncodeOperator(codec, WeightName(l), rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		net.Layers = append(net.Layers, Layer{W: op, B: m.Biases[l]})
	}
	tally, err := net.Evaluate(context.Background(), ds)
	if err != nil {
		t.Fatal(err)
	}
	return tally.Accuracy()
}

// Distillation wins back accuracy that BitNet's ternary weights lose: the recovered
// child, compressed and run packed, scores better on test images it never saw than the
// child compressed directly.
func TestDistillRecoversBitNetAccuracy(t *testing.T) {
	train, test := mnist(t)
	teacher, _ := New(DefaultConfig(), 5)
	if err := Train(teacher, train.Head(6000), TrainConfig{Epochs: 2, BatchSize: 16, LearningRate: 0.08, Seed: 5}, nil); err != nil {
		t.Fatal(err)
	}
	codec, err := compress.New("bitnet", nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := test.Head(2000)
	dense := teacher.Accuracy(ds)
	before := packedAccuracy(t, teacher, codec, ds)
	student, err := Distill(context.Background(), teacher, codec, train.Head(10000), DistillConfig{Steps: 300, BatchSize: 64, LearningRate: 0.1, Temperature: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	after := packedAccuracy(t, student, codec, ds)
	t.Logf("dense %.4f, bitnet %.4f (%.1f%%), distilled bitnet %.4f (%.1f%%)", dense, before, 100*before/dense, after, 100*after/dense)
	if after <= before+0.005 {
		t.Errorf("distilled child scores %.4f, the directly compressed child %.4f: want at least half a point better", after, before)
	}
	// The teacher is untouched.
	if teacher.Accuracy(ds) != dense {
		t.Error("Distill changed the teacher")
	}
	again, _ := Distill(context.Background(), teacher, codec, train.Head(10000), DistillConfig{Steps: 20, BatchSize: 64, LearningRate: 0.02, Temperature: 2, Seed: 1})
	once, _ := Distill(context.Background(), teacher, codec, train.Head(10000), DistillConfig{Steps: 20, BatchSize: 64, LearningRate: 0.02, Temperature: 2, Seed: 1})
	for l := range again.Weights {
		for i := range again.Weights[l] {
			if again.Weights[l][i] != once.Weights[l][i] {
				t.Fatalf("two distillations with the same settings differ at %s[%d]", WeightName(l), i)
			}
		}
	}
}

func TestDistillRejectsBadSettings(t *testing.T) {
	train, _ := mnist(t)
	m, _ := New(DefaultConfig(), 1)
	codec, _ := compress.New("bitnet", nil)
	ok := DistillConfig{Steps: 1, BatchSize: 4, LearningRate: 0.01, Temperature: 1}
	for _, tc := range []struct {
		edit func(*DistillConfig)
		want string
	}{
		{func(c *DistillConfig) { c.Steps = 0 }, "steps"},
		{func(c *DistillConfig) { c.BatchSize = 0 }, "batch size"},
		{func(c *DistillConfig) { c.LearningRate = math.NaN() }, "learning rate"},
		{func(c *DistillConfig) { c.Temperature = 0 }, "temperature"},
	} {
		dc := ok
		tc.edit(&dc)
		if _, err := Distill(context.Background(), m, codec, train.Head(10), dc); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one naming %s", dc, err, tc.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Distill(ctx, m, codec, train.Head(10), ok); err == nil {
		t.Error("Distill ran with a cancelled context")
	}
}

// The distillation gradient is T·(softmax(z/T) − target): checked against central
// finite differences of the loss T²·KL(target ‖ softmax(z/T)).
func TestSoftTargetDeltaIsTheGradient(t *testing.T) {
	z := []float32{1.5, -0.3, 0.2, 2.0}
	target := []float32{0.1, 0.2, 0.3, 0.4}
	const temp = 2.0
	delta := make([]float32, len(z))
	softTargetDelta(z, target, temp, delta)
	scratch := make([]float32, len(z))
	for k := range z {
		const h = 1e-2
		zp := append([]float32(nil), z...)
		zm := append([]float32(nil), z...)
		zp[k] += h
		zm[k] -= h
		num := (softTargetDelta(zp, target, temp, scratch) - softTargetDelta(zm, target, temp, scratch)) / (2 * h)
		if math.Abs(num-float64(delta[k])) > 1e-3 {
			t.Errorf("∂loss/∂z[%d] = %v by finite differences, delta %v", k, num, delta[k])
		}
	}
}
