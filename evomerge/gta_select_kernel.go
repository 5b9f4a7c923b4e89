package evomerge

import "math"

// Rank selection for the magnitude sparsifications (ties, breadcrumbs): each cut's
// threshold key and tie count. Two exact methods; both give the same thresholds, tie
// counts and per-block tie counters, since those are defined by the data alone.
//
//   - sampled (large tensors, without rescale): the thresholds are first estimated from a
//     fixed sample of the tensor (sampleChunks evenly spaced runs of sampleRun elements),
//     which gives each cut a window of keys that holds its threshold with near certainty.
//     One pass over the tensor then counts the keys above each window and collects the
//     keys inside it (in index order, per block), and an exact select among those finds
//     the threshold. If the count shows that the threshold is outside the window (a
//     tensor whose sample misleads), the model falls back to the histogram method.
//   - histogram: a pass building a 16-bit histogram of the keys, a pass collecting the
//     keys of each threshold's bucket (and, with rescale, summing the keys above it, in
//     the order that fixes the L1 norms' rounding), and an exact select among those.

// histBits is the width of the histogram method's first pass, in bits of the key.
const histBits = 16

// The sample of the sampled method: sampleChunks runs of sampleRun consecutive elements,
// one per stride of n/sampleChunks at an offset that varies from run to run; tensors
// under sampleMinN elements use the histogram method.
const (
	sampleChunks = 512
	sampleRun    = 256
	sampleMinN   = 1 << 20
)

// selectRanks finds every cut of the models in sel. With rescale it also sets each
// model's l1 and l1Kept.
func selectRanks(base []float32, sel []*gtaModel, rescale bool) {
	if rescale || len(base) < sampleMinN {
		selectRanksHist(base, sel, rescale)
		return
	}
	if missed := selectRanksSampled(base, sel); len(missed) > 0 {
		selectRanksHist(base, missed, false)
	}
}

// keyWindow is a range [lo, hi] of magnitude keys, for one cut.
type keyWindow struct {
	md     *gtaModel
	cut    *rankCut
	lo, hi uint32
	frac   float64 // the sample's share inside the window
}

// candRange locates one block's candidates of one window: buffer w, [start, end).
type candRange struct{ w, start, end int }

