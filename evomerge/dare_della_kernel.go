package evomerge

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"unsafe"
)

// The random masks of DARE (with rescale) and DELLA, drawn before the merge pass into one
// bit per element (md.mask), together with the L1 norms the rescale needs.

// dareMasks draws the keep bits of the DARE models rnd and their norms ‖τ‖₁, ‖m⊙τ‖₁.
func dareMasks(base []float32, rnd []*gtaModel) {
	n := len(base)
	words := (n + 63) / 64
	for _, md := range rnd {
		md.mask = *uint64Pool.get(words)
	}
	sums := parallelSums(n, 2*len(rnd), func(lo, hi int, s []float64) {
		b := base[lo:hi]
		for k, md := range rnd {
			all, kept := dareBlock(md.x[lo:hi], b, md.stream, md.randThr, lo, md.mask)
			s[2*k], s[2*k+1] = all, kept
		}
	})
	for k, md := range rnd {
		md.l1, md.l1Kept = sums[2*k], sums[2*k+1]
	}
}

// dareGolden is maskBits' counter step γ: maskBits(st, g) = mix64(st + g·γ).
const dareGolden = 0x9e3779b97f4a7c15

// dareBlock draws the keep bits of elements lo.. (lo a multiple of 64) into mask, whole
// words, and returns Σ|τ| and Σ|τ| over the kept entries. The sums are taken in eight
// lanes (element j of the block in lane j mod 8, in index order from +0), then the lanes
// added in order: the same on every CPU, whether or not dareLanes uses AVX-512.
func dareBlock(x, b []float32, st, thr uint64, lo int, mask []uint64) (all, kept float64) {
	var lanes [16]float64
	dareLanes(x[:len(b)], b, st+uint64(lo)*dareGolden, thr, lo, mask, &lanes)
	for l := 0; l < 8; l++ {
		all += lanes[l]
		kept += lanes[8+l]
	}
	return all, kept
}

// dareLanesGo draws the keep bits of elements lo.. (the draw of element lo+j being
// mix64(z + j·γ) < thr) into mask, and adds |τ| and kept |τ| of element j to lanes[j%8]
// and lanes[8+j%8].
func dareLanesGo(x, b []float32, z uint64, thr uint64, lo int, mask []uint64, lanes *[16]float64) {
	dareLanesTail(x, b, z, thr, lo, 0, mask, lanes)
}

// dareLanesTail is dareLanesGo from element from (a multiple of 8) on, keeping the mask
// bits of the elements before it in their word.
func dareLanesTail(x, b []float32, z uint64, thr uint64, lo, from int, mask []uint64, lanes *[16]float64) {
	x = x[:len(b)]
	z += uint64(from) * dareGolden
	for j0 := from; j0 < len(b); j0 = (lo+j0)&^63 + 64 - lo {
		end := min((lo+j0)&^63+64-lo, len(b))
		sh := uint((lo + j0) & 63)
		word := mask[(lo+j0)>>6] & (1<<sh - 1)
		for j := j0; j < end; j++ {
			a := math.Abs(float64(x[j] - b[j]))
			// Branch-free: the keep decisions are coin flips. Adding a or +0 is
			// adding a·borrow.
			_, borrow := bits.Sub64(mix64(z), thr, 0)
			z += dareGolden
			lanes[j&7] += a
			lanes[8+j&7] += math.Float64frombits(math.Float64bits(a) & -borrow)
			word |= borrow << uint((lo+j)&63)
		}
		mask[(lo+j0)>>6] = word
	}
}

// dellaScratch is one worker's scratch for DELLA's per-row ranking.
type dellaScratch struct {
	keys, order     []uint32
	start, cnt, pos []uint32
	cnt2            []uint32
	pLo, pHi        []uint64
	amb             []uint64 // entries whose rank decides (vector path)
	sortedRow       []uint32 // sortedRow[bucket] = row stamp when packed holds it sorted
	packed          []uint64 // key<<32 | column, per bucket sorted (large buckets only)
	row             uint32
	kmin            uint32 // the row's smallest key
	shift           uint   // bucket of key k: (k − kmin) >> shift
	ordered         bool   // order holds the row's columns grouped by bucket
	// The packed-rank path (della_row.go): two bucket histograms of hstride counters
	// each, the packed rank ranges per bucket, and the row's bucket indices.
	hist    []uint16
	hstride int
	tab     []uint32
	idx     []uint16
	hs      []uint16  // the row's hash tops (dellaHashesGo)
	keys2   []uint32  // the other row's keys while its sums wait (dellaPend)
	pend    dellaPend // a row whose sums wait for the next row's keep kernel
}

