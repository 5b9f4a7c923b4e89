// Package codectest holds test helpers shared by the codecs' tests.
package codectest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/tensor"
)

// Corrupt rewrites the safetensors file at path after edit has changed its tensors
// (by name) and metadata: the way the codecs' tests build damaged files.
func Corrupt(t *testing.T, path string, edit func(ts map[string]*tensor.Tensor, meta map[string]string)) {
	t.Helper()
	f, err := tensor.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]*tensor.Tensor{}
	for _, info := range f.Infos() {
		x, err := f.Read(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		ts[info.Name] = x
	}
	meta := f.Metadata()
	f.Close()
	edit(ts, meta)
	var list []*tensor.Tensor
	for _, x := range ts {
		list = append(list, x)
	}
	if err := tensor.WriteFile(path, meta, list); err != nil {
		t.Fatal(err)
	}
}

// Gaussian returns n weights drawn from N(0, 0.05²): the scale of a trained layer.
func Gaussian(rng *rand.Rand, n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	return w
}

// GEMVShapes are the matrix shapes (rows×cols) the packed kernels are benchmarked at:
// the demo MLP's first layer, a cache-friendly square layer and a memory-bound,
// LLM-sized projection.
var GEMVShapes = [][2]int{{256, 784}, {4096, 4096}, {16384, 4096}}

// BenchmarkOperator runs, for every shape of GEMVShapes and every batch size, the
// operator build returns and the dense baseline compress.Dense over the same matrix
// (dense is its row-major weights), as sub-benchmarks "packed/RxC/bN" and
// "dense/RxC/bN" reporting weights per second (Gweights/s, weights × inputs): compare
// the two in one run. The packed and dense runs alternate per shape, so drift in the
// machine's speed hits both.
func BenchmarkOperator(b *testing.B, batches []int, build func(rows, cols int) (op compress.Operator, dense []float32)) {
	for _, sh := range GEMVShapes {
		rows, cols := sh[0], sh[1]
		op, w := build(rows, cols)
		d := compress.NewDense(rows, cols, w)
		for _, n := range batches {
			x, y := make([]float32, n*cols), make([]float32, n*rows)
			rng := rand.New(rand.NewPCG(uint64(rows), uint64(cols)))
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			run := func(name string, o compress.Operator) {
				b.Run(fmt.Sprintf("%s/%dx%d/b%d", name, rows, cols, n), func(b *testing.B) {
					o.Mul(n, x, y) // warm up: tables, caches
					for b.Loop() {
						o.Mul(n, x, y)
					}
					b.ReportMetric(float64(rows*cols*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
				})
			}
			run("packed", op)
			run("dense", d)
		}
	}
}

// CompressTwice compresses src twice with fresh codecs from newCodec into dir and fails
// the test unless both files are byte-identical; it returns the path and statistics of
// the first.
func CompressTwice(t *testing.T, newCodec func() compress.Codec, src, dir string) (string, compress.Stats) {
	t.Helper()
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	stats, err := compress.CompressFile(context.Background(), newCodec(), src, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compress.CompressFile(context.Background(), newCodec(), src, b); err != nil {
		t.Fatal(err)
	}
	ab, errA := os.ReadFile(a)
	bb, errB := os.ReadFile(b)
	if errA != nil || errB != nil || !bytes.Equal(ab, bb) {
		t.Errorf("compressing %s twice gave different bytes (%v, %v)", src, errA, errB)
	}
	return a, stats
}

// Lookup returns a get function over stored tensors, as a codec's Decode or
// LoadOperator takes it: the tensor of that name, or an error naming the missing one.
func Lookup(stored []*tensor.Tensor) func(string) (*tensor.Tensor, error) {
	byName := map[string]*tensor.Tensor{}
	for _, s := range stored {
		byName[s.Name] = s
	}
	return func(n string) (*tensor.Tensor, error) {
		if s, ok := byName[n]; ok {
			return s, nil
		}
		return nil, fmt.Errorf("no tensor %q", n)
	}
}
