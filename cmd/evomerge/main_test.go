package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/evomerge/evomerge/devserver"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"go.temporal.io/sdk/client"
)

// captureStderr runs fn and returns what it wrote to stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	return capture(t, &os.Stderr, fn)
}

// capture runs fn with *f redirected to a pipe and returns what fn wrote to it.
func capture(t *testing.T, f **os.File, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := *f
	*f = w
	done := make(chan string)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		done <- b.String()
	}()
	fn()
	w.Close()
	*f = old
	return <-done
}

func TestBadConfigExitsTwoAndStartsNothing(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.safetensors")
	if err := os.WriteFile(seed, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := "name: bad\nmodels:\n  - {name: base, path: " + seed + "}\n  - {name: a, path: " + seed + "}\nevolution: {generations: 1, population: 2}\n"
	cases := []struct {
		name, config, want string
	}{
		{"unknown key", base + "colour: blue\n", `unknown key "colour"`},
		{"unknown algorithm", base + "compression: {enabled: true, algorithm: zstd}\n", `unknown compression algorithm "zstd"`},
		{"missing model path", strings.Replace(base, "path: "+seed+"}\n  - {name: a", "path: "+seed+"}\n  - {name: a", 1) + "", ""},
		{"unknown metric", base + "objectives: [accuracy, bleu]\n", `objectives[1].metric: unknown metric "bleu"`},
		{"bad direction", base + "objectives: [{metric: size_bytes, direction: smaller}]\n", `objectives[0].direction: "smaller" must be maximize or minimize`},
		{"unknown strategy", strings.Replace(base, "population: 2}", "population: 2, strategy: annealing}", 1), `evolution.strategy: unknown strategy "annealing"`},
		{"unknown profile", base + "compression: {enabled: true, profile: tiny}\n", `compression.profile: unknown profile "tiny"`},
	}
	missing := filepath.Join(dir, "no-such-model")
	cases[2].config = strings.Replace(base, "{name: a, path: "+seed+"}", "{name: a, path: "+missing+"}", 1)
	cases[2].want = "models[1].path: model \"a\": " + missing + " does not exist"

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(cfg, []byte(tc.config), 0o644); err != nil {
				t.Fatal(err)
			}
			state := filepath.Join(dir, "state-"+strings.ReplaceAll(tc.name, " ", "-"))
			var code int
			stderr := captureStderr(t, func() {
				code = execute(context.Background(), []string{"run", "-c", cfg, "--state-dir", state, "--port", "-1", "--ui-port", "-1"})
			})
			if code != 2 {
				t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q should contain %q", stderr, tc.want)
			}
			if _, err := os.Stat(state); !os.IsNotExist(err) {
				t.Errorf("a bad config started something: %s exists", state)
			}
		})
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"run"}, {"run", "--no-such-flag"}, {"frobnicate"}, {"run", "-c", "x.yaml", "--detach"},
		{"experiment"}, {"experiment", "-c", "../../configs/mnist-demo.yaml", "--strategies", "nsga2,hillclimb"},
		{"experiment", "-c", "../../configs/mnist-demo.yaml", "--seeds", "1,two"}} {
		var code int
		captureStderr(t, func() { code = execute(context.Background(), args) })
		if code != 2 {
			t.Errorf("evomerge %v: exit %d, want 2", args, code)
		}
	}
}

// One Temporal dev server for the package's tests that need one (each uses its own
// workflow IDs and store, so its own task queues), stopped after them all.
var (
	serverOnce sync.Once
	server     *devserver.Server
	serverErr  error
)

func testServer(t *testing.T) *devserver.Server {
	t.Helper()
	serverOnce.Do(func() {
		server, serverErr = devserver.Start(devserver.Options{Port: -1, NoUI: true, SearchAttributes: worker.SearchAttributes()})
	})
	if serverErr != nil {
		t.Fatal(serverErr)
	}
	return server
}

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	if faultDir != "" {
		os.RemoveAll(faultDir)
	}
	os.Exit(code)
}

// storeWorker opens the store at storeDir and starts an in-process worker of it on srv,
// with a client dialled with opts (its HostPort set here); both stop at the test's end.
func storeWorker(t *testing.T, srv *devserver.Server, storeDir string, opts client.Options) (client.Client, *worker.Workers, string) {
	t.Helper()
	st, err := store.OpenFS(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := worker.TaskQueueFor(st)
	if err != nil {
		t.Fatal(err)
	}
	opts.HostPort = srv.Address()
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w, err := worker.New(c, worker.Options{TaskQueue: queue, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, w, queue
}

// smallRun is a run of the demo's machinery at toy size: a store worker on srv, and in a
// new folder dir a config named name over an untrained 16-unit MLP (a base and one copy,
// linear merges, 100 evaluation images, its report in dir/out), with the evolution
// settings evo and the lines extra. It returns the worker's client, the folder, the
// config's path and the state folder.
func smallRun(t *testing.T, srv *devserver.Server, name, evo, extra string) (c client.Client, dir, cfg, state string) {
	t.Helper()
	dir = t.TempDir()
	state = filepath.Join(dir, "state")
	c, _, _ = storeWorker(t, srv, filepath.Join(state, "store"), client.Options{})
	base := smallModel(t, dir, 16)
	cfg = filepath.Join(dir, name+".yaml")
	body := "name: " + name + "\nseed: 3\noutput_dir: " + filepath.Join(dir, "out") + "\nmodels:\n  - {name: base, path: " + base + "}\n  - {name: a, path: " + base + "}\n" +
		"evolution: {" + evo + ", methods: [linear]}\nevaluator: {limit: 100, latency_runs: 3}\n" + extra
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, dir, cfg, state
}
