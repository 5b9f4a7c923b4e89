package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/evomerge/evomerge/activities"
	"github.com/evomerge/evomerge/devserver"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/tensor"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

// memoConfig is the memo field holding the sha256 of a run's resolved config, so that a
// resume can tell the same run from a different one under the same ID.
const memoConfig = "config_sha256"

type runFlags struct {
	config        string
	address       string
	namespace     string
	id            string
	taskQueue     string
	out           string
	detach        bool
	json          bool
	noWorker      bool
	serveHardware bool
	uiPort        int
	port          int
}

func runCmd(g *globals) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run -c CONFIG",
		Short: "Run an evolution: embedded Temporal server + Web UI + worker unless --address is given",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "run config (YAML)")
	fl.StringVar(&f.address, "address", os.Getenv("TEMPORAL_ADDRESS"), "external Temporal frontend host:port (default $TEMPORAL_ADDRESS; empty starts the embedded server)")
	fl.StringVar(&f.namespace, "namespace", "", "Temporal namespace (default: \"default\" on the embedded server; else $TEMPORAL_NAMESPACE or the profile's)")
	fl.StringVar(&f.id, "id", "", "workflow ID (default: the config's name)")
	fl.StringVar(&f.taskQueue, "task-queue", "", queueHelp)
	fl.StringVar(&f.out, "out", "", "output folder for the report and front models (default: the config's output_dir, else runs/<name>)")
	fl.BoolVar(&f.detach, "detach", false, "start the run and exit, leaving the work to other workers (needs --address: the embedded server stops with this process)")
	fl.BoolVar(&f.json, "json", false, "print report.json to stdout instead of the front table")
	fl.BoolVar(&f.noWorker, "no-worker", false, "do not run an in-process worker (workers run elsewhere; needs --address)")
	fl.BoolVar(&f.serveHardware, "serve-hardware", true, "also serve the config's benchmark task queue (evaluator.task_queue or evaluator.hardware) in-process")
	fl.IntVar(&f.port, "port", 7233, "embedded server's frontend port")
	fl.IntVar(&f.uiPort, "ui-port", 8233, "embedded server's Web UI port")
	return cmd
}

