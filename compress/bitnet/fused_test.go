package bitnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The assembly scaleOut (where there is one) gives exactly scaleOutGo's floats, for
// lengths around its 16-value vectors, one or per-row scales, with and without a bias
// and the ReLU, and sums that overflow, NaN and ±0 biases and exact cancellations.
func TestScaleOutFastPathMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 50; n++ {
		acc := make([]int32, n+16)
		scale, bias := make([]float32, n+16), make([]float32, n+16)
		for i := range acc {
			acc[i] = int32(rng.Uint32()) >> rng.IntN(32)
			scale[i] = float32(rng.ExpFloat64())
			bias[i] = float32(rng.NormFloat64()) * 1000
		}
		if n > 4 {
			acc[0], acc[1], acc[2] = math.MaxInt32, math.MinInt32, 7
			bias[0], bias[1] = float32(math.NaN()), float32(math.Copysign(0, -1))
			acc[3], bias[3] = 7, -float32(7-3)*(scale[3]*0.5) // v+b = 0 with per-row scales
			bias[4] = math.Float32frombits(0xffc00001)        // a negative NaN: the ReLU clears its sign, as Go's max does
		}
		for _, sc := range [][]float32{scale[:1], scale} {
			for _, b := range [][]float32{nil, bias} {
				for _, relu := range []bool{false, true} {
					y1, y2 := make([]float32, n+1), make([]float32, n+1)
					y1[n], y2[n] = 42, 42
					scaleOutGo(y1[:n], acc, sc, b, 3, 0.5, relu)
					scaleOut(y2[:n], acc, sc, b, 3, 0.5, relu)
					for i := range y1 {
						if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) {
							t.Fatalf("n=%d scales=%d bias=%v relu=%v: y[%d] = %v, want %v", n, len(sc), b != nil, relu, i, y2[i], y1[i])
						}
					}
				}
			}
		}
	}
}

// MulBias is Mul followed by the bias and ReLU loops, bit for bit, for every kernel.
func TestMulBiasIsMulThenBiasAndReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	kernels := append([]kernel{genericKernel}, fastKernels()...)
	for _, sh := range [][2]int{{1, 1}, {10, 256}, {17, 300}, {256, 784}, {70, 256}} {
		rows, cols := sh[0], sh[1]
		for _, s := range []Settings{{ValuesPerByte: 4}, {ValuesPerByte: 5, PerChannel: true}} {
			p := QuantizeMatrix(randomMatrix(rng, rows*cols), rows, cols, s)
			bias := randomMatrix(rng, rows)
			for _, n := range []int{1, 3} {
				x := randomMatrix(rng, n*cols)
				for _, k := range kernels {
					for _, relu := range []bool{false, true} {
						t.Run(fmt.Sprintf("%dx%d/%d/b%d/%s/relu=%v", rows, cols, s.ValuesPerByte, n, k.name, relu), func(t *testing.T) {
							defer useKernel(k)()
							op := p.Operator()
							want := make([]float32, n*rows)
							op.Mul(n, x, want)
							for b := range n {
								row := want[b*rows : (b+1)*rows]
								for o, v := range bias {
									row[o] += v
									if relu {
										row[o] = max(row[o], 0)
									}
								}
							}
							got := make([]float32, n*rows)
							op.MulBias(n, x, got, bias, relu)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("MulBias y[%d] = %v (%08x), Mul then bias and ReLU %v (%08x)", i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
								}
							}
						})
					}
				}
			}
		}
	}
}

// A matrix with no columns multiplies to zeros (it divided by zero before), plus the bias.
func TestNoColumns(t *testing.T) {
	op := Quantize2D(nil, 3, 0).Operator()
	y := []float32{1, 2, 3, 4, 5, 6}
	op.Mul(2, nil, y)
	if want := make([]float32, 6); !slices.Equal(y, want) {
		t.Errorf("Mul = %v, want %v", y, want)
	}
	op.MulBias(2, nil, y, []float32{-1, 0.5, 2}, true)
	if want := []float32{0, 0.5, 2, 0, 0.5, 2}; !slices.Equal(y, want) {
		t.Errorf("MulBias = %v, want %v", y, want)
	}
}
