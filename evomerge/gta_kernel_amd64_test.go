//go:build amd64 && !purego

package evomerge

import (
	"math"
	"math/rand/v2"
	"slices"
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
		linear3(b, t0, t1, t2, w0*s, w1, w2*s, lambda, got)
		linear3Go(b, t0, t1, t2, w0*s, w1, w2*s, lambda, want)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("linear trial %d element %d: vector %v, scalar %v", trial, j, got[j], want[j])
			}
		}
		taskArith3(b, t0, t1, t2, w0*s, w1, w2*s, got)
		taskArith3Go(b, t0, t1, t2, w0*s, w1, w2*s, want)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("task arithmetic trial %d element %d: vector %v, scalar %v", trial, j, got[j], want[j])
			}
		}
		weighted3(t0, t1, t2, w0*s, w1, w2*s, got)
		weighted3Go(t0, t1, t2, w0*s, w1, w2*s, want)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("weighted sum trial %d element %d: vector %v, scalar %v", trial, j, got[j], want[j])
			}
		}
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

// TestFillKernelsMatchScalar checks the AVX2 trim, window and mask kernels bit for bit
// against the scalar ones, with many keys equal to the threshold (the tie path), on
// lengths that leave scalar tails.
func TestFillKernelsMatchScalar(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 300; trial++ {
		n := 1 + rng.IntN(700)
		x, b := make([]float32, n), make([]float32, n)
		for j := range x {
			b[j] = float32(rng.IntN(3)) / 2
			if trial%2 == 0 {
				x[j] = b[j] + float32(rng.IntN(9)-4)/4
			} else {
				x[j] = float32(rng.NormFloat64())
			}
		}
		keys := make([]uint32, n)
		for j := range keys {
			keys[j] = magnitudeKey(x[j] - b[j])
		}
		thr := keys[rng.IntN(n)]
		eq := rng.IntN(n/4 + 2)
		got, want := make([]float32, n), make([]float32, n)
		ge, we := trimChunk(x, b, got, thr, eq), trimChunkGo(x, b, want, thr, eq)
		if ge != we {
			t.Fatalf("trim trial %d: ties left %d, scalar %d", trial, ge, we)
		}
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("trim trial %d element %d: %v, scalar %v", trial, j, got[j], want[j])
			}
		}
		thr1 := keys[rng.IntN(n)]
		if thr1 < thr {
			thr, thr1 = thr1, thr
		}
		eq1 := rng.IntN(n/8 + 2)
		g0, g1 := outlierChunk(x, b, got, thr, thr1, eq, eq1)
		w0, w1 := outlierChunkGo(x, b, want, thr, thr1, eq, eq1)
		if g0 != w0 || g1 != w1 {
			t.Fatalf("outlier trial %d: ties left %d %d, scalar %d %d", trial, g0, g1, w0, w1)
		}
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("outlier trial %d element %d: %v, scalar %v", trial, j, got[j], want[j])
			}
		}
		lo, hi := keys[rng.IntN(n)], keys[rng.IntN(n)]
		if lo > hi {
			lo, hi = hi, lo
		}
		if trial%10 == 0 {
			lo, hi = 0, 0x7fffffff
		}
		for _, avx512 := range []bool{false, useAVX512} {
			gc, wc := []uint32{1, 2}, []uint32{1, 2}
			ga, wa := windowPassVec(x, b, lo, hi, &gc, avx512), windowPassGo(x, b, lo, hi, &wc)
			if ga != wa || !slices.Equal(gc, wc) {
				t.Fatalf("window trial %d (AVX-512 %v): above %d, candidates %d; scalar %d, %d", trial, avx512, ga, len(gc), wa, len(wc))
			}
		}
		off := 64 * rng.IntN(3)
		mask := make([]uint64, (off+n+63)/64+1)
		for i := range mask {
			mask[i] = rng.Uint64()
		}
		xo, bo := append(make([]float32, off), x...), append(make([]float32, off), b...)
		maskChunk(xo[off:], bo[off:], got, mask, off)
		maskChunkGo(xo[off:], bo[off:], want, mask, off)
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				t.Fatalf("mask trial %d element %d: %v, scalar %v", trial, j, got[j], want[j])
			}
		}
	}
}