// An entry's rank within its bucket: for buckets of at most dellaRowScanMax entries (of
// at most dellaScanMax with AVX-512) by counting over the whole row; else from the row's columns grouped by bucket (made on the
// first such entry of the row), searched linearly in buckets of at most dellaScanMax
// entries, and larger buckets sorted once per row.
const (
	dellaRowScanMax = 32
	dellaScanMax    = 256
)

// dellaMasks draws the keep bits (md.mask) of the DELLA models dms row by row, and their
// L1 norms when rescale. density[k] and eps[k] are model k's parameters.
func dellaMasks(base []float32, dms []*gtaModel, density, eps []float64, cols int, rescale bool) {
	n := len(base)
	words := (n + 63) / 64
	packed := dellaPackedRow(cols) && useAVX512 // every mask word written whole
	for _, md := range dms {
		mp := uint64Pool.get(words)
		if !packed {
			clear(*mp)
		}
		md.mask = *mp
	}
	rows := n / cols
	rowsPerTask := max(1, blockSize/cols)
	tasks := (rows + rowsPerTask - 1) / rowsPerTask
	bitsW := 12
	if cols > 1<<14 {
		bitsW = 16
	}
	const tables = 1 << 16 // the counter tables' allocation (indexing masks to it)
	nw := workers(tasks)
	scr := make([]*dellaScratch, nw)
	sums := make([]float64, 2*tasks*len(dms))
	p0s, steps := make([]float64, len(dms)), make([]float64, len(dms))
	for k := range dms {
		p0s[k] = density[k] - eps[k]
		if cols > 1 {
			steps[k] = 2 * eps[k] / float64(cols-1)
		} else {
			p0s[k] = density[k]
		}
	}
	parallelTasks(tasks, func(w, task int) {
		s := scr[w]
		if s == nil {
			nbk := 1 << bitsW
			s = &dellaScratch{keys: make([]uint32, cols), amb: make([]uint64, cols/64+1)}
			if packed {
				s.packedInit(cols)
			} else {
				s.order, s.start, s.pos = make([]uint32, cols), make([]uint32, nbk), make([]uint32, nbk)
				s.cnt, s.cnt2 = make([]uint32, tables), make([]uint32, tables)
				s.sortedRow, s.pLo, s.pHi = make([]uint32, nbk), make([]uint64, nbk), make([]uint64, nbk)
			}
			scr[w] = s
		}
		r0, r1 := task*rowsPerTask, min(rows, (task+1)*rowsPerTask)
		if packed {
			// Row by row, every model's row while the base row is in L1 (each model's
			// sums still taken over its rows in order).
			var sb [8]float64
			ss := sb[:0]
			if 2*len(dms) > len(sb) {
				ss = make([]float64, 2*len(dms))
			}
			ss = ss[:2*len(dms)]
			clear(ss)
			for r := r0; r < r1; r++ {
				lo := r * cols
				next := min(r+1, rows-1) * cols // the next row, prefetched with the last model's
				for k, md := range dms {
					pf1, pf2 := dellaNextRows(base, dms[0].x, dms[min(k+1, len(dms)-1)].x, k+1 < len(dms), lo, next, cols)
					ra, rk, tk, ok := s.dellaRowPacked(md.x[lo:lo+cols], base[lo:lo+cols], lo, md.stream, p0s[k], steps[k],
						md.mask[lo>>6:(lo+cols)>>6], rescale, true, pf1, pf2, k)
					if ok {
						ss[2*tk] += ra
						ss[2*tk+1] += rk
					}
				}
			}
			if ra, rk, tk, ok := s.dellaFlush(); ok {
				ss[2*tk] += ra
				ss[2*tk+1] += rk
			}
			for k := range dms {
				sums[2*(k*tasks+task)], sums[2*(k*tasks+task)+1] = ss[2*k], ss[2*k+1]
			}
			return
		}
		for k, md := range dms {
			var all, kept float64
			for r := r0; r < r1; r++ {
				lo := r * cols
				ra, rk := s.dellaRow(md.x[lo:lo+cols], base[lo:lo+cols], lo, uint(bitsW),
					md.stream, p0s[k], steps[k], md.mask, rescale)
				all += ra
				kept += rk
			}
			sums[2*(k*tasks+task)], sums[2*(k*tasks+task)+1] = all, kept
		}
	})
	for k, md := range dms {
		for t := 0; t < tasks; t++ {
			md.l1 += sums[2*(k*tasks+t)]
			md.l1Kept += sums[2*(k*tasks+t)+1]
		}
	}
}

