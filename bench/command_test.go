package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The command evaluator's tests run this test binary as the user's program: with
// EVOMERGE_EVAL_HELPER set, TestMain acts out the mode named after "--" instead of
// running tests.
func TestMain(m *testing.M) {
	if os.Getenv("EVOMERGE_EVAL_HELPER") == "1" {
		os.Exit(helperProgram(os.Args))
	}
	os.Exit(m.Run())
}

// helperProgram is a user's evaluator: args after "--" are mode, model, result,
// reference.
func helperProgram(args []string) int {
	i := 0
	for i < len(args) && args[i] != "--" {
		i++
	}
	mode, model, result, reference := args[i+1], args[i+2], args[i+3], args[i+4]
	write := func(s string) int {
		if err := os.WriteFile(result, []byte(s), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	switch mode {
	case "ok":
		// Report what the program was handed, so the test can check it.
		st, err := os.Stat(filepath.Join(model, "model.safetensors"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		_, cfgErr := os.Stat(filepath.Join(model, "config.json"))
		_, shardErr := os.Lstat(filepath.Join(model, "model-00001-of-00002.safetensors"))
		return write(fmt.Sprintf(`{"metrics": {"accuracy": 0.5, "perplexity": 7.25, "seen_bytes": %d, "has_config": %d, "has_shard": %d, "has_reference": %d}}`,
			st.Size(), b2i(cfgErr == nil), b2i(shardErr == nil), b2i(reference != "")))
	case "fail":
		fmt.Fprintln(os.Stderr, "Traceback: CUDA out of memory")
		return 3
	case "tempfail":
		fmt.Fprintln(os.Stderr, "GPU busy")
		return ExitTempFail
	case "hang":
		// Start a grandchild that would outlive a kill of this process alone, and record
		// both pids for the test.
		child := exec.Command("sleep", "300")
		if err := child.Start(); err != nil {
			return 1
		}
		os.WriteFile(result+".pids", []byte(fmt.Sprintf("%d %d", os.Getpid(), child.Process.Pid)), 0o644)
		time.Sleep(300 * time.Second)
		return 0
	case "garbage":
		fmt.Println("accuracy=0.9")
		return write("accuracy=0.9\n")
	case "silent":
		return 0
	case "noaccuracy":
		return write(`{"metrics": {"exact_match": 0.61}}`)
	case "null":
		return write(`{"metrics": {"accuracy": null}}`)
	}
	return 99
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// commandFor is a command evaluator that runs this test binary in the given mode.
func commandFor(t *testing.T, mode string, timeout string) *Command {
	t.Helper()
	t.Setenv("EVOMERGE_EVAL_HELPER", "1")
	s := Spec{Kind: "command", Timeout: timeout,
		Command: []string{os.Args[0], "-test.run=^$", "--", mode, "{model}", "{result}", "{reference}"}}
	if err := s.Normalize(); err != nil {
		t.Fatal(err)
	}
	c, err := NewCommand(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fakeModel(t *testing.T, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandEvaluatorReadsTheProgramsMetrics(t *testing.T) {
	c := commandFor(t, "ok", "")
	files := t.TempDir()
	os.WriteFile(filepath.Join(files, "config.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(files, "model-00001-of-00002.safetensors"), []byte("base weights"), 0o644)
	c.spec.ModelFiles = files
	model := fakeModel(t, 1234)
	r, err := c.Evaluate(context.Background(), Request{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"accuracy": 0.5, "perplexity": 7.25, "seen_bytes": 1234, "has_config": 1, "has_shard": 0, "has_reference": 0}
	if !reflect.DeepEqual(r.Metrics, want) {
		t.Errorf("metrics %v, want %v", r.Metrics, want)
	}
	if r.Accuracy != 0.5 || r.SizeBytes != 1234 || !r.Finite || r.LatencyMs != 0 {
		t.Errorf("result %+v: want accuracy 0.5, size 1234 (the file's), finite, no latency", r)
	}
	r, err = c.Evaluate(context.Background(), Request{Model: model, Reference: fakeModel(t, 10)})
	if err != nil || r.Metrics["has_reference"] != 1 {
		t.Errorf("with a reference: %v, %v; want {reference} substituted", r.Metrics, err)
	}
}

func TestCommandEvaluatorFailuresNameTheProgram(t *testing.T) {
	model := fakeModel(t, 8)
	for _, tc := range []struct {
		mode, want string
		transient  bool
	}{
		{"fail", "exited with status 3; last output:\nTraceback: CUDA out of memory", false},
		{"tempfail", "exited with status 75", true},
		{"garbage", `wrote a result that is not the JSON object {"metrics": {"name": number}}`, false},
		{"silent", "exited 0 but wrote no result to {result} (no output)", false},
		{"noaccuracy", `lacks metric "accuracy", read as accuracy (evaluator.accuracy_metric); it has: exact_match`, false},
		{"null", `gives metric "accuracy" no number (null)`, false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			_, err := commandFor(t, tc.mode, "").Evaluate(context.Background(), Request{Model: model})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), os.Args[0]) {
				t.Fatalf("error %v: want it to name %s and say %q", err, os.Args[0], tc.want)
			}
			var te *TransientError
			if errors.As(err, &te) != tc.transient {
				t.Errorf("transient = %v, want %v", !tc.transient, tc.transient)
			}
		})
	}
}

func TestCommandEvaluatorKillsAHungProgramAndItsChildren(t *testing.T) {
	c := commandFor(t, "hang", "2s")
	// The result path is inside the evaluator's own temporary folder; find the pids
	// file the program writes beside it while it hangs.
	pidsCh := make(chan []int, 1)
	go func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			m, _ := filepath.Glob(filepath.Join(os.TempDir(), "evomerge-eval-*", "result.json.pids"))
			for _, p := range m {
				if b, err := os.ReadFile(p); err == nil && strings.Count(string(b), " ") == 1 {
					var pids []int
					for _, f := range strings.Fields(string(b)) {
						n, _ := strconv.Atoi(f)
						pids = append(pids, n)
					}
					pidsCh <- pids
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		pidsCh <- nil
	}()
	start := time.Now()
	_, err := c.Evaluate(context.Background(), Request{Model: fakeModel(t, 8)})
	if err == nil || !strings.Contains(err.Error(), "did not finish within 2s and was killed") {
		t.Fatalf("error %v: want the timeout named", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %s to give up on a 2 s timeout", d)
	}
	pids := <-pidsCh
	if pids == nil {
		t.Fatal("the program never recorded its pids")
	}
	time.Sleep(100 * time.Millisecond)
	for _, pid := range pids {
		// Reaped or gone: signal 0 fails. (The grandchild is re-parented and reaped by init.)
		if err := syscall.Kill(pid, 0); err == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
				t.Errorf("process %d still runs after the timeout", pid)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func TestCommandEvaluatorCancels(t *testing.T) {
	c := commandFor(t, "hang", "1h")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := c.Evaluate(ctx, Request{Model: fakeModel(t, 8)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the context's", err)
	}
}

func TestMetricMapRoundTripsThroughTheCommandEvaluatorsResult(t *testing.T) {
	r := Result{Accuracy: 0.91, TestAccuracy: 0.9, SizeBytes: 59488, WeightBytes: 51000, Packed: true, Params: 270000,
		LatencyMs: 0.012, ReferenceLatencyMs: 0.025, Speedup: 2.05, Finite: true, Examples: 10000, TestExamples: 10000}
	raw, err := json.Marshal(map[string]any{"metrics": r.MetricMap()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseResult(raw, "accuracy", 1)
	if err != nil {
		t.Fatal(err)
	}
	got.Metrics = nil
	if !reflect.DeepEqual(got, r) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
	}
}

func TestSpecRejectsOptionsOfAnotherKind(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Kind: "glue"}, `evaluator.kind: unknown evaluator "glue" (known: mnist, command)`},
		{Spec{Kind: "mnist", Command: []string{"x"}}, "evaluator.command: not an option of the mnist evaluator"},
		{Spec{Kind: "command", Limit: 5, Command: []string{"x", "{model}", "{result}"}}, "evaluator.limit: not an option of the command evaluator"},
		{Spec{Kind: "command"}, "evaluator.command: required"},
		{Spec{Kind: "command", Command: []string{"eval", "{model}"}}, "no argument contains {result}"},
		{Spec{Kind: "command", Command: []string{"eval", "{result}"}}, "no argument contains {model}"},
		{Spec{Kind: "command", Command: []string{"eval", "{model}", "{result}"}, Timeout: "soon"}, `evaluator.timeout: "soon" is not a positive duration`},
		{Spec{Kind: "mnist", LatencyRuns: -1}, "evaluator.latency_runs: must be ≥ 1"},
	} {
		s := tc.spec
		if err := s.Normalize(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.want)
		}
	}
	s := Spec{Kind: "command", Command: []string{"eval", "--model={model}", "{result}"}}
	if err := s.Normalize(); err != nil || s.Timeout != "30m0s" || s.AccuracyMetric != "accuracy" {
		t.Errorf("defaults: %+v, %v", s, err)
	}
	s = Spec{}
	if err := s.Normalize(); err != nil || s.Kind != "mnist" || s.LatencyRuns != DefaultLatencyRuns {
		t.Errorf("empty spec: %+v, %v; want mnist with %d latency runs", s, err, DefaultLatencyRuns)
	}
}

func TestProgramDigestFollowsTheProgramsFiles(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "eval.py")
	pkg := filepath.Join(dir, "pkg")
	os.Mkdir(pkg, 0o755)
	os.WriteFile(script, []byte("print(1)"), 0o644)
	os.WriteFile(filepath.Join(pkg, "main.go"), []byte("package main"), 0o644)
	s := Spec{Kind: "command", Command: []string{"python3", script, "--pkg=" + pkg, "--out", "{result}", "{model}"}}
	digest := func() string {
		d, err := s.ProgramDigest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d0 := digest()
	if digest() != d0 {
		t.Fatal("digest not stable")
	}
	os.WriteFile(script, []byte("print(2)"), 0o644)
	d1 := digest()
	if d1 == d0 {
		t.Error("editing the script did not change the digest")
	}
	os.WriteFile(filepath.Join(pkg, "main.go"), []byte("package main // v2"), 0o644)
	if digest() == d1 {
		t.Error("editing a file of the --pkg= folder did not change the digest")
	}
	if d, _ := (Spec{Kind: "mnist"}).ProgramDigest(); d != "" {
		t.Errorf("mnist digest %q, want none", d)
	}
}
