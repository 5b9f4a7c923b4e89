package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evomerge/evomerge/evomerge"
)

// mergeCmd is the one-off mergekit-style merge: no server, no store.
func mergeCmd(g *globals) *cobra.Command {
	var config, out, shardSize, cpuProfile string
	var asJSON, quiet bool
	cmd := &cobra.Command{
		Use:   "merge -c MERGEKIT_STYLE.yaml -o OUT_DIR",
		Short: "Merge models as a mergekit YAML config says, streaming tensor by tensor into a sharded checkpoint in OUT_DIR",
		Long: `Merge models as a mergekit YAML config describes (merge_method, base_model, models with
their parameters, global parameters with gradients and filters, dtype/out_dtype, slices
with layer_range including passthrough layer stacking, tokenizer_source). Models are local
checkpoint folders (model.safetensors or a sharded model.safetensors.index.json) or
.safetensors files, paths relative to the current directory. Tensors are read from
memory-mapped shards one at a time and merged in float32; OUT_DIR (which must not exist, or
be empty) appears only when the merge is complete. Errors in the config or the models exit
with code 2 and leave nothing behind.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if config == "" || out == "" {
				return usagef("merge: -c CONFIG and -o OUT_DIR are required")
			}
			shardBytes, err := parseByteSize(shardSize)
			if err != nil {
				return usagef("merge: --out-shard-size: %v", err)
			}
			if parent := filepath.Dir(filepath.Clean(out)); statOrNil(parent) == nil {
				return usagef("merge: -o %s: the parent folder %s does not exist", out, parent)
			}
			cfg, err := evomerge.LoadMergeKitConfig(config)
			if err != nil {
				return err
			}
			if os.Getenv("GOGC") == "" {
				// The merge reuses its buffers; a low GC target keeps the few per-tensor
				// allocations of the methods from growing the heap.
				debug.SetGCPercent(20)
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return usagef("merge: --cpuprofile: %v", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			start := time.Now()
			last := time.Now()
			opts := evomerge.MergeKitOptions{OutShardBytes: shardBytes}
			if !quiet {
				opts.Progress = func(done, total int, name string) {
					if done == total || time.Since(last) > 2*time.Second {
						last = time.Now()
						fmt.Fprintf(os.Stderr, "merged %d/%d tensors (%s)\n", done, total, name)
					}
				}
			}
			res, err := evomerge.MergeKit(cmd.Context(), cfg, out, opts)
			if err != nil {
				if errors.Is(err, evomerge.ErrMergeInput) {
					return usageError{fmt.Errorf("merge: %w", err)}
				}
				return fmt.Errorf("merge: %w", err)
			}
			wall := time.Since(start)
			if asJSON {
				return printJSON(map[string]any{"out": out, "result": res, "wall_seconds": wall.Seconds(),
					"input_gb_per_s": float64(res.InputBytes) / 1e9 / wall.Seconds()})
			}
			fmt.Printf("%s: %s merge, %d tensors, %d layers, %d shard(s); read %d bytes, wrote %d in %.1f s (%.2f GB/s read)\n",
				out, cfg.MergeMethod, res.Tensors, res.Layers, res.Shards, res.InputBytes, res.OutputBytes, wall.Seconds(),
				float64(res.InputBytes)/1e9/wall.Seconds())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&config, "config", "c", "", "mergekit-style YAML config")
	fl.StringVarP(&out, "out", "o", "", "output checkpoint folder (must not exist, or be empty)")
	fl.StringVar(&shardSize, "out-shard-size", "5B", "maximum tensor bytes per output shard: a number of bytes, or with suffix K, M, B/G (10³, 10⁶, 10⁹, as mergekit) or KiB, MiB, GiB")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	fl.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the merge to this file")
	fl.MarkHidden("cpuprofile")
	return cmd
}

// parseByteSize parses "5B", "500M", "1GiB", "123" as bytes (B and G both mean 10⁹ as
// in mergekit's --out-shard-size).
func parseByteSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1e3}, {"M", 1e6}, {"B", 1e9}, {"G", 1e9}} {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mult > 1<<62 {
		return 0, fmt.Errorf("%q is not a positive size (e.g. 5B, 500M, 1GiB, 1048576)", s)
	}
	return int64(v * mult), nil
}
