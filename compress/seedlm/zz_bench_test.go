package seedlm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func BenchmarkZZ(b *testing.B) {
	rows, cols := 16384, 4096
	rng := rand.New(rand.NewPCG(1, 1))
	x := codectest.Gaussian(rng, cols*8)
	y := make([]float32, rows*8)
	var d *compress.Dense
	for _, s := range []Settings{{12, 4, 12, 4, 0}, {9, 3, 8, 4, 0}, {10, 3, 10, 4, 0}} {
		q := randomQuantized(rng, rows, cols, s)
		op := NewOperator(q)
		if d == nil {
			d = compress.NewDense(rows, cols, q.Dense())
		}
		for _, budget := range []int{128 << 10, 256 << 10, 512 << 10} {
			b.Run(fmt.Sprintf("C%dP%dK%d/budget%dK", s.BlockSize, s.Latent, s.SeedBits, budget>>10), func(b *testing.B) {
				tableBudget = budget
				op.Mul(1, x[:cols], y[:rows])
				for b.Loop() {
					op.Mul(1, x[:cols], y[:rows])
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
			b.Run("dense", func(b *testing.B) {
				for b.Loop() {
					d.Mul(1, x[:cols], y[:rows])
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gweights/s")
			})
		}
	}
	tableBudget = 256 << 10
}