// selectRanksSampled is the sampled method. It returns the models whose thresholds it
// could not place (to be selected by the histogram method).
func selectRanksSampled(base []float32, sel []*gtaModel) (missed []*gtaModel) {
	n := len(base)
	nb := numBlocks(n)
	const m = sampleChunks * sampleRun
	// The windows, one model per task: the sample's keys, then per cut its order
	// statistics at sample ranks ks ± δ.
	perModel := make([][]keyWindow, len(sel))
	parallelTasks(len(sel), func(_, k int) {
		md := sel[k]
		sp, tp := uint32Pool.get(m), uint32Pool.get(m)
		sample, tmp := *sp, *tp
		stride := n / sampleChunks
		for c := 0; c < sampleChunks; c++ {
			// Run c starts at a varying offset within its stride, so that the runs do not
			// all sit at the same columns of a matrix whose row length divides the stride.
			s := c*stride + (c*7919*sampleRun)%(stride-sampleRun+1)
			x, b := md.x[s:s+sampleRun], base[s:s+sampleRun]
			d := sample[c*sampleRun : (c+1)*sampleRun]
			for j := range d {
				d[j] = magnitudeKey(x[j] - b[j])
			}
		}
		for _, cut := range md.cuts {
			cut.blockEq = make([]int, nb)
			cut.threshold, cut.eq = math.MaxUint32, 0
			if cut.c == 0 {
				continue
			}
			q := float64(cut.c) / float64(n)
			ks := q * m
			delta := 6*math.Sqrt(q*(1-q)*m) + 32
			w := keyWindow{md: md, cut: cut, lo: 0, hi: 0x7fffffff}
			rHi, rLo := int(ks-delta), int(math.Ceil(ks+delta))
			if rHi >= 1 {
				copy(tmp, sample)
				w.hi, _ = kthLargest(tmp, rHi)
			}
			if rLo <= m {
				copy(tmp, sample)
				w.lo, _ = kthLargest(tmp, rLo)
			}
			w.frac = float64(min(rLo, m)-max(rHi, 0)) / m
			perModel[k] = append(perModel[k], w)
		}
		uint32Pool.put(sp)
		uint32Pool.put(tp)
	})
	var wins []keyWindow
	for _, ws := range perModel {
		wins = append(wins, ws...)
	}
	if len(wins) == 0 {
		return nil
	}
	nc := len(wins)
	nw := workers(nb)
	bufs := make([]*[]uint32, nw*nc)
	ranges := make([]candRange, nb*nc)
	above := make([]int, nb*nc)
	parallelBlocks(n, func(w, blk, lo, hi int) {
		b := base[lo:hi]
		for ci, win := range wins {
			p := bufs[w*nc+ci]
			if p == nil {
				// A first guess at this worker's candidates.
				guess := int(1.25*win.frac*float64(n)/float64(nw)) + 1024
				p = uint32Pool.get(guess)
				*p = (*p)[:0]
				bufs[w*nc+ci] = p
			}
			cand := *p
			start := len(cand)
			cnt := windowPass(win.md.x[lo:hi], b, win.lo, win.hi, &cand)
			*p = cand
			ranges[blk*nc+ci] = candRange{w, start, len(cand)}
			above[blk*nc+ci] = cnt
		}
	})
	// Each window's exact select, one window per task.
	hit := make([]bool, nc)
	parallelTasks(nc, func(_, ci int) {
		win := wins[ci]
		nAbove, nIn := 0, 0
		for blk := 0; blk < nb; blk++ {
			r := ranges[blk*nc+ci]
			nAbove += above[blk*nc+ci]
			nIn += r.end - r.start
		}
		cut := win.cut
		if !(nAbove < cut.c && cut.c <= nAbove+nIn) {
			return
		}
		hit[ci] = true
		kp := uint32Pool.get(nIn)
		keys := (*kp)[:0]
		for blk := 0; blk < nb; blk++ {
			r := ranges[blk*nc+ci]
			keys = append(keys, (*bufs[r.w*nc+ci])[r.start:r.end]...)
		}
		cut.threshold, cut.eq = kthLargest(keys, cut.c-nAbove)
		uint32Pool.put(kp)
		left := cut.eq
		for blk := 0; blk < nb; blk++ {
			cut.blockEq[blk] = left
			r := ranges[blk*nc+ci]
			for _, key := range (*bufs[r.w*nc+ci])[r.start:r.end] {
				if key == cut.threshold && left > 0 {
					left--
				}
			}
		}
	})
	for ci, win := range wins {
		if !hit[ci] && (len(missed) == 0 || missed[len(missed)-1] != win.md) {
			missed = append(missed, win.md)
		}
	}
	for _, p := range bufs {
		if p != nil {
			uint32Pool.put(p)
		}
	}
	return missed
}

// windowPassGo returns how many entries of x − b have a magnitude key above hi, and appends
// the keys in [lo, hi] to cand, in index order. Keys and hi are at most 0x7fffffff, so
// hi − key wraps to a value with the top bit set exactly when key > hi.
func windowPassGo(x, b []float32, lo, hi uint32, cand *[]uint32) int {
	x = x[:len(b)]
	c := *cand
	width := hi - lo
	above := 0
	for j, bj := range b {
		k := magnitudeKey(x[j] - bj)
		above += int((hi - k) >> 31)
		if k-lo <= width {
			c = append(c, k)
		}
	}
	*cand = c
	return above
}

