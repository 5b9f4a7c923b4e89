package bitnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func TestQuantizeActivationsHandExample(t *testing.T) {
	// max|x| = 2, s = 127/2 = 63.5: 2 → 127, −1 → −63.5 → −64 (half to even),
	// 0.5 → 31.75 → 32, 0.0079 → 0.50165 → 1, 0 → 0. Σq = 96, 1/s = 2/127.
	x := []float32{2, -1, 0.5, 0.0079, 0}
	q := make([]int8, 5)
	inv, sum := QuantizeActivations(x, q)
	if want := []int8{127, -64, 32, 1, 0}; !slices.Equal(q, want) {
		t.Errorf("q = %v, want %v", q, want)
	}
	if sum != 96 || inv != float32(2)/127 {
		t.Errorf("inv, sum = %v, %d; want %v, 96", inv, sum, float32(2)/127)
	}
	// All zeros: ε keeps the scale finite, every code 0.
	inv, sum = QuantizeActivations([]float32{0, 0}, q)
	if q[0] != 0 || q[1] != 0 || sum != 0 || !(inv > 0) {
		t.Errorf("zeros: q = %v, inv = %v, sum = %d", q[:2], inv, sum)
	}
}

func TestRoundToEvenMatchesMath(t *testing.T) {
	// Every float32 of magnitude at most 128 in steps of 1/1024, halves included, and
	// values just beside the halves.
	for i := -128 * 1024; i <= 128*1024; i++ {
		f := float32(i) / 1024
		for _, v := range []float32{f, math.Nextafter32(f, 200), math.Nextafter32(f, -200)} {
			if got, want := roundToEven(v), int32(math.RoundToEven(float64(v))); got != want {
				t.Fatalf("roundToEven(%v) = %d, want %d", v, got, want)
			}
		}
	}
}

// The assembly quantizer (where there is one) gives exactly the Go one's codes, scale and
// sum, for lengths around its 32-value blocks and inputs with exact halves.
func TestQuantizeActivationsFastPathMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	quantizers := fastQuantizers()
	quantizers["QuantizeActivations"] = QuantizeActivations
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 256, 784, 4096} {
		x := randomMatrix(rng, n)
		if n > 3 {
			x[1], x[2], x[3] = 2, 1.5/63.5, -0.5/63.5 // x·s = 127, 1.5, −0.5: halves
		}
		q1 := make([]int8, n)
		inv1, sum1 := quantizeActivationsGo(x, q1)
		for name, quantize := range quantizers {
			q2 := make([]int8, n+1)
			q2[n] = 42 // not written
			inv2, sum2 := quantize(x, q2)
			if inv1 != inv2 || sum1 != sum2 || !slices.Equal(q1, q2[:n]) || q2[n] != 42 {
				t.Errorf("n=%d: %s (%v, %d) differs from Go (%v, %d) or codes differ", n, name, inv2, sum2, inv1, sum1)
			}
		}
	}
}

func TestPack5HandExample(t *testing.T) {
	// Codes 1, 0, −1, 1, 0 | −1, 1 → digits 2,1,0,2,1 = 2+3+0+54+81 = 140;
	// 0,2 then padding 1,1,1 = 0+6+9+27+81 = 123.
	codes := []int8{1, 0, -1, 1, 0, -1, 1}
	got := Pack5(codes, 1, 7)
	if want := []byte{140, 123}; !slices.Equal(got, want) {
		t.Fatalf("Pack5 = %v, want %v", got, want)
	}
	back := make([]int8, 7)
	Unpack5(got, 1, 7, back)
	if !slices.Equal(back, codes) {
		t.Errorf("Unpack5 = %v, want %v", back, codes)
	}
	if err := Check5(got, 1, 7); err != nil {
		t.Error(err)
	}
	if err := Check5([]byte{140, 132}, 1, 7); err == nil {
		t.Error("Check5 accepted a nonzero padding weight")
	}
	if err := Check5([]byte{243, 123}, 1, 7); err == nil {
		t.Error("Check5 accepted byte 243")
	}
}

// reference computes y = γ_r·(1/s)·Σ_c w̃_rc·q_c in float64 from the unpacked codes and
// the quantized input: the arithmetic the kernel promises, done naively.
func reference(p *PackedTernary, n int, x []float32) []float64 {
	y := make([]float64, n*p.Rows)
	codes := make([]int8, p.Cols)
	q := make([]int8, p.Cols)
	for b := range n {
		inv, _ := QuantizeActivations(x[b*p.Cols:(b+1)*p.Cols], q)
		for r := range p.Rows {
			p.Row(r, codes)
			var s int64
			for c := range p.Cols {
				s += int64(codes[c]) * int64(q[c])
			}
			y[b*p.Rows+r] = float64(s) * float64(p.scale(r)) * float64(inv)
		}
	}
	return y
}

