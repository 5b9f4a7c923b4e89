package evomerge

import (
	"math"
	"math/bits"
	"unsafe"
)

// DELLA's packed-rank row path, for rows of a multiple of 64 entries (whole mask words)
// and at most dellaPackedMaxCols of them (ranks in 16 bits). Per row:
//
//  1. keys (|τ| bits) and their range;
//  2. bucket indices idx (max(key, kmin) − kmin) >> shift (kmin raised to dellaSpan
//     binades below the largest key when the row spans more), 16 bits each, counted into two
//     histograms (consecutive entries in different ones, so that a run of one bucket does
//     not chain every increment through memory; two rather than four keep the tables
//     small in L1 and the prefix pass short);
//  3. one prefix pass over the buckets: with st and e the bucket's first and last rank
//     (from 0), tab[bucket] = ⌊p(st)·2¹⁶⌋ | ⌊p(e)·2¹⁶⌋ << 16, the histograms cleared for
//     the next row;
//  4. the keep draws, on the top 16 bits H of entry c's 64 random bits h (u = (h>>11)·2⁻⁵³):
//     H < ⌊p(st)·2¹⁶⌋ implies u < p(st) ≤ p(rank), kept; H > ⌊p(e)·2¹⁶⌋ implies
//     u ≥ p(e) ≥ p(rank), dropped; the rest (where the rank decides, or 16 bits do not;
//     few entries) are decided exactly, u < p(rank), their rank counted over the row;
//  5. the L1 sums for the rescale.
//
// Steps 1–4 have AVX-512 kernels (della_row_amd64.s) and Go versions here that define
// them; the decisions are exactly dellaRow's, u < p0 + step·rank, so the bytes are the
// same on every path.

const dellaPackedMaxCols = 1 << 16

// dellaHists is the number of bucket histograms (entry c counted in histogram c mod it).
const dellaHists = 2

// dellaPackedBits is log2 of the buckets per row of cols entries (at most 2¹²).
func dellaPackedBits(cols int) int { return min(12, max(4, bits.Len(uint(cols))-dellaTuneSub)) }

// dellaSpan is how many binades below the row's largest magnitude the buckets cover.
var dellaSpan uint32 = 10

// dellaLowMax is the most entries bucket 0 holds with the buckets narrowed to dellaSpan.
const dellaLowMax = 64

// dellaTuneSub sets the buckets per row: about 2^dellaTuneSub/2 entries each (a variable
// for BenchmarkDellaRowPacked).
var dellaTuneSub = 2

// dellaPackedRow reports whether rows of cols entries take the packed-rank path.
func dellaPackedRow(cols int) bool {
	return useDellaPacked && cols%64 == 0 && cols <= dellaPackedMaxCols
}

// dellaP is the keep probability of rank r (from 0): p0 + step·r, the product rounded
// (never fused) as the vector kernels round it.
func dellaP(p0, step float64, r uint32) float64 { return p0 + float64(step*float64(r)) }

// packedInit allocates the packed path's scratch for rows of cols entries.
func (s *dellaScratch) packedInit(cols int) {
	nbk := 1 << dellaPackedBits(cols)
	s.hstride = nbk + 16
	s.hist = make([]uint16, dellaHists*s.hstride)
	s.tab = make([]uint32, nbk)
	s.idx = make([]uint16, cols)
	s.hs = make([]uint16, cols)
}

// dellaPend is a row whose sums dellaRowPacked has deferred to its next call.
type dellaPend struct {
	keys  []uint32
	words []uint64
	tag   int
	ok    bool
}