func runRun(ctx context.Context, g *globals, f *runFlags) (err error) {
	if f.config == "" {
		return usagef("run: -c CONFIG is required")
	}
	if (f.detach || f.noWorker) && f.address == "" {
		return usagef("run: --detach and --no-worker need --address: the embedded server and worker stop when this command exits")
	}
	cfg, err := evomerge.LoadConfig(f.config)
	if err != nil {
		return err
	}
	if f.out != "" {
		cfg.OutputDir = f.out
		cfg.ResolvePaths()
	}
	if err := ensureSeeds(cfg); err != nil {
		return err
	}
	if err := cfg.CheckModelPaths(); err != nil {
		return &evomerge.ConfigError{File: f.config, Err: err}
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	if f.taskQueue, err = storeQueue(f.taskQueue, st); err != nil {
		return err
	}

	return withSession(ctx, g, f, st, cfg.Evaluator, func(ctx context.Context, c client.Client) error {
		result, err := executeRun(ctx, c, f, cfg, f.id, true)
		if err != nil {
			return err
		}
		return printResult(os.Stdout, result.Report, f.json)
	})
}

// withSession connects to Temporal — an external server, or the embedded one with its
// Web UI — starts the in-process worker(s) unless told not to, and calls fn.
func withSession(ctx context.Context, g *globals, f *runFlags, st store.Store, ev evomerge.EvaluatorSpec, fn func(context.Context, client.Client) error) (err error) {
	address := f.address
	if address == "" {
		if f.namespace == "" {
			f.namespace = client.DefaultNamespace
		}
		srv, err := startDevServer(g, filepath.Join(g.stateDir, "temporal.db"), f.port, f.uiPort, f.namespace)
		if err != nil {
			return err
		}
		defer srv.Stop()
		address = srv.Address()
		fmt.Fprintf(os.Stderr, "Temporal server %s, Web UI %s/namespaces/%s/workflows\n", address, srv.UIAddress(), f.namespace)
		var stop context.CancelFunc
		ctx, stop = stopOnServerFatal(ctx, srv)
		defer stop()
		// Whatever call the server's failure interrupts, say why.
		defer func() {
			if stopped := serverStopped(ctx); err != nil && stopped != nil && !strings.Contains(err.Error(), stopped.Error()) {
				err = fmt.Errorf("%w (%v)", stopped, err)
			}
		}()
	}
	var c client.Client
	if f.address == "" {
		c, err = dial(ctx, g, address, f.namespace)
	} else {
		var opts client.Options
		c, opts, err = dialServer(ctx, g, address, f.namespace)
		f.namespace = opts.Namespace
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if err := worker.EnsureSearchAttributes(ctx, c, f.namespace); err != nil {
		return err
	}
	// A detached run leaves the work to other workers: an in-process worker stopped at
	// once could take a task and drop it.
	if !f.noWorker && !f.detach {
		w, err := worker.New(c, worker.Options{TaskQueue: f.taskQueue, Store: st})
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		defer w.Stop()
		if q := ev.BenchmarkQueue(); q != "" && f.serveHardware {
			// The benchmarks go to their own queue (the hardware profile's, or
			// evaluator.task_queue); serve it here too unless a worker on that machine
			// does (--serve-hardware=false).
			what := "evaluator.task_queue"
			if h := ev.Hardware; h != nil && h.TaskQueue == q {
				what = fmt.Sprintf("hardware profile %q", h.Name)
			}
			// The queue's own worker takes the benchmarks sent to it by name.
			hw, err := worker.New(c, worker.Options{TaskQueue: q, Store: st, MaxConcurrentActivities: 1, Only: []string{workflows.KindWorkflows}})
			if err != nil {
				return err
			}
			if err := hw.Start(); err != nil {
				return fmt.Errorf("start worker for benchmark queue %s: %w", q, err)
			}
			defer hw.Stop()
			fmt.Fprintf(os.Stderr, "benchmarks (%s) run on task queue %s, served here too (--serve-hardware=false leaves them to `evomerge worker --task-queue %s` on that machine)\n", what, q, q)
		}
	}

	return fn(ctx, c)
}

// memoString is the string a run's memo holds under key ("" if none).
func memoString(info *workflowpb.WorkflowExecutionInfo, key string) string {
	var v string
	if p := info.GetMemo().GetFields()[key]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &v)
	}
	return v
}

