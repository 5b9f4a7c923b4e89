package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/evomerge/evomerge/evomerge"
)

type experimentFlags struct {
	runFlags
	strategies string
	seeds      string
	budget     int
}

func experimentCmd(g *globals) *cobra.Command {
	f := &experimentFlags{}
	cmd := &cobra.Command{
		Use:   "experiment -c CONFIG",
		Short: "Compare search strategies: run the config with each strategy and seed at one evaluation budget",
		Long: `experiment runs the config once per strategy and seed, every run with the same
evaluation budget (evolution.budget, or --budget) and no early stop, and prints the
front's hypervolume and best accuracy per strategy (median, min, max). It writes
experiment.csv, experiment.md and experiment.png to --out, and each run's report to
--out/<strategy>-seed<N>. Runs share the artifact store, so merges and compressions
that recur are not redone.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExperiment(cmd.Context(), g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "run config (YAML)")
	fl.StringVar(&f.strategies, "strategies", strings.Join([]string{evomerge.StrategyNSGA2, evomerge.StrategyCMAES, evomerge.StrategyRandom}, ","), "strategies to compare")
	fl.StringVar(&f.seeds, "seeds", "1,2,3", "run seeds")
	fl.IntVar(&f.budget, "budget", 0, "evaluations per run (default: the config's evolution.budget)")
	fl.StringVar(&f.out, "out", "", "output folder (default: runs/<name>-experiment)")
	fl.StringVar(&f.address, "address", os.Getenv("TEMPORAL_ADDRESS"), "external Temporal frontend host:port (default $TEMPORAL_ADDRESS; empty starts the embedded server)")
	fl.StringVar(&f.namespace, "namespace", "", "Temporal namespace (default: \"default\" on the embedded server; else $TEMPORAL_NAMESPACE or the profile's)")
	fl.StringVar(&f.taskQueue, "task-queue", "", queueHelp)
	fl.IntVar(&f.port, "port", 7233, "embedded server's frontend port")
	fl.IntVar(&f.uiPort, "ui-port", 8233, "embedded server's Web UI port")
	f.serveHardware = true
	return cmd
}

func runExperiment(ctx context.Context, g *globals, f *experimentFlags) error {
	if f.config == "" {
		return usagef("experiment: -c CONFIG is required")
	}
	base, err := evomerge.LoadConfig(f.config)
	if err != nil {
		return err
	}
	var strategies []string
	for _, s := range strings.Split(f.strategies, ",") {
		s = strings.TrimSpace(s)
		c := *base
		c.Evolution.Strategy = s
		if err := c.Normalize(); err != nil {
			return usagef("experiment: --strategies: %v", err)
		}
		strategies = append(strategies, s)
	}
	var seeds []uint64
	for _, s := range strings.Split(f.seeds, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return usagef("experiment: --seeds: %q is not a seed (want numbers, e.g. 1,2,3)", s)
		}
		seeds = append(seeds, n)
	}
	if f.budget < 0 {
		return usagef("experiment: --budget must be ≥ 1")
	}
	out := f.out
	if out == "" {
		out = filepath.Join("runs", base.Name+"-experiment")
	}
	if out, err = filepath.Abs(out); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := ensureSeeds(base); err != nil {
		return err
	}
	if err := base.CheckModelPaths(); err != nil {
		return &evomerge.ConfigError{File: f.config, Err: err}
	}
	st, err := openStore(g)
	if err != nil {
		return err
	}
	if f.taskQueue, err = storeQueue(f.taskQueue, st); err != nil {
		return err
	}
	budget := base.Evolution.Budget
	if f.budget > 0 {
		budget = f.budget
	}
	return withSession(ctx, g, &f.runFlags, st, base.Evaluator, func(ctx context.Context, c client.Client) error {
		var runs []evomerge.ExperimentRun
		start := time.Now()
		for _, seed := range seeds {
			for _, s := range strategies {
				cfg := *base
				cfg.Name = fmt.Sprintf("%s-%s-seed%d", base.Name, s, seed)
				cfg.Seed = seed
				cfg.Evolution.Strategy, cfg.Evolution.Budget, cfg.Evolution.EarlyStop = s, budget, nil
				cfg.OutputDir = filepath.Join(out, fmt.Sprintf("%s-seed%d", s, seed))
				if err := cfg.Normalize(); err != nil {
					return &evomerge.ConfigError{File: f.config, Err: err}
				}
				t := time.Now()
				res, err := executeRun(ctx, c, &f.runFlags, &cfg, "", false)
				if err != nil {
					return err
				}
				r := evomerge.RunOf(s, res.Report.Report)
				runs = append(runs, r)
				fmt.Fprintf(os.Stderr, "experiment: %-7s seed %d: hypervolume %.4f, best validation accuracy %.4f (test %.4f), front %d, %d evaluations, %.0f s\n",
					s, seed, r.Hypervolume, r.BestAccuracy, r.BestTestAccuracy, r.FrontSize, r.Evaluations, time.Since(t).Seconds())
			}
		}
		if err := evomerge.WriteExperiment(out, runs); err != nil {
			return err
		}
		fmt.Print(evomerge.ExperimentTable(evomerge.Summarize(runs)))
		fmt.Fprintf(os.Stderr, "experiment: %d runs of %d evaluations in %.0f s; %s, %s and %s in %s\n", len(runs), budget,
			time.Since(start).Seconds(), evomerge.ExperimentCSV, evomerge.ExperimentMD, evomerge.ExperimentPNG, out)
		return nil
	})
}
