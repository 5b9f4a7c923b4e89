package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evomerge/evomerge/tensor"
)

// synthCmd writes a synthetic Llama-shaped base model and fine-tunes of it.
func synthCmd(g *globals) *cobra.Command {
	var out, dtype, shardSize string
	var c tensor.SynthConfig
	var fineTunes int
	cmd := &cobra.Command{
		Use:   "synth -o DIR [--hidden N --intermediate N --layers N --vocab N --fine-tunes N ...]",
		Short: "Write synthetic Llama-shaped checkpoints (DIR/base and DIR/ft-1..N: base + low-rank task vectors), deterministic from --seed",
		Long: `Write a synthetic Llama-shaped model family for merge tests and benchmarks, with no
download: DIR/base, and DIR/ft-1 ... DIR/ft-N, each a checkpoint folder (shards of at most
--shard-size, model.safetensors.index.json when there are several, config.json,
tokenizer.json, tokenizer_config.json). Fine-tune i is the base plus a task vector of its
own: rank --rank on every matrix with entries of --delta times the base's scale, plus
--noise dense noise. The same flags and seed give the same bytes.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("synth: -o DIR is required")
			}
			dt, ok := map[string]tensor.DType{"float32": tensor.F32, "f32": tensor.F32, "float16": tensor.F16, "f16": tensor.F16, "bfloat16": tensor.BF16, "bf16": tensor.BF16}[strings.ToLower(dtype)]
			if !ok {
				return usagef("synth: --dtype %q: want float32, float16 or bfloat16", dtype)
			}
			c.DType = dt
			n, err := parseByteSize(shardSize)
			if err != nil {
				return usagef("synth: --shard-size: %v", err)
			}
			c.ShardBytes = n
			if fineTunes < 0 {
				return usagef("synth: --fine-tunes must be ≥ 0")
			}
			infos, err := tensor.SynthTensors(c)
			if err != nil {
				return usagef("%v", err)
			}
			var params int64
			for _, info := range infos {
				params += int64(tensor.NumElements(info.Shape))
			}
			dirs := []string{filepath.Join(out, "base")}
			for i := 1; i <= fineTunes; i++ {
				dirs = append(dirs, filepath.Join(out, fmt.Sprintf("ft-%d", i)))
			}
			for _, d := range dirs {
				if st, err := os.Stat(d); err == nil && st.IsDir() {
					if entries, _ := os.ReadDir(d); len(entries) > 0 {
						return usagef("synth: %s exists and is not empty", d)
					}
				}
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return usagef("synth: -o: %v", err)
			}
			fmt.Fprintf(os.Stderr, "synth: %d tensors, %d parameters (%d bytes) per model, %d model(s)\n", len(infos), params, params*int64(dt.Size()), len(dirs))
			for i, d := range dirs {
				start := time.Now()
				written, err := tensor.WriteSynth(d, c, i)
				if err != nil {
					return err
				}
				fmt.Printf("%s: %d bytes of tensors in %.1f s\n", d, written, time.Since(start).Seconds())
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "out", "o", "", "output folder (gets base/ and ft-1/ ... ft-N/)")
	fl.IntVar(&c.Hidden, "hidden", 256, "hidden size")
	fl.IntVar(&c.Intermediate, "intermediate", 688, "MLP intermediate size")
	fl.IntVar(&c.Layers, "layers", 4, "decoder layers")
	fl.IntVar(&c.Vocab, "vocab", 1000, "vocabulary size")
	fl.IntVar(&c.Heads, "heads", 0, "attention heads (0: hidden/64)")
	fl.IntVar(&c.KVHeads, "kv-heads", 0, "key/value heads (0: as many as heads)")
	fl.StringVar(&dtype, "dtype", "bfloat16", "float32, float16 or bfloat16")
	fl.StringVar(&shardSize, "shard-size", "5B", "maximum tensor bytes per shard (5B = 5·10⁹; K, M, B/G, KiB, MiB, GiB)")
	fl.Uint64Var(&c.Seed, "seed", 1, "random seed")
	fl.IntVar(&fineTunes, "fine-tunes", 2, "number of fine-tunes of the base")
	fl.IntVar(&c.Rank, "rank", 4, "rank of each fine-tune's task vector per matrix")
	fl.Float64Var(&c.Delta, "delta", 0.1, "task vector scale relative to the base weights")
	fl.Float64Var(&c.Noise, "noise", 0, "dense noise added to the task vectors, relative to the base weights")
	return cmd
}
