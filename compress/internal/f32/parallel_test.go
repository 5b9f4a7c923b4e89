package f32

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelRunsEveryPartOnce calls Parallel with 1 to 5 parts, from one caller and
// from several at once (so some find the pool busy), across GOMAXPROCS changes and
// across pauses longer than SpinWait (helpers parked), and checks that every part ran
// exactly once before Parallel returned.
func TestParallelRunsEveryPartOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	check := func(parts int) {
		counts := make([]atomic.Int32, parts)
		Parallel(parts, func(i int) { counts[i].Add(1) })
		for i := range counts {
			if c := counts[i].Load(); c != 1 {
				t.Errorf("parts=%d: part %d ran %d times", parts, i, c)
			}
		}
	}
	for _, procs := range []int{2, 1, 4, 2} {
		runtime.GOMAXPROCS(procs)
		for round := range 50 {
			for parts := 0; parts <= 5; parts++ {
				check(parts)
			}
			if round%10 == 0 {
				time.Sleep(2 * SpinWait) // the helpers park
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for round := range 200 {
					check(1 + round%4)
				}
			})
		}
		wg.Wait()
	}
}