// selectRanksHist is the histogram method: a histogram pass (all models at once), a pass
// collecting the keys of each threshold's bucket, then an exact select among those.
func selectRanksHist(base []float32, sel []*gtaModel, rescale bool) {
	n := len(base)
	nb := numBlocks(n)
	const bins = 1 << histBits
	const shift = 31 - histBits
	nw := workers(nb)
	hists := make([]*[]uint32, nw)
	for w := range hists {
		hists[w] = uint32Pool.get(len(sel) * bins)
		clear(*hists[w])
	}
	l1 := make([]float64, nb*len(sel))
	parallelBlocks(n, func(w, blk, lo, hi int) {
		h := *hists[w]
		b := base[lo:hi]
		for k, md := range sel {
			hk := h[k*bins : (k+1)*bins]
			x := md.x[lo:hi]
			x = x[:len(b)]
			if !rescale {
				for j, bj := range b {
					hk[magnitudeKey(x[j]-bj)>>shift]++
				}
				continue
			}
			var s float64
			for j, bj := range b {
				v := x[j] - bj
				hk[magnitudeKey(v)>>shift]++
				s += math.Abs(float64(v))
			}
			l1[blk*len(sel)+k] = s
		}
	})
	total := make([]int, bins)
	for k, md := range sel {
		clear(total)
		for w := range hists {
			for bin, c := range (*hists[w])[k*bins : (k+1)*bins] {
				total[bin] += int(c)
			}
		}
		for _, cut := range md.cuts {
			cum := 0
			cut.bucket, cut.need = math.MaxUint32, 0
			for bin := bins - 1; bin >= 0 && cut.c > 0; bin-- {
				if cum+total[bin] >= cut.c {
					cut.bucket, cut.need = uint32(bin), cut.c-cum
					break
				}
				cum += total[bin]
			}
			cut.above = make([]float64, nb)
			cut.cand = make([][]uint32, nb)
			cut.blockEq = make([]int, nb)
		}
		md.l1 = 0
		for blk := 0; blk < nb; blk++ {
			md.l1 += l1[blk*len(sel)+k]
		}
	}
	for _, h := range hists {
		uint32Pool.put(h)
	}
	parallelBlocks(n, func(_, blk, lo, hi int) {
		b := base[lo:hi]
		for _, md := range sel {
			x := md.x[lo:hi]
			for _, cut := range md.cuts {
				if cut.c == 0 {
					continue
				}
				cut.above[blk], cut.cand[blk] = bucketPass(x, b, cut.bucket, rescale)
			}
		}
	})
	for _, md := range sel {
		for _, cut := range md.cuts {
			if cut.c == 0 {
				cut.threshold, cut.eq = math.MaxUint32, 0
				continue
			}
			size := 0
			for _, c := range cut.cand {
				size += len(c)
			}
			keysP := uint32Pool.get(size)
			keys := (*keysP)[:0]
			for _, c := range cut.cand {
				keys = append(keys, c...)
			}
			cut.threshold, cut.eq = kthLargest(keys, cut.need)
			uint32Pool.put(keysP)
			left := cut.eq
			thrVal := float64(math.Float32frombits(cut.threshold))
			l1 := float64(cut.eq) * thrVal
			for blk, c := range cut.cand {
				cut.blockEq[blk] = left
				l1 += cut.above[blk]
				for _, key := range c {
					if key == cut.threshold {
						left = max(0, left-1)
					} else if key > cut.threshold {
						l1 += float64(math.Float32frombits(key))
					}
				}
			}
			cut.l1 = l1
			cut.cand, cut.above = nil, nil
		}
		if rescale {
			md.l1Kept = md.cuts[0].l1
			if len(md.cuts) == 2 {
				md.l1Kept -= md.cuts[1].l1
			}
		}
	}
}

// bucketPass returns the keys of x − b in histogram bucket bk (index order) and, when
// sum, the sum of the keys in higher buckets as float64, added in index order (adding
// +0 for the others changes nothing, so the sum is branch-free).
func bucketPass(x, b []float32, bk uint32, sum bool) (float64, []uint32) {
	const shift = 31 - histBits
	x = x[:len(b)]
	var above float64
	var cand []uint32
	if !sum {
		for j, bj := range b {
			key := magnitudeKey(x[j] - bj)
			if key>>shift == bk {
				cand = append(cand, key)
			}
		}
		return 0, cand
	}
	for j, bj := range b {
		key := magnitudeKey(x[j] - bj)
		d := key >> shift
		// d > bk exactly when bk − d wraps (both below 2¹⁶); the others add +0 (not
		// a product with 0, which would make NaN of an infinite key).
		gt := -uint64((bk - d) >> 31)
		above += math.Float64frombits(math.Float64bits(float64(math.Float32frombits(key))) & gt)
		if d == bk {
			cand = append(cand, key)
		}
	}
	return above, cand
}
