package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/store/s3test"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// Two worker processes — the built binary, as on two machines — share one S3 store
// (a real S3 server, versitygw) through their own read caches: the run completes with the
// front of the reference run on a local store, and each step is computed once in all.
// A run on one local-store worker process is timed beside it.
func TestTwoWorkersShareS3Store(t *testing.T) {
	f := faults(t)
	srv := testServer(t)
	s3 := s3test.Start(t, "evomerge")
	dir := t.TempDir()
	env := append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+s3.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3.SecretKey,
		"AWS_ENDPOINT_URL_S3="+s3.Endpoint, "AWS_ENDPOINT_URL=", "AWS_SESSION_TOKEN=", "AWS_REGION=")
	const url = "s3://evomerge/e2e"

	c, err := client.Dial(client.Options{HostPort: srv.Address()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// run starts the worker processes with args, runs the config on queue and returns
	// the front digests and the wall time.
	run := func(name, queue string, workers [][]string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		var procs []*exec.Cmd
		defer func() {
			for _, p := range procs {
				p.Process.Signal(os.Interrupt)
				p.Wait()
			}
		}()
		for _, args := range workers {
			p := exec.Command(f.bin, append([]string{"worker", "--address", srv.Address(), "--log-level", "error"}, args...)...)
			p.Env, p.Stderr = env, os.Stderr
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			procs = append(procs, p)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		_, cfg := f.config(t, name, filepath.Join(dir, "out-"+name), "")
		wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: name, TaskQueue: queue,
			TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.RunResult
		if err := wr.Get(ctx, &res); err != nil {
			t.Fatalf("run %s: %v", name, err)
		}
		return frontDigests(res.Report.Report), time.Since(start)
	}

	// The S3 store's task queue, as every worker of it computes it.
	st, err := store.OpenS3(url, store.S3Options{Endpoint: s3.Endpoint, AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey, CacheDir: filepath.Join(dir, "test-cache")})
	if err != nil {
		t.Fatal(err)
	}
	queue, err := worker.TaskQueueFor(st)
	if err != nil {
		t.Fatal(err)
	}
	var workers [][]string
	var caches []string
	for i := range 2 {
		state := filepath.Join(dir, "state-s3-"+string(rune('a'+i)))
		cache := filepath.Join(dir, "cache-"+string(rune('a'+i)))
		caches = append(caches, cache)
		workers = append(workers, []string{"--state-dir", state, "--store", url, "--store-cache", cache})
	}
	s3Front, s3Wall := run("s3-two-workers", queue, workers)

	// One worker process on a local store, for the wall time.
	localState := filepath.Join(dir, "state-local")
	lst, err := store.OpenFS(filepath.Join(localState, "store"))
	if err != nil {
		t.Fatal(err)
	}
	lqueue, err := worker.TaskQueueFor(lst)
	if err != nil {
		t.Fatal(err)
	}
	localFront, localWall := run("s3-local-reference", lqueue, [][]string{{"--state-dir", localState}})

	if s3Front != f.front {
		t.Errorf("front of the two S3 workers differs from the local-store run's:\n%s\n%s", s3Front, f.front)
	}
	if localFront != f.front {
		t.Errorf("front of the local-store worker process differs from the reference:\n%s\n%s", localFront, f.front)
	}
	// Each worker logs the steps it computed in its cache: together, each step once.
	total := map[string]int{}
	var per []int
	for _, cache := range caches {
		counts, n := workLog(t, cache)
		per = append(per, n)
		for k, v := range counts {
			total[k] += v
		}
	}
	n := 0
	for step, k := range total {
		n += k
		if k > 1 {
			t.Errorf("%s was computed %d times", step, k)
		}
	}
	if n != f.steps {
		t.Errorf("%d steps computed by the two S3 workers, the reference run took %d", n, f.steps)
	}
	t.Logf("two S3 workers: %.1f s wall, steps per worker %v; one local-store worker: %.1f s wall; front of %d equal to the reference",
		s3Wall.Seconds(), per, localWall.Seconds(), strings.Count(s3Front, "="))
}
