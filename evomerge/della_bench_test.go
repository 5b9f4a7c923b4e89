package evomerge

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
)

// threadCPU is the calling thread's CPU time in ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuRun runs f b.N times on a locked thread and reports its CPU time per call, steadier
// than the wall time on a shared machine.
func cpuRun(b *testing.B, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	t0 := threadCPU()
	for i := 0; i < b.N; i++ {
		f()
	}
	b.ReportMetric(float64(threadCPU()-t0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkDellaRowPacked times one 4096-entry row of the packed path, whole and kernel
// by kernel (the row in L1).
func BenchmarkDellaRowPacked(b *testing.B) {
	if !useDellaPacked {
		b.Skip("no AVX-512")
	}
	const cols = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	x, base := dellaTestRow(rng, cols, 0)
	words := make([]uint64, cols/64)
	p0, step := 0.35, 0.3/float64(cols-1)
	for _, sub := range []int{1, 2, 3, 4} {
		dellaTuneSub = sub
		s := &dellaScratch{keys: make([]uint32, cols), amb: make([]uint64, cols/64+1)}
		s.packedInit(cols)
		words2 := make([]uint64, cols/64) // the rows alternate, as another row's sums wait
		b.Run(fmt.Sprintf("row/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				s.dellaRowPacked(x, base, 0, 7, p0, step, words, true, true, x, base, 0)
				words, words2 = words2, words
			})
		})
		s.dellaFlush()
		keys := s.keys
		s.dellaRowPacked(x, base, 0, 7, p0, step, words, true, true, x, base, 0)
		s.dellaFlush()
		kmin, kmax := dellaKeysAVX512(&x[0], &base[0], &keys[0], cols)
		p0s, steps := dellaScaled(p0, step)
		kmin = max(kmin, kmax-min(kmax, dellaSpan<<23)) // as dellaRowPacked
		shift := uint(max(0, bits.Len32(kmax-kmin)-dellaPackedBits(cols)))
		nb := (int((kmax-kmin)>>shift) + 16) &^ 15
		b.Run(fmt.Sprintf("keys/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				dellaKeysAVX512(&x[0], &base[0], &keys[0], cols)
			})
		})
		b.Run(fmt.Sprintf("hist+prefix/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				dellaHistAVX512(&keys[0], cols, kmin, uint64(shift), &s.idx[0], &s.hist[0], s.hstride, 7, &s.hs[0], &x[0])
				dellaPrefixAVX512(&s.hist[0], s.hstride, nb, &s.tab[0], p0s, steps)
			})
		})
		b.Run(fmt.Sprintf("hist/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				dellaHistAVX512(&keys[0], cols, kmin, uint64(shift), &s.idx[0], &s.hist[0], s.hstride, 7, &s.hs[0], &x[0])
				clear(s.hist)
			})
		})
		b.Run(fmt.Sprintf("prefix/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				dellaPrefixAVX512(&s.hist[0], s.hstride, nb, &s.tab[0], p0s, steps)
			})
		})
		amb := s.amb
		b.Run(fmt.Sprintf("keep/bits=%d", dellaPackedBits(cols)), func(b *testing.B) {
			cpuRun(b, func() {
				dellaTabKeepAVX512(&s.idx[0], cols, &s.hs[0], &s.tab[0], dellaBound(p0, step, cols), u64bytes(words), u64bytes(amb), &x[0], nil, nil, nil)
			})
		})
		dellaHistAVX512(&keys[0], cols, kmin, uint64(shift), &s.idx[0], &s.hist[0], s.hstride, 7, &s.hs[0], &x[0])
		dellaPrefixAVX512(&s.hist[0], s.hstride, nb, &s.tab[0], p0s, steps)
		dellaTabKeepAVX512(&s.idx[0], cols, &s.hs[0], &s.tab[0], dellaBound(p0, step, cols), u64bytes(words), u64bytes(amb), &x[0], nil, nil, nil)
		na := 0
		for _, a := range amb[:cols/64] {
			na += bits.OnesCount64(a)
		}
		b.Logf("bits %d: %d ambiguous entries", dellaPackedBits(cols), na)
	}
	dellaTuneSub = 2
	// Rows streamed from memory as dellaMasks reads them: three models' rows in turn over
	// one base row, the next row prefetched (the L1 also holding the rows read).
	b.Run("rows-streamed", func(b *testing.B) {
		in := benchData()
		rows := benchN / cols
		s := &dellaScratch{keys: make([]uint32, cols), amb: make([]uint64, cols/64+1)}
		s.packedInit(cols)
		r := 0
		words := make([]uint64, 3*benchN/64)
		cpuRun(b, func() {
			lo := r * cols
			next := (r + 1) % rows * cols
			for k := range in.Models {
				pf1, pf2 := dellaNextRows(in.Base, in.Models[0], in.Models[min(k+1, len(in.Models)-1)], k+1 < len(in.Models), lo, next, cols)
				s.dellaRowPacked(in.Models[k][lo:lo+cols], in.Base[lo:lo+cols], lo, 7, p0, step, words[(k*rows+r)*cols/64:], true, true, pf1, pf2, k)
			}
			r = (r + 1) % rows
		})
	})
	var lanes [16]float64
	b.Run("sums", func(b *testing.B) {
		keys := make([]uint32, cols)
		cpuRun(b, func() {
			dellaSumsAVX512(&keys[0], cols, u64bytes(words), &lanes)
		})
	})
	b.Run("rank", func(b *testing.B) {
		keys := make([]uint32, cols)
		cpuRun(b, func() {
			dellaRankAVX512(&keys[0], cols, 5, 2000)
		})
	})
}
