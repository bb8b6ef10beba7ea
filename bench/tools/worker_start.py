"""What the worker processes' start method costs: the same small `--workers N` run, its workers
spawned (fresh interpreters) or forked from the fork server (`bench.run.parallel.worker_context`),
in fresh processes taking turns; prints each method's median wall time and CPU time (all
processes of the machine, from /proc/stat: the fork server reaps the workers, so their CPU time
never reaches the run's own accounting; run it on an idle machine) and the ratios.

Why: with small grids (and in the test suite, where cores are shared) a worker's ~6 s of imports
is a large part of the run; this measures what forking the workers from one warm server saves.

    python -m bench.tools.worker_start --rounds 3
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ("spawn", "forkserver")
RUN = ["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "dense_ae,pca",
       "--evaluators", "reconstruction,kmeans", "-q"]


def one_run(method: str, out: str, workers: int) -> float:
    """In a fresh interpreter: the run with the given start method; its wall time from start."""
    start = time.perf_counter()
    from bench.cli import main
    from bench.run import parallel

    if method == "spawn":
        parallel.worker_context = lambda: multiprocessing.get_context("spawn")
    if main(RUN + ["--workers", str(workers), "--out", out]) != 0:
        raise SystemExit(f"the {method} run failed")
    return time.perf_counter() - start


def busy_seconds() -> float:
    """CPU-seconds the whole machine has spent busy since boot (Linux), NaN elsewhere."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.worker_start",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--one", choices=METHODS, help=argparse.SUPPRESS)  # a child's method
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(f"{one_run(args.one, args.out, args.workers):.3f}")
        return 0
    seconds: dict[str, list[float]] = {m: [] for m in METHODS}
    cpu: dict[str, list[float]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for method in METHODS:
                out = Path(tmp) / f"{method}-{r}"
                before = busy_seconds()
                child = subprocess.run([sys.executable, "-m", "bench.tools.worker_start", "--one",
                                        method, "--out", str(out), "--workers", str(args.workers)],
                                       capture_output=True, text=True, check=True)
                cpu[method].append(busy_seconds() - before)
                seconds[method].append(float(child.stdout.strip().splitlines()[-1]))
    wall = {m: statistics.median(s) for m, s in seconds.items()}
    busy = {m: statistics.median(c) for m, c in cpu.items()}
    for method in METHODS:
        print(f"{method:10s} wall {wall[method]:6.2f} s ({', '.join(f'{v:.2f}' for v in seconds[method])})"
              f"   CPU {busy[method]:6.1f} s ({', '.join(f'{v:.1f}' for v in cpu[method])})")
    print(f"spawn / forkserver: wall {wall['spawn'] / wall['forkserver']:.2f}x, "
          f"CPU {busy['spawn'] / busy['forkserver']:.2f}x "
          f"({args.workers} workers, medians of {args.rounds} rounds taking turns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
