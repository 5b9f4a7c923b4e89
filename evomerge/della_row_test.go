package evomerge

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// dellaRowNaive is one row's DELLA mask by the definition: the entries sorted by key
// ascending (equal keys by column), entry of rank r (from 0) kept iff
// unitFloat(maskBits(stream, lo+c)) < p0 + step·r; and the rescale sums in eight lanes.
func dellaRowNaive(x, b []float32, lo int, stream uint64, p0, step float64) (keep []bool, all, kept float64) {
	cols := len(b)
	keys := make([]uint32, cols)
	order := make([]int, cols)
	for c := range keys {
		keys[c] = magnitudeKey(x[c] - b[c])
		order[c] = c
	}
	sort.SliceStable(order, func(i, j int) bool { return keys[order[i]] < keys[order[j]] })
	keep = make([]bool, cols)
	for r, c := range order {
		keep[c] = unitFloat(maskBits(stream, lo+c)) < p0+float64(step*float64(r))
	}
	var lanes [16]float64
	for c, k := range keys {
		a := float64(math.Float32frombits(k))
		lanes[c&7] += a
		if keep[c] {
			lanes[8+c&7] += a
		} else {
			lanes[8+c&7] += 0
		}
	}
	for l := 0; l < 8; l++ {
		all += lanes[l]
		kept += lanes[8+l]
	}
	return keep, all, kept
}

// dellaTestRow is a row of cols task-vector entries of one of several kinds: normal,
// few distinct magnitudes (many ties), with zeros, one magnitude, or spread over many
// binades.
func dellaTestRow(rng *rand.Rand, cols, kind int) (x, b []float32) {
	x, b = make([]float32, cols), make([]float32, cols)
	for c := range x {
		b[c] = float32(rng.NormFloat64())
		var d float32
		switch kind {
		case 0:
			d = float32(rng.NormFloat64())
		case 1:
			d = float32(rng.IntN(7)-3) / 4
		case 2:
			if rng.IntN(3) > 0 {
				d = float32(rng.NormFloat64() * 1e-3)
			}
			b[c] = 0
		case 3:
			d = 0.5
			b[c] = 0
		case 4:
			d = float32(math.Ldexp(rng.Float64(), -rng.IntN(60)))
			b[c] = 0
		}
		x[c] = b[c] + d
	}
	return x, b
}

// TestDellaRowPackedMatchesNaive checks the packed-rank row path, Go and AVX-512
// kernels, against the naive sort-based mask and sums, and the kernels against their Go
// definitions, on rows of many lengths (multiples of 64 up to the limit) and kinds.
func TestDellaRowPackedMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	vecs := []bool{false}
	if useDellaPacked {
		vecs = append(vecs, true)
	}
	for trial := 0; trial < 120; trial++ {
		cols := 64 * (1 + rng.IntN(40))
		switch trial % 10 {
		case 7:
			cols = 4096
		case 8:
			cols = dellaPackedMaxCols
		case 9:
			cols = 64
		}
		if trial%30 == 8 {
			cols = dellaPackedMaxCols
		} else if trial%10 == 8 {
			cols = 64 * (1 + rng.IntN(1024))
		}
		kind := trial % 5
		x, b := dellaTestRow(rng, cols, kind)
		lo := 64 * rng.IntN(1000)
		stream := rng.Uint64()
		density := 0.05 + 0.9*rng.Float64()
		eps := min(density, 1-density) * rng.Float64() * 0.99
		p0, step := density-eps, 2*eps/float64(cols-1)
		want, wantAll, wantKept := dellaRowNaive(x, b, lo, stream, p0, step)
		for _, vec := range vecs {
			s := &dellaScratch{keys: make([]uint32, cols), amb: make([]uint64, cols/64+1)}
			s.packedInit(cols)
			words := make([]uint64, cols/64)
			for i := range words {
				words[i] = rng.Uint64() // written whole
			}
			for _, rescale := range []bool{true, false} {
				all, kept, tag, ok := s.dellaRowPacked(x, b, lo, stream, p0, step, words, rescale, vec, x, b, trial)
				if vec {
					if ok {
						t.Fatalf("trial %d: sums of a row before any", trial)
					}
					all, kept, tag, ok = s.dellaFlush()
				}
				if ok != rescale || ok && tag != trial {
					t.Fatalf("trial %d (vector %v): sums returned %v (tag %d), rescale %v", trial, vec, ok, tag, rescale)
				}
				for c := range want {
					if got := words[c>>6]>>(c&63)&1 == 1; got != want[c] {
						t.Fatalf("trial %d (cols %d, kind %d, vector %v): entry %d kept %v, want %v", trial, cols, kind, vec, c, got, want[c])
					}
				}
				if rescale && (math.Float64bits(all) != math.Float64bits(wantAll) || math.Float64bits(kept) != math.Float64bits(wantKept)) {
					t.Fatalf("trial %d (cols %d, vector %v): sums %v %v, want %v %v", trial, cols, vec, all, kept, wantAll, wantKept)
				}
				if !rescale && (all != 0 || kept != 0) {
					t.Fatalf("trial %d: sums without rescale", trial)
				}
			}
			for _, h := range s.hist {
				if h != 0 {
					t.Fatalf("trial %d (vector %v): histograms not cleared", trial, vec)
				}
			}
		}
	}
}

