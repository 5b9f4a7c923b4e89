package evomerge

import (
	"math"
	"math/bits"
)

// The merge pass of gta.go. Each block is processed in chunks of chunkSize elements: every
// model's masked task vector mᵢ⊙τᵢ of the chunk is written to per-worker scratch small
// enough for L1/L2, then the chunk is combined by a loop specialised for the model count.
// The arithmetic (operations and their order) is that of the plain per-element formulas in
// gta.go, so results do not depend on the chunking, the specialisation or GOMAXPROCS.

// chunkSize is the number of elements per combine chunk (a multiple of 64, so that chunks
// of a block start on mask words).
const chunkSize = 2048

// fillState carries a model's tie counters through the chunks of one block: how many of
// the entries equal to each cut's threshold are still to be kept.
type fillState struct{ eq0, eq1 int }

// gtaKernel is the general merge pass (sparsified task vectors, with or without the sign
// consensus).
func gtaKernel(base []float32, models []gtaModel, consensus bool, lambda float64, normalize bool, out []float32) {
	n := len(out)
	nm := len(models)
	ws := make([]float64, nm)
	wbits := make([]uint64, nm)
	var wsum float64
	for i, md := range models {
		ws[i] = md.w * md.scale
		wbits[i] = math.Float64bits(md.w)
		wsum += md.w
	}
	divisor := 1.0
	if normalize && !consensus && math.Abs(wsum) >= divisorEpsilon {
		divisor = wsum
	}
	scale := lambda / divisor
	nw := workers(numBlocks(n))
	scratch := make([]*[]float32, nw)
	states := make([][]fillState, nw)
	parallelBlocks(n, func(w, blk, lo, hi int) {
		if scratch[w] == nil {
			scratch[w] = float32Pool.get(nm * chunkSize)
			states[w] = make([]fillState, nm)
		}
		buf, st := *scratch[w], states[w]
		for i := range models {
			st[i] = fillState{}
			if cuts := models[i].cuts; cuts != nil {
				st[i].eq0 = cuts[0].blockEq[blk]
				if len(cuts) == 2 {
					st[i].eq1 = cuts[1].blockEq[blk]
				}
			}
		}
		for clo := lo; clo < hi; clo += chunkSize {
			chi := min(clo+chunkSize, hi)
			sz := chi - clo
			b, o := base[clo:chi], out[clo:chi]
			for i := range models {
				fillChunk(&models[i], &st[i], clo, b, buf[i*chunkSize:i*chunkSize+sz])
			}
			if consensus {
				switch nm {
				case 1:
					consensus1(b, buf[:sz], ws[0], wbits[0], lambda, normalize, o)
				case 2:
					consensus2(b, buf[:sz], buf[chunkSize:chunkSize+sz], ws[0], ws[1], wbits[0], wbits[1], lambda, normalize, o)
				case 3:
					consensus3(b, buf[:sz], buf[chunkSize:chunkSize+sz], buf[2*chunkSize:2*chunkSize+sz],
						ws[0], ws[1], ws[2], wbits[0], wbits[1], wbits[2], lambda, normalize, o)
				default:
					consensusN(b, buf, sz, ws, wbits, lambda, normalize, o)
				}
				continue
			}
			switch nm {
			case 1:
				linear1(b, buf[:sz], ws[0], scale, o)
			case 2:
				linear2(b, buf[:sz], buf[chunkSize:chunkSize+sz], ws[0], ws[1], scale, o)
			case 3:
				linear3(b, buf[:sz], buf[chunkSize:chunkSize+sz], buf[2*chunkSize:2*chunkSize+sz], ws[0], ws[1], ws[2], scale, o)
			default:
				linearN(b, buf, sz, ws, scale, o)
			}
		}
	})
	for _, p := range scratch {
		if p != nil {
			float32Pool.put(p)
		}
	}
}

// fillChunk writes mᵢ⊙τᵢ of the elements lo.. (base b) to t.
func fillChunk(md *gtaModel, st *fillState, lo int, b, t []float32) {
	x := md.x[lo : lo+len(t)]
	switch {
	case md.none:
		clear(t)
	case md.all:
		x, b := x[:len(t)], b[:len(t)]
		for j := range t {
			t[j] = x[j] - b[j]
		}
	case md.cuts != nil:
		c0 := md.cuts[0]
		if c0.c == 0 {
			clear(t)
			return
		}
		if len(md.cuts) == 1 {
			st.eq0 = trimChunk(x, b, t, c0.threshold, st.eq0)
			return
		}
		st.eq0, st.eq1 = outlierChunk(x, b, t, c0.threshold, md.cuts[1].threshold, st.eq0, st.eq1)
	case md.mask != nil:
		maskChunk(x, b, t, md.mask, lo)
	default:
		randomChunk(x, b, t, md.stream, md.randThr, lo)
	}
}

