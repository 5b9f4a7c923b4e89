package activities

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Work accounting: every memoized step records whether it found its result in the store
// (a hit: work already done, by this or another worker, before a crash or not) or
// computed it (a miss). Counts are kept per kind and exported (WriteMetrics); each miss
// is also appended to the store's work log (<store>/work.log: "kind key pid"), which
// survives a killed worker, so a test — or an operator — can check that no completed
// step was ever done twice: one line per key.

// Step kinds of the work accounting.
const (
	WorkMerge       = "merge"
	WorkCompress    = "compress"
	WorkBenchmark   = "benchmark"
	WorkSensitivity = "sensitivity"
)

// WorkLogFile is the work log's name in an FS store's folder.
const WorkLogFile = "work.log"

type workStats struct {
	mu     sync.Mutex
	counts map[string][2]int64 // per kind: hits, misses
	log    string              // work log path, "" if the store is not a folder
}

// record counts a step of kind under key: a hit, or a miss whose result is now stored.
func (a *Activities) record(kind, key string, hit bool) {
	a.work.mu.Lock()
	c := a.work.counts[kind]
	if hit {
		c[0]++
	} else {
		c[1]++
	}
	a.work.counts[kind] = c
	a.work.mu.Unlock()
	if hit || a.work.log == "" {
		return
	}
	// One write of one short line with O_APPEND: lines from concurrent workers on one
	// machine do not interleave.
	if f, err := os.OpenFile(a.work.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		fmt.Fprintf(f, "%s %s %d\n", kind, key, os.Getpid())
		f.Close()
	}
}

// WorkCounts returns a's hits and misses per kind. (A function, not a method: every
// exported method of Activities is registered as an activity.)
func WorkCounts(a *Activities) map[string][2]int64 {
	a.work.mu.Lock()
	defer a.work.mu.Unlock()
	return maps.Clone(a.work.counts)
}

// WriteMetrics writes the counts in the Prometheus text format:
// evomerge_steps_total{kind="merge",result="hit"} 3.
func WriteMetrics(a *Activities, w io.Writer) {
	counts := WorkCounts(a)
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	fmt.Fprintln(w, "# HELP evomerge_steps_total Memoized steps by kind: found in the store (hit) or computed (miss).")
	fmt.Fprintln(w, "# TYPE evomerge_steps_total counter")
	for _, k := range kinds {
		fmt.Fprintf(w, "evomerge_steps_total{kind=%q,result=\"hit\"} %d\n", k, counts[k][0])
		fmt.Fprintf(w, "evomerge_steps_total{kind=%q,result=\"miss\"} %d\n", k, counts[k][1])
	}
}

func newWorkStats(root string) *workStats {
	ws := &workStats{counts: map[string][2]int64{}}
	if root != "" {
		ws.log = filepath.Join(root, WorkLogFile)
	}
	return ws
}
