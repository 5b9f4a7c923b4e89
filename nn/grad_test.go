package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveLogits is an independent float64 reference forward pass: a plain triple loop over
// the weights as stored, with no sparsity, blocking or unrolling.
func naiveLogits(cfg Config, W, b [][]float64, x []float64) []float64 {
	h := x
	for l := range W {
		in, out := cfg.LayerSizes[l], cfg.LayerSizes[l+1]
		z := make([]float64, out)
		for o := 0; o < out; o++ {
			z[o] = b[l][o]
			for i := 0; i < in; i++ {
				z[o] += W[l][o*in+i] * h[i]
			}
			if l < len(W)-1 {
				z[o] = math.Max(z[o], 0)
			}
		}
		h = z
	}
	return h
}

// naiveLoss is Σ over examples of −log softmax(z)_y, in float64.
func naiveLoss(cfg Config, W, b [][]float64, xs [][]float64, ys []int) float64 {
	var total float64
	for s, x := range xs {
		z := naiveLogits(cfg, W, b, x)
		var sum float64
		for _, v := range z {
			sum += math.Exp(v)
		}
		total += math.Log(sum) - z[ys[s]]
	}
	return total
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// TestGradientMatchesFiniteDifferences checks backpropagation against central finite
// differences of the float64 reference loss, for every weight and bias of a small MLP.
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	cfg := Config{Architecture: "mlp", LayerSizes: []int{6, 5, 4, 3}, Activation: "relu"}
	m, err := New(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for l := range m.Biases {
		for i := range m.Biases[l] {
			m.Biases[l][i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	const B = 4
	ds := &Dataset{N: B, Images: make([]float32, B*6), Labels: []uint8{0, 2, 1, 2}}
	for i := range ds.Images {
		if i%3 != 0 { // leave zeros in, as MNIST backgrounds do, to exercise the sparse input path
			ds.Images[i] = float32(rng.Float64())
		}
	}
	W, b := make([][]float64, 3), make([][]float64, 3)
	for l := range W {
		W[l], b[l] = to64(m.Weights[l]), to64(m.Biases[l])
	}
	xs, ys := make([][]float64, B), make([]int, B)
	for s := range B {
		xs[s], ys[s] = to64(ds.Images[s*6:(s+1)*6]), int(ds.Labels[s])
	}

	tr := newTrainer(m, B, 2)
	loss := tr.step(ds, []int{0, 1, 2, 3}, 0) // learning rate 0: gradients only
	if want := naiveLoss(cfg, W, b, xs, ys) / B; math.Abs(loss-want) > 1e-5 {
		t.Errorf("mean loss = %.7f, reference %.7f", loss, want)
	}

	const h = 1e-5
	check := func(name string, p []float64, grad []float32) {
		for i := range p {
			orig := p[i]
			p[i] = orig + h
			up := naiveLoss(cfg, W, b, xs, ys)
			p[i] = orig - h
			down := naiveLoss(cfg, W, b, xs, ys)
			p[i] = orig
			fd := (up - down) / (2 * h)
			if got := float64(grad[i]); math.Abs(got-fd) > 1e-4+1e-3*math.Abs(fd) {
				t.Errorf("%s[%d]: backprop gradient %.6f, finite difference %.6f", name, i, got, fd)
			}
		}
	}
	nonzero := 0
	for l := range W {
		check(WeightName(l), W[l], tr.gradW[l])
		check(BiasName(l), b[l], tr.gradB[l])
		for _, g := range tr.gradW[l] {
			if g != 0 {
				nonzero++
			}
		}
	}
	if nonzero < 20 {
		t.Errorf("only %d nonzero weight gradients: the check is too weak", nonzero)
	}
}

// TestForwardMatchesNaiveReference runs the default network on real digits and compares
// its logits with the float64 triple loop.
func TestForwardMatchesNaiveReference(t *testing.T) {
	_, test := mnist(t)
	m, err := New(DefaultConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for l := range m.Biases {
		for i := range m.Biases[l] {
			m.Biases[l][i] = float32(rng.NormFloat64() * 0.1)
		}
	}
	W, b := make([][]float64, 3), make([][]float64, 3)
	for l := range W {
		W[l], b[l] = to64(m.Weights[l]), to64(m.Biases[l])
	}
	out := make([]float32, 10)
	for i := range 20 {
		x := test.Image(i)
		m.Forward(x, out)
		want := naiveLogits(m.Config, W, b, to64(x))
		for c := range out {
			if d := math.Abs(float64(out[c]) - want[c]); d > 1e-4*(1+math.Abs(want[c])) {
				t.Fatalf("image %d logit %d = %.6f, reference %.6f", i, c, out[c], want[c])
			}
		}
	}
	// A dense, non-MNIST input (no zeros, negative values) takes the same path.
	x := make([]float32, 784)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	m.Forward(x, out)
	want := naiveLogits(m.Config, W, b, to64(x))
	for c := range out {
		if d := math.Abs(float64(out[c]) - want[c]); d > 1e-4*(1+math.Abs(want[c])) {
			t.Fatalf("dense input logit %d = %.6f, reference %.6f", c, out[c], want[c])
		}
	}
}