// executeRun starts (or resumes) the run of cfg as workflow id (default: the config's
// name) on a connected client and waits for its result, printing progress when watch is set.
func executeRun(ctx context.Context, c client.Client, f *runFlags, cfg *evomerge.Config, id string, watch bool) (workflows.RunResult, error) {
	if id == "" {
		id = cfg.Name
	}
	// A run of this ID still in progress is resumed — if it is the same run.
	configDigest := store.Key(cfg)
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	info := d.GetWorkflowExecutionInfo()
	recorded := memoString(info, memoConfig)
	// A run of this config that failed (or was terminated) is taken up at its generation —
	// unless it failed because no model passed its gates, which it would again.
	if err == nil && info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED && recorded == configDigest {
		typ, msg, err := endFailure(ctx, c, id, info.GetExecution().GetRunId())
		if err != nil {
			return workflows.RunResult{}, err
		}
		if typ == workflows.ErrNoModelPassed {
			return workflows.RunResult{}, fmt.Errorf("run %s already ended: %s. With the same config and seed it would end the same way, so it is not resumed: change the config (gates, compression targets, budget) or pass --id NAME and --out DIR for a separate run", id, msg)
		}
	}
	if err == nil && resumable(info.GetStatus()) && recorded == configDigest {
		if w := buildChanged(id, memoString(info, memoBuild), buildID()); w != "" {
			fmt.Fprintln(os.Stderr, w)
		}
		gen, ok, err := resumeEnded(ctx, c, f.namespace, id, info.GetExecution().GetRunId())
		if err != nil {
			return workflows.RunResult{}, err
		}
		if ok {
			reportResume(id, info.GetStatus(), gen)
		}
	}
	if err == nil && info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		running := recorded
		switch running {
		case configDigest:
		case "":
			fmt.Fprintf(os.Stderr, "warning: run %s was not started by `evomerge run`; attaching to it as it is\n", id)
		default:
			return workflows.RunResult{}, usagef("run %s is in progress with a different config (started %s): pass --id NAME and --out DIR for a separate run, or end it with `temporal workflow terminate --workflow-id %s`",
				id, info.GetStartTime().AsTime().Local().Format(time.DateTime), id)
		}
		fmt.Fprintf(os.Stderr, "resuming run %s, started %s: finished work is not redone\n",
			id, info.GetStartTime().AsTime().Local().Format(time.DateTime))
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                f.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SARun.ValueSet(cfg.Name)),
		Memo:                     map[string]interface{}{memoConfig: configDigest, memoBuild: buildID()},
		StaticSummary:            workflows.RunSummary(*cfg),
	}, workflows.EvolutionWorkflow, workflows.RunInput{Config: *cfg})
	if err != nil {
		return workflows.RunResult{}, fmt.Errorf("start workflow %s: %w", id, err)
	}
	fmt.Fprintf(os.Stderr, "run %s: workflow %s (run ID %s) on task queue %s\n", cfg.Name, id, run.GetRunID(), f.taskQueue)
	if f.detach {
		return workflows.RunResult{}, nil
	}

	done, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		if watch {
			watchProgress(ctx, c, id, done)
		}
	}()
	var result workflows.RunResult
	err = run.Get(ctx, &result)
	close(done)
	<-watched
	if err != nil {
		if err := serverStopped(ctx); err != nil {
			return workflows.RunResult{}, fmt.Errorf("%w; the run is saved: run the same command again to resume %s", err, id)
		}
		if ctx.Err() != nil {
			return workflows.RunResult{}, fmt.Errorf("interrupted; the run is saved in the server: run the same command again to resume %s", id)
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrBadInput {
			return workflows.RunResult{}, fmt.Errorf("run %s failed on bad input: %w", id, err)
		}
		return workflows.RunResult{}, fmt.Errorf("run %s failed: %w", id, err)
	}
	return result, nil
}

// ensureSeeds trains the demo's seed models when the config asks for them and they are missing.
func ensureSeeds(cfg *evomerge.Config) error {
	switch {
	case cfg.MissingSeeds():
		fmt.Fprintf(os.Stderr, "seed models missing: training the %s seeds into %s (cached for later runs)\n", cfg.SeedModels.Generate, cfg.SeedModels.Dir)
	case cfg.SeedModels != nil && cfg.SeedModels.Generate == "mnist-demo" && nn.SeedsStale(cfg.SeedModels.Dir):
		fmt.Fprintf(os.Stderr, "seed models in %s were trained by an older evomerge: retraining the %s seeds\n", cfg.SeedModels.Dir, cfg.SeedModels.Generate)
	default:
		return nil
	}
	if cfg.SeedModels.Generate == "llama-synth" {
		return writeLlamaSeeds(cfg.SeedModels.Dir)
	}
	return trainSeeds(cfg.SeedModels.Dir, cfg.Evaluator.DataDir)
}

// LlamaSynth is the llama-synth seed set: a small Llama (4 layers, hidden 256) in
// BF16, whose three fine-tunes each add a rank-4 task vector plus dense noise.
var LlamaSynth = tensor.SynthConfig{Hidden: 256, Intermediate: 688, Layers: 4, Vocab: 1000, DType: tensor.BF16,
	ShardBytes: 4 << 20, Seed: 1, Rank: 4, Delta: 0.1, Noise: 0.02}

