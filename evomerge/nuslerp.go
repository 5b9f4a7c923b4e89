package evomerge

import (
	"fmt"
	"math"
)

// NuSlerp is mergekit's "nuslerp" (arcee-ai/mergekit mergekit/merge_methods/nuslerp.py),
// spherical interpolation of exactly two models with the position taken from their weights
// (after Shoemake 1985, SIGGRAPH '85): t = w₁/(w₀+w₁), or 0.5 when |w₀+w₁| < 1e-6. With
// MergeInput.Base set it interpolates the task vectors v = θ − θ_base and adds the base
// back; otherwise the models themselves. Vectors are
//
//	nuslerp_flatten = 1 (default): the whole tensor;
//	nuslerp_flatten = 0, nuslerp_row_wise = 0: each row (last dimension of Shape);
//	nuslerp_flatten = 0, nuslerp_row_wise = 1: each column (the first dimension of a
//	2-D Shape; mergekit transposes dimension 0 to the end).
//
// and per vector pair, with u = v/max(‖v‖, 1e-7), cos Ω = clamp(u₀·u₁, −1, 1):
//
//	|sin Ω| < 1e-8:  (1−t)·v₀ + t·v₁                 (colinear: linear fallback)
//	otherwise:       (sin((1−t)Ω)·v₀ + sin(tΩ)·v₁) / sin Ω
//
// Without Shape (or for 1-D tensors) a row is the whole tensor. Reductions are in float64
// (mergekit: the tensor's dtype). NeedsBase is false, so MergeFiles passes the two
// models without a base; a caller may set Base for the task-vector form.
type NuSlerp struct{}

func init() { RegisterMethod(NuSlerp{}) }

// Name returns "nuslerp".
func (NuSlerp) Name() string { return "nuslerp" }

// NeedsBase returns false: the base is optional.
func (NuSlerp) NeedsBase() bool { return false }

// Params declares nuslerp_flatten (default 1) and nuslerp_row_wise (default 0).
func (NuSlerp) Params() []Param {
	return []Param{
		{Name: "nuslerp_flatten", Default: 1, Min: 0, Max: 1,
			Doc: "1: interpolate each tensor as one flat vector; 0: row by row (or column by column)"},
		{Name: "nuslerp_row_wise", Default: 0, Min: 0, Max: 1,
			Doc: "with nuslerp_flatten 0: 1 interpolates column vectors (mergekit's dim 0), 0 row vectors"},
	}
}

func (m NuSlerp) checkParams(params map[string]float64) error {
	return checkFlags(m, params, "nuslerp_flatten", "nuslerp_row_wise")
}

// Merge writes the nuslerp of in.Models[0] and in.Models[1] to out. It returns an error
// unless there are exactly two models, or if the input is malformed.
func (m NuSlerp) Merge(in MergeInput, out []float32) error {
	params, err := resolveMergeParams(m, in, out)
	if err != nil {
		return err
	}
	if len(in.Models) != 2 {
		return fmt.Errorf("merge method nuslerp takes exactly two models (plus an optional base), but got %d", len(in.Models))
	}
	if in.Base != nil && len(in.Base) != len(out) {
		return fmt.Errorf("merge method nuslerp: base has %d elements, the output %d", len(in.Base), len(out))
	}
	flatten, _ := flagParam(m, params, "nuslerp_flatten")
	rowWise, _ := flagParam(m, params, "nuslerp_row_wise")
	w0, w1 := in.Weights[0], in.Weights[1]
	t := 0.5
	if math.Abs(w0+w1) >= 1e-6 {
		t = w1 / (w0 + w1)
	}
	n := len(out)
	x0, x1, base := in.Models[0], in.Models[1], in.Base
	vec := func(x []float32, j int) float64 {
		if base != nil {
			return float64(x[j] - base[j])
		}
		return float64(x[j])
	}
	coeffs := func(n0, n1, dot float64) (c0, c1 float64) {
		cos := dot / (math.Max(math.Sqrt(n0), 1e-7) * math.Max(math.Sqrt(n1), 1e-7))
		theta := math.Acos(math.Max(-1, math.Min(1, cos)))
		st := math.Sin(theta)
		if math.Abs(st) < 1e-8 {
			return 1 - t, t
		}
		return math.Sin((1-t)*theta) / st, math.Sin(t*theta) / st
	}
	write := func(j int, c0, c1 float64) {
		v := c0*vec(x0, j) + c1*vec(x1, j)
		if base != nil {
			v += float64(base[j])
		}
		out[j] = float32(v)
	}
	cols := rowLength(in.Shape, n)
	if flatten || cols == n { // one vector (a 1-D tensor is one row, and one column)
		{
			s := parallelSums(n, 3, func(lo, hi int, s []float64) {
				for j := lo; j < hi; j++ {
					a, b := vec(x0, j), vec(x1, j)
					s[0] += a * a
					s[1] += b * b
					s[2] += a * b
				}
			})
			c0, c1 := coeffs(s[0], s[1], s[2])
			parallelBlocks(n, func(_, _, lo, hi int) {
				for j := lo; j < hi; j++ {
					write(j, c0, c1)
				}
			})
			return nil
		}
	}
	rows := n / cols
	if !rowWise {
		parallelTasks(rows, func(_, r int) {
			var n0, n1, dot float64
			for j := r * cols; j < (r+1)*cols; j++ {
				a, b := vec(x0, j), vec(x1, j)
				n0 += a * a
				n1 += b * b
				dot += a * b
			}
			c0, c1 := coeffs(n0, n1, dot)
			for j := r * cols; j < (r+1)*cols; j++ {
				write(j, c0, c1)
			}
		})
		return nil
	}
	// Column vectors: accumulate per column over the rows.
	acc := make([]float64, 3*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			j := r*cols + c
			a, b := vec(x0, j), vec(x1, j)
			acc[3*c] += a * a
			acc[3*c+1] += b * b
			acc[3*c+2] += a * b
		}
	}
	cs := make([]float64, 2*cols)
	for c := 0; c < cols; c++ {
		cs[2*c], cs[2*c+1] = coeffs(acc[3*c], acc[3*c+1], acc[3*c+2])
	}
	parallelTasks(rows, func(_, r int) {
		for c := 0; c < cols; c++ {
			write(r*cols+c, cs[2*c], cs[2*c+1])
		}
	})
	return nil
}