func randomMatrix(rng *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return w
}

// TestOperatorMatchesReference checks every kernel against the naive reference on odd
// shapes (chunks, groups of 2 and 4 chunks and row blocks all partial; tails of 0–3
// chunks after the groups of 4), both packings, one or
// per-row scales, batches of 1–5; the kernels must agree bit for bit with each other.
func TestOperatorMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := [][2]int{{1, 1}, {3, 5}, {5, 63}, {7, 64}, {9, 65}, {13, 255}, {4, 256}, {17, 300}, {11, 400}, {5, 700}, {33, 784}, {6, 1100}, {9, 4099}}
	kernels := append([]kernel{genericKernel}, fastKernels()...)
	for _, sh := range shapes {
		for _, s := range []Settings{{ValuesPerByte: 4}, {ValuesPerByte: 5, PerChannel: true}} {
			rows, cols := sh[0], sh[1]
			p := QuantizeMatrix(randomMatrix(rng, rows*cols), rows, cols, s)
			for n := 1; n <= 5; n += 2 {
				x := randomMatrix(rng, n*cols)
				x[0] = 0 // a zero input stays zero
				want := reference(p, n, x)
				var first []float32
				for _, k := range kernels {
					t.Run(fmt.Sprintf("%dx%d/%d/b%d/%s", rows, cols, s.ValuesPerByte, n, k.name), func(t *testing.T) {
						defer useKernel(k)()
						op := p.Operator() // the code layout is the kernel's
						y := make([]float32, n*rows)
						for i := range y {
							y[i] = float32(math.NaN())
						}
						op.Mul(n, x, y)
						for i, v := range y {
							if d := math.Abs(float64(v) - want[i]); d > 4e-7*math.Abs(want[i])+1e-30 {
								t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
							}
						}
						if first == nil {
							first = y
						} else if !slices.Equal(first, y) {
							t.Errorf("kernel %s differs from %s", k.name, kernels[0].name)
						}
					})
				}
			}
		}
	}
}

func TestFakeQuantizeInputIsWhatTheKernelMultiplies(t *testing.T) {
	// The identity matrix: W̃ = I, so y_i = γ_i · (fake-quantized x)_i.
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 70
	w := make([]float32, n*n)
	for i := range n {
		w[i*n+i] = 1
	}
	p := QuantizeMatrix(w, n, n, Settings{ValuesPerByte: 4, PerChannel: true})
	x := randomMatrix(rng, n)
	y := make([]float32, n)
	p.Operator().Mul(1, x, y)
	c, _ := New(nil)
	fq := slices.Clone(x)
	c.FakeQuantizeInput(fq)
	for i := range y {
		want := float64(p.scale(i)) * float64(fq[i])
		if math.Abs(float64(y[i])-want) > 1e-6*math.Abs(want) {
			t.Fatalf("y[%d] = %v, γ·fake-quantized x = %v", i, y[i], want)
		}
	}
}

func TestWeightBytes(t *testing.T) {
	// 256×784: 13 chunks of 16 bytes per row (832 columns), 256 rows, one scale.
	p := Quantize2D(make([]float32, 256*784), 256, 784)
	if got, want := p.Operator().WeightBytes(), int64(256*13*16+4); got != want {
		t.Errorf("WeightBytes = %d, want %d", got, want)
	}
}

// BenchmarkOperator runs codectest.BenchmarkOperator for the 2-bit packing ("vpb4")
// and the 1.6-bit one ("vpb5"), which loads into the same kernel layout.
func BenchmarkOperator(b *testing.B) {
	for _, vpb := range []int{4, 5} {
		b.Run(fmt.Sprintf("vpb%d", vpb), func(b *testing.B) {
			codectest.BenchmarkOperator(b, []int{1, 8}, func(rows, cols int) (compress.Operator, []float32) {
				rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
				p := QuantizeMatrix(randomMatrix(rng, rows*cols), rows, cols, Settings{ValuesPerByte: vpb})
				return p.Operator(), p.Dense()
			})
		})
	}
}

func BenchmarkQuantizeActivations(b *testing.B) {
	for _, n := range []int{784, 4096} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			x := randomMatrix(rand.New(rand.NewPCG(1, 1)), n)
			q := make([]int8, n)
			b.SetBytes(int64(4 * n))
			for b.Loop() {
				QuantizeActivations(x, q)
			}
		})
	}
}
