package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// InputStats against a naive forward pass written out here: layer 0's statistic is the
// mean squared pixel, layer l's the mean squared ReLU output of layer l−1.
func TestInputStatsMatchesNaiveForward(t *testing.T) {
	m, err := New(DefaultConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ds := &Dataset{N: 5, Images: make([]float32, 5*ImageSize), Labels: make([]uint8, 5)}
	for i := range ds.Images {
		if rng.IntN(3) == 0 {
			ds.Images[i] = rng.Float32()
		}
	}
	got, err := InputStats(m, ds, 4) // the first 4 of 5
	if err != nil {
		t.Fatal(err)
	}
	sizes := m.Config.LayerSizes
	want := make([][]float64, len(m.Weights))
	for l := range want {
		want[l] = make([]float64, sizes[l])
	}
	for i := 0; i < 4; i++ {
		x := make([]float64, ImageSize)
		for j := range x {
			x[j] = float64(ds.Image(i)[j])
		}
		for l, W := range m.Weights {
			for j, v := range x {
				want[l][j] += v * v / 4
			}
			in, out := sizes[l], sizes[l+1]
			y := make([]float64, out)
			for o := range out {
				z := float64(m.Biases[l][o])
				for j := range in {
					z += float64(W[o*in+j]) * x[j]
				}
				y[o] = math.Max(z, 0)
			}
			x = y
		}
	}
	for l := range want {
		g := got[WeightName(l)]
		if len(g) != sizes[l] {
			t.Fatalf("layer %d: %d statistics, want %d", l, len(g), sizes[l])
		}
		nonzero := 0
		for j := range g {
			if d := math.Abs(float64(g[j]) - want[l][j]); d > 1e-4*(1+want[l][j]) {
				t.Fatalf("layer %d column %d: %g, want %g", l, j, g[j], want[l][j])
			}
			if g[j] > 0 {
				nonzero++
			}
		}
		if nonzero == 0 {
			t.Errorf("layer %d: every statistic is 0; the test checks nothing", l)
		}
	}
	if _, err := InputStats(m, &Dataset{}, 0); err == nil {
		t.Error("no examples: want an error")
	}
}
