package vptq

import (
	"fmt"
	"math/rand/v2"
	"testing"
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

// denseMulVec is the baseline: y = W·x over a row-major float32 matrix, four
// independent accumulators per row (as fast as plain Go gets without assembly).
func denseMulVec(w []float32, rows, cols int, x, y []float32) {
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

var gemvShapes = [][2]int{{256, 784}, {4096, 4096}}

// BenchmarkMulVec and BenchmarkDenseMulVec run on the same shapes: compare weights/s.
func BenchmarkMulVec(b *testing.B) {
	for _, sh := range gemvShapes {
		b.Run(fmt.Sprintf("%dx%d", sh[0], sh[1]), func(b *testing.B) {
			q := randomQuantized(sh[0], sh[1])
			x, y := make([]float32, sh[1]), make([]float32, sh[0])
			for b.Loop() {
				q.MulVec(x, y)
			}
			b.ReportMetric(float64(sh[0]*sh[1])*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
		})
	}
}

func BenchmarkDenseMulVec(b *testing.B) {
	for _, sh := range gemvShapes {
		b.Run(fmt.Sprintf("%dx%d", sh[0], sh[1]), func(b *testing.B) {
			w := randomQuantized(sh[0], sh[1]).Dense()
			x, y := make([]float32, sh[1]), make([]float32, sh[0])
			for b.Loop() {
				denseMulVec(w, sh[0], sh[1], x, y)
			}
			b.ReportMetric(float64(sh[0]*sh[1])*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
		})
	}
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
