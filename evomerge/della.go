package evomerge

import (
	"math"
	"slices"
	"sync/atomic"
)

// DELLA-Merging (Deep et al. 2024, "DELLA-Merging: Reducing Interference in Model Merging
// through Magnitude-Based Sampling", arXiv:2406.11617), mergekit's "della" (sign consensus,
// normalize 1, rescale 1) and "della_linear" (no consensus, normalize 0, rescale 1): the
// task-vector merge of gta.go with MAGPRUNE sparsification. Per row of c entries (the last
// dimension of MergeInput.Shape; the whole tensor without one), rank |τ| ascending
// r = 1..c (equal magnitudes by index) and keep entry r with probability
//
//	p(r) = density − ε + 2ε·(r−1)/(c−1)
//
// then (rescale = 1) scale the task vector back to its L1 norm, as mergekit's
// rescaled_masked_tensor with the l1 norm. See gta.go for the rest of the merge and the
// deliberate differences from mergekit.
func init() {
	RegisterMethod(gtaMethod{gtaConfig{name: "della", consensus: true, sparsify: sparsifyDella, normalize: 1, rescale: 1, density: 1}})
	RegisterMethod(gtaMethod{gtaConfig{name: "della_linear", sparsify: sparsifyDella, normalize: 0, rescale: 1, density: 1}})
}

// dellaMask draws md's keep bits (md.mask) row by row, and its L1 norms when rescale.
func dellaMask(base []float32, md *gtaModel, density, eps float64, cols int, rescale bool) {
	n := len(base)
	words := (n + 63) / 64
	mp := uint64Pool.get(words)
	mask := *mp
	clear(mask)
	md.mask = mask
	rows := n / cols
	rowsPerTask := max(1, blockSize/cols)
	tasks := (rows + rowsPerTask - 1) / rowsPerTask
	bitsW := 12
	if cols > 1<<14 {
		bitsW = 16
	}
	nw := workers(tasks)
	type scratch struct {
		keys, order     []uint32
		start, cnt, pos []uint32
	}
	scr := make([]*scratch, nw)
	sums := make([]float64, 2*tasks)
	x := md.x
	p0, step := density-eps, 0.0
	if cols > 1 {
		step = 2 * eps / float64(cols-1)
	} else {
		p0 = density
	}
	prob := func(r int) float64 { return p0 + step*float64(r-1) }
	shift := uint(31 - bitsW)
	parallelTasks(tasks, func(w, task int) {
		s := scr[w]
		if s == nil {
			s = &scratch{keys: make([]uint32, cols), order: make([]uint32, cols),
				start: make([]uint32, 1<<bitsW), cnt: make([]uint32, 1<<bitsW), pos: make([]uint32, 1<<bitsW)}
			scr[w] = s
		}
		var all, kept float64
		for r := task * rowsPerTask; r < min(rows, (task+1)*rowsPerTask); r++ {
			lo := r * cols
			keys, order, start, cnt := s.keys, s.order, s.start, s.cnt
			clear(cnt)
			for c := 0; c < cols; c++ {
				k := magnitudeKey(x[lo+c] - base[lo+c])
				keys[c] = k
				cnt[k>>shift]++
			}
			var acc uint32
			for bk, c := range cnt {
				start[bk] = acc
				acc += c
			}
			// order: indices grouped by bucket, ascending index within a bucket.
			pos := s.pos
			copy(pos, start)
			for c := 0; c < cols; c++ {
				bk := keys[c] >> shift
				order[pos[bk]] = uint32(c)
				pos[bk]++
			}
			var sorted map[uint32]bool
			var word uint64
			wordStart := lo &^ 63
			flush := func(wi int, v uint64, partial bool) {
				if v == 0 {
					return
				}
				if partial {
					atomic.OrUint64(&mask[wi], v)
				} else {
					mask[wi] = v
				}
			}
			for c := 0; c < cols; c++ {
				g := lo + c
				if g&^63 != wordStart {
					flush(wordStart>>6, word, wordStart < lo)
					word, wordStart = 0, g&^63
				}
				key := keys[c]
				bk := key >> shift
				st, ct := int(start[bk]), int(cnt[bk])
				u := unitFloat(maskBits(md.stream, g))
				var keep bool
				switch {
				case u < prob(st+1):
					keep = true
				case u >= prob(st+ct):
					keep = false
				default:
					members := order[st : st+ct]
					var within int
					if ct <= 64 {
						for _, o := range members {
							if k := keys[o]; k < key || (k == key && o < uint32(c)) {
								within++
							}
						}
					} else {
						if !sorted[bk] {
							slices.SortFunc(members, func(a, b uint32) int {
								if keys[a] != keys[b] {
									if keys[a] < keys[b] {
										return -1
									}
									return 1
								}
								return int(a) - int(b)
							})
							if sorted == nil {
								sorted = map[uint32]bool{}
							}
							sorted[bk] = true
						}
						within, _ = slices.BinarySearchFunc(members, uint32(c), func(o, target uint32) int {
							if keys[o] != key {
								if keys[o] < key {
									return -1
								}
								return 1
							}
							return int(o) - int(target)
						})
					}
					keep = u < prob(st+within+1)
				}
				if rescale {
					a := float64(math.Float32frombits(key))
					all += a
					if keep {
						kept += a
					}
				}
				if keep {
					word |= 1 << (g & 63)
				}
			}
			end := lo + cols
			flush(wordStart>>6, word, wordStart < lo || end < wordStart+64)
		}
		sums[2*task], sums[2*task+1] = all, kept
	})
	for t := 0; t < tasks; t++ {
		md.l1 += sums[2*t]
		md.l1Kept += sums[2*t+1]
	}
}
