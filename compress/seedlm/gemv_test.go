package seedlm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomQuantized builds a rows×cols matrix in the default layout with random seeds and
// coefficients: the kernel's speed does not depend on the values.
func randomQuantized(rows, cols int) *Quantized {
	rng := rand.New(rand.NewPCG(1, 1))
	s := DefaultSettings()
	q := &Quantized{Layout: Layout{Rows: rows, Cols: cols, BlockSize: s.BlockSize, Latent: s.Latent,
		SeedBits: s.SeedBits, CoefBits: s.CoefBits, ExpBase: -20}}
	q.Kept = rows * q.blocksPerRow()
	q.Seeds, q.Exps, q.Coefs = make([]uint16, q.Kept), make([]uint16, q.Kept), make([]int8, q.Kept*s.Latent)
	for i := range q.Seeds {
		q.Seeds[i], q.Exps[i] = uint16(1+rng.IntN(1<<s.SeedBits-1)), uint16(rng.IntN(ExpCodes))
	}
	for i := range q.Coefs {
		q.Coefs[i] = int8(rng.IntN(16) - 8)
	}
	return q
}

// denseMulVec is the baseline: y = W·x over a row-major float32 matrix, four
// independent accumulators per row.
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
			q.MulVec(x, y) // builds the bases table
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

// BenchmarkQuantize measures the seed search on one 256×784 matrix (25,088 blocks ×
// 4,095 seeds).
func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	w := make([]float32, 256*784)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.05)
	}
	NewBases(12, 8, 3)
	for b.Loop() {
		Quantize(w, 256, 784, DefaultSettings())
	}
	b.ReportMetric(float64(len(w))*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mweights/s")
}

func BenchmarkNewBases(b *testing.B) {
	for b.Loop() {
		basesMu.Lock()
		clear(basesCache)
		basesMu.Unlock()
		NewBases(12, 8, 3)
	}
}
