package bench

import (
	"path/filepath"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/nn"
)

// referencePredict classifies x with a plain float64 forward pass over the dequantized
// weights of m, quantizing each layer's input as the codec's kernel does (iq, if not
// nil): the arithmetic a packed network must reproduce, written out without kernels.
func referencePredict(m *nn.MLP, iq compress.InputQuantizer, x []float32) int {
	in := append([]float32(nil), x...)
	for l, w := range m.Weights {
		if iq != nil {
			iq.FakeQuantizeInput(in)
		}
		cols, rows := m.Config.LayerSizes[l], m.Config.LayerSizes[l+1]
		out := make([]float32, rows)
		for r := range rows {
			s := float64(m.Biases[l][r])
			for c := range cols {
				s += float64(w[r*cols+c]) * float64(in[c])
			}
			if l < len(m.Weights)-1 && s < 0 {
				s = 0
			}
			out[r] = float32(s)
		}
		in = out
	}
	best := 0
	for k, v := range in {
		if v > in[best] {
			best = k
		}
	}
	return best
}

// Every codec's packed network predicts what the plain reference of its arithmetic
// predicts on at least 99.9 % of the 10,000 MNIST test images (the rest are near-ties
// that float rounding decides differently).
func TestPackedInferenceAgreesWithReference(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 10,000 images per codec")
	}
	_, dir := savedTinyModel(t)
	dense := filepath.Join(dir, nn.ModelFile)
	_, test, err := nn.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"bitnet", "vptq", "seedlm"} {
		t.Run(alg, func(t *testing.T) {
			codec, packed := compressWithDefaults(t, alg, dense)
			net, err := nn.LoadNetwork(packed)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := nn.LoadFile(packed) // dequantized weights
			if err != nil {
				t.Fatal(err)
			}
			iq, _ := codec.(compress.InputQuantizer)
			pred, err := net.Predictions(test)
			if err != nil {
				t.Fatal(err)
			}
			differ := 0
			for i := range test.N {
				if pred[i] != referencePredict(ref, iq, test.Image(i)) {
					differ++
				}
			}
			t.Logf("%s: %d of %d predictions differ from the reference (input quantization: %v)", alg, differ, test.N, iq != nil)
			if differ*1000 > test.N {
				t.Errorf("%s: %d of %d predictions differ from the plain reference; want at most 0.1%%", alg, differ, test.N)
			}
		})
	}
}
