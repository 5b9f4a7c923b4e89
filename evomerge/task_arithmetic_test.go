package evomerge

import "testing"

func TestTaskArithmeticHandComputed(t *testing.T) {
	// base = [1, 2, 3, 4]
	// τ1 = [1, 0, -2, 0.5] → θ1 = [2, 2, 1, 4.5]
	// τ2 = [-1, 2, 2, 0]   → θ2 = [0, 4, 5, 4]
	// w = [0.5, 1]: Σ wτ = [0.5-1, 0+2, -1+2, 0.25+0] = [-0.5, 2, 1, 0.25]
	base := []float32{1, 2, 3, 4}
	in := MergeInput{
		Base:    base,
		Models:  [][]float32{{2, 2, 1, 4.5}, {0, 4, 5, 4}},
		Weights: []float64{0.5, 1},
	}
	// λ = 1 (default), normalize = 0 (default): base + Σ wτ
	assertClose(t, "defaults", mergeWith(t, "task_arithmetic", in), []float64{0.5, 4, 4, 4.25})
	// λ = 2: base + 2·[-0.5, 2, 1, 0.25] = [0, 6, 5, 4.5]
	in.Params = map[string]float64{"lambda": 2}
	assertClose(t, "lambda=2", mergeWith(t, "task_arithmetic", in), []float64{0, 6, 5, 4.5})
	// normalize = 1: base + Σ wτ / 1.5 = base + [-1/3, 4/3, 2/3, 1/6]
	in.Params = map[string]float64{"normalize": 1}
	assertClose(t, "normalize=1", mergeWith(t, "task_arithmetic", in), []float64{2.0 / 3, 10.0 / 3, 11.0 / 3, 25.0 / 6})
	// λ = -1 negates the task vector: base − Σ wτ = [1.5, 0, 2, 3.75]
	in.Params = map[string]float64{"lambda": -1}
	assertClose(t, "lambda=-1", mergeWith(t, "task_arithmetic", in), []float64{1.5, 0, 2, 3.75})
}

func TestTaskArithmeticZeroWeightSumIsNotDivided(t *testing.T) {
	// mergekit replaces a divisor with |Σw| < 1e-8 by 1: w = [1, -1], normalize = 1
	// base = [0], θ1 = [3], θ2 = [1]: Σ wτ = 3 - 1 = 2 → out = 2
	in := MergeInput{Base: []float32{0}, Models: [][]float32{{3}, {1}}, Weights: []float64{1, -1},
		Params: map[string]float64{"normalize": 1}}
	assertClose(t, "zero divisor", mergeWith(t, "task_arithmetic", in), []float64{2})
}

func BenchmarkTaskArithmetic(b *testing.B) { benchmarkMethod(b, TaskArithmetic{}, nil) }
