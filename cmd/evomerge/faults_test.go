package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// workLog counts the work log's lines per "kind key".
func workLog(t *testing.T, storeDir string) (map[string]int, int) {
	t.Helper()
	f, err := os.Open(filepath.Join(storeDir, activities.WorkLogFile))
	if os.IsNotExist(err) {
		return map[string]int{}, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, counts := 0, map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 {
			counts[fields[0]+" "+fields[1]]++
			n++
		}
	}
	return counts, n
}

// buildBinary builds evomerge into dir, as a user would run it.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin, err := goBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func goBuild(dir string) (string, error) {
	bin := filepath.Join(dir, "evomerge")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// faultRun is what the fault tests share: the built binary, trained seeds, and the front
// of an uninterrupted run of the same config, made once.
type faultRun struct {
	dir, bin string
	seeds    []string
	front    string // the uninterrupted run's front: id=digest, in order
	steps    int    // lines in the uninterrupted run's work log
}

var (
	faultOnce    sync.Once
	faultFixture *faultRun
	faultErr     error
)

// faultGenerations is the fault runs' length: the failure test fails its third.
const faultGenerations = 6

// faultConfigText is the fault runs' config; evaluator replaces the built-in one.
func (f *faultRun) configText(out, evaluator string) string {
	if evaluator == "" {
		evaluator = "{limit: 1000, latency_runs: 20}"
	}
	return fmt.Sprintf(`name: faults
seed: 5
output_dir: %s
models:
  - {name: base, path: %s}
  - {name: lo, path: %s}
  - {name: hi, path: %s}
evolution: {generations: %d, population: 4, children: 3, methods: [linear, task_arithmetic, ties]}
evaluator: %s
compression: {enabled: true, algorithm: bitnet, apply_at: [post_merge], accuracy_threshold: 0.5}
gates: {latency: {enforce: false}}
`, out, f.seeds[0], f.seeds[1], f.seeds[2], faultGenerations, evaluator)
}

// config writes the config and loads it as the CLI would.
func (f *faultRun) config(t *testing.T, name, out, evaluator string) (string, evomerge.Config) {
	t.Helper()
	p := filepath.Join(f.dir, name+".yaml")
	if err := os.WriteFile(p, []byte(f.configText(out, evaluator)), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := evomerge.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, *c
}

func frontDigests(r evomerge.Report) string {
	var s []string
	for _, m := range r.Front {
		s = append(s, m.ID+"="+m.Digest)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// faults builds the binary, trains the seeds and runs the uninterrupted reference, once.
func faults(t *testing.T) *faultRun {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	srv := testServer(t)
	faultOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evomerge-faults-")
		if err != nil {
			faultErr = err
			return
		}
		faultDir = dir
		f := &faultRun{dir: dir}
		faultErr = func() error {
			if f.bin, err = goBuild(dir); err != nil {
				return err
			}
			// Seeds with some training, so merges and gates have something to decide.
			train, _, err := nn.LoadMNIST("")
			if err != nil {
				return err
			}
			for i, digits := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}} {
				m, err := nn.New(nn.Config{Architecture: "mlp", LayerSizes: []int{784, 64, 10}, Activation: "relu"}, 1)
				if err != nil {
					return err
				}
				if err := nn.Train(m, train.Filter(digits).Head(800), nn.TrainConfig{Epochs: 1, BatchSize: 32, LearningRate: 0.05, Seed: uint64(i + 1)}, nil); err != nil {
					return err
				}
				p := filepath.Join(dir, fmt.Sprintf("seed-%d.safetensors", i))
				if err := m.SaveFile(p); err != nil {
					return err
				}
				f.seeds = append(f.seeds, p)
			}
			// The uninterrupted run, on its own store served by an in-process worker.
			p := filepath.Join(dir, "reference.yaml")
			if err := os.WriteFile(p, []byte(f.configText(filepath.Join(dir, "out-reference"), "")), 0o644); err != nil {
				return err
			}
			cfg, err := evomerge.LoadConfig(p)
			if err != nil {
				return err
			}
			st, err := store.OpenFS(filepath.Join(dir, "state-reference", "store"))
			if err != nil {
				return err
			}
			queue, err := worker.TaskQueueFor(st)
			if err != nil {
				return err
			}
			c, err := client.Dial(client.Options{HostPort: srv.Address()})
			if err != nil {
				return err
			}
			defer c.Close()
			w, err := worker.New(c, worker.Options{TaskQueue: queue, Store: st})
			if err != nil {
				return err
			}
			if err := w.Start(); err != nil {
				return err
			}
			defer w.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "faults-reference", TaskQueue: queue,
				TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: *cfg})
			if err != nil {
				return err
			}
			var res workflows.RunResult
			if err := run.Get(ctx, &res); err != nil {
				return fmt.Errorf("uninterrupted run: %w", err)
			}
			if len(res.Report.Report.Front) == 0 {
				return fmt.Errorf("uninterrupted run has an empty front")
			}
			f.front = frontDigests(res.Report.Report)
			_, f.steps = workLog(t, st.Root)
			return nil
		}()
		faultFixture = f
	})
	if faultErr != nil {
		t.Fatal(faultErr)
	}
	return faultFixture
}

