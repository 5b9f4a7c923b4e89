package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evomerge/evomerge/bench"
	"github.com/evomerge/evomerge/compress"
	"github.com/evomerge/evomerge/evomerge"
	"github.com/evomerge/evomerge/nn"
	"github.com/evomerge/evomerge/tensor"
)

// The one-off tools: compress, bench and inspect a model without a server.

// modelFile resolves a model argument to its safetensors file: the file itself, or
// DIR/model.safetensors. A missing path, a folder without a model or a sharded folder is
// a usage error.
func modelFile(arg string) (string, error) {
	st, err := os.Stat(arg)
	if err != nil {
		return "", usagef("%s: no such file or folder", arg)
	}
	if !st.IsDir() {
		return arg, nil
	}
	single := filepath.Join(arg, nn.ModelFile)
	if _, err := os.Stat(single); err == nil {
		return single, nil
	}
	if _, err := os.Stat(filepath.Join(arg, "model.safetensors.index.json")); err == nil {
		return "", usagef("%s is a sharded checkpoint; this command takes one safetensors file", arg)
	}
	return "", usagef("%s: folder has no %s", arg, nn.ModelFile)
}

// parseOptions turns repeated "key=value" flags into codec options.
func parseOptions(kvs []string) (compress.Options, error) {
	opts := compress.Options{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--option %q: want key=value", kv)
		}
		if _, dup := opts[k]; dup {
			return nil, usagef("--option %s is given twice", k)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, usagef("--option %s: %q is not a number", k, v)
		}
		opts[k] = f
	}
	return opts, nil
}

func compressCmd(g *globals) *cobra.Command {
	var alg string
	var kvs []string
	var asJSON bool
	var recovery evomerge.RecoverySpec
	cmd := &cobra.Command{
		Use:   "compress -a bitnet|vptq|seedlm [--option key=value ...] [--distill-steps N] IN OUT_DIR",
		Short: "Compress one model (a safetensors file or a folder with model.safetensors) into OUT_DIR/model.safetensors",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if alg == "" {
				return usagef("compress: -a ALGORITHM is required (one of %s)", strings.Join(compress.Names(), ", "))
			}
			opts, err := parseOptions(kvs)
			if err != nil {
				return err
			}
			codec, err := compress.New(alg, opts)
			if err != nil {
				return usagef("compress: %v", err)
			}
			var distill *nn.DistillConfig
			if recovery.Steps != 0 || recovery.LR != 0 {
				recovery.Kind = "distill"
				if err := recovery.Normalize(alg); err != nil {
					return usagef("compress: %v", strings.Replace(err.Error(), "compression.recovery.", "--distill-", 1))
				}
				distill = &nn.DistillConfig{Steps: recovery.Steps, BatchSize: recovery.BatchSize, LearningRate: recovery.LR, Temperature: recovery.Temperature}
			}
			src, err := modelFile(args[0])
			if err != nil {
				return err
			}
			out := args[1]
			dst := filepath.Join(out, nn.ModelFile)
			if a, b := statOrNil(src), statOrNil(dst); a != nil && b != nil && os.SameFile(a, b) {
				return usagef("compress: the output %s is the input %s", dst, src)
			}
			created := statOrNil(out) == nil
			if err := os.MkdirAll(out, 0o755); err != nil {
				return usagef("compress: OUT_DIR: %v", err)
			}
			start := time.Now()
			input := src
			if distill != nil {
				fmt.Fprintf(os.Stderr, "distilling %s for %s: %d steps of %d training images, lr %g …\n", src, alg, distill.Steps, distill.BatchSize, distill.LearningRate)
				tmp, err := os.CreateTemp(out, ".distilled-*.safetensors")
				if err != nil {
					return err
				}
				tmp.Close()
				defer os.Remove(tmp.Name())
				if err := nn.DistillFile(cmd.Context(), codec, src, tmp.Name(), *distill); err != nil {
					if created {
						os.RemoveAll(out)
					}
					return err
				}
				input = tmp.Name()
			}
			fmt.Fprintf(os.Stderr, "compressing %s with %s …\n", src, alg)
			stats, err := compressInto(cmd.Context(), codec, args[0], input, out)
			if err != nil {
				if created {
					os.RemoveAll(out) // this run made it: leave nothing behind
				}
				return err
			}
			if st := statOrNil(src); distill != nil && st != nil {
				// Sizes compare with the model the user gave, not the distilled copy.
				stats.InputBytes, stats.Ratio = st.Size(), float64(st.Size())/float64(max(stats.OutputBytes, 1))
			}
			if asJSON {
				return printJSON(stats)
			}
			fmt.Printf("%s: %s, %d matrices compressed (%d tensors kept as they were), %.2f bits per weight; %d → %d bytes (%.1f×) in %.1f s\n",
				dst, stats.Algorithm, stats.CompressedTensors, stats.DenseTensors, stats.BitsPerWeight,
				stats.InputBytes, stats.OutputBytes, stats.Ratio, time.Since(start).Seconds())
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&alg, "algorithm", "a", "", "codec: "+strings.Join(compress.Names(), ", "))
	fl.StringArrayVar(&kvs, "option", nil, "codec option key=value (repeatable), e.g. --option prune=0.25")
	fl.BoolVar(&asJSON, "json", false, "print the statistics as JSON")
	fl.IntVar(&recovery.Steps, "distill-steps", 0, "recover accuracy first by distillation from the input model on MNIST training images, this many steps (0: none; bitnet only)")
	fl.Float64Var(&recovery.LR, "distill-lr", 0, fmt.Sprintf("distillation learning rate (default %g)", evomerge.DefaultRecoveryLR))
	return cmd
}

