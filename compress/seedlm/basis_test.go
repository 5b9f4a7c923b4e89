package seedlm

import (
	"math"
	"testing"
)

// For every seed: Q has orthonormal columns spanning U's, and Pinv·U is the identity.
func TestBasesFactorization(t *testing.T) {
	b := NewBases(8, 8, 3)
	c, p := b.C, b.P
	for s := 1; s < 1<<b.K; s++ {
		if !b.Full[s-1] {
			continue
		}
		u := b.U[(s-1)*c*p : s*c*p]
		q := b.Q[(s-1)*p*c : s*p*c]
		pinv := b.Pinv[(s-1)*p*c : s*p*c]
		for i := range p {
			for j := range p {
				var qq, pu float64
				for k := range c {
					qq += float64(q[i*c+k]) * float64(q[j*c+k])
					pu += float64(pinv[i*c+k]) * float64(u[k*p+j])
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(qq-want) > 1e-5 || math.Abs(pu-want) > 1e-4 {
					t.Fatalf("seed %d: QᵀQ[%d][%d] = %v, Pinv·U[%d][%d] = %v, want %v", s, i, j, qq, i, j, pu, want)
				}
			}
		}
		// Every column of U lies in Q's span: projecting it onto Q changes nothing.
		for j := range p {
			for k := range c {
				var proj float64
				for i := range p {
					var d float64
					for m := range c {
						d += float64(q[i*c+m]) * float64(u[m*p+j])
					}
					proj += d * float64(q[i*c+k])
				}
				if math.Abs(proj-float64(u[k*p+j])) > 1e-5 {
					t.Fatalf("seed %d: column %d of U is not in span(Q)", s, j)
				}
			}
		}
	}
}

func TestBestSeedsRanksByProjection(t *testing.T) {
	b := NewBases(6, 4, 2)
	blk := []float32{0.3, -1.2, 0.7, 0.05}
	top := make([]uint16, Candidates)
	bestSeeds(b, blk, top)
	// The naive ranking: least-squares residual for every seed, by normal equations.
	type sr struct {
		seed int
		res  float64
	}
	var all []sr
	for s := 1; s < 1<<b.K; s++ {
		if !b.Full[s-1] {
			continue
		}
		u := b.U[(s-1)*4*2 : s*4*2]
		var a00, a01, a11, r0, r1 float64
		for i := range 4 {
			x, y := float64(u[i*2]), float64(u[i*2+1])
			a00, a01, a11 = a00+x*x, a01+x*y, a11+y*y
			r0, r1 = r0+x*float64(blk[i]), r1+y*float64(blk[i])
		}
		det := a00*a11 - a01*a01
		t0, t1 := (a11*r0-a01*r1)/det, (a00*r1-a01*r0)/det
		var res float64
		for i := range 4 {
			d := float64(blk[i]) - t0*float64(u[i*2]) - t1*float64(u[i*2+1])
			res += d * d
		}
		all = append(all, sr{s, res})
	}
	best := all[0]
	for _, x := range all {
		if x.res < best.res-1e-9 {
			best = x
		}
	}
	if int(top[0]) != best.seed {
		t.Errorf("best seed %d, the naive search finds %d (residual %v)", top[0], best.seed, best.res)
	}
	for i := 1; i < len(top); i++ {
		if top[i] == 0 || top[i] == top[i-1] {
			t.Errorf("candidate list %v has gaps or repeats", top)
			break
		}
	}
}
