"""Running a list of cells on the run's executor, and what they did.

Why apart from the runner: the grid and the tuning trials (bench.run.tuning) are both lists of
cells run the same way: on Ray, in worker processes or in this process, longest first, one
progress line per finished cell.

    run_cells(cfg, out, cells, evaluators, shared, data, device, workers, files, outcome, timings, headline)
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from bench.config import CellConfig, RunConfig
from bench.data.datasets import ImageData, to_float
from bench.evaluators import Evaluator
from bench.plugins import load_all_models
from bench.progress import RunProgress
from bench.run.cell import CellReport, cell_line, execute_cell
from bench.store.cell import CellStore


@dataclass
class RunOutcome:
    out: Path
    n_cells: int
    failures: list[str] = field(default_factory=list)
    trained: int = 0          # cells trained (or fitted) in this invocation, not loaded
    evaluated: int = 0        # evaluator runs done in this invocation
    repairs: list[str] = field(default_factory=list)  # damaged files moved aside and recomputed
    cells_peak_rss_mb: float = 0.0  # the largest peak memory of a process that ran cells

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def merge(self, report: "CellReport", timings: dict[str, float]) -> None:
        self.trained += report.trained
        self.evaluated += report.evaluated
        self.repairs += report.repairs
        self.cells_peak_rss_mb = max(self.cells_peak_rss_mb, report.peak_rss_mb)
        if report.failure:
            self.failures.append(report.failure)
        for key, seconds in report.timings.items():
            timings[key] = timings.get(key, 0.0) + seconds


def executor_session(cfg: RunConfig):
    """What the executor holds for a whole run: a Ray session with --executor ray, else nothing."""
    if cfg.executor == "ray":
        from bench.run.ray_executor import ray_session
        return ray_session(cfg)
    return contextlib.nullcontext()


def run_cells(cfg: RunConfig, out: Path, cells: list[CellConfig], evaluators: list[Evaluator],
              shared, data: ImageData, device, workers: int, files: list[str], outcome: RunOutcome,
              timings: dict[str, float], headline: list[str]) -> None:
    """Run `cells` on the run's executor (Ray, worker processes or this process), one progress
    line per finished cell; what each did is merged into `outcome` and `timings`."""
    status_queue = None
    workers = min(workers, len(cells))
    if cfg.executor == "ray":
        from bench.run.ray_executor import run_ray
        reports = run_ray(cfg, out, longest_first(cells), evaluators, shared, files)
    elif cfg.executor == "local" and workers > 1:
        from bench.run.parallel import run_parallel, worker_context
        status_queue = worker_context().Queue()
        reports = run_parallel(cfg, out, longest_first(cells), evaluators, shared, workers, files,
                               status_queue)
    else:
        x_train, x_test = to_float(data.x_train, device), to_float(data.x_test, device)
        reports = (execute_cell(out, c, cfg.force, data, x_train, x_test, evaluators, shared)
                   for c in cells)
    by_name = {c.dirname: c for c in cells}
    with RunProgress(len(cells), workers_queue=status_queue) as progress:
        for report in reports:
            outcome.merge(report, timings)
            progress.cell_done(cell_line(CellStore(out, by_name[report.cell]), report, headline))


FAMILY_COST = {"conv": 0, "dense": 1, "linear": 2, "baseline": 2}  # start tiers: conv trains ~4.5x dense
# `raw` trains nothing, but its code is every pixel: its evaluators (k-NN, k-means, the probe,
# UMAP) take about as long as a dense cell's training and evaluation together, twice `pca`'s
MODEL_COST = {"raw": 1}


def longest_first(cells: list[CellConfig]) -> list[CellConfig]:
    """Cells in the order parallel workers should start them: the slow (convolutional) ones
    first, so that the last cells to finish are short ones and no worker idles at the end
    waiting for one long cell (longest-processing-time-first scheduling). Results do not
    depend on the order: every cell is seeded on its own."""
    registry = load_all_models()

    def tier(cell: CellConfig) -> int:
        return MODEL_COST.get(cell.model, FAMILY_COST.get(registry.get(cell.model).meta.get("family"), 1))
    return sorted(cells, key=tier)
