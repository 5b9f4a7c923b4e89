package evomerge

import (
	"math"
	"unsafe"
)

// DELLA's merge pass with three masked models: the masked task vectors are formed in
// registers from the models, the base and the mask bits and combined at once (no chunk
// scratch), with the float64 operations, in order, of gtaKernel's consensus3 and linear3
// combines — the same bytes. Used when the vector path is on and every model has drawn
// mask bits; gtaKernel serves otherwise.

// dellaCombArgs is dellaCombine3AVX512's argument block; della_row_amd64.s addresses its
// fields by the offsets TestDellaCombArgsLayout checks.
type dellaCombArgs struct {
	b, x0, x1, x2, o *float32
	m0, m1, m2       *byte // the elements' mask bits, bit j%8 of byte j/8
	n                int   // elements, a positive multiple of 8
	w                [3]float64
	wv               [3]float64
	lambda           float64
	normalize        int
	consensus        int
}

// dellaKernel is gtaKernel for three models with mask bits (DELLA), if the vector path
// applies; it reports whether it ran.
func dellaKernel(base []float32, models []gtaModel, consensus bool, lambda float64, normalize bool, out []float32) bool {
	if !useDellaPacked || !useAVX512 || len(models) != 3 {
		return false
	}
	for i := range models {
		if md := &models[i]; md.mask == nil || md.none || md.all || md.cuts != nil {
			return false
		}
	}
	n := len(out)
	var ws, wv [3]float64
	var wsum float64
	for i, md := range models {
		ws[i], wv[i] = md.w*md.scale, md.w
		wsum += md.w
	}
	a := dellaCombArgs{w: ws, wv: wv, lambda: lambda}
	if consensus {
		a.consensus = 1
		if normalize {
			a.normalize = 1
		}
	} else {
		divisor := 1.0
		if normalize && math.Abs(wsum) >= divisorEpsilon {
			divisor = wsum
		}
		a.lambda = lambda / divisor // linear3's scale
	}
	parallelBlocks(n, func(_, _, lo, hi int) {
		v := (hi - lo) &^ 7
		if v > 0 {
			a := a
			a.b, a.o = &base[lo], &out[lo]
			a.x0, a.x1, a.x2 = &models[0].x[lo], &models[1].x[lo], &models[2].x[lo]
			a.m0 = (*byte)(unsafe.Add(unsafe.Pointer(&models[0].mask[0]), lo>>3))
			a.m1 = (*byte)(unsafe.Add(unsafe.Pointer(&models[1].mask[0]), lo>>3))
			a.m2 = (*byte)(unsafe.Add(unsafe.Pointer(&models[2].mask[0]), lo>>3))
			a.n = v
			dellaCombine3AVX512(&a)
		}
		if lo+v < hi {
			dellaCombineTail(base, models, &a, lo+v, hi, out)
		}
	})
	return true
}

// dellaCombineTail is the combine of elements lo..hi (fewer than 8) in Go.
func dellaCombineTail(base []float32, models []gtaModel, a *dellaCombArgs, lo, hi int, out []float32) {
	var tb [3][8]float32
	b, o := base[lo:hi], out[lo:hi]
	for i := range models {
		x, m := models[i].x[lo:hi], models[i].mask
		for j := range b {
			g := lo + j
			keep := -(uint32(m[g>>6]>>(g&63)) & 1)
			tb[i][j] = math.Float32frombits(math.Float32bits(x[j]-b[j]) & keep)
		}
	}
	t0, t1, t2 := tb[0][:hi-lo], tb[1][:hi-lo], tb[2][:hi-lo]
	if a.consensus == 1 {
		consensus3Go(b, t0, t1, t2, a.w[0], a.w[1], a.w[2], math.Float64bits(a.wv[0]), math.Float64bits(a.wv[1]), math.Float64bits(a.wv[2]),
			a.lambda, a.normalize == 1, o)
		return
	}
	linear3Go(b, t0, t1, t2, a.w[0], a.w[1], a.w[2], a.lambda, o)
}
