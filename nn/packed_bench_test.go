package nn

import (
	"context"
	"path/filepath"
	"testing"

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