// dellaNextRows is what the packed path prefetches while it processes a model's row at
// element lo: the next model's row at lo (nextModel holds it) when there is one (more),
// else the base's and the first model's (first) rows at next, the row after.
func dellaNextRows(base, first, nextModel []float32, more bool, lo, next, cols int) (pf1, pf2 []float32) {
	if more {
		return nextModel[lo : lo+cols], nextModel[lo : lo+cols]
	}
	return base[next : next+cols], first[next : next+cols]
}

// dellaRow draws the keep bits of one row (elements lo.., task vector x − b) into mask
// and returns (when rescale) its Σ|τ| and kept Σ|τ|, each summed in eight lanes (column c
// in lane c mod 8, in order from +0) and the lanes then added in order — the same with
// and without the AVX-512 path. Entry of ascending
// rank r (equal keys by column) is kept iff u < p0 + step·(r−1), u its uniform draw. The
// row's keys are bucketed by value (the row's key range cut into equal parts); an entry's rank lies within its bucket's
// rank range, and is computed exactly only when u falls between the probabilities of
// the range's ends. The bucket counters are all zero between rows.
func (s *dellaScratch) dellaRow(x, b []float32, lo int, tableBits uint, stream uint64, p0, step float64,
	mask []uint64, rescale bool) (all, kept float64) {
	cols := len(b)
	x = x[:cols]
	keys := s.keys[:cols]
	cnt, start, pos := s.cnt, s.start, s.pos
	// Keys and their range; the buckets split the range into at most 2^tb parts, about
	// four entries each (tb ≤ tableBits, the counters' size).
	var kmin, kmax uint32
	if useAVX512 && cols%16 == 0 {
		kmin, kmax = dellaKeysAVX512(&x[0], &b[0], &keys[0], cols)
	} else {
		kmin, kmax = math.MaxUint32, 0
		for c := range keys {
			k := magnitudeKey(x[c] - b[c])
			keys[c] = k
			kmin, kmax = min(kmin, k), max(kmax, k)
		}
	}
	tb := min(int(tableBits), max(1, bits.Len(uint(cols))-3))
	shift := uint(max(0, bits.Len32(kmax-kmin)-tb))
	// Two counter tables (even and odd columns), so that runs of one bucket do not
	// chain every increment through memory; summed below.
	// (Fixed-size tables and a masked shift count: no bounds or shift checks.)
	c1, c2 := (*[1 << 16]uint32)(cnt[:1<<16]), (*[1 << 16]uint32)(s.cnt2[:1<<16])
	sh := shift & 31
	c := 0
	for ; c+1 < cols; c += 2 {
		c1[((keys[c]-kmin)>>sh)&0xffff]++
		c2[((keys[c+1]-kmin)>>sh)&0xffff]++
	}
	if c < cols {
		c1[((keys[c]-kmin)>>sh)&0xffff]++
	}
	cnt2 := s.cnt2
	bmin, bmax := uint32(0), (kmax-kmin)>>shift
	// Per bucket: its first rank and, as float64 bits, the keep probabilities of its
	// first and last ranks (positive, so they order as their bits, and so does u ≥ 0).
	pLo, pHi := s.pLo, s.pHi
	var acc uint32
	for bk := bmin; bk <= bmax; bk++ {
		c := cnt[bk] + cnt2[bk]
		cnt[bk], cnt2[bk] = c, 0
		start[bk] = acc
		pos[bk] = acc
		pLo[bk] = math.Float64bits(p0 + step*float64(acc))     // p(st+1)
		pHi[bk] = math.Float64bits(p0 + step*float64(acc+c-1)) // p(st+ct)
		acc += c
	}
	s.kmin, s.shift, s.ordered = kmin, shift, false
	s.row++
	if s.row == 0 {
		clear(s.sortedRow)
		s.row = 1
	}
	var lanes [16]float64
	if useAVX512 && cols%64 == 0 {
		// Whole mask words: the row's keep bits straight from the vector draw, then the
		// entries it left to their rank.
		words := mask[lo>>6 : (lo+cols)>>6]
		amb := s.amb[:cols/64]
		dellaKeepAVX512(&keys[0], cols, uint64(shift), uint64(kmin), stream+uint64(lo)*dareGolden, &pLo[0], &pHi[0],
			(*byte)(unsafe.Pointer(&words[0])), (*byte)(unsafe.Pointer(&amb[0])))
		for wi, aw := range amb {
			for aw != 0 {
				c := wi*64 + bits.TrailingZeros64(aw)
				aw &= aw - 1
				key := keys[c]
				bk := (key - kmin) >> shift
				st, ct := int(start[bk]), int(cnt[bk])
				within := s.rankInBucket(st, ct, bk, key, uint32(c))
				if unitFloat(maskBits(stream, lo+c)) < p0+step*float64(st+within) {
					words[wi] |= 1 << (c & 63)
				}
			}
		}
		if rescale {
			dellaSumsAVX512(&keys[0], cols, (*byte)(unsafe.Pointer(&words[0])), &lanes)
		}
	} else {
		for c0 := 0; c0 < cols; {
			g0 := lo + c0
			c1 := min(cols, c0+64-(g0&63)) // to the end of g0's mask word
			var word uint64
			for c := c0; c < c1; c++ {
				key := keys[c]
				bk := (key - kmin) >> shift
				g := lo + c
				bu := math.Float64bits(unitFloat(maskBits(stream, g)))
				bLo := pLo[bk]
				keep := (bu - bLo) >> 63  // u < p(st+1): kept whatever the rank
				if bu-bLo < pHi[bk]-bLo { // p(st+1) ≤ u < p(st+ct): the rank decides
					st, ct := int(start[bk]), int(cnt[bk])
					within := s.rankInBucket(st, ct, bk, key, uint32(c))
					if math.Float64frombits(bu) < p0+step*float64(st+within) {
						keep = 1
					}
				}
				if rescale {
					a := float64(math.Float32frombits(key))
					lanes[c&7] += a
					lanes[8+c&7] += math.Float64frombits(math.Float64bits(a) & -keep)
				}
				word |= keep << uint(c-c0)
			}
			if word != 0 {
				wi, sh := g0>>6, uint(g0&63)
				if c0 == 0 && sh != 0 || c1 == cols && sh+uint(c1-c0) < 64 {
					atomic.OrUint64(&mask[wi], word<<sh) // a word shared with another row
				} else {
					mask[wi] = word << sh
				}
			}
			c0 = c1
		}
	}
	clear(cnt[bmin : bmax+1])
	for l := 0; l < 8; l++ {
		all += lanes[l]
		kept += lanes[8+l]
	}
	return all, kept
}

