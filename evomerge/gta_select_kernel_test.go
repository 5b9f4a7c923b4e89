package evomerge

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// naiveCut is a sort-based reference for a rank cut: the c-th largest key of tau's
// magnitudes (ties by lower index), how many entries equal to it rank within the top c,
// and per block how many of those are at or after the block's start.
func naiveCut(keys []uint32, c int) (thr uint32, eq int, blockEq []int) {
	n := len(keys)
	blockEq = make([]int, numBlocks(n))
	if c == 0 {
		return math.MaxUint32, 0, blockEq
	}
	idx := make([]int, n)
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] > keys[idx[b]] })
	thr = keys[idx[c-1]]
	var kept []int // indices of the threshold-equal entries within the top c, ascending
	for _, j := range idx[:c] {
		if keys[j] == thr {
			kept = append(kept, j)
		}
	}
	sort.Ints(kept)
	eq = len(kept)
	for blk := range blockEq {
		lo := blk * blockSize
		blockEq[blk] = eq - sort.SearchInts(kept, lo)
	}
	return thr, eq, blockEq
}

// TestSelectRanksMatchesSort checks both selection methods (and the sampled one's
// fallback) against the sort-based reference on tensors large enough for sampling:
// Gaussian, quantized (many ties), all-equal magnitudes, and a tensor whose sample
// misleads; single cuts from one entry to all but one, and breadcrumbs' two cuts.
func TestSelectRanksMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n := sampleMinN + 12345
	base := make([]float32, n)
	for j := range base {
		base[j] = float32(rng.NormFloat64())
	}
	kinds := []string{"gauss", "quantized", "equal", "misleading"}
	misses := 0
	for _, kind := range kinds {
		x := make([]float32, n)
		for j := range x {
			var v float32
			switch kind {
			case "gauss":
				v = float32(rng.NormFloat64())
			case "quantized":
				v = float32(rng.IntN(7)-3) / 4
			case "equal":
				v = 0.25
				if rng.IntN(2) == 0 {
					v = -0.25
				}
			case "misleading":
				// The sampled runs hold the large magnitudes, the rest small ones.
				v = float32(rng.NormFloat64()) * 1e-3
				if st := n / sampleChunks; j%st-(j/st*7919*sampleRun)%(st-sampleRun+1) >= 0 && j%st-(j/st*7919*sampleRun)%(st-sampleRun+1) < sampleRun {
					v = float32(rng.NormFloat64()) * 10
				}
			}
			x[j] = base[j] + v
		}
		keys := make([]uint32, n)
		for j := range keys {
			keys[j] = magnitudeKey(x[j] - base[j])
		}
		type ref struct {
			thr     uint32
			eq      int
			blockEq []int
		}
		refs := map[int]ref{}
		for _, cuts := range [][]int{{1}, {2}, {n / 100}, {n / 2}, {n/2 + 1}, {n - 1}, {0}, {n / 2, n / 100}, {n - 3, 1}} {
			for _, c := range cuts {
				if _, ok := refs[c]; !ok {
					thr, eq, blockEq := naiveCut(keys, c)
					refs[c] = ref{thr, eq, blockEq}
				}
			}
			for _, method := range []string{"select", "hist", "sampled"} {
				md := &gtaModel{x: x}
				for _, c := range cuts {
					md.cuts = append(md.cuts, &rankCut{c: c})
				}
				switch method {
				case "select":
					selectRanks(base, []*gtaModel{md}, false)
				case "hist":
					selectRanksHist(base, []*gtaModel{md}, false)
				case "sampled":
					missed := selectRanksSampled(base, []*gtaModel{md})
					if len(missed) > 0 {
						misses++
						continue // its cuts are left to the histogram method
					}
				}
				for ci, cut := range md.cuts {
					r := refs[cut.c]
					thr, eq, blockEq := r.thr, r.eq, r.blockEq
					if cut.threshold != thr || cut.eq != eq {
						t.Fatalf("%s %s cut %d of %v: threshold %#x eq %d, sort gives %#x eq %d", kind, method, ci, cuts, cut.threshold, cut.eq, thr, eq)
					}
					if cut.c == 0 {
						continue
					}
					for blk := range blockEq {
						if cut.blockEq[blk] != blockEq[blk] {
							t.Fatalf("%s %s cut %d of %v: block %d ties left %d, sort gives %d", kind, method, ci, cuts, blk, cut.blockEq[blk], blockEq[blk])
						}
					}
				}
			}
		}
	}
	// The misleading tensor's middle cuts miss their windows; the others never should.
	if misses == 0 {
		t.Error("the sampled method never fell back: the misleading sample went undetected")
	}
}

// TestTrimMergeLargeMatchesReference runs ties and breadcrumbs_ties on tensors large
// enough for sampled selection against the naive reference merge, including density 0
// and 1 and all-equal magnitudes.
func TestTrimMergeLargeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	n := sampleMinN + 777
	for trial := 0; trial < 4; trial++ {
		in := randomInput(rng, n, 2, trial%2 == 1)
		if trial == 3 {
			for j := range in.Models[0] {
				in.Models[0][j] = in.Base[j] + 0.5
			}
		}
		dens := [][]float64{{0.5, 0.3}, {0, 1}, {0.01, 0.999}, {0.5, 0.5}}[trial]
		gam := []float64{0.01, 0.1}
		for _, name := range []string{"ties", "breadcrumbs_ties"} {
			m, _ := LookupMethod(name)
			c := refCfg{consensus: true, kind: sparsifyMagnitude, normalize: true, lambda: 1, density: dens, seed: in.Seed}
			in.Params = map[string]float64{"normalize": 1}
			in.ModelParams = map[string][]float64{"density": dens}
			if name == "breadcrumbs_ties" {
				c.kind, c.gamma = sparsifyOutliers, gam
				in.ModelParams["gamma"] = gam
			}
			out := make([]float32, n)
			if err := m.Merge(in, out); err != nil {
				t.Fatal(err)
			}
			assertNear(t, name, out, refGTA(in.Base, in.Models, in.Weights, c), 2e-5)
		}
	}
}