// trimChunkGo keeps the entries whose magnitude key exceeds thr, and the first eq of those
// equal to it; it returns how many of those are left. Keys are at most 0x7fffffff, so
// thr − key is negative as an int32 exactly when key > thr.
func trimChunkGo(x, b, t []float32, thr uint32, eq int) int {
	x, b = x[:len(t)], b[:len(t)]
	for j := range t {
		u := math.Float32bits(x[j] - b[j])
		k := u & 0x7fffffff
		keep := uint32(int32(thr-k) >> 31)
		if k == thr {
			if eq > 0 {
				eq--
				keep = ^uint32(0)
			}
		}
		t[j] = math.Float32frombits(u & keep)
	}
	return eq
}

// outlierChunkGo keeps the entries inside the cut hi (threshold thr0, ties eq0) but not
// inside the cut top (thr1, eq1): breadcrumbs' band.
func outlierChunkGo(x, b, t []float32, thr0, thr1 uint32, eq0, eq1 int) (int, int) {
	x, b = x[:len(t)], b[:len(t)]
	for j := range t {
		u := math.Float32bits(x[j] - b[j])
		k := u & 0x7fffffff
		in0 := uint32(int32(thr0-k) >> 31)
		in1 := uint32(int32(thr1-k) >> 31)
		if k == thr0 {
			if eq0 > 0 {
				eq0--
				in0 = ^uint32(0)
			}
		}
		if k == thr1 {
			if eq1 > 0 {
				eq1--
				in1 = ^uint32(0)
			}
		}
		t[j] = math.Float32frombits(u & (in0 &^ in1))
	}
	return eq0, eq1
}

// maskChunkGo keeps the entries whose bit is set in mask (bit g of the tensor for element
// g); lo is a multiple of 64.
func maskChunkGo(x, b, t []float32, mask []uint64, lo int) {
	x, b = x[:len(t)], b[:len(t)]
	for j0 := 0; j0 < len(t); j0 += 64 {
		word := mask[(lo+j0)>>6]
		end := min(j0+64, len(t))
		for j := j0; j < end; j++ {
			keep := -(uint32(word) & 1)
			word >>= 1
			t[j] = math.Float32frombits(math.Float32bits(x[j]-b[j]) & keep)
		}
	}
}

// randomChunk keeps each entry g with maskBits(st, g) < thr (DARE without stored bits).
func randomChunk(x, b, t []float32, st, thr uint64, lo int) {
	x, b = x[:len(t)], b[:len(t)]
	for j := range t {
		_, borrow := bits.Sub64(maskBits(st, lo+j), thr, 0)
		keep := -uint32(borrow)
		t[j] = math.Float32frombits(math.Float32bits(x[j]-b[j]) & keep)
	}
}

// The consensus combines: per element, δᵢ = wsᵢ·tᵢ, the elected sign is that of Σδᵢ
// (summed from 0 in model order), and the agreeing δᵢ and their weights are summed (from
// 0, in model order) — the operations of the per-element formula in gta.go, unrolled.
// A divisor of exactly 0 is replaced by 1 (mixed/1 = mixed), as mergekit does.

func consensus1(b, t0 []float32, w0 float64, wb0 uint64, lambda float64, normalize bool, o []float32) {
	t0, b = t0[:len(o)], b[:len(o)]
	for j := range o {
		d0 := w0 * float64(t0[j])
		var sum float64
		sum += d0
		e := math.Float64bits(sum) >> 63
		a0 := agreeMask(math.Float64bits(d0), e)
		var mixed, div float64
		mixed += math.Float64frombits(math.Float64bits(d0) & a0)
		div += math.Float64frombits(wb0 & a0)
		if normalize {
			if div == 0 {
				div = 1
			}
			mixed /= div
		}
		o[j] = float32(float64(b[j]) + lambda*mixed)
	}
}

func consensus2(b, t0, t1 []float32, w0, w1 float64, wb0, wb1 uint64, lambda float64, normalize bool, o []float32) {
	t0, t1, b = t0[:len(o)], t1[:len(o)], b[:len(o)]
	for j := range o {
		d0 := w0 * float64(t0[j])
		d1 := w1 * float64(t1[j])
		var sum float64
		sum += d0
		sum += d1
		e := math.Float64bits(sum) >> 63
		a0 := agreeMask(math.Float64bits(d0), e)
		a1 := agreeMask(math.Float64bits(d1), e)
		var mixed, div float64
		mixed += math.Float64frombits(math.Float64bits(d0) & a0)
		mixed += math.Float64frombits(math.Float64bits(d1) & a1)
		div += math.Float64frombits(wb0 & a0)
		div += math.Float64frombits(wb1 & a1)
		if normalize {
			if div == 0 {
				div = 1
			}
			mixed /= div
		}
		o[j] = float32(float64(b[j]) + lambda*mixed)
	}
}

