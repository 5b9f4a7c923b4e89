package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/store"
	"github.com/evomerge/evomerge/worker"
	"github.com/evomerge/evomerge/workflows"
)

func devCmd(g *globals) *cobra.Command {
	var db, namespace, taskQueue string
	var port, uiPort int
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded Temporal server, its Web UI and a worker until interrupted",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if db == "" {
				db = filepath.Join(g.stateDir, "temporal.db")
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			srv, err := startDevServer(g, db, port, uiPort, namespace)
			if err != nil {
				return err
			}
			defer srv.Stop()
			ctx, stop := stopOnServerFatal(cmd.Context(), srv)
			defer stop()
			defer func() {
				if stopped := serverStopped(ctx); stopped != nil {
					err = stopped // whatever call it interrupted
				}
			}()
			c, err := dial(ctx, g, srv.Address(), namespace)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := worker.EnsureSearchAttributes(ctx, c, namespace); err != nil {
				return err
			}
			if taskQueue, err = storeQueue(taskQueue, st); err != nil {
				return err
			}
			w, err := worker.New(c, worker.Options{TaskQueue: taskQueue, Store: st})
			if err != nil {
				return err
			}
			if err := w.Start(); err != nil {
				return err
			}
			defer w.Stop()
			fmt.Fprintf(os.Stderr, "Temporal server %s (namespace %s, database %s)\nWeb UI %s\nworker on task queue %s; Ctrl-C to stop\n",
				srv.Address(), namespace, db, srv.UIAddress(), taskQueue)
			<-ctx.Done()
			return serverStopped(ctx) // nil on Ctrl-C
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&db, "db", "", "SQLite database file (default <state-dir>/temporal.db)")
	fl.IntVar(&port, "port", 7233, "frontend gRPC port")
	fl.IntVar(&uiPort, "ui-port", 8233, "Web UI port")
	fl.StringVar(&namespace, "namespace", "default", "namespace to create")
	fl.StringVar(&taskQueue, "task-queue", "", queueHelp)
	return cmd
}

