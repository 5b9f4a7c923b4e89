package seedlm

import (
	"fmt"
	"math"
)

// MulVec sets y = W·x for the matrix W that q represents (len(x) = Cols, len(y) = Rows),
// regenerating each block from its seed instead of reading weights: U(seed) is a window
// of the register's cycle (tabulated once per width, at most 65,535 values, where
// hardware would run the register), z = U(seed)ᵀ·x_block costs C·P multiply-adds, and
// 2^e·coefficients·z is added. That trades several times the arithmetic
// of a dense product for reading (K + 4 + P·bits)/C bits per weight instead of 32 — the
// trade SeedLM makes for memory-bound hardware (its LFSR is a few gates there).
//
// MulVec panics if the lengths do not match.
func (q *Quantized) MulVec(x, y []float32) {
	if len(x) != q.Cols || len(y) != q.Rows {
		panic(fmt.Sprintf("seedlm.MulVec: x has %d elements and y %d for a %d×%d matrix", len(x), len(y), q.Rows, q.Cols))
	}
	c, p, nbr := q.BlockSize, q.Latent, q.blocksPerRow()
	o := orbitOf(q.SeedBits)
	xp := make([]float32, nbr*c) // x zero-padded to whole blocks
	copy(xp, x)
	var scales [ExpCodes]float32
	for i := range scales {
		scales[i] = float32(math.Ldexp(1, q.ExpBase+i))
	}
	z := make([]float32, p)
	k := 0
	for r := range q.Rows {
		var acc float32
		for bi := range nbr {
			if q.Mask != nil && !q.Mask[r*nbr+bi] {
				continue
			}
			u := o.window(uint32(q.Seeds[k]), c*p)
			xb := xp[bi*c : bi*c+c]
			t := q.Coefs[k*p : k*p+p]
			var s float32
			if p == 3 {
				s = block3(u, xb, t)
			} else {
				clear(z)
				for i, xi := range xb {
					row := u[i*p : i*p+p]
					for j := range z {
						z[j] += row[j] * xi
					}
				}
				for j, tj := range t {
					s += float32(tj) * z[j]
				}
			}
			acc += s * scales[q.Exps[k]]
			k++
		}
		y[r] = acc
	}
}

// block3 is tᵀ·(Uᵀ·x) for a block with three coefficients, in registers.
func block3(u, x []float32, t []int8) float32 {
	var z0, z1, z2 float32
	u = u[:3*len(x)]
	for i, xi := range x {
		z0 += u[3*i] * xi
		z1 += u[3*i+1] * xi
		z2 += u[3*i+2] * xi
	}
	return float32(t[0])*z0 + float32(t[1])*z1 + float32(t[2])*z2
}