// writeLlamaSeeds writes the llama-synth family into dir: base, ft-1, ft-2, ft-3 (those
// missing).
func writeLlamaSeeds(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, name := range []string{"base", "ft-1", "ft-2", "ft-3"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		n, err := tensor.WriteSynth(p, LlamaSynth, i)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  %s: %d bytes of weights (%s)\n", name, n, p)
	}
	return nil
}

func trainSeeds(dir, dataDir string) error {
	start := time.Now()
	splits, err := nn.LoadMNISTSplits(dataDir)
	if err != nil {
		return err
	}
	paths, err := nn.TrainSeeds(dir, splits.Train, func(msg string) { fmt.Fprintf(os.Stderr, "  %s\n", msg) })
	if err != nil {
		return err
	}
	for _, s := range nn.DemoSeeds() {
		m, err := nn.Load(paths[s.Name])
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "  seed %-11s validation accuracy %.4f, test %.4f  (%s)\n", s.Name, m.Accuracy(splits.Validation), m.Accuracy(splits.Test), paths[s.Name])
	}
	fmt.Fprintf(os.Stderr, "seed models ready in %.1f s\n", time.Since(start).Seconds())
	return nil
}

// openStore opens the artifact store (--store: a folder or an s3:// URL, whose read cache
// is --store-cache) and removes what killed processes left in its temp area, or in the S3
// store's cache (files untouched for an hour).
func openStore(g *globals) (store.Store, error) {
	st, err := store.Open(g.storeDir, g.cacheDir)
	if err != nil {
		return nil, err
	}
	if sw, ok := st.(store.TempSweeper); ok {
		// Best effort: a store that cannot be swept (read-only, shared) still works.
		files, bytes, err := sw.SweepTemp(time.Hour)
		if err != nil {
			g.log.Warn().Err(err).Str("store", store.Describe(st)).Msg("could not remove leftovers of interrupted writes")
		}
		if files > 0 {
			g.log.Info().Int("files", files).Int64("bytes", bytes).Str("store", store.Describe(st)).Msg("removed leftovers of interrupted writes")
		}
	}
	return st, nil
}

// serverFatal is the cause of a context stopOnServerFatal cancelled.
type serverFatal struct{ err error }

func (e serverFatal) Error() string { return "the embedded Temporal server stopped: " + e.err.Error() }
func (e serverFatal) Unwrap() error { return e.err }

// stopOnServerFatal returns a context that is cancelled if the embedded server hits a
// fatal error; serverStopped then returns that error.
func stopOnServerFatal(ctx context.Context, srv *devserver.Server) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-srv.Fatal():
			cancel(serverFatal{srv.Err()})
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// serverStopped returns the embedded server's fatal error if it is why ctx ended.
func serverStopped(ctx context.Context) error {
	var sf serverFatal
	if errors.As(context.Cause(ctx), &sf) {
		return sf
	}
	return nil
}

func startDevServer(g *globals, db string, port, uiPort int, namespace string) (*devserver.Server, error) {
	srv, err := devserver.Start(devserver.Options{
		DBFile: db, Port: port, UIPort: uiPort, Namespace: namespace,
		SearchAttributes: worker.SearchAttributes(),
		Logger:           serverLogger(g),
	})
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// serverLogger keeps the embedded server quiet: it logs plenty at info level that is
// noise to a user; errors only, unless --log-level debug.
func serverLogger(g *globals) zerolog.Logger {
	lvl := zerolog.ErrorLevel
	if g.log.GetLevel() <= zerolog.DebugLevel {
		lvl = zerolog.InfoLevel
	}
	return g.log.With().Str("component", "temporal-server").Logger().Level(lvl)
}

// dial connects to the embedded server at address: plain, whatever the environment
// says about other servers.
func dial(ctx context.Context, g *globals, address, namespace string) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    worker.Logger{Z: g.log.With().Str("component", "temporal-sdk").Logger()},
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s: %w", address, err)
	}
	return c, nil
}

