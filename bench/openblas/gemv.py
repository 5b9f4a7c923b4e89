#!/usr/bin/python3
"""The outside reference for evomerge's dense float32 kernel: OpenBLAS's SGEMV/SGEMM.

Multiplies the same shapes as codectest.BenchmarkOperator (256x784, 4096x4096,
16384x4096; batches 1 and 8) with numpy's float32 matmul and prints Gweights/s
(rows x cols x batch / seconds / 1e9), the unit the Go benchmarks report.

Run it with Debian's numpy and OpenBLAS (apt-get install python3-numpy
libopenblas0-pthread), once per thread count:

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/openblas/gemv.py
    OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/openblas/gemv.py

It prints which BLAS library the process actually loaded: without libopenblas, numpy
silently falls back to the reference BLAS, about ten times slower, and the comparison
would mean nothing. It exits with status 1 in that case.
"""
import os
import statistics
import sys
import time

import numpy as np

SHAPES = [(256, 784), (4096, 4096), (16384, 4096)]
BATCHES = [1, 8]


def loaded_blas():
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            base = os.path.basename(path)
            if "blas" in base or "lapack" in base:
                libs.add(path)
    return sorted(libs)


def measure(w, x, y, min_seconds=0.5):
    # Warm up, then time repetitions in rounds of about 50 ms; report the median round.
    np.matmul(w, x, out=y)
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(w, x, out=y)
        dt = time.perf_counter() - t0
        if dt > 0.05:
            break
        reps *= 2
    rounds = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_seconds or len(rounds) < 5:
        t0 = time.perf_counter()
        for _ in range(reps):
            np.matmul(w, x, out=y)
        rounds.append((time.perf_counter() - t0) / reps)
    return statistics.median(rounds)


def main():
    np.matmul(np.ones((4, 4), np.float32), np.ones((4, 1), np.float32))  # load the BLAS
    libs = loaded_blas()
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "(unset: all cores)")
    print(f"numpy {np.__version__}; BLAS loaded: {', '.join(libs) or 'none found'}")
    print(f"OPENBLAS_NUM_THREADS={threads}")
    if not any("openblas" in l for l in libs):
        print("not OpenBLAS: install libopenblas0-pthread, or the numbers are the reference BLAS's", file=sys.stderr)
        sys.exit(1)
    rng = np.random.default_rng(1)
    for rows, cols in SHAPES:
        w = rng.standard_normal((rows, cols), dtype=np.float32)
        for n in BATCHES:
            x = rng.standard_normal((cols, n), dtype=np.float32)
            y = np.empty((rows, n), np.float32)
            sec = measure(w, x, y)
            print(f"openblas/{rows}x{cols}/b{n}\t{sec * 1e6:12.1f} us/op\t{rows * cols * n / sec / 1e9:8.3f} Gweights/s")


if __name__ == "__main__":
    main()