func consensus3Go(b, t0, t1, t2 []float32, w0, w1, w2 float64, wb0, wb1, wb2 uint64, lambda float64, normalize bool, o []float32) {
	t0, t1, t2, b = t0[:len(o)], t1[:len(o)], t2[:len(o)], b[:len(o)]
	for j := range o {
		d0 := w0 * float64(t0[j])
		d1 := w1 * float64(t1[j])
		d2 := w2 * float64(t2[j])
		var sum float64
		sum += d0
		sum += d1
		sum += d2
		e := math.Float64bits(sum) >> 63
		a0 := agreeMask(math.Float64bits(d0), e)
		a1 := agreeMask(math.Float64bits(d1), e)
		a2 := agreeMask(math.Float64bits(d2), e)
		var mixed, div float64
		mixed += math.Float64frombits(math.Float64bits(d0) & a0)
		mixed += math.Float64frombits(math.Float64bits(d1) & a1)
		mixed += math.Float64frombits(math.Float64bits(d2) & a2)
		div += math.Float64frombits(wb0 & a0)
		div += math.Float64frombits(wb1 & a1)
		div += math.Float64frombits(wb2 & a2)
		if normalize {
			if div == 0 {
				div = 1
			}
			mixed /= div
		}
		o[j] = float32(float64(b[j]) + lambda*mixed)
	}
}

// consensusN is the consensus combine for any model count; model i's chunk is
// buf[i·chunkSize:][:sz].
func consensusN(b, buf []float32, sz int, ws []float64, wbits []uint64, lambda float64, normalize bool, o []float32) {
	var dbuf [16]float64
	deltas := dbuf[:0]
	if len(ws) > len(dbuf) {
		deltas = make([]float64, 0, len(ws))
	}
	deltas = deltas[:len(ws)]
	for j := range o[:sz] {
		var sum float64
		for i, w := range ws {
			d := w * float64(buf[i*chunkSize+j])
			deltas[i] = d
			sum += d
		}
		e := math.Float64bits(sum) >> 63
		var mixed, div float64
		for i, d := range deltas {
			a := agreeMask(math.Float64bits(d), e)
			mixed += math.Float64frombits(math.Float64bits(d) & a)
			div += math.Float64frombits(wbits[i] & a)
		}
		if normalize {
			if div == 0 {
				div = 1
			}
			mixed /= div
		}
		o[j] = float32(float64(b[j]) + lambda*mixed)
	}
}

// The plain combines: θ_b + scale·Σᵢ wsᵢ·tᵢ, the sum from 0 in model order.

func linear1(b, t0 []float32, w0, scale float64, o []float32) {
	t0, b = t0[:len(o)], b[:len(o)]
	for j := range o {
		var acc float64
		acc += w0 * float64(t0[j])
		o[j] = float32(float64(b[j]) + scale*acc)
	}
}

func linear2(b, t0, t1 []float32, w0, w1, scale float64, o []float32) {
	t0, t1, b = t0[:len(o)], t1[:len(o)], b[:len(o)]
	for j := range o {
		var acc float64
		acc += w0 * float64(t0[j])
		acc += w1 * float64(t1[j])
		o[j] = float32(float64(b[j]) + scale*acc)
	}
}

func linear3Go(b, t0, t1, t2 []float32, w0, w1, w2, scale float64, o []float32) {
	t0, t1, t2, b = t0[:len(o)], t1[:len(o)], t2[:len(o)], b[:len(o)]
	for j := range o {
		var acc float64
		acc += w0 * float64(t0[j])
		acc += w1 * float64(t1[j])
		acc += w2 * float64(t2[j])
		o[j] = float32(float64(b[j]) + scale*acc)
	}
}

func linearN(b, buf []float32, sz int, ws []float64, scale float64, o []float32) {
	for j := range o[:sz] {
		var acc float64
		for i, w := range ws {
			acc += w * float64(buf[i*chunkSize+j])
		}
		o[j] = float32(float64(b[j]) + scale*acc)
	}
}

// taskArith3Go writes θ_b + (w₀τ₀ + w₁τ₁ + w₂τ₂) to o, τᵢ = xᵢ − b formed in float32.
func taskArith3Go(b, x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	x0, x1, x2, b = x0[:len(o)], x1[:len(o)], x2[:len(o)], b[:len(o)]
	for j := range o {
		bj := b[j]
		o[j] = float32(float64(bj) + (w0*float64(x0[j]-bj) + w1*float64(x1[j]-bj) + w2*float64(x2[j]-bj)))
	}
}

// weighted3Go writes w₀x₀ + w₁x₁ + w₂x₂ to o.
func weighted3Go(x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	x0, x1, x2 = x0[:len(o)], x1[:len(o)], x2[:len(o)]
	for j := range o {
		o[j] = float32(w0*float64(x0[j]) + w1*float64(x1[j]) + w2*float64(x2[j]))
	}
}
