package f32

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

func hugeFloats(n int, huge bool) []float32 {
	b, err := syscall.Mmap(-1, 0, 4*n+(2<<20), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	off := (2<<20 - int(uintptr(unsafe.Pointer(&b[0])))%(2<<20)) % (2 << 20)
	b = b[off:]
	if huge {
		if err := syscall.Madvise(b, 14); err != nil { // MADV_HUGEPAGE
			panic(err)
		}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

func TestHuge(t *testing.T) {
	for _, sh := range [][2]int{{4096, 4096}, {16384, 4096}} {
		rows, cols := sh[0], sh[1]
		rng := rand.New(rand.NewPCG(1, 2))
		src, x := gaussian(rng, rows*cols), gaussian(rng, cols)
		ws := map[string][]float32{"gc": src, "mmap4k": hugeFloats(rows*cols, false), "mmap2m": hugeFloats(rows*cols, true)}
		copy(ws["mmap4k"], src)
		copy(ws["mmap2m"], src)
		names := []string{"gc", "mmap4k", "mmap2m"}
		y := make([]float32, rows)
		times := map[string][]float64{}
		for round := 0; round < 30; round++ {
			for _, nm := range names {
				w := ws[nm]
				t0 := time.Now()
				for range 5 {
					gemmavx512B1(&w[0], &x[0], &y[0], rows, cols, rows)
				}
				times[nm] = append(times[nm], float64(time.Since(t0).Nanoseconds())/5)
			}
		}
		for _, nm := range names {
			slices.Sort(times[nm])
			fmt.Printf("%dx%d %-8s median %10.0f ns min %10.0f\n", rows, cols, nm, times[nm][15], times[nm][0])
		}
	}
}
