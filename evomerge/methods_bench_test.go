package evomerge

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// The method benchmarks: 4096×4096 float32, three models plus a base, bytes = inputs read
// plus the output written. BenchmarkBaselineReadWrite is the reference: it only reads the
// same four inputs and writes one output, over GOMAXPROCS goroutines; each method's
// x-baseline metric is that reference's time over the method's, interleaved. Every benchmark's
// output is touched before the timer (benchOut), so that none of them times the page
// faults of fresh memory: otherwise the first benchmark of a process (the baseline) pays
// them and later ones, reusing freed memory, do not.

const benchN = 4096 * 4096

var benchOnce sync.Once
var benchIn MergeInput

func benchData() MergeInput {
	benchOnce.Do(func() {
		benchIn = benchInput(3, benchN)
		benchIn.Shape = []int{4096, 4096}
		benchIn.Seed = 1
	})
	return benchIn
}

// benchOut is an output buffer with every page touched.
func benchOut() []float32 {
	out := make([]float32, benchN)
	for i := 0; i < len(out); i += 1024 {
		out[i] = 1
	}
	return out
}

func BenchmarkBaselineReadWrite(b *testing.B) {
	in := benchData()
	out := benchOut()
	b.SetBytes(5 * benchN * 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		baselineOnce(in, out)
	}
}

// baselineOnce reads the three models and the base and writes one output, over
// GOMAXPROCS goroutines.
func baselineOnce(in MergeInput, out []float32) {
	x0, x1, x2, base := in.Models[0], in.Models[1], in.Models[2], in.Base
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		lo, hi := k*benchN/w, (k+1)*benchN/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := lo; j < hi; j++ {
				out[j] = x0[j] + x1[j] + x2[j] + base[j]
			}
		}()
	}
	wg.Wait()
}

func benchMethod(b *testing.B, name string, params map[string]float64) {
	m, _ := LookupMethod(name)
	in := benchData()
	in.Params = params
	reads := 4
	if name == "slerp" {
		in.Models = in.Models[:1]
		in.Weights = in.Weights[:1]
		reads = 2
	}
	if !m.NeedsBase() {
		reads = 3
		if name == "nuslerp" {
			in.Models, in.Weights, reads = in.Models[:2], in.Weights[:2], 2
		}
		in.Base = nil
	}
	out := benchOut()
	b.SetBytes(int64((reads + 1) * benchN * 4))
	// Each merge is followed by one baseline pass, timed apart (the timer stopped): the
	// x-baseline metric, the baseline's time over the method's, compares the two on the
	// same machine within milliseconds of each other, which a shared host's swings of
	// 20–40 % over seconds would otherwise blur.
	var tm, tb time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := m.Merge(in, out); err != nil {
			b.Fatal(err)
		}
		tm += time.Since(t0)
		b.StopTimer()
		t0 = time.Now()
		baselineOnce(benchData(), out)
		tb += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(tb)/float64(tm), "x-baseline")
}

func BenchmarkMethods(b *testing.B) {
	for _, c := range []struct {
		name   string
		params map[string]float64
	}{
		{"linear", nil},
		{"task_arithmetic", nil},
		{"ties", map[string]float64{"density": 0.5}},
		{"dare_linear", map[string]float64{"density": 0.5}},
		{"dare_ties", map[string]float64{"density": 0.5}},
		{"breadcrumbs", map[string]float64{"density": 0.5}},
		{"breadcrumbs_ties", map[string]float64{"density": 0.5}},
		{"della", map[string]float64{"density": 0.5}},
		{"della_linear", map[string]float64{"density": 0.5}},
		{"slerp", nil},
		{"nuslerp", nil},
		{"model_stock", nil},
	} {
		b.Run(c.name, func(b *testing.B) { benchMethod(b, c.name, c.params) })
	}
}
