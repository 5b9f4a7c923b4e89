package nn

import (
	"math"
	"testing"
)

// oldForward is Network.forward as it was before the dense layers fused their bias and
// ReLU: each operator's Mul, then the Go loops (copied as they were).
func oldForward(n *Network, batch int, x []float32) []float32 {
	last := len(n.Layers) - 1
	in := x
	for l, layer := range n.Layers {
		out := len(layer.B)
		h := make([]float32, batch*out)
		layer.W.Mul(batch, in, h)
		for b := range batch {
			row := h[b*out : (b+1)*out : (b+1)*out]
			if l == last {
				for o, bias := range layer.B {
					row[o] += bias
				}
				continue
			}
			for o, bias := range layer.B {
				row[o] = max(row[o]+bias, 0)
			}
		}
		in = h
	}
	return in
}

// A dense network's layers run compress.Dense.MulBias, and its logits are bit for bit
// those of Mul followed by the old Go loops: the demo MLP trained briefly, one image at a
// time and in a block of 64, then again with biases set to NaN, −0, +Inf and −Inf (the
// NaNs' sign and the zeros' sign are what a vector ReLU could get wrong), on a layout
// whose widths are not multiples of the vector lengths.
func TestDenseLayersFusedMatchOldLoops(t *testing.T) {
	train, test := mnist(t)
	ds := test.Head(300)
	check := func(name string, net *Network) {
		t.Helper()
		for _, l := range net.Layers {
			if _, ok := l.W.(biasMuler); !ok {
				t.Fatalf("%s: %v has no MulBias", name, l.W)
			}
		}
		out := make([]float32, net.Config.LayerSizes[len(net.Config.LayerSizes)-1])
		for i := range ds.N {
			net.Forward(ds.Image(i), out)
			want := oldForward(net, 1, ds.Image(i))
			for k := range out {
				if math.Float32bits(out[k]) != math.Float32bits(want[k]) {
					t.Fatalf("%s: image %d logit %d: %v (%#08x), Mul then the Go loops %v (%#08x)", name, i, k, out[k], math.Float32bits(out[k]), want[k], math.Float32bits(want[k]))
				}
			}
		}
		var s netScratch
		got := net.forward(&s, 64, ds.Images[:64*ImageSize])
		want := oldForward(net, 64, ds.Images[:64*ImageSize])
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: block of 64, logit %d: %v, Mul then the Go loops %v", name, i, got[i], want[i])
			}
		}
	}
	m, _ := New(DefaultConfig(), 5)
	if err := Train(m, train.Head(2000), TrainConfig{Epochs: 1, BatchSize: 16, LearningRate: 0.08, Seed: 5}, nil); err != nil {
		t.Fatal(err)
	}
	check("trained demo MLP", m.Network())

	odd, _ := New(Config{Architecture: "mlp", LayerSizes: []int{ImageSize, 37, 19, 10}, Activation: "relu"}, 6)
	specials := []float32{float32(math.NaN()), math.Float32frombits(0xffc00001), float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1))}
	for l, b := range odd.Biases {
		for i := range b {
			if (i+l)%4 == 0 {
				b[i] = specials[(i/4+l)%len(specials)]
			}
		}
	}
	check("784-37-19-10 with NaN, −0 and ±Inf biases", odd.Network())
}
