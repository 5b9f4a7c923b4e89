package bitnet_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evomerge/evomerge/compress/bitnet"
)

// The worked example of the package: a 2×4 matrix.
//
//	W = [[0.5, -1.5, 0.05,  2.0 ],
//	     [0.0,  1.0, -0.25, -0.7]]
//
//	Σ|W| = 0.5+1.5+0.05+2.0 + 0+1+0.25+0.7 = 6.0, so γ = 6.0/8 = 0.75.
//	W/γ  = [[0.667, -2.0, 0.067,  2.667],
//	        [0.0,    1.333, -0.333, -0.933]]
//	W̃    = [[1, -1, 0, 1], [0, 1, 0, -1]]                        (round, clip to ±1)
//	packed row 0: 01 | 11<<2 | 00<<4 | 01<<6 = 1+12+0+64  = 0x4D
//	packed row 1: 00 | 01<<2 | 00<<4 | 11<<6 = 0+4+0+192  = 0xC4
var (
	exampleW      = []float32{0.5, -1.5, 0.05, 2.0, 0.0, 1.0, -0.25, -0.7}
	exampleScale  = float32(0.75)
	exampleCodes  = []int8{1, -1, 0, 1, 0, 1, 0, -1}
	examplePacked = []byte{0x4D, 0xC4}
)

func TestQuantizeHandExample(t *testing.T) {
	codes, scale := bitnet.Quantize(exampleW)
	if scale != exampleScale {
		t.Errorf("scale = %v, want %v", scale, exampleScale)
	}
	if !slices.Equal(codes, exampleCodes) {
		t.Errorf("codes = %v, want %v", codes, exampleCodes)
	}
}

func TestQuantizeRoundsHalfToEven(t *testing.T) {
	// γ = (0.5+0.5+1.5+1.5)/4 = 1; ±0.5 sit exactly on the rounding boundary and go to 0
	// (round half to even, as torch.round), ±1.5 round to ±2 and clip to ±1.
	codes, scale := bitnet.Quantize([]float32{0.5, -0.5, 1.5, -1.5})
	if scale != 1 {
		t.Errorf("scale = %v, want 1", scale)
	}
	if want := []int8{0, 0, 1, -1}; !slices.Equal(codes, want) {
		t.Errorf("codes = %v, want %v", codes, want)
	}
}

func TestQuantizeTinyMatrixUsesEps(t *testing.T) {
	// mean|W| = 2e-7 < Eps, so γ = Eps and every |W/γ| = 0.02 rounds to 0.
	for _, w := range [][]float32{{0, 0, 0}, {2e-7, -2e-7}} {
		codes, scale := bitnet.Quantize(w)
		if scale != bitnet.Eps {
			t.Errorf("Quantize(%v) scale = %v, want Eps", w, scale)
		}
		for i, c := range codes {
			if c != 0 {
				t.Errorf("Quantize(%v) code %d = %d, want 0", w, i, c)
			}
		}
	}
}

// naiveQuantize is the paper's formula written out directly, for comparison. The float64
// quotient of two float32 values is never rounded onto ±0.5 unless it is exactly ±0.5,
// so rounding it decides the code as exactly as the real quotient.
func naiveQuantize(w []float32) ([]int8, float32) {
	var sum float64
	for _, v := range w {
		sum += math.Abs(float64(v))
	}
	gamma := float32(math.Max(sum/float64(len(w)), bitnet.Eps))
	codes := make([]int8, len(w))
	for i, v := range w {
		r := math.RoundToEven(float64(v) / float64(gamma))
		codes[i] = int8(math.Max(-1, math.Min(1, r)))
	}
	return codes, gamma
}

func TestQuantizeMatchesNaiveFormula(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := randomWeights(rng, 10007)
	codes, scale := bitnet.Quantize(w)
	wantCodes, wantScale := naiveQuantize(w)
	if scale != wantScale {
		t.Errorf("scale = %v, want %v", scale, wantScale)
	}
	if !slices.Equal(codes, wantCodes) {
		t.Errorf("codes differ from the naive RoundClip formula")
	}
	// A Gaussian matrix has γ = mean|w| = σ·√(2/π) ≈ 0.80σ, so a code is nonzero when
	// |w| > γ/2 ≈ 0.40σ, which has probability 2·(1 − Φ(0.399)) ≈ 0.69.
	nonzero := 0
	for _, c := range codes {
		if c != 0 {
			nonzero++
		}
	}
	if frac := float64(nonzero) / float64(len(codes)); frac < 0.67 || frac > 0.71 {
		t.Errorf("fraction of nonzero codes = %.3f, want about 0.69", frac)
	}
}

// randomWeights returns n Gaussian weights with σ = 0.02, like an initialized layer.
func randomWeights(rng *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	return w
}

func BenchmarkQuantize(b *testing.B) {
	const rows, cols = 1024, 1024
	w := randomWeights(rand.New(rand.NewPCG(3, 4)), rows*cols)
	b.SetBytes(4 * rows * cols)
	for b.Loop() {
		bitnet.Quantize(w)
	}
	reportWeightsPerSec(b, rows*cols)
}

// reportWeightsPerSec adds a weights/s metric for n weights processed per iteration.
func reportWeightsPerSec(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "weights/s")
}
