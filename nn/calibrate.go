package nn

import "fmt"

// InputStats runs the first n examples of ds (all if n ≤ 0 or n > ds.N) through m and
// returns, for every layer's weight matrix (by tensor name, WeightName), the mean
// squared value of each of its input columns: E[x_j²] over the examples, the input
// statistic that weights a layer's reconstruction error by how much each column matters
// (an error in a column whose input is always 0 costs nothing). Calibration data should
// come from the training set.
func InputStats(m *MLP, ds *Dataset, n int) (map[string][]float32, error) {
	if err := ds.check(m.Config); err != nil {
		return nil, err
	}
	if n <= 0 || n > ds.N {
		n = ds.N
	}
	if n == 0 {
		return nil, fmt.Errorf("nn.InputStats: no calibration examples")
	}
	sizes := m.Config.LayerSizes
	sums := make([][]float64, m.Config.NumLayers())
	for l := range sums {
		sums[l] = make([]float64, sizes[l])
	}
	a := new(activations)
	a.ensure(m.Config, 1)
	for i := 0; i < n; i++ {
		x := ds.Image(i)
		a.inputs[0].setDense(x)
		m.forwardBlock(a, 0, 1)
		for l := range sums {
			in := x
			if l > 0 {
				in = a.acts[l-1]
			}
			for j, v := range in {
				sums[l][j] += float64(v) * float64(v)
			}
		}
	}
	out := make(map[string][]float32, len(sums))
	for l, s := range sums {
		v := make([]float32, len(s))
		for j := range s {
			v[j] = float32(s[j] / float64(n))
		}
		out[WeightName(l)] = v
	}
	return out, nil
}
