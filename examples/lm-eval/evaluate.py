#!/usr/bin/env python3
"""Score one evomerge model with lm-evaluation-harness, for evomerge's command evaluator.

evomerge runs this program once per model, as an argument list (no shell):

    python3 evaluate.py --model {model} --result {result} --tasks arc_easy,hellaswag

{model} is a folder with model.safetensors and the base model's config.json and
tokenizer files (evaluator.model_files, by default the base model's folder). The
program writes {"metrics": {...}} to {result}:

    accuracy            the mean over tasks of each task's --metric (default acc_norm,
                        else acc): what evomerge's accuracy gate and "best child" read
    <task>.<metric>     every numeric metric lm-eval reports, e.g. arc_easy.acc_norm,
                        hellaswag.acc, wikitext.word_perplexity (stderrs left out)

Any of these can be an objective in the run config (give a direction for names
evomerge does not know). Exit status 75 (EX_TEMPFAIL) tells evomerge the failure is
transient (CUDA out of memory: another job held the GPU) and the benchmark is retried;
any other failure stops the run with this program's output quoted.
"""

import argparse
import json
import math
import os
import sys

EX_TEMPFAIL = 75


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="model folder ({model})")
    p.add_argument("--result", required=True, help="where to write the metrics ({result})")
    p.add_argument("--tasks", default="arc_easy", help="comma-separated lm-eval tasks")
    p.add_argument("--metric", default="acc_norm", help="per-task metric averaged into 'accuracy' (falls back to acc)")
    p.add_argument("--num-fewshot", type=int, default=None)
    p.add_argument("--batch-size", default="auto")
    p.add_argument("--limit", type=float, default=None, help="examples per task (for quick runs; not for real numbers)")
    p.add_argument("--dtype", default="bfloat16")
    p.add_argument("--device", default=None, help="e.g. cuda:0 (default: lm-eval's choice)")
    args = p.parse_args()

    try:
        import lm_eval
    except ImportError:
        print("lm-evaluation-harness is not installed: pip install lm-eval", file=sys.stderr)
        return 1

    tasks = [t for t in args.tasks.split(",") if t]
    try:
        out = lm_eval.simple_evaluate(
            model="hf",
            model_args=f"pretrained={os.path.abspath(args.model)},dtype={args.dtype}",
            tasks=tasks,
            num_fewshot=args.num_fewshot,
            batch_size=args.batch_size,
            limit=args.limit,
            device=args.device,
        )
    except Exception as e:  # noqa: BLE001 - classify, then report
        if "out of memory" in str(e).lower():
            print(f"transient: {e}", file=sys.stderr)
            return EX_TEMPFAIL
        raise

    metrics = {}
    chosen = []
    for task, res in sorted(out["results"].items()):
        for key, value in sorted(res.items()):
            # lm-eval names metrics "acc,none" (metric, filter); keep the numeric ones.
            name, _, filt = key.partition(",")
            if name.endswith("_stderr") or not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if not math.isfinite(value):
                print(f"{task}: {key} = {value} is not finite", file=sys.stderr)
                return 1
            label = f"{task}.{name}" if filt in ("", "none") else f"{task}.{name}.{filt}"
            metrics[label] = float(value)
        for m in (args.metric, "acc"):
            if f"{task}.{m}" in metrics:
                chosen.append(metrics[f"{task}.{m}"])
                break
    if not chosen:
        print(f"no task reported {args.metric} or acc; got {sorted(metrics)}", file=sys.stderr)
        return 1
    metrics["accuracy"] = sum(chosen) / len(chosen)

    tmp = args.result + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"metrics": metrics}, f)
    os.replace(tmp, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