// rankInBucket is how many entries of bucket bk (ranks st+1..st+ct) rank below the entry
// (key, column c): smaller keys, and equal keys at lower columns.
func (s *dellaScratch) rankInBucket(st, ct int, bk, key, c uint32) int {
	keys := s.keys
	if useAVX512 && len(keys)%16 == 0 && ct <= dellaScanMax {
		return dellaRankAVX512(&keys[0], len(keys), key, int(c)) - st
	}
	if ct <= dellaRowScanMax {
		// Count over the whole row: entries below the key, and equal ones at lower
		// columns, minus the st entries of the lower buckets (all below the key).
		n := 0
		for _, k := range keys[:c] {
			n += int((k - key - 1) >> 31) // k ≤ key (keys < 2³¹)
		}
		for _, k := range keys[c+1:] {
			n += int((k - key) >> 31) // k < key
		}
		return n - st
	}
	if !s.ordered {
		// order: columns grouped by bucket, ascending column within a bucket.
		pos, order := s.pos, s.order
		for i, k := range keys {
			b := (k - s.kmin) >> s.shift
			order[pos[b]] = uint32(i)
			pos[b]++
		}
		s.ordered = true
	}
	members := s.order[st : st+ct]
	if ct <= dellaScanMax {
		within := 0
		for _, o := range members {
			if k := keys[o]; k < key || (k == key && o < c) {
				within++
			}
		}
		return within
	}
	if s.packed == nil {
		s.packed = make([]uint64, len(s.keys))
	}
	p := s.packed[st : st+ct]
	if s.sortedRow[bk] != s.row {
		for i, o := range members {
			p[i] = uint64(keys[o])<<32 | uint64(o)
		}
		slices.Sort(p)
		s.sortedRow[bk] = s.row
	}
	within, _ := slices.BinarySearch(p, uint64(key)<<32|uint64(c))
	return within
}
