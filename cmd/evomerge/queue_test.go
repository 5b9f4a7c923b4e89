package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
)

// Two runs started side by side against one server, each with its own state folder
// (and so its own store), both finish: each run's work goes to its own store's task
// queue. (With one shared default queue, each worker took the other run's activities,
// could not find their blobs, and failed them as bad input.)
func TestTwoRunsOnOneServerKeepToTheirStores(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)
	dir := t.TempDir()
	// Different models per run, so no blob of one run is in the other's store.
	config := func(name string, hidden int) string {
		base := smallModel(t, filepath.Join(dir, name+"-seed"), hidden)
		p := filepath.Join(dir, name+".yaml")
		body := "name: " + name + "\nseed: 3\noutput_dir: " + filepath.Join(dir, name) + "\nmodels:\n  - {name: base, path: " + base + "}\n  - {name: a, path: " + base + "}\n" +
			"evolution: {generations: 1, population: 2, children: 2, methods: [linear]}\nevaluator: {limit: 100, latency_runs: 3}\n"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	logs := captureStderr(t, func() {
		for i, name := range []string{"side-a", "side-b"} {
			cfg := config(name, 16+4*i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i] = execute(context.Background(), []string{"run", "-c", cfg, "--address", srv.Address(), "--state-dir", filepath.Join(dir, "state-"+name)})
			}()
		}
		wg.Wait()
	})
	// A worker of the other store would fail the step (retryably) before the right one
	// took it: no step may have gone astray.
	if strings.Contains(logs, "cannot reach it") {
		t.Errorf("a worker took work of the other run's store:\n%s", logs)
	}
	for i, code := range codes {
		if code != 0 {
			t.Errorf("run %d: exit %d", i, code)
		}
	}
	queues := map[string]bool{}
	for _, name := range []string{"side-a", "side-b"} {
		if _, err := os.Stat(filepath.Join(dir, name, "report.json")); err != nil {
			t.Errorf("%s: no report: %v", name, err)
		}
		st, err := store.OpenFS(filepath.Join(dir, "state-"+name, "store"))
		if err != nil {
			t.Fatal(err)
		}
		q, err := worker.TaskQueueFor(st)
		if err != nil || !strings.HasPrefix(q, "evomerge-") || len(q) != len("evomerge-")+12 {
			t.Errorf("store queue %q, %v", q, err)
		}
		queues[q] = true
	}
	if len(queues) != 2 {
		t.Errorf("both stores share a task queue: %v", queues)
	}
}
