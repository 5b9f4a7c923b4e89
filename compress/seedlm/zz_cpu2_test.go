package seedlm

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func TestZZCPU2(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	c0 := threadCPU()
	s := 0
	for i := 0; i < 1e9; i++ {
		s += i ^ (s >> 3)
	}
	sink = s
	t.Logf("calibration: %.2f ns per 3-cycle iteration", float64(threadCPU()-c0)/1e9)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, st := range []Settings{{10, 3, 10, 4, 0}, {10, 3, 10, 4, 0.25}, {10, 3, 10, 4, 0.5}, {12, 4, 10, 4, 0}, {12, 4, 10, 4, 0.5}, {12, 4, 11, 4, 0}, {12, 4, 11, 4, 0.5}} {
		rows, cols := 4096, 4096
		q := randomQuantized(rng, rows, cols, st)
		op := NewOperator(q)
		x := codectest.Gaussian(rng, cols)
		y := make([]float32, rows)
		for _, budget := range []int{320 << 10} {
			tableBudget = budget
			_, tw := op.tiling(1)
			sc := &mulScratch{tab: make([]float32, tw*op.stride()), cursor: make([]int32, rows)}
			// projections only
			c0 := threadCPU()
			for j := 0; j < op.nbc; j++ {
				op.project(sc.tab[(j%tw)*op.stride():(j%tw+1)*op.stride()], x, j)
			}
			proj := threadCPU() - c0
			tile := int64(1 << 62)
			for range 5 {
				c0 = threadCPU()
				for j0 := 0; j0 < op.nbc; j0 += tw {
					op.tileWords(sc, 1, tw, op.stride(), sc.tab, rows, y, 0, rows, j0, min(j0+tw, op.nbc))
				}
				tile = min(tile, threadCPU()-c0)
			}
			t.Logf("C=%d P=%d K=%d prune=%v tw=%d: projections %.1f ms (%.2f MAC/ns), tiles %.1f ms (%.2f ns/kept block, %.3f ns/weight)", st.BlockSize, st.Latent, st.SeedBits, st.Prune, tw,
				float64(proj)/1e6, float64(op.nbc*op.stride()*st.BlockSize)/float64(proj), float64(tile)/1e6, float64(tile)/float64(q.Kept), float64(tile)/float64(rows*cols))
		}
	}
	tableBudget = 1 << 20
}

var sink int
