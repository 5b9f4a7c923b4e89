package seedlm

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func TestZZExplore(t *testing.T) {
	w := codectest.Gaussian(rand.New(rand.NewPCG(3, 3)), 128*784)
	for _, s := range []Settings{
		{8, 3, 12, 4, 0}, {12, 3, 12, 4, 0}, {12, 4, 12, 4, 0}, {12, 3, 16, 4, 0}, {10, 3, 8, 4, 0}, {9, 3, 8, 4, 0},
		{12, 4, 8, 5, 0}, {10, 3, 10, 4, 0}, {12, 4, 10, 4, 0}, {8, 2, 8, 4, 0}, {12, 4, 8, 4, 0}, {9, 3, 10, 4, 0},
	} {
		t0 := time.Now()
		q := Quantize(w, 128, 784, s)
		bits := float64(s.SeedBits+4+s.Latent*s.CoefBits) / float64(s.BlockSize)
		t.Logf("C=%d P=%d K=%d cb=%d: %.3f bits/w, rel err %.3f (%v)", s.BlockSize, s.Latent, s.SeedBits, s.CoefBits, bits, relError(q.Dense(), w), time.Since(t0).Round(time.Millisecond))
	}
}
