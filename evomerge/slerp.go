package evomerge

import (
	"fmt"
	"math"
)

// Slerp is spherical linear interpolation between two models (Shoemake 1985, "Animating
// Rotation with Quaternion Curves", SIGGRAPH '85), mergekit's "slerp"
// (arcee-ai/mergekit mergekit/merge_methods/slerp.py). It takes exactly two models: the
// base θ₀ (MergeInput.Base) and one other θ₁ (the only entry of MergeInput.Models). Per
// tensor, flattened:
//
//	u₀ = θ₀/‖θ₀‖, u₁ = θ₁/‖θ₁‖     (a norm ≤ 1e-8 leaves the vector as is)
//	d  = u₀·u₁
//	|d| > 0.9995:  θ = (1−t)·θ₀ + t·θ₁                    (near-parallel: linear fallback)
//	otherwise:     Ω = arccos d,  θ = sin((1−t)Ω)/sin Ω · θ₀ + sin(tΩ)/sin Ω · θ₁
//
// so t = 0 returns the base and t = 1 the other model. Weights are not used (one is
// still required per model). Norms and the dot product are accumulated in float64, block
// by block on all cores (mergekit: numpy float32). mergekit requires t; the default 0.5
// here is the midpoint.
type Slerp struct{}

func init() { RegisterMethod(Slerp{}) }

// Name returns "slerp".
func (Slerp) Name() string { return "slerp" }

// NeedsBase returns true: the base is the t = 0 end of the interpolation.
func (Slerp) NeedsBase() bool { return true }

// Params declares t (default 0.5).
func (Slerp) Params() []Param {
	return []Param{{Name: "t", Default: 0.5, Min: 0, Max: 1,
		Doc: "interpolation position along the arc from the base (0) to the other model (1)"}}
}

// Merge writes the slerp of in.Base and in.Models[0] at t to out. It returns an error
// unless there is exactly one model besides the base, or if the input is malformed.
func (m Slerp) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	if len(in.Models) != 1 {
		return fmt.Errorf("merge method slerp takes exactly two models, the base and one other, but got the base and %d others", len(in.Models))
	}
	t := params["t"]
	v0, v1 := in.Base, in.Models[0]
	s := parallelSums(len(out), 3, func(lo, hi int, s []float64) {
		var n0, n1, dot float64
		for j, a := range v0[lo:hi] {
			a, b := float64(a), float64(v1[lo+j])
			n0 += a * a
			n1 += b * b
			dot += a * b
		}
		s[0], s[1], s[2] = n0, n1, dot
	})
	n0, n1 := math.Sqrt(s[0]), math.Sqrt(s[1])
	d := s[2]
	if n0 > 1e-8 {
		d /= n0
	}
	if n1 > 1e-8 {
		d /= n1
	}
	var c0, c1 float64
	if math.Abs(d) > 0.9995 {
		c0, c1 = 1-t, t
	} else {
		omega := math.Acos(d)
		so := math.Sin(omega)
		c0, c1 = math.Sin(omega-omega*t)/so, math.Sin(omega*t)/so
	}
	linearKernel([][]float32{v0, v1}, []float64{c0, c1}, out)
	return nil
}
