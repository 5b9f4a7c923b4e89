package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
			w := worker.New(c, worker.Options{TaskQueue: taskQueue, Store: st})
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
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker against a Temporal server until interrupted",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g)
			if err != nil {
				return err
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
			w := worker.New(c, worker.Options{TaskQueue: taskQueue, Store: st, MaxConcurrentActivities: concurrency})
			if err := w.Start(); err != nil {
				return err
			}
			defer w.Stop()
			fmt.Fprintf(os.Stderr, "worker on %s, namespace %s, task queue %s, store %s; Ctrl-C to stop\n", address, namespace, taskQueue, g.storeDir)
			<-cmd.Context().Done()
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&address, "address", "", addressHelp)
	fl.StringVar(&namespace, "namespace", "", namespaceHelp)
	fl.StringVar(&taskQueue, "task-queue", "", queueHelp)
	fl.IntVar(&concurrency, "concurrency", 4, "activities run at once")
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
func storeQueue(flag string, st *store.FS) (string, error) {
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
