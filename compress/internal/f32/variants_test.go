package f32

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestVariants(t *testing.T) {
	for _, sh := range [][2]int{{256, 784}, {4096, 4096}, {16384, 4096}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(1, 2))
		w, x := gaussian(rng, rows*cols), gaussian(rng, cols)
		y := make([]float32, rows)
		ref := make([]float32, rows)
		gemmGeneric(w, rows, cols, 1, x, ref, rows, 0)
		reps := max(1, 20000000/(rows*cols))
		rounds := 30
		times := make([][]float64, len(variantList))
		for round := 0; round < rounds; round++ {
			for i, v := range variantList {
				t0 := time.Now()
				for range reps {
					v.f(&w[0], &x[0], &y[0], rows, cols, rows)
				}
				times[i] = append(times[i], float64(time.Since(t0).Nanoseconds())/float64(reps))
			}
		}
		for i, v := range variantList {
			slices.Sort(times[i])
			fmt.Printf("%dx%d %-10s median %10.0f ns  min %10.0f\n", rows, cols, v.name, times[i][rounds/2], times[i][0])
		}
	}
}