// faultDir is removed after the package's tests (see TestMain).
var faultDir string

// waitWorkLog waits until the store's work log has at least n lines.
func waitWorkLog(t *testing.T, ctx context.Context, storeDir string, n int) {
	t.Helper()
	for {
		if _, got := workLog(t, storeDir); got >= n {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the work log never reached %d lines", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOnce fails the test for every step the store's work log holds more than once and
// returns the number of steps.
func checkOnce(t *testing.T, storeDir string) int {
	t.Helper()
	counts, n := workLog(t, storeDir)
	for step, k := range counts {
		if k > 1 {
			t.Errorf("%s was done %d times", step, k)
		}
	}
	return n
}

// The worker process — the built binary — SIGKILLed three times in the middle of a run
// and restarted: the run finishes with the front of an uninterrupted run, and no merge,
// compression or benchmark that had completed was done again (the store's work log has
// one line per step).
func TestRunSurvivesKilledWorkerProcesses(t *testing.T) {
	f := faults(t)
	srv := testServer(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	st, err := store.OpenFS(filepath.Join(state, "store"))
	if err != nil {
		t.Fatal(err)
	}
	queue, err := worker.TaskQueueFor(st)
	if err != nil {
		t.Fatal(err)
	}
	var proc *exec.Cmd
	startWorker := func() {
		proc = exec.Command(f.bin, "worker", "--address", srv.Address(), "--state-dir", state, "--log-level", "error")
		proc.Stderr = os.Stderr
		if err := proc.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if proc != nil && proc.Process != nil {
			proc.Process.Kill()
			proc.Wait()
		}
	}()
	startWorker()

	c, err := client.Dial(client.Options{HostPort: srv.Address()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	_, cfg := f.config(t, "killed-worker", filepath.Join(dir, "out"), "")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "killed-worker", TaskQueue: queue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name))}, workflows.EvolutionWorkflow, workflows.RunInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// Kill the worker three times as the work log grows: in the middle of generations.
	for _, at := range []int{f.steps / 5, 2 * f.steps / 5, 3 * f.steps / 5} {
		waitWorkLog(t, ctx, st.Root, at)
		if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		proc.Wait()
		startWorker()
	}
	var res workflows.RunResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("after three kills: %v", err)
	}
	if n := checkOnce(t, st.Root); n != f.steps {
		t.Errorf("%d steps in the work log, the uninterrupted run took %d", n, f.steps)
	}
	if got := frontDigests(res.Report.Report); got != f.front {
		t.Errorf("front after three kills differs from the uninterrupted run's:\n%s\n%s", got, f.front)
	}
	t.Logf("%d steps computed once each; front of %d", f.steps, len(res.Report.Report.Front))
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// runProcess is `evomerge run` as a user starts it: the embedded server on its SQLite
// database in state, the worker in the same process.
type runProcess struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
}

func startRun(t *testing.T, bin, config, state, port, uiPort string) *runProcess {
	t.Helper()
	p := &runProcess{cmd: exec.Command(bin, "run", "-c", config, "--state-dir", state, "--port", port, "--ui-port", uiPort, "--json", "--log-level", "error")}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	return p
}

// report waits for the run command to end and reads the report it printed.
func (p *runProcess) report(t *testing.T) evomerge.Report {
	t.Helper()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("evomerge run: %v\n%s", err, p.stderr.String())
	}
	var r evomerge.Report
	if err := json.Unmarshal(p.stdout.Bytes(), &r); err != nil {
		t.Fatalf("evomerge run --json printed no report: %v\n%s", err, p.stdout.String())
	}
	return r
}

// `evomerge run` — the embedded server and its worker — SIGKILLed twice mid-run and
// started again on its database: the same command resumes the run, which ends with the
// uninterrupted run's front and no completed step done twice.
func TestRunSurvivesKilledEmbeddedServer(t *testing.T) {
	f := faults(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	config, _ := f.config(t, "killed-server", filepath.Join(dir, "out"), "")
	port, uiPort := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	p := startRun(t, f.bin, config, state, port, uiPort)
	for _, at := range []int{f.steps / 4, f.steps / 2} {
		waitWorkLog(t, ctx, filepath.Join(state, "store"), at)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.cmd.Wait()
		p = startRun(t, f.bin, config, state, port, uiPort)
	}
	r := p.report(t)
	if !strings.Contains(p.stderr.String(), "resuming run faults") {
		t.Errorf("the restarted command did not resume the run:\n%s", p.stderr.String())
	}
	if n := checkOnce(t, filepath.Join(state, "store")); n != f.steps {
		t.Errorf("%d steps in the work log, the uninterrupted run took %d", n, f.steps)
	}
	if got := frontDigests(r); got != f.front {
		t.Errorf("front after two server kills differs from the uninterrupted run's:\n%s\n%s", got, f.front)
	}
}

// A run whose evaluator fails (non-retryably) in generation 3 of 6 fails; once the cause
// is gone, the same command resumes it at generation 3 — generations 1 and 2 stay done
// in the history, no completed step is done again — and it ends with the front of the
// uninterrupted run.
func TestFailedRunResumesAtItsGeneration(t *testing.T) {
	f := faults(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	// The built-in evaluator's numbers through `evomerge bench`, failing while the file
	// "broken" exists.
	broken := filepath.Join(dir, "broken")
	script := fmt.Sprintf(`if [ -e %s ]; then echo "the evaluator is broken" >&2; exit 3; fi; exec "$0" bench --limit 1000 --latency-runs 20 --reference "$1" --metrics-out "$2" "$3"`, broken)
	evaluator, _ := json.Marshal(map[string]any{"kind": "command", "timeout": "2m",
		"command": []string{"/bin/sh", "-c", script, "{evomerge}", "{reference}", "{result}", "{model}"}})
	config, _ := f.config(t, "failed", filepath.Join(dir, "out"), string(evaluator))
	port, uiPort := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	p := startRun(t, f.bin, config, state, port, uiPort)

	// Pause the run while generation 2 runs, break the evaluator, resume: generation 3 fails.
	var c client.Client
	for {
		var err error
		if c, err = client.Dial(client.Options{HostPort: "127.0.0.1:" + port, Logger: sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the run's server never answered: %v\n%s", err, p.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer c.Close()
	progress := func() workflows.Progress {
		var pr workflows.Progress
		for {
			if v, err := c.QueryWorkflow(ctx, "faults", "", "progress"); err == nil && v.Get(&pr) == nil {
				return pr
			}
			if ctx.Err() != nil {
				t.Fatalf("no progress\n%s", p.stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	update := func(name string) {
		h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: "faults", UpdateName: name, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for progress().Generation < 1 {
		time.Sleep(20 * time.Millisecond)
	}
	update(workflows.UpdatePause)
	for pr := progress(); pr.Stage != workflows.StagePaused; pr = progress() {
		time.Sleep(50 * time.Millisecond)
	}
	if g := progress().Generation; g != 2 {
		t.Fatalf("paused after generation %d, want 2 (generation 2 ran faster than the pause)", g)
	}
	if err := os.WriteFile(broken, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	update(workflows.UpdateResume)
	if err := p.cmd.Wait(); err == nil || !strings.Contains(p.stderr.String(), "run faults failed") || !strings.Contains(p.stderr.String(), "the evaluator is broken") {
		t.Fatalf("the broken evaluator did not fail the run (%v):\n%s", err, p.stderr.String())
	}
	before := checkOnce(t, filepath.Join(state, "store"))

	// Mend the evaluator and run the same command.
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	c.Close()
	p = startRun(t, f.bin, config, state, port, uiPort)
	r := p.report(t)
	if strings.Contains(p.stderr.String(), "another evomerge build") {
		t.Errorf("resuming with the build that started the run warned of another build:\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "run faults failed; resuming it at gen-3") {
		t.Errorf("the second command did not resume at generation 3:\n%s", p.stderr.String())
	}
	after := checkOnce(t, filepath.Join(state, "store"))
	if after != f.steps || before >= after {
		t.Errorf("work log: %d steps before the failure, %d after the resume; the uninterrupted run took %d", before, after, f.steps)
	}
	if got := frontDigests(r); got != f.front {
		t.Errorf("front after the resume differs from the uninterrupted run's:\n%s\n%s", got, f.front)
	}
	if r.Generations != faultGenerations {
		t.Errorf("the resumed run reports %d generations, want %d", r.Generations, faultGenerations)
	}
	t.Logf("%d steps before the failure, %d in all; front of %d", before, after, len(r.Front))
}
