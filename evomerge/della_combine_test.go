package evomerge

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// TestDellaCombArgsLayout checks the offsets della_combine_amd64.s uses.
func TestDellaCombArgsLayout(t *testing.T) {
	var a dellaCombArgs
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"b", unsafe.Offsetof(a.b), 0}, {"x0", unsafe.Offsetof(a.x0), 8}, {"x1", unsafe.Offsetof(a.x1), 16},
		{"x2", unsafe.Offsetof(a.x2), 24}, {"o", unsafe.Offsetof(a.o), 32}, {"m0", unsafe.Offsetof(a.m0), 40},
		{"m1", unsafe.Offsetof(a.m1), 48}, {"m2", unsafe.Offsetof(a.m2), 56}, {"n", unsafe.Offsetof(a.n), 64},
		{"w", unsafe.Offsetof(a.w), 72}, {"wv", unsafe.Offsetof(a.wv), 96}, {"lambda", unsafe.Offsetof(a.lambda), 120},
		{"normalize", unsafe.Offsetof(a.normalize), 128}, {"consensus", unsafe.Offsetof(a.consensus), 136},
	} {
		if c.got != c.want {
			t.Errorf("dellaCombArgs.%s at %d, want %d", c.name, c.got, c.want)
		}
	}
}

// TestDellaKernelMatchesGTAKernel checks the fused three-model combine against
// gtaKernel's chunked fill and combine, bit for bit: consensus with and without
// normalize, linear with and without, weights of either sign and zero, masks of any
// density, lengths with tails, zeros and signed zeros in the inputs.
func TestDellaKernelMatchesGTAKernel(t *testing.T) {
	if !useDellaPacked || !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for trial := 0; trial < 60; trial++ {
		n := []int{8, 13, 64, 1000, 4099, blockSize + 37, 2*blockSize + 8}[trial%7]
		in := randomInput(rng, n, 3, trial%3 == 0)
		if trial%5 == 0 {
			for j := 0; j < n; j += 3 {
				in.Base[j] = float32(math.Copysign(0, float64(rng.IntN(2)*2-1)))
				in.Models[j%3][j] = in.Base[j]
			}
		}
		models := make([]gtaModel, 3)
		for i := range models {
			mask := make([]uint64, (n+63)/64)
			dens := rng.Float64()
			for g := 0; g < n; g++ {
				if rng.Float64() < dens {
					mask[g>>6] |= 1 << (g & 63)
				}
			}
			w := in.Weights[i]
			if trial%4 == 1 && i == 1 {
				w = 0
			}
			if trial%6 == 2 {
				w = -w
			}
			models[i] = gtaModel{x: in.Models[i], w: w, scale: 0.5 + 2*rng.Float64(), mask: mask}
		}
		consensus, normalize := trial%2 == 0, trial%4 < 2
		lambda := 0.5 + rng.Float64()
		want := make([]float32, n)
		gtaKernel(in.Base, models, consensus, lambda, normalize, want)
		got := make([]float32, n)
		if !dellaKernel(in.Base, models, consensus, lambda, normalize, got) {
			t.Fatal("dellaKernel declined")
		}
		for j := range want {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("trial %d (n %d, consensus %v, normalize %v): element %d %v, gtaKernel %v", trial, n, consensus, normalize, j, got[j], want[j])
			}
		}
	}
}