func statOrNil(p string) os.FileInfo {
	st, err := os.Stat(p)
	if err != nil {
		return nil
	}
	return st
}

// compressInto writes the compressed model to out/model.safetensors: when the input is
// a model folder, its config.json first, so that a model.safetensors that exists is
// complete (as nn.Save does).
func compressInto(ctx context.Context, codec compress.Codec, arg, src, out string) (compress.Stats, error) {
	if st := statOrNil(arg); st != nil && st.IsDir() {
		if err := copyConfig(arg, out); err != nil {
			return compress.Stats{}, err
		}
	}
	return compress.CompressFile(ctx, codec, src, filepath.Join(out, nn.ModelFile))
}

// copyConfig copies a model folder's config.json into dstDir, if there is one.
func copyConfig(srcDir, dstDir string) error {
	src := filepath.Join(srcDir, nn.ConfigFile)
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer in.Close()
	return tensor.WriteAtomic(filepath.Join(dstDir, nn.ConfigFile), func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

func benchCmd(g *globals) *cobra.Command {
	var evaluator, reference, metricsOut string
	var limit, runs int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench -e mnist [--limit N] [--latency-runs N] [--reference MODEL] [--json | --metrics-out FILE] MODEL",
		Short: "Score one model (dense or compressed, run packed): accuracy, bytes on disk and in memory, batch-1 latency",
		Long: `Score one model as it would be deployed: a compressed model runs through its codec's
packed kernels, never a dequantized copy. Reports accuracy on the MNIST test images and on
the validation images (the last 10,000 training images, held out of all training: what a
run selects on), the file's size, the memory its weights hold, and the median batch-1 latency. With
--reference (typically the uncompressed model), both are timed interleaved and the
speed-up is the median ratio of their times.

--metrics-out FILE writes the result as a command evaluator's program does,
{"metrics": {"accuracy": …, "size_bytes": …, …}}, so a run can score models through
this command (configs/mnist-command.yaml) exactly as the built-in evaluator does.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if evaluator != "mnist" {
				return usagef("bench: unknown evaluator %q (known: mnist)", evaluator)
			}
			if limit < 0 || runs < 1 {
				return usagef("bench: --limit must be ≥ 0 and --latency-runs ≥ 1")
			}
			path, err := modelFile(args[0])
			if err != nil {
				return err
			}
			req := bench.Request{Model: path}
			if reference != "" {
				if req.Reference, err = modelFile(reference); err != nil {
					return err
				}
			}
			e, err := bench.NewMNIST(bench.MNISTSettings{Limit: limit, LatencyRuns: runs})
			if err != nil {
				return err
			}
			r, err := e.Evaluate(cmd.Context(), req)
			if err != nil {
				return err
			}
			if metricsOut != "" {
				if err := tensor.WriteAtomic(metricsOut, func(w io.Writer) error {
					return json.NewEncoder(w).Encode(map[string]any{"metrics": r.MetricMap()})
				}); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(r)
			}
			fp16 := 2 * r.Params
			fmt.Printf("%s: test accuracy %.4f on %d MNIST test images, validation accuracy %.4f on %d held-out training images, outputs finite: %v\n",
				path, r.TestAccuracy, r.TestExamples, r.Accuracy, r.Examples, r.Finite)
			fmt.Printf("  size      %d bytes on disk\n", r.SizeBytes)
			fmt.Printf("  memory    %d bytes of weights loaded (%.2f× smaller than fp16, %d parameters)\n", r.WeightBytes, float64(fp16)/float64(max(r.WeightBytes, 1)), r.Params)
			fmt.Printf("  latency   %.4f ms (median of %d batch-1 samples)\n", r.LatencyMs, runs)
			if reference != "" {
				fmt.Printf("  reference %.4f ms (%s, interleaved)\n  speed-up  %.2f× (median of paired ratios)\n", r.ReferenceLatencyMs, req.Reference, r.Speedup)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&evaluator, "evaluator", "e", "mnist", "evaluator: mnist")
	fl.IntVar(&limit, "limit", 0, "validation and test images to score, each (0: all 10,000)")
	fl.IntVar(&runs, "latency-runs", 200, "batch-1 latency samples timed")
	fl.StringVar(&reference, "reference", "", "a model to time interleaved with MODEL (its speed-up is reported)")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fl.StringVar(&metricsOut, "metrics-out", "", "also write the result to FILE as {\"metrics\": {...}}, the command evaluator's format")
	return cmd
}

func inspectCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect PATH",
		Short: "Show a checkpoint's tensors and metadata (a file, a folder, or a sharded folder), validating its headers",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := os.Stat(args[0])
			if err != nil {
				return usagef("%s: no such file or folder", args[0])
			}
			if st.IsDir() && statOrNil(filepath.Join(args[0], nn.ModelFile)) == nil && statOrNil(filepath.Join(args[0], "model.safetensors.index.json")) == nil {
				return usagef("%s: folder has neither %s nor model.safetensors.index.json", args[0], nn.ModelFile)
			}
			c, err := tensor.OpenCheckpoint(args[0])
			if err != nil {
				return err
			}
			defer c.Close()
			type row struct {
				Name  string `json:"name"`
				DType string `json:"dtype"`
				Shape []int  `json:"shape"`
				Bytes int64  `json:"bytes"`
			}
			var rows []row
			var total int64
			for _, in := range c.Infos() {
				rows = append(rows, row{in.Name, string(in.DType), in.Shape, in.End - in.Begin})
				total += in.End - in.Begin
			}
			meta := c.Metadata()
			if asJSON {
				return printJSON(map[string]any{"path": args[0], "metadata": meta, "tensors": rows, "tensor_bytes": total})
			}
			fmt.Printf("%s: %d tensors, %d bytes of tensor data\n", args[0], len(rows), total)
			if alg, ok := meta[compress.MetaAlgorithm]; ok {
				names := strings.Split(meta[compress.MetaTensors], ",")
				fmt.Printf("compressed with %s: %s\n", alg, strings.Join(names, ", "))
			}
			if len(meta) > 0 {
				fmt.Println("metadata:")
				for _, k := range slices.Sorted(maps.Keys(meta)) {
					v := meta[k]
					if r := []rune(v); len(r) > 120 {
						v = string(r[:117]) + "..."
					}
					fmt.Printf("  %s = %s\n", k, v)
				}
			}
			fmt.Printf("%-40s %-5s %-16s %12s\n", "tensor", "dtype", "shape", "bytes")
			for _, r := range rows {
				fmt.Printf("%-40s %-5s %-16s %12d\n", r.Name, r.DType, fmt.Sprint(r.Shape), r.Bytes)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return cmd
}

func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Println(string(b))
	return err
}