// dialServer connects to an external server the way Temporal's own tools do: the SDK's
// environment configuration (envconfig) — a profile from the TOML file
// $TEMPORAL_CONFIG_FILE (default <user config dir>/temporalio/temporal.toml) chosen by
// $TEMPORAL_PROFILE, then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_* and TEMPORAL_GRPC_META_* — so one worker reaches a local dev server, a
// self-hosted cluster or Temporal Cloud. --address and --namespace, when given, win.
// It returns the client and the options it connected with (address, namespace).
func dialServer(ctx context.Context, g *globals, address, namespace string) (client.Client, client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{})
	if err != nil {
		return nil, opts, usagef("Temporal client configuration (TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE, TEMPORAL_* variables): %v", err)
	}
	if address != "" {
		opts.HostPort = address
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if namespace != "" {
		opts.Namespace = namespace
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	opts.Logger = worker.Logger{Z: g.log.With().Str("component", "temporal-sdk").Logger()}
	if g.metrics != nil {
		opts.MetricsHandler = g.metrics.Handler()
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, opts, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, opts, nil
}

// watchProgress prints a line per finished child and per finished generation by
// querying the run and its generations (a finished generation still answers queries,
// so its last children are printed too).
func watchProgress(ctx context.Context, c client.Client, id string, done <-chan struct{}) {
	printed := map[string]bool{}
	stage, gen := "", 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for last := false; !last; {
		select {
		case <-done:
			last = true // one more pass, to print what finished since the last tick
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var p workflows.Progress
		// The latest run: a run continued as new has a new run ID and the same state.
		if v, err := c.QueryWorkflow(ctx, id, "", "progress"); err != nil || v.Get(&p) != nil {
			continue
		}
		if p.Stage != stage && p.Stage == workflows.StageEvolve {
			for _, s := range p.Seeds {
				fmt.Fprintf(os.Stderr, "seed %-12s %s\n", s.ID, scoreLine(s))
			}
		}
		if gen == 0 {
			// First answer: a resumed run reports its finished generations in one line each.
			for _, h := range p.History {
				printGeneration(h, p.Generations)
			}
			gen = len(p.History) + 1
		}
		for gen <= p.Generations {
			finished := gen <= len(p.History)
			if !finished && p.Stage != workflows.StageEvolve {
				break
			}
			var gp workflows.GenerationProgress
			v, err := c.QueryWorkflow(ctx, fmt.Sprintf("%s/gen-%d", id, gen), "", "progress")
			if err == nil && v.Get(&gp) == nil {
				for _, m := range gp.Done {
					if !printed[m.ID] {
						printed[m.ID] = true
						genes := ""
						if len(m.Genes) > 0 {
							genes = " [" + evomerge.GenesString(m.Genes) + "]"
						}
						fmt.Fprintf(os.Stderr, "[gen %d/%d] %-7s %-58s%s %s\n", gen, p.Generations, m.ID, evomerge.RecipeString(m.Recipe), genes, scoreLine(m))
					}
				}
			}
			if !finished {
				break
			}
			printGeneration(p.History[gen-1], p.Generations)
			gen++
		}
		if p.Stage != stage {
			stage = p.Stage
			fmt.Fprintf(os.Stderr, "stage: %s\n", stage)
		}
	}
}

func printGeneration(h workflows.GenerationStats, of int) {
	strength := ""
	if h.MeanStrength > 0 || h.Floor > 0 {
		strength = fmt.Sprintf("; compression strength floor %.2f, mean %.2f", h.Floor, h.MeanStrength)
	}
	fmt.Fprintf(os.Stderr, "[gen %d/%d] done in %.1f s: %d children, %d accepted, front %d (hypervolume %.4f), best %s %.4f validation accuracy; best uncompressed merge so far %s %.4f%s\n",
		h.Generation, of, h.DurationSeconds, h.Children, h.Accepted, h.FrontSize, h.Hypervolume, h.BestID, h.BestScore, h.BestMergeID, h.BestMergeScore, strength)
}

func scoreLine(m evomerge.Model) string {
	s := fmt.Sprintf("val %.4f  %8d B  %.4f ms", m.MergedScore.Accuracy, m.MergedScore.SizeBytes, m.MergedScore.LatencyMs)
	if c := m.Compression; c != nil {
		mem := 0.0 // weight memory against fp16 (the float32 merge's bytes halved)
		if m.Score.WeightBytes > 0 {
			mem = float64(m.MergedScore.WeightBytes) / 2 / float64(m.Score.WeightBytes)
		}
		s += fmt.Sprintf("  → %s val %.4f  %7d B (%.1f×)  mem %.1f× < fp16  %.4f ms (speed-up %.2f×)", c.Algorithm, m.Score.Accuracy, m.Score.SizeBytes, c.Ratio, mem, m.Score.LatencyMs, m.Score.Speedup)
	}
	if m.Gates != nil {
		if m.Accepted {
			s += "  accepted"
		} else {
			s += "  rejected:"
			for _, gt := range m.Gates {
				if gt.Enforced && !gt.Passed {
					s += " " + gt.Name
				}
			}
		}
	}
	return s
}

func printResult(w *os.File, out activities.ReportOutput, asJSON bool) error {
	if asJSON {
		b, err := json.MarshalIndent(out.Report, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(w, string(b))
		return err
	}
	r := out.Report
	fmt.Fprintf(w, "\nPareto front of %s (%d generations, %d evaluations, %.1f s; hypervolume %.4f):\n", r.Run, r.Generations, r.Evaluations, r.WallSeconds, r.Hypervolume)
	fmt.Fprintf(w, "%-8s %-60s %9s %9s %10s %10s %9s %8s %-22s %s\n", "id", "recipe", "val acc", "test acc", "bytes", "memory", "ms", "speed-up", "compression", "gates")
	for _, m := range r.Front {
		comp := "-"
		if c := m.Compression; c != nil {
			comp = fmt.Sprintf("%s %.2fbpw %.1fx", c.Algorithm, c.BitsPerWeight, c.Ratio)
		}
		gates := "accepted"
		if !m.Accepted {
			gates = "rejected"
		}
		speedup := "-"
		if m.Objectives.Speedup > 0 {
			speedup = fmt.Sprintf("%.2fx", m.Objectives.Speedup)
		}
		fmt.Fprintf(w, "%-8s %-60s %9.4f %9.4f %10d %10d %9.4f %8s %-22s %s\n", m.ID, evomerge.RecipeString(m.Recipe), m.Objectives.Accuracy, m.Objectives.TestAccuracy, m.Objectives.SizeBytes, m.Objectives.WeightBytes, m.Objectives.LatencyMs, speedup, comp, gates)
	}
	fmt.Fprintln(w, "\nSeeds:")
	for _, m := range r.Seeds {
		fmt.Fprintf(w, "  %-12s validation accuracy %.4f, test %.4f  %d bytes\n", m.ID, m.Objectives.Accuracy, m.Objectives.TestAccuracy, m.Objectives.SizeBytes)
	}
	if b := r.BestMerge; b != nil {
		fmt.Fprintf(w, "Best uncompressed merge (chosen on validation): %s %s validation accuracy %.4f, test %.4f\n", b.ID, evomerge.RecipeString(b.Recipe), b.Objectives.Accuracy, b.Objectives.TestAccuracy)
	}
	fmt.Fprintf(w, "\nReport: %s and %s\n", filepath.Join(out.Dir, "report.md"), filepath.Join(out.Dir, "report.json"))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("%s: unexpected arguments %q", cmd.Name(), args)
	}
	return nil
}

// exactArgs is cobra.ExactArgs as a usage error (exit code 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: want %d argument(s), got %d; usage: evomerge %s", cmd.Name(), n, len(args), cmd.Use)
		}
		return nil
	}
}