// dellaRowPacked is dellaRow for a row of the packed path (lo a multiple of 64, len(b) a
// multiple of 64 and at most dellaPackedMaxCols): it writes the row's keep bits to words
// (the row's own mask words). When rescale, the row's Σ|τ| and kept Σ|τ|, summed as
// dellaRow sums them, are returned with its tag — by this call on the Go path (vec
// false), and on the vector path by the next call (or dellaFlush), which adds them up
// inside its keep kernel, where the sums' chains of dependent adds cost next to nothing;
// ok reports whether sums are returned. vec selects the AVX-512 kernels; pf1 and pf2,
// rows of len(b) entries read next, are prefetched meanwhile (vec only), the one by the
// histogram kernel and the other by the keep kernel, so that the requests are spread
// over the row's work.
func (s *dellaScratch) dellaRowPacked(x, b []float32, lo int, stream uint64, p0, step float64,
	words []uint64, rescale, vec bool, pf1, pf2 []float32, tag int) (all, kept float64, sumTag int, ok bool) {
	cols := len(b)
	x = x[:cols]
	if len(s.keys2) < cols {
		s.keys2 = make([]uint32, cols)
	}
	if s.pend.ok {
		s.keys, s.keys2 = s.keys2, s.keys // the pending row's keys (s.keys) stay until its sums
	}
	keys := s.keys[:cols]
	idx := s.idx[:cols]
	hs := s.hs[:cols]
	words = words[:cols/64]
	amb := s.amb[:cols/64]
	var kmin, kmax uint32
	if vec {
		kmin, kmax = dellaKeysAVX512(&x[0], &b[0], &keys[0], cols)
	} else {
		kmin, kmax = dellaKeysGo(x, b, keys)
	}
	z0 := stream + uint64(lo)*dareGolden
	// The buckets span at most dellaSpan binades below the largest key, the smaller keys
	// all in bucket 0: a row's few tiny entries do not stretch the buckets of the bulk.
	// Should bucket 0 then hold more than dellaLowMax entries (ambiguous entries grow as
	// its count squared), the row is bucketed again over its whole range.
	kmin0 := kmin
	kmin = max(kmin, kmax-min(kmax, dellaSpan<<23))
	var nb int
	for {
		shift := uint(max(0, bits.Len32(kmax-kmin)-dellaPackedBits(cols)))
		nb = (int((kmax-kmin)>>shift) + 16) &^ 15 // buckets in use, rounded up to 16
		if vec {
			dellaHistAVX512(&keys[0], cols, kmin, uint64(shift), &idx[0], &s.hist[0], s.hstride, z0, &hs[0], &pf1[:cols][0])
		} else {
			dellaHistGo(keys, kmin, shift, idx, s.hist, s.hstride)
			dellaHashesGo(z0, hs)
		}
		if kmin != kmin0 && int(s.hist[0])+int(s.hist[s.hstride]) > dellaLowMax {
			for h := 0; h < dellaHists; h++ {
				clear(s.hist[h*s.hstride : h*s.hstride+nb])
			}
			kmin = kmin0
			continue
		}
		break
	}
	bound := dellaBound(p0, step, cols)
	var lanes [16]float64
	if vec {
		p0s, steps := dellaScaled(p0, step)
		dellaPrefixAVX512(&s.hist[0], s.hstride, nb, &s.tab[0], p0s, steps)
		var sk *uint32
		var sw *byte
		if s.pend.ok {
			sk, sw = &s.pend.keys[:cols][0], u64bytes(s.pend.words[:cols/64])
		}
		dellaTabKeepAVX512(&idx[0], cols, &hs[0], &s.tab[0], bound, u64bytes(words), u64bytes(amb), &pf2[:cols][0],
			sk, sw, &lanes)
	} else {
		dellaPrefixGo(s.hist, s.hstride, nb, s.tab, p0, step)
		dellaTabKeepGo(idx, hs, s.tab, bound, words, amb)
	}
	for wi, aw := range amb {
		for aw != 0 {
			c := wi*64 + bits.TrailingZeros64(aw)
			aw &= aw - 1
			var r int
			if vec {
				r = dellaRankAVX512(&keys[0], cols, keys[c], c)
			} else {
				r = dellaRankGo(keys, c)
			}
			if unitFloat(maskBits(stream, lo+c)) < dellaP(p0, step, uint32(r)) {
				words[wi] |= 1 << (c & 63)
			}
		}
	}
	if vec {
		if s.pend.ok {
			all, kept = dellaLaneSums(&lanes)
			sumTag, ok = s.pend.tag, true
		}
		s.pend = dellaPend{keys: keys, words: words, tag: tag, ok: rescale}
		return all, kept, sumTag, ok
	}
	if !rescale {
		return 0, 0, 0, false
	}
	for c, k := range keys {
		a := float64(math.Float32frombits(k))
		keep := words[c>>6] >> (c & 63) & 1
		lanes[c&7] += a
		lanes[8+c&7] += math.Float64frombits(math.Float64bits(a) & -keep)
	}
	all, kept = dellaLaneSums(&lanes)
	return all, kept, tag, true
}

// dellaFlush returns the sums dellaRowPacked has deferred, if any (see there).
func (s *dellaScratch) dellaFlush() (all, kept float64, tag int, ok bool) {
	if !s.pend.ok {
		return 0, 0, 0, false
	}
	p := s.pend
	s.pend = dellaPend{}
	var lanes [16]float64
	dellaSumsAVX512(&p.keys[0], len(p.keys), u64bytes(p.words), &lanes)
	all, kept = dellaLaneSums(&lanes)
	return all, kept, p.tag, true
}

// dellaLaneSums is the sums of lanes 0–7 and 8–15, each added in order.
func dellaLaneSums(lanes *[16]float64) (all, kept float64) {
	for l := 0; l < 8; l++ {
		all += lanes[l]
		kept += lanes[8+l]
	}
	return all, kept
}

