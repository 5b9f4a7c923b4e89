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

// DenseMulVec is the plain-Go float32 loop the codecs' older GEMV benchmarks compare with (BenchmarkOperator compares with the fast compress.Dense):
// y = W·x for a row-major rows×cols matrix, four independent accumulators per row (as
// fast as plain Go gets without assembly).
func DenseMulVec(w []float32, rows, cols int, x, y []float32) {
	x = x[:cols]
	for r := range rows {
		row := w[r*cols : (r+1)*cols : (r+1)*cols]
		var s0, s1, s2, s3 float32
		c := 0
		for ; c+4 <= cols; c += 4 {
			s0 += row[c] * x[c]
			s1 += row[c+1] * x[c+1]
			s2 += row[c+2] * x[c+2]
			s3 += row[c+3] * x[c+3]
		}
		for ; c < cols; c++ {
			s0 += row[c] * x[c]
		}
		y[r] = (s0 + s1) + (s2 + s3)
	}
}

// BenchmarkGEMV runs, for every shape of GEMVShapes, the kernel build returns and the
// dense baseline DenseMulVec over the same matrix (dense is its row-major weights), as
// sub-benchmarks "kernel/RxC" and "dense/RxC" reporting weights per second: compare
// the two in one run.
func BenchmarkGEMV(b *testing.B, build func(rows, cols int) (kernel func(x, y []float32), dense []float32)) {
	for _, sh := range GEMVShapes[:2] {
		rows, cols := sh[0], sh[1]
		kernel, w := build(rows, cols)
		x, y := make([]float32, cols), make([]float32, rows)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		run := func(name string, f func()) {
			b.Run(fmt.Sprintf("%s/%dx%d", name, rows, cols), func(b *testing.B) {
				f() // warm up: tables, caches
				for b.Loop() {
					f()
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
		}
		run("kernel", func() { kernel(x, y) })
		run("dense", func() { DenseMulVec(w, rows, cols, x, y) })
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
