package nn

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/evomerge/evomerge/compress"
)

// BenchmarkNetworkForward is the evaluator's batch-1 forward pass of the demo's MLP,
// dense and through each codec's packed operators with its defaults: compare the
// sub-benchmarks of one run (the whole-model speed-up the latency gate reads).
func BenchmarkNetworkForward(b *testing.B) {
	_, test := mnist(b)
	m, _ := New(DefaultConfig(), 1)
	dir := b.TempDir()
	dense := filepath.Join(dir, "dense")
	if err := Save(dense, m, nil); err != nil {
		b.Fatal(err)
	}
	for _, codec := range []string{"dense", "bitnet", "vptq", "seedlm"} {
		path := dense
		if codec != "dense" {
			c, err := compress.New(codec, nil)
			if err != nil {
				b.Fatal(err)
			}
			path = filepath.Join(dir, codec+".safetensors")
			if _, err := compress.CompressFile(context.Background(), c, filepath.Join(dense, "model.safetensors"), path); err != nil {
				b.Fatal(err)
			}
		}
		net, err := LoadNetwork(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(codec, func(b *testing.B) {
			out := make([]float32, 10)
			i := 0
			for b.Loop() {
				net.Forward(test.Image(i%test.N), out)
				i++
			}
		})
	}
}

// BenchmarkNetworkForwardBitNetVsDense times the batch-1 forward pass of the demo's MLP
// dense and BitNet-compressed interleaved (ABBA rounds of 64 passes each, on the same
// images), as the evaluator does, and reports the median of the per-round ratios
// dense/bitnet as "speedup": drift of the machine between sub-benchmarks cancels.
func BenchmarkNetworkForwardBitNetVsDense(b *testing.B) {
	_, test := mnist(b)
	m, _ := New(DefaultConfig(), 1)
	dir := b.TempDir()
	dense := filepath.Join(dir, "dense")
	if err := Save(dense, m, nil); err != nil {
		b.Fatal(err)
	}
	c, err := compress.New("bitnet", nil)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "bitnet.safetensors")
	if _, err := compress.CompressFile(context.Background(), c, filepath.Join(dense, ModelFile), path); err != nil {
		b.Fatal(err)
	}
	nets := [2]*Network{}
	for i, p := range []string{dense, path} {
		if nets[i], err = LoadNetwork(p); err != nil {
			b.Fatal(err)
		}
	}
	out := make([]float32, 10)
	const passes = 64
	img := 0
	run := func(net *Network, first int) time.Duration {
		start := time.Now()
		for i := range passes {
			net.Forward(test.Image((first+i)%test.N), out)
		}
		return time.Since(start)
	}
	var ratios []float64
	var total [2]time.Duration
	for b.Loop() {
		var t [2]time.Duration
		for _, k := range [4]int{0, 1, 1, 0} {
			d := run(nets[k], img)
			t[k] += d
			total[k] += d
		}
		img += passes
		ratios = append(ratios, float64(t[0])/float64(t[1]))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "speedup")
	b.ReportMetric(float64(total[0].Nanoseconds())/float64(2*passes*b.N), "dense-ns/pass")
	b.ReportMetric(float64(total[1].Nanoseconds())/float64(2*passes*b.N), "bitnet-ns/pass")
}
