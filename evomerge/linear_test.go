package evomerge

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// mergeWith runs the registered method name on in and returns the output.
func mergeWith(t *testing.T, name string, in MergeInput) []float32 {
	t.Helper()
	m, err := LookupMethod(name)
	if err != nil {
		t.Fatal(err)
	}
	n := len(in.Base)
	if n == 0 {
		n = len(in.Models[0])
	}
	out := make([]float32, n)
	if err := m.Merge(in, out); err != nil {
		t.Fatalf("%s.Merge: %v", name, err)
	}
	return out
}

func assertClose(t *testing.T, label string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d values, want %d", label, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i])-want[i]) > 1e-6*math.Max(1, math.Abs(want[i])) {
			t.Errorf("%s: element %d = %v, want %v (all: %v)", label, i, got[i], want[i], got)
		}
	}
}

func TestLinearHandComputed(t *testing.T) {
	// a = [1, 2, 3, 4], b = [3, 6, -1, 0], w = [1, 3]
	// Σ wθ = [1+9, 2+18, 3-3, 4+0] = [10, 20, 0, 4]; Σ w = 4
	// normalize=1: [2.5, 5, 0, 1]; normalize=0: [10, 20, 0, 4]
	a := []float32{1, 2, 3, 4}
	b := []float32{3, 6, -1, 0}
	in := MergeInput{Models: [][]float32{a, b}, Weights: []float64{1, 3}}
	assertClose(t, "default (normalize=1)", mergeWith(t, "linear", in), []float64{2.5, 5, 0, 1})
	in.Params = map[string]float64{"normalize": 1}
	assertClose(t, "normalize=1", mergeWith(t, "linear", in), []float64{2.5, 5, 0, 1})
	in.Params = map[string]float64{"normalize": 0}
	assertClose(t, "normalize=0", mergeWith(t, "linear", in), []float64{10, 20, 0, 4})

	// w = [1, -1], normalize=0: a − b = [-2, -4, 4, 4]
	in = MergeInput{Models: [][]float32{a, b}, Weights: []float64{1, -1}, Params: map[string]float64{"normalize": 0}}
	assertClose(t, "difference", mergeWith(t, "linear", in), []float64{-2, -4, 4, 4})
}

func TestLinearZeroWeightSumCannotNormalize(t *testing.T) {
	in := MergeInput{Models: [][]float32{{1}, {2}}, Weights: []float64{1, -1}}
	err := Linear{}.Merge(in, make([]float32, 1))
	if err == nil || !strings.Contains(err.Error(), "normalize") {
		t.Fatalf("want an error about normalizing a zero weight sum, got %v", err)
	}
}

func TestMethodInputErrors(t *testing.T) {
	good := []float32{1, 2}
	cases := []struct {
		name string
		m    Method
		in   MergeInput
		want string
	}{
		{"no models", Linear{}, MergeInput{}, "no models"},
		{"weights", Linear{}, MergeInput{Models: [][]float32{good}, Weights: []float64{1, 2}}, "2 weights for 1 models"},
		{"length", Linear{}, MergeInput{Models: [][]float32{good, {1}}, Weights: []float64{1, 1}}, "model 1 has 1 elements"},
		{"nan weight", Linear{}, MergeInput{Models: [][]float32{good}, Weights: []float64{math.NaN()}}, "not a finite"},
		{"no base", TaskArithmetic{}, MergeInput{Models: [][]float32{good}, Weights: []float64{1}}, "needs a base"},
		{"short base", TIES{}, MergeInput{Base: []float32{1}, Models: [][]float32{good}, Weights: []float64{1}}, "base has 1 elements"},
		{"flag", Linear{}, MergeInput{Models: [][]float32{good}, Weights: []float64{1}, Params: map[string]float64{"normalize": 0.5}}, "must be 0 or 1"},
		{"unknown param", TIES{}, MergeInput{Base: good, Models: [][]float32{good}, Weights: []float64{1}, Params: map[string]float64{"densty": 0.5}}, `unknown parameter "densty"`},
		{"range", TIES{}, MergeInput{Base: good, Models: [][]float32{good}, Weights: []float64{1}, Params: map[string]float64{"density": 1.5}}, "outside [0, 1]"},
	}
	for _, c := range cases {
		err := c.m.Merge(c.in, make([]float32, 2))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestRegisteredMethodParams(t *testing.T) {
	want := map[string][]string{
		"linear":          {"normalize"},
		"task_arithmetic": {"lambda", "normalize"},
		"ties":            {"density", "lambda", "normalize"},
	}
	for name, params := range want {
		m, err := LookupMethod(name)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range m.Params() {
			got = append(got, p.Name)
			if p.Doc == "" {
				t.Errorf("%s: parameter %s has no Doc", name, p.Name)
			}
			if p.Default < p.Min || p.Default > p.Max {
				t.Errorf("%s: parameter %s default %g outside [%g, %g]", name, p.Name, p.Default, p.Min, p.Max)
			}
		}
		if strings.Join(got, ",") != strings.Join(params, ",") {
			t.Errorf("%s: params %v, want %v", name, got, params)
		}
	}
}

// benchInput is models × n random values plus a base.
func benchInput(models, n int) MergeInput {
	rng := rand.New(rand.NewPCG(1, 2))
	vec := func() []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	in := MergeInput{Base: vec(), Weights: make([]float64, models)}
	for i := 0; i < models; i++ {
		in.Models = append(in.Models, vec())
		in.Weights[i] = 0.5 + 0.25*float64(i)
	}
	return in
}

func benchmarkMethod(b *testing.B, m Method, params map[string]float64) {
	const models, n = 3, 1 << 20
	in := benchInput(models, n)
	in.Params = params
	out := make([]float32, n)
	b.SetBytes(int64((models + 1) * n * 4)) // float32 inputs read, base included
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := m.Merge(in, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "elements/s")
}

func BenchmarkLinear(b *testing.B) { benchmarkMethod(b, Linear{}, nil) }