// TestDellaPackedKernelsMatchGo checks each AVX-512 kernel of the packed path against its
// Go definition on random input, tables and bits compared whole.
func TestDellaPackedKernelsMatchGo(t *testing.T) {
	if !useDellaPacked {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 200; trial++ {
		cols := 64 * (1 + rng.IntN(64))
		x, b := dellaTestRow(rng, cols, trial%5)
		keys := make([]uint32, cols)
		kmin, kmax := dellaKeysGo(x, b, keys)
		if trial%3 == 1 {
			// Keys below kmin too (clamped to bucket 0), as with dellaSpan.
			kmin += (kmax - kmin) / uint32(2+rng.IntN(8))
		}
		tb := dellaPackedBits(cols)
		shift := uint(max(0, bits32Len(kmax-kmin)-tb))
		nb := (int((kmax-kmin)>>shift) + 16) &^ 15
		sg, sv := &dellaScratch{}, &dellaScratch{}
		sg.packedInit(cols)
		sv.packedInit(cols)
		z0 := rng.Uint64()
		dellaHistGo(keys, kmin, shift, sg.idx, sg.hist, sg.hstride)
		dellaHashesGo(z0, sg.hs)
		dellaHistAVX512(&keys[0], cols, kmin, uint64(shift), &sv.idx[0], &sv.hist[0], sv.hstride, z0, &sv.hs[0], &x[0])
		for c := range keys {
			if sg.idx[c] != sv.idx[c] || sg.hs[c] != sv.hs[c] {
				t.Fatalf("trial %d: idx[%d] %d hash %#x, Go %d %#x", trial, c, sv.idx[c], sv.hs[c], sg.idx[c], sg.hs[c])
			}
		}
		for bk := 0; bk < sg.hstride; bk++ {
			var g, v uint32
			for h := 0; h < dellaHists; h++ {
				g += uint32(sg.hist[h*sg.hstride+bk])
				v += uint32(sv.hist[h*sv.hstride+bk])
			}
			if g != v {
				t.Fatalf("trial %d: bucket %d count %d, Go %d", trial, bk, v, g)
			}
		}
		// The prefix on the Go histograms, both ways (the entries of non-empty buckets).
		copy(sv.hist, sg.hist)
		p0 := 0.01 + 0.5*rng.Float64()
		step := rng.Float64() * 0.4 / float64(cols)
		if trial%7 == 0 {
			step = 0
		}
		var cnt [1 << 12]uint32
		for c := range keys {
			cnt[sg.idx[c]]++
		}
		dellaPrefixGo(sg.hist, sg.hstride, nb, sg.tab, p0, step)
		p0s, steps := dellaScaled(p0, step)
		dellaPrefixAVX512(&sv.hist[0], sv.hstride, nb, &sv.tab[0], p0s, steps)
		for bk := 0; bk < nb; bk++ {
			// The kernel's halves: the exact ones widened by one, give or take the float32
			// rounding (never narrower, at most two wider).
			glo, ghi := int(sg.tab[bk]&0xffff), int(sg.tab[bk]>>16)
			vlo, vhi := int(sv.tab[bk]&0xffff), int(sv.tab[bk]>>16)
			if cnt[bk] > 0 && (vlo > glo || vlo < max(0, glo-2) || vhi < ghi || vhi > min(0xffff, ghi+2)) {
				t.Fatalf("trial %d: tab[%d] %#x, Go %#x", trial, bk, sv.tab[bk], sg.tab[bk])
			}
		}
		for i := range sv.hist {
			if sv.hist[i] != 0 {
				t.Fatalf("trial %d: histogram %d not cleared", trial, i)
			}
		}
		kg, ag := make([]uint64, cols/64), make([]uint64, cols/64)
		kv, av := make([]uint64, cols/64), make([]uint64, cols/64)
		bound := dellaBound(p0, step, cols)
		dellaTabKeepGo(sg.idx, sg.hs, sg.tab, bound, kg, ag)
		// With another row's sums beside (random keys and keep bits), against the sums kernel.
		sk := make([]uint32, cols)
		sw := make([]uint64, cols/64)
		for c := range sk {
			sk[c] = math.Float32bits(float32(rng.ExpFloat64()))
		}
		for w := range sw {
			sw[w] = rng.Uint64()
		}
		var lv, lg [16]float64
		lv[3], lg[3] = 0.5, 0.5 // added to, not overwritten
		dellaTabKeepAVX512(&sg.idx[0], cols, &sg.hs[0], &sg.tab[0], bound, u64bytes(kv), u64bytes(av), &x[0],
			&sk[0], u64bytes(sw), &lv)
		dellaSumsAVX512(&sk[0], cols, u64bytes(sw), &lg)
		if lv != lg {
			t.Fatalf("trial %d: keep kernel's sums %v, sums kernel %v", trial, lv, lg)
		}
		for w := range kg {
			if kg[w] != kv[w] || ag[w] != av[w] {
				t.Fatalf("trial %d: word %d keep %#x amb %#x, Go %#x %#x", trial, w, kv[w], av[w], kg[w], ag[w])
			}
		}
		clear(kv)
		dellaTabKeepAVX512(&sg.idx[0], cols, &sg.hs[0], &sg.tab[0], bound, u64bytes(kv), u64bytes(av), &x[0], nil, nil, nil)
		for w := range kg {
			if kg[w] != kv[w] || ag[w] != av[w] {
				t.Fatalf("trial %d (no sums): word %d keep %#x amb %#x, Go %#x %#x", trial, w, kv[w], av[w], kg[w], ag[w])
			}
		}
	}
}
