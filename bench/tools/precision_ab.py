"""What mixed precision buys in the benchmark's own setting: the same grid run with
`--precision float32` and `--precision mixed`, in fresh processes taking turns, each into a new
results directory; prints each model's median training seconds (its cells' `train.json`), the
median wall time, and the ratios. Run it on an idle machine.

Why: a kernel microbenchmark (`bench.tools.perf`, one process, two threads) and a first run
measured on another hour of a machine that varies ~20% both overstate or understate what the
default's precision changes; interleaved rounds of the real command do not.

    python -m bench.tools.precision_ab --rounds 2
    python -m bench.tools.precision_ab -- --models conv_ae --limit 10000   # run_all.py options
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.store.run_record import read_run_manifest, run_cells

ROOT = Path(__file__).resolve().parents[2]
PRECISIONS = ("float32", "mixed")
RUN = ["--models", "conv_ae,conv_vae,dense_ae,vae", "--evaluators", "reconstruction",
       "--limit", "10000", "--workers", "2", "-q"]


def one_run(precision: str, out: Path, run_args: list[str]) -> tuple[float, dict[str, float]]:
    """Wall seconds of the run and each model's training seconds (summed over its cells)."""
    start = time.perf_counter()
    code = subprocess.run([sys.executable, str(ROOT / "run_all.py"), *run_args, "--precision", precision,
                           "--out", str(out)], cwd=ROOT, stdout=subprocess.DEVNULL).returncode
    if code != 0:
        raise SystemExit(f"error: run_all.py exited with {code} (--precision {precision})")
    wall = time.perf_counter() - start
    train: dict[str, float] = {}
    for cell in run_cells(out, read_run_manifest(out)):
        train[cell.cfg.model] = train.get(cell.cfg.model, 0.0) + cell.train_info()["seconds"]
    return wall, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.precision_ab",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("run_args", nargs="*", help="run_all.py options (after --) instead of the default grid")
    args = parser.parse_args(argv)
    run_args = args.run_args or RUN
    walls: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    trains: dict[str, dict[str, list[float]]] = {p: {} for p in PRECISIONS}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for precision in PRECISIONS:
                wall, train = one_run(precision, Path(tmp) / f"{precision}-{r}", run_args)
                walls[precision].append(wall)
                for model, seconds in train.items():
                    trains[precision].setdefault(model, []).append(seconds)
    med = {p: {m: statistics.median(s) for m, s in trains[p].items()} for p in PRECISIONS}
    print(f"{'':16}{'float32 s':>10}{'mixed s':>10}{'ratio':>8}")
    for model in sorted(med["float32"], key=med["float32"].get, reverse=True):
        a, b = med["float32"][model], med["mixed"].get(model, float("nan"))
        print(f"{model:16}{a:10.1f}{b:10.1f}{a / b if b else float('nan'):7.2f}x")
    a, b = (statistics.median(walls[p]) for p in PRECISIONS)
    print(f"{'wall':16}{a:10.1f}{b:10.1f}{a / b:7.2f}x")
    print(f"medians of {args.rounds} rounds taking turns; {' '.join(run_args)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
