"""Several datasets in one command: an ordinary run per dataset in `OUT/<dataset>/`, and an
index report at `OUT/` that puts their leaderboards side by side.

Why one directory per dataset: each is a complete run (its cells, its report, resumable on its
own, and shared with a one-dataset run of the same settings, `--out OUT/<dataset>`); the index
only reads them. A dataset whose files cannot be had is reported and the others still run.

    outcome = run_sweep(RunConfig(datasets=("mnist", "kmnist")).validated(), Path("reports/x"))
"""
from __future__ import annotations

import logging
from pathlib import Path

from bench import atomic
from bench.config import ConfigError, RunConfig
from bench.data.datasets import DATASETS
from bench.data.sources import DataUnavailableError
from bench.run.runner import RunOutcome, check_out_dir, resolve, run
from bench.report.sweep import SWEEP_FILE, build_sweep_report

log = logging.getLogger(__name__)


def run_sweep(cfg: RunConfig, out: Path) -> RunOutcome:
    """Run every dataset of `cfg` (one is simply `run`), then write the index report."""
    if len(cfg.datasets) == 1:
        return run(cfg, out)
    for name in cfg.datasets:  # every name checked before anything trains
        DATASETS.get(name)
    resolve(cfg.per_dataset()[0])
    from bench.train import pick_device
    pick_device(cfg.device)  # usage errors before the sweep writes anything
    if (out / "run.json").exists():
        raise ConfigError(f"--out {out} holds a one-dataset run; a sweep over several datasets "
                          "needs its own directory")
    if not (out / SWEEP_FILE).exists():  # a sweep directory is resumed, like a run's
        check_out_dir(out)
    atomic.write_json(out / SWEEP_FILE, {"datasets": list(cfg.datasets), "config": cfg.to_dict()})
    total = RunOutcome(out, 0)
    for sub in cfg.per_dataset():
        log.info("sweep: dataset %s", sub.dataset)
        try:
            outcome = run(sub, out / sub.dataset)
        except DataUnavailableError as exc:  # the other datasets still run
            log.error("dataset %s skipped: %s", sub.dataset, exc)
            total.failures.append(f"{sub.dataset}: data unavailable: {str(exc).splitlines()[0]}")
            continue
        total.n_cells += outcome.n_cells
        total.trained += outcome.trained
        total.evaluated += outcome.evaluated
        total.failures += outcome.failures
    build_sweep_report(out)
    return total
