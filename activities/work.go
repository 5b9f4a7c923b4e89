package activities

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Work accounting: every memoized step records whether it found its result in the store
// (a hit: work already done, by this or another worker, before a crash or not) or
// computed it (a miss). Counts are kept per kind and exported (WorkCounts, served by the worker's /metrics); each miss
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
	counts map[string]WorkCount // per kind
	log    string               // work log path, "" if the store is not a folder
}

// WorkCount is one kind's work on a worker: steps found in the store (Hits) or computed
// (Misses), the seconds the computed ones took and the bytes of their artifacts.
type WorkCount struct {
	Hits, Misses int64
	Seconds      float64
	Bytes        int64
}

// found counts a step of kind under key that found its result in the store.
func (a *Activities) found(kind, key string) { a.count(kind, key, true, 0, 0) }

// computed counts a step of kind under key whose result, computed in the time since
// start with an artifact of bytes (0 for none), is now stored.
func (a *Activities) computed(kind, key string, start time.Time, bytes int64) {
	a.count(kind, key, false, time.Since(start).Seconds(), bytes)
}

func (a *Activities) count(kind, key string, hit bool, seconds float64, bytes int64) {
	a.work.mu.Lock()
	c := a.work.counts[kind]
	if hit {
		c.Hits++
	} else {
		c.Misses++
		c.Seconds += seconds
		c.Bytes += bytes
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

// WorkCounts returns a's work per kind. (A function, not a method: every exported method
// of Activities is registered as an activity.)
func WorkCounts(a *Activities) map[string]WorkCount {
	a.work.mu.Lock()
	defer a.work.mu.Unlock()
	return maps.Clone(a.work.counts)
}

func newWorkStats(root string) *workStats {
	ws := &workStats{counts: map[string]WorkCount{}}
	if root != "" {
		ws.log = filepath.Join(root, WorkLogFile)
	}
	return ws
}
