package vptq

import "fmt"

// MulVec sets y = W·x for the matrix W that q represents (len(x) = Cols, len(y) = Rows),
// straight from the codebooks and indices, without materializing W.
//
// Vectors run down columns, so column c contributes x_c times a codeword to v outputs at
// once: y[g·v : g·v+v] += x_c·(C[i] + R[i']) for index pair (i, i') of vector (g, c). The
// per-column normalization folds into the input and one shared offset:
// Σ_c x_c(σ_c·u + μ_c) = Σ_c (x_c σ_c)·u + Σ_c x_c μ_c. In memory the indices are
// unpacked to 16 bits, so per weight it reads 2·16/v bits (8 at v = 4) instead of 32
// bits of float; the codebooks stay in cache.
//
// MulVec panics if the lengths do not match.
func (q *Quantized) MulVec(x, y []float32) {
	if len(x) != q.Cols || len(y) != q.Rows {
		panic(fmt.Sprintf("vptq.MulVec: x has %d elements and y %d for a %d×%d matrix", len(x), len(y), q.Rows, q.Cols))
	}
	xs := x
	var offset float32
	if q.Normalize {
		xs = make([]float32, len(x))
		for c, xc := range x {
			xs[c] = xc * q.ColScale[c]
			offset += xc * q.ColBias[c]
		}
	}
	v, cols := q.VectorLength, q.Cols
	acc := make([]float32, v)
	for g := range q.groups() {
		idx := q.Indices[g*cols : (g+1)*cols]
		clear(acc)
		switch {
		case v == 4 && q.ResidualBits > 0:
			accumulate4Res(acc, xs, idx, q.Codebook, q.ResIndices[g*cols:(g+1)*cols], q.ResCodebook)
		case v == 4:
			accumulate4(acc, xs, idx, q.Codebook)
		default:
			accumulate(acc, xs, idx, q.Codebook)
			if q.ResidualBits > 0 {
				accumulate(acc, xs, q.ResIndices[g*cols:(g+1)*cols], q.ResCodebook)
			}
		}
		for j := range min(v, q.Rows-g*v) {
			y[g*v+j] = acc[j] + offset
		}
	}
}

// accumulate4Res adds Σ_c x_c·(book[idx_c] + res[ridx_c]) to acc for 4-element
// codewords. Two columns per step feed two sets of accumulators, and each codeword pair
// is summed before it is scaled, so the dependent chain is one add per two columns.
func accumulate4Res(acc, x []float32, idx []uint16, book []float32, ridx []uint16, res []float32) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	ridx = ridx[:len(idx)]
	x = x[:len(idx)]
	c := 0
	for ; c+2 <= len(idx); c += 2 {
		i, j := int(idx[c])*4, int(ridx[c])*4
		w, r := book[i:i+4:i+4], res[j:j+4:j+4]
		xc := x[c]
		a0 += xc * (w[0] + r[0])
		a1 += xc * (w[1] + r[1])
		a2 += xc * (w[2] + r[2])
		a3 += xc * (w[3] + r[3])
		i, j = int(idx[c+1])*4, int(ridx[c+1])*4
		w, r = book[i:i+4:i+4], res[j:j+4:j+4]
		xc = x[c+1]
		b0 += xc * (w[0] + r[0])
		b1 += xc * (w[1] + r[1])
		b2 += xc * (w[2] + r[2])
		b3 += xc * (w[3] + r[3])
	}
	if c < len(idx) {
		i, j := int(idx[c])*4, int(ridx[c])*4
		w, r := book[i:i+4:i+4], res[j:j+4:j+4]
		xc := x[c]
		a0 += xc * (w[0] + r[0])
		a1 += xc * (w[1] + r[1])
		a2 += xc * (w[2] + r[2])
		a3 += xc * (w[3] + r[3])
	}
	acc[0], acc[1], acc[2], acc[3] = a0+b0, a1+b1, a2+b2, a3+b3
}

// accumulate4 adds Σ_c x_c·book[idx_c] to acc for 4-element codewords, two columns per
// step into two sets of accumulators.
func accumulate4(acc, x []float32, idx []uint16, book []float32) {
	var a0, a1, a2, a3, b0, b1, b2, b3 float32
	x = x[:len(idx)]
	c := 0
	for ; c+2 <= len(idx); c += 2 {
		i := int(idx[c]) * 4
		w := book[i : i+4 : i+4]
		xc := x[c]
		a0 += xc * w[0]
		a1 += xc * w[1]
		a2 += xc * w[2]
		a3 += xc * w[3]
		i = int(idx[c+1]) * 4
		w = book[i : i+4 : i+4]
		xc = x[c+1]
		b0 += xc * w[0]
		b1 += xc * w[1]
		b2 += xc * w[2]
		b3 += xc * w[3]
	}
	if c < len(idx) {
		i := int(idx[c]) * 4
		w := book[i : i+4 : i+4]
		xc := x[c]
		a0 += xc * w[0]
		a1 += xc * w[1]
		a2 += xc * w[2]
		a3 += xc * w[3]
	}
	acc[0], acc[1], acc[2], acc[3] = a0+b0, a1+b1, a2+b2, a3+b3
}

// accumulate adds Σ_c x_c·book[idx_c] to acc for codewords of len(acc) elements.
func accumulate(acc, x []float32, idx []uint16, book []float32) {
	v := len(acc)
	for c, i := range idx {
		w := book[int(i)*v : int(i)*v+v]
		xc := x[c]
		for j := range acc {
			acc[j] += xc * w[j]
		}
	}
}
