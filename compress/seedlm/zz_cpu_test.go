package seedlm

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"unsafe"

	"github.com/evomerge/evomerge/compress/internal/codectest"
)

func threadCPU() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 3, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

func TestZZCPU(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range []Settings{{8, 3, 12, 4, 0}, {12, 4, 12, 4, 0}, {9, 3, 8, 4, 0}, {10, 3, 10, 4, 0}} {
		rows, cols := 4096, 4096
		q := randomQuantized(rng, rows, cols, s)
		op := NewOperator(q)
		x := codectest.Gaussian(rng, cols)
		y := make([]float32, rows)
		d := make([]float32, rows*cols)
		_ = d
		for _, budget := range []int{1 << 20, 256 << 10, 128 << 10, 32 << 10} {
			tableBudget = budget
			for _, asm := range []bool{true, false} {
				useAsm = asm
				op.Mul(1, x, y)
				const it = 5
				c0 := threadCPU()
				for range it {
					op.Mul(1, x, y)
				}
				ns := float64(threadCPU()-c0) / it
				_, tw := op.tiling(1)
				t.Logf("C=%d P=%d K=%d budget %dK tw=%d asm=%v: %.1f ms, %.2f ns/block, %.2f Gweights/s", s.BlockSize, s.Latent, s.SeedBits, budget>>10, tw, asm, ns/1e6, ns/float64(q.Kept), float64(rows*cols)/ns)
			}
		}
	}
	useAsm = true
	tableBudget = 1 << 20
}
