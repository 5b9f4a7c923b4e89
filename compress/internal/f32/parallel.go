package f32

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Parallel calls fn(i) for i = 0…parts−1 concurrently, fn(0) on the calling goroutine,
// and returns when every call has. The other parts run on a pool of helper goroutines
// that, after finishing a part, busy-wait for the next one for up to SpinWait before
// they park. On a virtual machine whose idle vCPUs are halted and handed to other
// guests, waking a parked thread per product can cost more than the product (measured
// here: a 16384×4096 product split by starting a goroutine per call ran no faster than on
// one core, 1.7–2.3 G weights/s, against 3.6–4.3 with a spinning helper); BLAS libraries
// keep their threads spinning between calls for the same reason. A call that finds the
// pool busy with another caller's job, or more parts than GOMAXPROCS, runs its other
// parts on fresh goroutines instead.
func Parallel(parts int, fn func(i int)) {
	switch {
	case parts <= 0:
		return
	case parts == 1:
		fn(0)
		return
	}
	if parts > runtime.GOMAXPROCS(0) || !thePool.mu.TryLock() {
		var wg sync.WaitGroup
		for i := 1; i < parts; i++ {
			wg.Go(func() { fn(i) })
		}
		fn(0)
		wg.Wait()
		return
	}
	defer thePool.mu.Unlock()
	thePool.run(parts, fn)
}

// SpinWait is how long a helper of Parallel busy-waits for the next part before it
// parks.
const SpinWait = 200 * time.Microsecond

// pool is Parallel's helpers. mu is held by the caller whose job they run; the
// helpers list changes only under it.
type pool struct {
	mu      sync.Mutex
	cur     atomic.Pointer[job] // the latest job; a helper runs one when its seq is new
	pending atomic.Int64        // parts of the current job not yet finished by helpers
	helpers []*helper
}

// job is one call of Parallel, published whole through pool.cur.
type job struct {
	seq   uint64
	fn    func(i int)
	parts int
}

type helper struct {
	index  int // the part it runs: 1, 2, …
	parked atomic.Bool
	wake   chan struct{} // buffered, 1
}

var thePool pool

func (p *pool) run(parts int, fn func(i int)) {
	var seq uint64
	if j := p.cur.Load(); j != nil {
		seq = j.seq
	}
	for len(p.helpers) < parts-1 {
		h := &helper{index: len(p.helpers) + 1, wake: make(chan struct{}, 1)}
		p.helpers = append(p.helpers, h)
		go p.loop(h, seq)
	}
	p.pending.Store(int64(parts - 1))
	p.cur.Store(&job{seq: seq + 1, fn: fn, parts: parts})
	for _, h := range p.helpers[:parts-1] {
		if h.parked.Load() {
			select {
			case h.wake <- struct{}{}:
			default:
			}
		}
	}
	fn(0)
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins%64 == 63 {
			runtime.Gosched()
		}
	}
}

// loop is one helper: it runs its part of each new job, then waits for the next.
func (p *pool) loop(h *helper, last uint64) {
	seq := func() uint64 {
		if j := p.cur.Load(); j != nil {
			return j.seq
		}
		return 0
	}
	for {
		deadline := time.Now().Add(SpinWait)
		for spins := 0; seq() == last; spins++ {
			if spins%64 != 63 {
				continue
			}
			runtime.Gosched()
			if time.Now().Before(deadline) {
				continue
			}
			// Park. Setting parked before the last look at the job pairs with run, which
			// publishes the job before it looks at parked: one of the two sees the other.
			h.parked.Store(true)
			if seq() == last {
				<-h.wake
			}
			h.parked.Store(false)
			deadline = time.Now().Add(SpinWait)
		}
		// A job of fewer parts than helpers leaves this one idle (and may be replaced
		// by the next while it looks); pending counts only the parts that run.
		j := p.cur.Load()
		last = j.seq
		if h.index < j.parts {
			j.fn(h.index)
			p.pending.Add(-1)
		}
	}
}
