package seedlm

import (
	"math/rand/v2"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func BenchmarkZZL1(b *testing.B) {
	const rows, cols = 4096, 4096
	for _, same := range []bool{false, true} {
		s := DefaultSettings()
		rng := rand.New(rand.NewPCG(1, 1))
		q := randomQuantized(rng, rows, cols, s)
		if same {
			for i := range q.Seeds {
				q.Seeds[i] = 77
			}
		}
		op := NewOperator(q)
		_ = codectest.Gaussian(rng, cols)
		y := make([]float32, rows)
		_, tw := op.tiling(1)
		st := op.stride()
		sc := &mulScratch{tab: make([]float32, tw*st), cursor: make([]int32, rows)}
		b.Run("tile", func(b *testing.B) {
			for b.Loop() {
				for j0 := 0; j0 < op.nbc; j0 += tw {
					op.tileWords(sc, 1, tw, st, sc.tab, rows, y, 0, rows, j0, min(j0+tw, op.nbc))
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns/float64(q.Kept), "ns/block")
		})
	}
}
