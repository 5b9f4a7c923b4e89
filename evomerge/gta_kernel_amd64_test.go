//go:build amd64 && !purego

package evomerge

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

func TestCons3ArgsLayout(t *testing.T) {
	var a cons3Args
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"b", unsafe.Offsetof(a.b), 0}, {"t0", unsafe.Offsetof(a.t0), 8}, {"t1", unsafe.Offsetof(a.t1), 16},
		{"t2", unsafe.Offsetof(a.t2), 24}, {"o", unsafe.Offsetof(a.o), 32}, {"n", unsafe.Offsetof(a.n), 40},
		{"w", unsafe.Offsetof(a.w), 48}, {"wv", unsafe.Offsetof(a.wv), 72}, {"lambda", unsafe.Offsetof(a.lambda), 96},
		{"normalize", unsafe.Offsetof(a.normalize), 104},
	} {
		if c.got != c.want {
			t.Errorf("cons3Args.%s at offset %d, the assembly expects %d", c.name, c.got, c.want)
		}
	}
}

// TestConsensus3VectorMatchesScalar checks the AVX2 combine bit for bit against the scalar
// one, on inputs with many zeros (of both signs), exact cancellations and sign ties.
func TestConsensus3VectorMatchesScalar(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(300)
		val := func() float32 {
			switch rng.IntN(6) {
			case 0:
				return 0
			case 1:
				return float32(math.Copysign(0, -1))
			case 2:
				return float32(rng.IntN(5) - 2)
			}
			return float32(rng.NormFloat64())
		}
		b, t0, t1, t2 := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
		for j := 0; j < n; j++ {
			b[j], t0[j], t1[j], t2[j] = val(), val(), val(), val()
		}
		ws := []float64{1, 0.5, 2, -1, 0, 0.75}
		w0, w1, w2 := ws[rng.IntN(len(ws))], ws[rng.IntN(len(ws))], ws[rng.IntN(len(ws))]
		s := []float64{1, 1.5, 0.3}[rng.IntN(3)]
		lambda := rng.Float64() * 2
		norm := rng.IntN(2) == 1
		got, want := make([]float32, n), make([]float32, n)
		consensus3(b, t0, t1, t2, w0*s, w1, w2*s, math.Float64bits(w0), math.Float64bits(w1), math.Float64bits(w2), lambda, norm, got)
		consensus3Go(b, t0, t1, t2, w0*s, w1, w2*s, math.Float64bits(w0), math.Float64bits(w1), math.Float64bits(w2), lambda, norm, want)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("trial %d element %d: vector %v, scalar %v (t %v %v %v, w %v %v %v, normalize %v)",
					trial, j, got[j], want[j], t0[j], t1[j], t2[j], w0, w1, w2, norm)
			}
		}
	}
}
