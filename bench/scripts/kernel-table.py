#!/usr/bin/python3
"""Medians and ratios of the packed kernels' benchmarks: reads `go test -bench
'BenchmarkOperator/.*/b1$' -count N -cpu 1,2 ./compress/bitnet ./compress/vptq
./compress/seedlm` output on stdin and prints a Markdown table, per package, variant
(bitnet vpb4/vpb5, seedlm prune0/prune0.25), shape and thread count: the median ns/op
and Gweights/s of the packed operator and of the dense baseline measured in the same
package's run, their ratio, and the spread (min–max Gweights/s) of each.

    go test ... | tee out.txt; bench/scripts/kernel-table.py < out.txt
"""
import collections
import re
import statistics
import sys

pkg = ""
runs = collections.defaultdict(list)  # (pkg, variant, kind, shape, threads) -> [(ns, gw)]
line_re = re.compile(r"^BenchmarkOperator/(?:(\S+?)/)?(packed|dense)/(\d+x\d+)/b1(?:-(\d+))?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) Gweights/s")
for line in sys.stdin:
    if line.startswith("pkg: "):
        pkg = line.split()[1].rsplit("/", 1)[-1]
        continue
    m = line_re.match(line)
    if not m:
        continue
    variant, kind, shape, threads, ns, gw = m.groups()
    runs[(pkg, variant or "-", kind, shape, int(threads or 1))].append((float(ns), float(gw)))

print("| package | variant | shape | threads | packed ns/op | packed Gw/s (min–max) | dense ns/op | dense Gw/s (min–max) | speed-up (median ratio) | n |")
print("|---|---|---|---|---|---|---|---|---|---|")
keys = sorted({k[:2] + k[3:] for k in runs}, key=lambda k: (k[0], k[1], int(k[2].split("x")[0]), k[3]))
for p, v, shape, t in keys:
    pk, dn = runs.get((p, v, "packed", shape, t)), runs.get((p, v, "dense", shape, t))
    if not pk or not dn:
        continue
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    spread = lambda xs: f"{min(x[1] for x in xs):.2f}–{max(x[1] for x in xs):.2f}"
    print(f"| {p} | {v} | {shape} | {t} | {med(pk, 0):,.0f} | {med(pk, 1):.2f} ({spread(pk)}) | "
          f"{med(dn, 0):,.0f} | {med(dn, 1):.2f} ({spread(dn)}) | **{med(dn, 0) / med(pk, 0):.2f}×** | {len(pk)} |")
