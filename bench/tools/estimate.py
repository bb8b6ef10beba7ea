"""What a study will cost, before it starts: its cells priced from a finished run's own records.

Why: the studies (tuning, latent sizes, a longer budget) run for hours on 2 cores; the issue
asks to budget them before starting. Every finished cell records its training seconds and each
evaluation's seconds, so a study is priced from measurements on this machine: a tuning trial is
5/6 of a training plus the criterion's evaluation, a longer budget scales training by its
epochs, a grid cell is a training plus its evaluations. Single-core seconds are summed, then
divided by the workers (an upper bound on the speed-up; the last cells leave workers idle).

    python -m bench.tools.estimate reports/example --tune 8 --seeds 0,1,2
    python -m bench.tools.estimate reports/example --epochs 32 --models conv_ae,conv_vae,dense_ae,vae --seeds 0,1,2
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from bench.store.run_record import read_run_manifest, run_cells
from bench.tune import CRITERIA, VALIDATION_SHARE


def measured(out: Path) -> dict[str, dict[str, float]]:
    """Per model, mean over its cells: training seconds, all evaluations' seconds, and each
    evaluator's seconds (as `eval:<name>`)."""
    manifest = read_run_manifest(out)
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    for cell in run_cells(out, manifest):
        info = cell.train_info()
        if not info:
            continue
        counts[cell.cfg.model] += 1
        sums[cell.cfg.model]["train"] += info.get("seconds", 0.0)
        sums[cell.cfg.model]["trainable"] += float(bool(info.get("trainable")))
        for record in cell.evals():
            sums[cell.cfg.model]["eval"] += record.get("seconds", 0.0)
            sums[cell.cfg.model][f"eval:{record['evaluator']}"] += record.get("seconds", 0.0)
    return {m: {k: v / counts[m] for k, v in s.items()} for m, s in sums.items()}


def estimate(costs: dict[str, dict[str, float]], models: list[str], seeds: int, epochs_ratio: float,
             tune: int | None, criterion: str = "recon") -> dict[str, float]:
    """Single-core seconds of the trials and of the grid."""
    evaluator = f"eval:{CRITERIA[criterion][0]}"
    trials = grid = 0.0
    for model in models:
        c = costs[model]
        train = c["train"] * epochs_ratio
        grid += seeds * (train + c["eval"])
        if tune and c.get("trainable"):
            share = 1 - 1 / VALIDATION_SHARE
            trials += (tune + 1) * (share * train + c.get(evaluator, 0.0))
    return {"trials": trials, "grid": grid}


def priced(argv: list[str]) -> dict[str, float]:
    """The single-core seconds of `python -m bench.tools.estimate ARGV` (for bench.tools.findings)."""
    args = _parser().parse_args(argv)
    return _priced(args, measured(args.run))


def _priced(args: argparse.Namespace, costs: dict) -> dict[str, float]:
    models = [m for m in args.models.split(",") if m] or list(costs)
    run_epochs = read_run_manifest(args.run).config["train"]["epochs"] or 8
    ratio = (args.epochs or run_epochs) / run_epochs
    return estimate(costs, models, len(args.seeds.split(",")), ratio, args.tune, args.tune_select)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run whose cells price the study")
    parser.add_argument("--models", default="", help="comma-separated (default: the run's)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds of the study")
    parser.add_argument("--epochs", type=int, default=None, help="the study's epochs (default: the run's)")
    parser.add_argument("--tune", type=int, default=None, help="trials per model")
    parser.add_argument("--tune-select", default="recon", choices=sorted(CRITERIA))
    parser.add_argument("--workers", type=int, default=2)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    costs = measured(args.run)  # read once: the price and the count below
    seconds = _priced(args, costs)
    models = [m for m in args.models.split(",") if m] or list(costs)
    total = seconds["trials"] + seconds["grid"]
    print(f"priced from {args.run} ({len(models)} models, measured per cell on its machine)")
    for part, value in seconds.items():
        print(f"  {part:7s} {value / 3600:6.2f} core-hours")
    print(f"  total   {total / 3600:6.2f} core-hours: about {total / args.workers / 60:.0f} minutes "
          f"wall on {args.workers} workers (at best)")


if __name__ == "__main__":
    main()