// dellaKeysGo writes keys[c] = bits(|x[c] − b[c]|) and returns their smallest and largest.
func dellaKeysGo(x, b []float32, keys []uint32) (kmin, kmax uint32) {
	x, b = x[:len(keys)], b[:len(keys)]
	kmin = math.MaxUint32
	for c := range keys {
		k := magnitudeKey(x[c] - b[c])
		keys[c] = k
		kmin, kmax = min(kmin, k), max(kmax, k)
	}
	return kmin, kmax
}

// dellaHistGo writes idx[c] = (max(keys[c], kmin) − kmin) >> shift and counts entry c in histogram
// c mod 2 (hist[(c%2)·stride+idx[c]]).
func dellaHistGo(keys []uint32, kmin uint32, shift uint, idx []uint16, hist []uint16, stride int) {
	idx = idx[:len(keys)]
	for c, k := range keys {
		i := uint16((max(k, kmin) - kmin) >> shift)
		idx[c] = i
		hist[(c&1)*stride+int(i)]++
	}
}

// dellaPrefixGo sums the two histograms over buckets 0..nb−1, clears them, and writes
// tab[bk] = ⌊p(st)·2¹⁶⌋ | ⌊p(e)·2¹⁶⌋ << 16 for the buckets holding entries, st the
// bucket's first rank (the entries in lower buckets) and e = st + count − 1 its last.
func dellaPrefixGo(hist []uint16, stride, nb int, tab []uint32, p0, step float64) {
	var st uint32
	for bk := 0; bk < nb; bk++ {
		ct := uint32(hist[bk]) + uint32(hist[stride+bk])
		hist[bk], hist[stride+bk] = 0, 0
		if ct > 0 {
			tab[bk] = dellaP16(p0, step, st) | dellaP16(p0, step, st+ct-1)<<16
		}
		st += ct
	}
}

// dellaScaled is p0·2¹⁶ and step·2¹⁶ in float32, dellaPrefixAVX512's arguments.
func dellaScaled(p0, step float64) (p0s, steps float32) {
	return float32(p0 * 0x1p16), float32(step * 0x1p16)
}

// dellaP16 is ⌊p(r)·2¹⁶⌋ (p < 1, so 16 bits).
func dellaP16(p0, step float64, r uint32) uint32 { return uint32(dellaP(p0, step, r) * 0x1p16) }

// dellaBound is ⌊p(0)·2¹⁶⌋ | ⌊p(cols−1)·2¹⁶⌋ << 16, the least and the greatest halves any
// bucket's tab entry can hold (p grows with the rank: ε ≥ 0).
func dellaBound(p0, step float64, cols int) uint32 {
	return dellaP16(p0, step, 0) | dellaP16(p0, step, uint32(cols-1))<<16
}

// dellaHashesGo writes h[c] = mix64(z0 + c·γ) >> 48, the top 16 bits of entry c's
// random bits.
func dellaHashesGo(z0 uint64, h []uint16) {
	for c := range h {
		h[c] = uint16(mix64(z0+uint64(c)*dareGolden) >> 48)
	}
}

// dellaTabKeepGo sets, with H = h[c] and lo, hi = tab[idx[c]]'s halves, keep bit c iff
// H < lo and amb bit c iff lo ≤ H ≤ hi. The entries with H outside bound's halves
// (dellaBound) are decided without the table: below it kept, above it dropped — the
// same decisions, as every bucket's halves lie within it.
func dellaTabKeepGo(idx, h []uint16, tab []uint32, bound uint32, keep, amb []uint64) {
	for w := range keep[:len(idx)/64] {
		var kw, aw uint64
		for j, i := range idx[w*64 : w*64+64] {
			h := uint32(h[w*64+j])
			t := bound & 0xffff * 0x10001
			if h >= bound&0xffff && h <= bound>>16 {
				t = tab[i]
			}
			if h < t&0xffff {
				kw |= 1 << j
			} else if h <= t>>16 {
				aw |= 1 << j
			}
		}
		keep[w], amb[w] = kw, aw
	}
}

// dellaRankGo is entry c's rank from 0 in keys: the entries below its key and the equal
// ones before it.
func dellaRankGo(keys []uint32, c int) int {
	key := keys[c]
	n := 0
	for _, k := range keys[:c] {
		n += int((k - key - 1) >> 31) // k ≤ key (keys < 2³¹)
	}
	for _, k := range keys[c+1:] {
		n += int((k - key) >> 31) // k < key
	}
	return n
}

func bits32Len(x uint32) int { return bits.Len32(x) }

// u64bytes is the first byte of words, for the kernels that store mask bits bytewise.
func u64bytes(words []uint64) *byte { return (*byte)(unsafe.Pointer(&words[0])) }
