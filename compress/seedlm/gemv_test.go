package seedlm

import (
	"math/rand/v2"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/codectest"
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