func workerCmd(g *globals) *cobra.Command {
	var address, namespace, taskQueue string
	var concurrency int
	var only []string
	var kindConcurrency map[string]int
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "worker [--only merge,compress,benchmark,workflows]",
		Short: "Run a worker against a Temporal server until interrupted (SIGINT or SIGTERM: finish what is in flight, then stop)",
		Long: `Run a worker: by default it serves every kind of work of its store's runs — the
workflows with breeding, gating, selection, ingest and the report on the store's task
queue, and merges, compressions and benchmarks each on a queue of its own beside it
(<queue>-merge, -compress, -benchmark). --only limits it to some kinds, so merges run on a
big-disk machine and benchmarks on a GPU machine, every worker sharing the store. On
SIGINT or SIGTERM it stops polling and lets activities in flight finish (up to 30 s).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for k, n := range kindConcurrency {
				if !slices.Contains(workflows.Kinds, k) || n < 1 {
					return usagef("worker: --kind-concurrency %s=%d: want a kind (%s) and a count ≥ 1", k, n, strings.Join(workflows.Kinds, ", "))
				}
			}
			if concurrency < 1 {
				return usagef("worker: --concurrency must be ≥ 1")
			}
			st, err := openStore(g)
			if err != nil {
				return err
			}
			var metrics net.Listener
			if metricsAddr != "" {
				if metrics, err = net.Listen("tcp", metricsAddr); err != nil {
					return usagef("worker: --metrics-addr: %v", err)
				}
				defer metrics.Close()
				g.metrics = worker.NewMetrics()
				defer g.metrics.Close()
			}
			c, opts, err := dialServer(cmd.Context(), g, address, namespace)
			if err != nil {
				return err
			}
			address, namespace = opts.HostPort, opts.Namespace
			defer c.Close()
			if err := worker.EnsureSearchAttributes(cmd.Context(), c, namespace); err != nil {
				return err
			}
			if taskQueue, err = storeQueue(taskQueue, st); err != nil {
				return err
			}
			w, err := worker.New(c, worker.Options{TaskQueue: taskQueue, Store: st, MaxConcurrentActivities: concurrency, Only: only, Concurrency: kindConcurrency})
			if err != nil {
				return usagef("worker: --only: %v", err)
			}
			if err := w.Start(); err != nil {
				return err
			}
			if metrics != nil {
				g.metrics.Watch(w.Activities)
				mux := http.NewServeMux()
				mux.Handle("/metrics", g.metrics.HTTPHandler())
				go http.Serve(metrics, mux)
				fmt.Fprintf(os.Stderr, "metrics on http://%s/metrics\n", metrics.Addr())
			}
			fmt.Fprintf(os.Stderr, "worker on %s, namespace %s, store %s, task queues %s; Ctrl-C or SIGTERM to stop\n", address, namespace, g.storeDir, strings.Join(w.Queues, ", "))
			<-cmd.Context().Done()
			fmt.Fprintln(os.Stderr, "stopping: finishing the activities in flight (up to 30 s)")
			w.Stop()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&address, "address", "", addressHelp)
	fl.StringVar(&namespace, "namespace", "", namespaceHelp)
	fl.StringVar(&taskQueue, "task-queue", "", queueHelp)
	fl.IntVar(&concurrency, "concurrency", 4, "activities of the store's own queue (breed, gate, select, ingest, report) run at once")
	fl.StringVar(&metricsAddr, "metrics-addr", "", "serve the Temporal SDK's metrics and evomerge's (steps found or computed per kind, their seconds and bytes) in the Prometheus format at http://ADDR/metrics")
	fl.StringSliceVar(&only, "only", nil, "kinds of work to serve, any of "+strings.Join(workflows.Kinds, ",")+" (default: all)")
	fl.StringToIntVar(&kindConcurrency, "kind-concurrency", nil, "activities of a kind run at once, e.g. merge=1,benchmark=1 (defaults: merge 2, compress 2, benchmark 2)")
	return cmd
}

func seedsCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "seeds -o DIR",
		Short: "Train the demo's seed models (a base and three digit specialists) into DIR; cached",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("seeds: -o DIR is required")
			}
			return trainSeeds(out, "")
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "output folder")
	return cmd
}

func specCmd(g *globals) *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "spec -c CONFIG",
		Short: "Print the EvolutionWorkflow input for CONFIG as JSON (for `temporal workflow start --input-file`)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if config == "" {
				return usagef("spec: -c CONFIG is required")
			}
			cfg, err := evomerge.LoadConfig(config)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(workflows.RunInput{Config: *cfg}, "", "  ")
			if err != nil {
				return err
			}
			_, err = fmt.Println(string(b))
			return err
		},
	}
	cmd.Flags().StringVarP(&config, "config", "c", "", "run config (YAML)")
	return cmd
}

// queueHelp documents every command's --task-queue.
const queueHelp = "task queue (default: the store's own, evomerge-<store id>: only workers of this store take its runs' work; `evomerge queue` prints it)"

// storeQueue is the task queue flag's value, or by default the store's own queue.
func storeQueue(flag string, st store.Store) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return worker.TaskQueueFor(st)
}

func queueCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "queue",
		Short: "Print the task queue of the store's workers (for temporal workflow start --task-queue)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g)
			if err != nil {
				return err
			}
			q, err := worker.TaskQueueFor(st)
			if err != nil {
				return err
			}
			fmt.Println(q)
			return nil
		},
	}
}

// Help of the --address and --namespace flags of commands that connect to a server.
const (
	addressHelp   = "Temporal frontend host:port (default: $TEMPORAL_ADDRESS, else the $TEMPORAL_PROFILE profile's address in $TEMPORAL_CONFIG_FILE, else 127.0.0.1:7233, where `evomerge run` and `evomerge dev` serve); TLS and API keys come from the same configuration"
	namespaceHelp = "Temporal namespace (default: $TEMPORAL_NAMESPACE, else the profile's, else default)"
)
