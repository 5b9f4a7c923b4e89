#!/bin/sh
# The README's codec table for one uncompressed model (typically a run's best merge,
# runs/mnist-demo/best-merge/model.safetensors): each codec with its defaults, and BitNet
# with distillation recovery; each compressed model scored by `evomerge bench` as it
# runs (packed kernels) and timed interleaved against MODEL.
#
#   bench/scripts/codec-table.sh runs/mnist-demo/best-merge/model.safetensors
set -eu
model=${1:?usage: codec-table.sh MODEL.safetensors}
evomerge=${EVOMERGE:-go run ./cmd/evomerge}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$evomerge bench -e mnist --json "$model" > "$out/dense.json"
row() { # name, then compress arguments
	name=$1; shift
	$evomerge compress "$@" "$model" "$out/$name" > /dev/null
	$evomerge bench -e mnist --json --latency-runs 400 --reference "$model" "$out/$name/model.safetensors" > "$out/$name.json"
	echo "$name" >> "$out/rows"
}
row bitnet -a bitnet
row bitnet+distill -a bitnet --distill-steps 500
row vptq -a vptq
row seedlm -a seedlm
python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
dense = json.load(open(os.path.join(d, "dense.json")))
fp16 = 2 * dense["params"]
print(f"dense float32: test accuracy {dense['test_accuracy']:.4f} (validation {dense['accuracy']:.4f}), {dense['size_bytes']} bytes, {dense['params']} parameters (fp16: {fp16} bytes)")
print()
print("| codec | bits/weight (file) | size vs fp16 | whole-model speed-up | weight memory vs fp16 | test accuracy | retained (test) | retained (validation) |")
print("|---|---|---|---|---|---|---|---|")
for name in open(os.path.join(d, "rows")).read().split():
    r = json.load(open(os.path.join(d, name + ".json")))
    bpw = 8 * r["size_bytes"] / dense["params"]
    print(f"| {name} | {bpw:.2f} | {fp16 / r['size_bytes']:.2f}x | {r['speedup']:.2f}x | {fp16 / r['weight_bytes']:.2f}x | "
          f"{r['test_accuracy']:.4f} | {100 * r['test_accuracy'] / dense['test_accuracy']:.1f}% | {100 * r['accuracy'] / dense['accuracy']:.1f}% |")
PY
