package f32

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/f32/f32test"
)

// specials are values whose sum or ReLU the vector loops could get wrong: NaNs of both
// signs with different payloads (a signalling one among them), signed zeros, infinities,
// subnormals and the extremes.
var specials = []float32{
	float32(math.NaN()), math.Float32frombits(0xffc00001), math.Float32frombits(0x7fa00000), math.Float32frombits(0x7fc12345),
	float32(math.Copysign(0, -1)), 0, float32(math.Inf(1)), float32(math.Inf(-1)),
	math.Float32frombits(1), math.Float32frombits(0x80000001), math.MaxFloat32, -math.MaxFloat32,
	1, -1, 0.5, -0.5,
}

// biasCase draws n outputs and biases: mostly Gaussian, with every third pair of values
// drawn from specials (all combinations of them appear across the lengths tested, and
// pairs that cancel to a signed zero: x + (−x), −0 + −0).
func biasCase(rng *rand.Rand, n int) (y, b []float32) {
	y, b = gaussian(rng, n), gaussian(rng, n)
	for i := range n {
		switch rng.IntN(6) {
		case 0:
			y[i], b[i] = specials[rng.IntN(len(specials))], specials[rng.IntN(len(specials))]
		case 1:
			b[i] = -y[i]
		case 2:
			y[i] = specials[rng.IntN(len(specials))]
		case 3:
			b[i] = specials[rng.IntN(len(specials))]
		}
	}
	return y, b
}

func allBiasImpls() map[string]func(y, bias []float32, relu bool) {
	m := biasImplementations()
	m["generic"] = biasReLUGeneric
	m["BiasReLU"] = BiasReLU
	return m
}

// Every BiasReLU implementation gives bit for bit the old nn loop's outputs, with and
// without the ReLU, on every length 0…80 and the demo's layer widths ±1 (vector bodies,
// masked and Go tails), and writes nothing past len(y).
func TestBiasReLUMatchesNNLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var lengths []int
	for n := range 81 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 127, 128, 129, 255, 256, 257, 783, 784, 785)
	impls := allBiasImpls()
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range impls {
			if !yield(k) {
				return
			}
		}
	})
	t.Logf("implementations: %v", names)
	const guard = 20
	for _, n := range lengths {
		for rep := range 4 {
			y0, b := biasCase(rng, n)
			for _, relu := range []bool{false, true} {
				want := slices.Clone(y0)
				f32test.BiasReLULoop(want, b, relu)
				for _, name := range names {
					buf := make([]float32, n+guard)
					copy(buf, y0)
					for i := n; i < len(buf); i++ {
						buf[i] = -7
					}
					impls[name](buf[:n:n], b, relu)
					for i := range n {
						if !f32test.Same(buf[i], want[i], y0[i], b[i], relu) {
							t.Fatalf("%s n=%d rep %d relu=%v: y[%d] = %v (%#08x) + %v (%#08x) gave %v (%#08x), the Go loop %v (%#08x)",
								name, n, rep, relu, i, y0[i], math.Float32bits(y0[i]), b[i], math.Float32bits(b[i]),
								buf[i], math.Float32bits(buf[i]), want[i], math.Float32bits(want[i]))
						}
					}
					for i := n; i < len(buf); i++ {
						if buf[i] != -7 {
							t.Fatalf("%s n=%d relu=%v: wrote y[%d] past the end", name, n, relu, i)
						}
					}
				}
			}
		}
	}
}

// Every pair of special values, in both lanes of a vector body and of a tail.
func TestBiasReLUSpecialPairs(t *testing.T) {
	var y0, b []float32
	for _, u := range specials {
		for _, v := range specials {
			y0, b = append(y0, u), append(b, v)
		}
	}
	for _, relu := range []bool{false, true} {
		want := slices.Clone(y0)
		f32test.BiasReLULoop(want, b, relu)
		for name, f := range allBiasImpls() {
			for _, n := range []int{len(y0), len(y0) - 3} { // a tail of 256 % 16 = 0 and of 13
				got := slices.Clone(y0[:n])
				f(got, b[:n], relu)
				for i := range n {
					if !f32test.Same(got[i], want[i], y0[i], b[i], relu) {
						t.Errorf("%s relu=%v: %#08x + %#08x = %#08x, the Go loop %#08x", name, relu,
							math.Float32bits(y0[i]), math.Float32bits(b[i]), math.Float32bits(got[i]), math.Float32bits(want[i]))
					}
				}
			}
		}
	}
}

func TestBiasReLUPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("BiasReLU with 3 biases for 4 outputs did not panic")
		}
	}()
	BiasReLU(make([]float32, 4), make([]float32, 3), true)
}

// BenchmarkBiasReLU times the epilogue of the demo's hidden layers (256 outputs, ReLU)
// and its logits (10, no ReLU), each implementation against the Go loop.
func BenchmarkBiasReLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n    int
		relu bool
	}{{256, true}, {10, false}} {
		y0, bias := gaussian(rng, c.n), gaussian(rng, c.n)
		y := slices.Clone(y0)
		impls := allBiasImpls()
		impls["nnloop"] = f32test.BiasReLULoop
		for _, name := range []string{"nnloop", "generic", "avx2", "avx512"} {
			f, ok := impls[name]
			if !ok {
				continue
			}
			b.Run(name+"/"+itoa(c.n), func(b *testing.B) {
				for b.Loop() {
					f(y, bias, c.relu)
					copy(y, y0) // keep the values from drifting (part of every variant's time)
				}
			})
		}
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		if n /= 10; n == 0 {
			return s
		}
	}
}
