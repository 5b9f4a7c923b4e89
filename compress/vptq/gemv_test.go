package vptq

import (
	"math/rand/v2"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/codectest"
)

// randomQuantized builds a rows×cols matrix in the default layout with random codebooks
// and indices: the kernel's speed does not depend on the values.
func randomQuantized(rows, cols int) *Quantized {
	rng := rand.New(rand.NewPCG(1, 1))
	s := DefaultSettings()
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, VectorLength: s.VectorLength,
		CodebookBits: s.CodebookBits, ResidualBits: s.ResidualBits, Normalize: s.Normalize}}
	fill := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = rng.Float32() - 0.5
		}
		return v
	}
	idx := func(n, k int) []uint16 {
		v := make([]uint16, n)
		for i := range v {
			v[i] = uint16(rng.IntN(k))
		}
		return v
	}
	n := q.groups() * cols
	q.Codebook, q.Indices = fill(256*4), idx(n, 256)
	q.ResCodebook, q.ResIndices = fill(256*4), idx(n, 256)
	q.ColScale, q.ColBias = fill(cols), fill(cols)
	return q
}

// BenchmarkGEMV compares MulVec with the dense baseline on the same matrices.
func BenchmarkGEMV(b *testing.B) {
	codectest.BenchmarkGEMV(b, func(rows, cols int) (func(x, y []float32), []float32) {
		q := randomQuantized(rows, cols)
		return q.MulVec, q.Dense()
	})
}

func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	w := make([]float32, 256*784)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	for b.Loop() {
		Quantize(w, 256, 784, DefaultSettings(), 1)
	}
	b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mweights/s")
}
