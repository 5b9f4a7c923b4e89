//go:build !amd64 || purego

package evomerge

var useAVX2 = false

// consensus3 is the three-model consensus combine (see consensus3Go).
func consensus3(b, t0, t1, t2 []float32, w0, w1, w2 float64, wb0, wb1, wb2 uint64, lambda float64, normalize bool, o []float32) {
	consensus3Go(b, t0, t1, t2, w0, w1, w2, wb0, wb1, wb2, lambda, normalize, o)
}
