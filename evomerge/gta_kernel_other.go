//go:build !amd64 || purego

package evomerge

var useAVX2 = false

// consensus3 is the three-model consensus combine (see consensus3Go).
func consensus3(b, t0, t1, t2 []float32, w0, w1, w2 float64, wb0, wb1, wb2 uint64, lambda float64, normalize bool, o []float32) {
	consensus3Go(b, t0, t1, t2, w0, w1, w2, wb0, wb1, wb2, lambda, normalize, o)
}

func trimChunk(x, b, t []float32, thr uint32, eq int) int { return trimChunkGo(x, b, t, thr, eq) }

func windowPass(x, b []float32, lo, hi uint32, cand *[]uint32) int {
	return windowPassGo(x, b, lo, hi, cand)
}

func maskChunk(x, b, t []float32, mask []uint64, lo int) { maskChunkGo(x, b, t, mask, lo) }

var useAVX512 = false

func dareLanes(x, b []float32, z uint64, thr uint64, lo int, mask []uint64, lanes *[16]float64) {
	dareLanesGo(x, b, z, thr, lo, mask, lanes)
}

func outlierChunk(x, b, t []float32, thr0, thr1 uint32, eq0, eq1 int) (int, int) {
	return outlierChunkGo(x, b, t, thr0, thr1, eq0, eq1)
}

func dellaKeepAVX512(keys *uint32, n int, shift, kmin, z0 uint64, pLo, pHi *uint64, keep, amb *byte) {
	panic("no AVX-512")
}

func dellaKeysAVX512(x, b *float32, keys *uint32, n int) (kmin, kmax uint32) { panic("no AVX-512") }

func dellaSumsAVX512(keys *uint32, n int, keep *byte, lanes *[16]float64) { panic("no AVX-512") }

func dellaRankAVX512(keys *uint32, n int, key uint32, c int) int { panic("no AVX-512") }

func linear3(b, t0, t1, t2 []float32, w0, w1, w2, scale float64, o []float32) {
	linear3Go(b, t0, t1, t2, w0, w1, w2, scale, o)
}

func taskArith3(b, x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	taskArith3Go(b, x0, x1, x2, w0, w1, w2, o)
}

func weighted3(x0, x1, x2 []float32, w0, w1, w2 float64, o []float32) {
	weighted3Go(x0, x1, x2, w0, w1, w2, o)
}