// TestDareLanesVectorMatchesScalar checks the AVX-512 DARE draws (bits and lane sums)
// against the scalar ones, and the bits against maskBits.
func TestDareLanesVectorMatchesScalar(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 100; trial++ {
		n := 1 + rng.IntN(1000)
		lo := 64 * rng.IntN(4)
		x, b := make([]float32, n), make([]float32, n)
		for j := range x {
			x[j], b[j] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		st, thr := rng.Uint64(), rng.Uint64()
		words := (lo+n+63)/64 + 1
		gm, wm := make([]uint64, words), make([]uint64, words)
		for i := range gm {
			gm[i] = rng.Uint64()
			wm[i] = gm[i]
		}
		var gl, wl [16]float64
		z := st + uint64(lo)*dareGolden
		dareLanes(x, b, z, thr, lo, gm, &gl)
		dareLanesGo(x, b, z, thr, lo, wm, &wl)
		if gl != wl {
			t.Fatalf("trial %d: lanes %v, scalar %v", trial, gl, wl)
		}
		for j := 0; j < n; j++ {
			g := lo + j
			bit := gm[g>>6] >> (g & 63) & 1
			if want := maskBits(st, g) < thr; (bit == 1) != want || wm[g>>6]>>(g&63)&1 != bit {
				t.Fatalf("trial %d element %d: bit %d, maskBits says %v", trial, j, bit, want)
			}
		}
	}
}

// TestSIMDPathsMatchScalar runs every sparsifying method with the vector kernels on and
// off and requires the same bytes: the AVX2/AVX-512 paths define no result of their own.
func TestSIMDPathsMatchScalar(t *testing.T) {
	if !useAVX2 || !useAVX512 {
		t.Skip("no AVX2/AVX-512")
	}
	defer func(a, b bool) { useAVX2, useAVX512 = a, b }(useAVX2, useAVX512)
	rng := rand.New(rand.NewPCG(13, 14))
	names := []string{"ties", "dare_linear", "dare_ties", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear"}
	for trial := 0; trial < 12; trial++ {
		n := []int{4096 * 64, 3*blockSize + 77, 1000, sampleMinN + 4096}[trial%4]
		in := randomInput(rng, n, 3, trial%3 == 0)
		in.Seed = uint64(trial)
		if n%4096 == 0 {
			in.Shape = []int{n / 4096, 4096}
		} else if n%8 == 0 {
			in.Shape = []int{8, n / 8}
		}
		for _, name := range names {
			m, _ := LookupMethod(name)
			in.Params = map[string]float64{"density": []float64{0.5, 0.3, 0.8}[trial%3]}
			for _, p := range m.Params() {
				if p.Name == "rescale" {
					in.Params["rescale"] = float64(trial % 2)
				}
			}
			useAVX2, useAVX512 = true, true
			vec := make([]float32, n)
			if err := m.Merge(in, vec); err != nil {
				t.Fatal(err)
			}
			useAVX2, useAVX512 = false, false
			scalar := make([]float32, n)
			if err := m.Merge(in, scalar); err != nil {
				t.Fatal(err)
			}
			for j := range vec {
				if math.Float32bits(vec[j]) != math.Float32bits(scalar[j]) {
					t.Fatalf("%s trial %d (n %d): element %d vector %v, scalar %v", name, trial, n, j, vec[j], scalar[j])
				}
			}
		}
	}
}

// TestDellaRankVectorMatchesScalar checks the AVX-512 row rank count against a scalar
// count, with many equal keys.
func TestDellaRankVectorMatchesScalar(t *testing.T) {
	if !useAVX512 {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for trial := 0; trial < 200; trial++ {
		n := 16 * (1 + rng.IntN(40))
		keys := make([]uint32, n)
		for j := range keys {
			keys[j] = uint32(rng.IntN(8)) + 0x3f000000*uint32(rng.IntN(2))
		}
		c := rng.IntN(n)
		key := keys[c]
		want := 0
		for j, k := range keys {
			if k < key || (k == key && j < c) {
				want++
			}
		}
		if got := dellaRankAVX512(&keys[0], n, key, c); got != want {
			t.Fatalf("trial %d: rank %d, scalar %d", trial, got, want)
		}
	}
}
