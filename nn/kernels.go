package nn

// The inner loops of inference and training. Go has no portable SIMD, so these are plain
// scalar loops written for the compiler: slices re-sliced to a common length so bounds
// checks leave the loop, 8-way unrolling, and independent accumulators so consecutive
// additions do not wait on each other. Every reduction adds terms in a fixed order, so
// results depend only on the inputs, never on scheduling.

// dot returns Σ a[i]·b[i] over len(a) terms (b must be at least as long). Each pass of
// the loop adds two products to each of four accumulators (terms i and i+4 into
// accumulator i mod 4), which measured about twice as fast as eight separate
// accumulators; the accumulators are combined pairwise, a fixed order.
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i <= n-8; i += 8 {
		aa, bb := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += aa[0]*bb[0] + aa[4]*bb[4]
		s1 += aa[1]*bb[1] + aa[5]*bb[5]
		s2 += aa[2]*bb[2] + aa[6]*bb[6]
		s3 += aa[3]*bb[3] + aa[7]*bb[7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy adds alpha·x to y elementwise over len(x) entries (y must be at least as long).
func axpy(alpha float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	for ; i <= n-8; i += 8 {
		xx, yy := x[i:i+8:i+8], y[i:i+8:i+8]
		yy[0] += alpha * xx[0]
		yy[1] += alpha * xx[1]
		yy[2] += alpha * xx[2]
		yy[3] += alpha * xx[3]
		yy[4] += alpha * xx[4]
		yy[5] += alpha * xx[5]
		yy[6] += alpha * xx[6]
		yy[7] += alpha * xx[7]
	}
	for ; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

// sparseVec is an input vector stored as its nonzero entries in increasing index order.
// MNIST digits are about 80% background (exactly 0), so the first layer, which holds
// three quarters of the network's multiply-adds, runs about five times faster on it.
type sparseVec struct {
	idx []int32
	val []float32
}

// setDense replaces v's entries with the nonzeros of x, reusing v's storage.
func (v *sparseVec) setDense(x []float32) {
	v.idx, v.val = v.idx[:0], v.val[:0]
	for i, xi := range x {
		if xi != 0 {
			v.idx = append(v.idx, int32(i))
			v.val = append(v.val, xi)
		}
	}
}

// sparseDot returns Σ_k w[idx[k]]·val[k] with the accumulation pattern of dot. It
// equals dot(w, x) up to rounding for the dense x that v was built from.
func sparseDot(w []float32, v *sparseVec) float32 {
	idx, val := v.idx, v.val
	n := len(idx)
	val = val[:n]
	var s0, s1, s2, s3 float32
	k := 0
	for ; k <= n-8; k += 8 {
		ii, vv := idx[k:k+8:k+8], val[k:k+8:k+8]
		s0 += w[ii[0]]*vv[0] + w[ii[4]]*vv[4]
		s1 += w[ii[1]]*vv[1] + w[ii[5]]*vv[5]
		s2 += w[ii[2]]*vv[2] + w[ii[6]]*vv[6]
		s3 += w[ii[3]]*vv[3] + w[ii[7]]*vv[7]
	}
	for ; k < n; k++ {
		s0 += w[idx[k]] * val[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// sparseAxpy adds alpha·x to y where x is given by v.
func sparseAxpy(alpha float32, v *sparseVec, y []float32) {
	val := v.val[:len(v.idx)]
	for k, i := range v.idx {
		y[i] += alpha * val[k]
	}
}
