package main

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// A worker's /metrics after a small run: the SDK's metrics and evomerge's work counts.
func TestWorkerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := testServer(t)
	dir := t.TempDir()
	m := worker.NewMetrics()
	defer m.Close()
	c, w, queue := storeWorker(t, srv, filepath.Join(dir, "store"), client.Options{MetricsHandler: m.Handler()})
	m.Watch(w.Activities)
	http := httptest.NewServer(m.HTTPHandler())
	defer http.Close()
	scrape := func() string {
		resp, err := http.Client().Get(http.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	value := func(text, series string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no series %s in /metrics:\n%s", series, text)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := value(scrape(), `evomerge_steps_total{kind="merge",result="miss"}`); v != 0 {
		t.Errorf("merges before any run: %v", v)
	}

	base := smallModel(t, dir, 16)
	cfgPath := filepath.Join(dir, "metrics.yaml")
	body := "name: metrics\nseed: 3\noutput_dir: " + filepath.Join(dir, "out") + "\nmodels:\n  - {name: base, path: " + base + "}\n  - {name: a, path: " + base + "}\n" +
		"evolution: {generations: 1, population: 2, children: 2, methods: [linear]}\nevaluator: {limit: 100, latency_runs: 3}\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := evomerge.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "metrics", TaskQueue: queue}, workflows.EvolutionWorkflow, workflows.RunInput{Config: *cfg})
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the SDK scope reports every second
	text := scrape()
	merges := value(text, `evomerge_steps_total{kind="merge",result="miss"}`)
	if merges < 1 {
		t.Errorf("merges computed: %v", merges)
	}
	// Two children of one recipe family over one model's bytes: each merge writes a model
	// of about the seed's size.
	seed, _ := os.Stat(base)
	if b := value(text, `evomerge_step_bytes_total{kind="merge"}`); b < merges*float64(seed.Size())/2 {
		t.Errorf("bytes merged %v for %v merges of a %d-byte model", b, merges, seed.Size())
	}
	if v := value(text, `evomerge_steps_total{kind="benchmark",result="miss"}`); v < merges {
		t.Errorf("benchmarks computed: %v, merges %v", v, merges)
	}
	if v := value(text, `evomerge_step_seconds_total{kind="benchmark"}`); v <= 0 {
		t.Errorf("benchmark seconds: %v", v)
	}
	// The SDK's own: completed workflows and activity latencies, in Prometheus naming.
	for _, re := range []string{`(?m)^temporal_workflow_completed_total\{.*workflow_type="EvolutionWorkflow".*\} 1$`, `(?m)^temporal_activity_execution_latency_seconds_bucket\{.*activity_type="Merge"`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("no SDK series matching %s in /metrics", re)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
