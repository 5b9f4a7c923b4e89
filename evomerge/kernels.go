package evomerge

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Kernel plumbing shared by the merge methods.
//
// A tensor is cut into blocks of blockSize elements (the last one shorter). Blocks are the
// unit of parallel work and of every partial result (sums, candidate lists): partial sums
// are made per block and added in block order, so results do not depend on GOMAXPROCS or
// on which goroutine ran which block. Tensors of one block run on the calling goroutine.

// blockSize is the number of elements per block: large enough that starting a goroutine
// is cheap next to the work, small enough that a block's scratch stays in L2.
const blockSize = 1 << 16

// numBlocks is the number of blocks of a tensor of n elements.
func numBlocks(n int) int { return (n + blockSize - 1) / blockSize }

// blockRange is the element range [lo, hi) of block b of n elements.
func blockRange(b, n int) (lo, hi int) {
	lo = b * blockSize
	return lo, min(lo+blockSize, n)
}

// parallelBlocks calls fn(worker, block, lo, hi) for every block of n elements, on up to
// GOMAXPROCS goroutines that take blocks in turn; worker (0 ≤ worker < the returned count)
// identifies the goroutine, for per-worker scratch. It returns when all calls have.
func parallelBlocks(n int, fn func(worker, block, lo, hi int)) {
	parallelTasks(numBlocks(n), func(worker, b int) {
		lo, hi := blockRange(b, n)
		fn(worker, b, lo, hi)
	})
}

// workers is the number of goroutines parallelTasks uses for tasks tasks.
func workers(tasks int) int { return max(1, min(runtime.GOMAXPROCS(0), tasks)) }

// parallelTasks calls fn(worker, task) for task in [0, tasks) on workers(tasks)
// goroutines.
func parallelTasks(tasks int, fn func(worker, task int)) {
	w := workers(tasks)
	if w == 1 {
		for t := 0; t < tasks; t++ {
			fn(0, t)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for k := 0; k < w; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= tasks {
					return
				}
				fn(k, t)
			}
		}()
	}
	wg.Wait()
}

// parallelSum returns Σ over blocks of part(lo, hi), each block's part made on one
// goroutine and the parts added in block order (deterministic). k sums at once.
func parallelSums(n, k int, part func(lo, hi int, sums []float64)) []float64 {
	nb := numBlocks(n)
	parts := make([]float64, nb*k)
	parallelBlocks(n, func(_, b, lo, hi int) { part(lo, hi, parts[b*k:(b+1)*k]) })
	total := make([]float64, k)
	for b := 0; b < nb; b++ {
		for i := range total {
			total[i] += parts[b*k+i]
		}
	}
	return total
}

// slicePool holds scratch slices reused across Merge calls (first touch of fresh memory
// costs page faults; the garbage collector would otherwise clear it again).
type slicePool[T any] struct{ p sync.Pool }

// get returns a scratch slice of n elements, contents undefined; put returns it.
func (sp *slicePool[T]) get(n int) *[]T {
	if p, ok := sp.p.Get().(*[]T); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]T, n)
	return &s
}

func (sp *slicePool[T]) put(p *[]T) { sp.p.Put(p) }

var (
	float32Pool slicePool[float32]
	uint32Pool  slicePool[uint32]
	uint64Pool  slicePool[uint64]
)

// mix64 is the splitmix64 finalizer, a bijective 64-bit hash.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// maskStream is the seed of model i's random mask for MergeInput.Seed seed.
func maskStream(seed uint64, i int) uint64 {
	return mix64(seed ^ mix64(uint64(i)+0x243f6a8885a308d3))
}

// maskBits is 64 random bits for element j of the mask stream s: a counter-based
// generator, so any element can be drawn in any order on any goroutine.
func maskBits(s uint64, j int) uint64 { return mix64(s + uint64(j)*0x9e3779b97f4a7c15) }

// unitFloat maps 64 random bits to a uniform float64 in [0, 1).
func unitFloat(h uint64) float64 { return float64(h>>11) * 0x1p-53 }

// bernoulliThreshold is the integer t with P(bits < t) = p for uniform 64-bit bits (to
// within 2⁻⁶⁴); keep = bits < t draws a Bernoulli(p).
func bernoulliThreshold(p float64) (t uint64, all bool) {
	switch {
	case p <= 0:
		return 0, false
	case p >= 1:
		return math.MaxUint64, true
	}
	return uint64(p * 0x1p64), false
}

// rowLength is the row length Shape gives for n elements: the last dimension of a shape
// with two or more dimensions, else n (one row).
func rowLength(shape []int, n int) int {
	if len(shape) >= 2 {
		if c := shape[len(shape)-1]; c > 0 && n%c == 0 {
			return c
		}
	}
	return n
}
