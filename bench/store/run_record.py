"""The run as a whole: run.json (the manifest every cell and report reads), its format, and
the long results table collected from the cells' verified evaluation records.

Why apart from `bench.store.cell`: that file is one cell's files; this one is the directory's
contract with the report and with other aebench versions (`STORE_FORMAT`).

    manifest = read_run_manifest(out); results, failures = collect_results(run_cells(out, manifest))
"""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import pandas as pd

from bench import atomic
from bench.config import CellConfig
from bench.store.records import _read_json
from bench.store.cell import CellStore

# `dataset` last: the first seven are the foundation's contract, kept in their order.
RESULT_COLUMNS = ["model", "seed", "latent_dim", "evaluator", "metric", "value", "higher_is_better",
                  "dataset"]
# 3: cells keyed by a typed training spec and TRAINING_VERSION (bench.config.CELL_FORMAT),
#    compact per-image outcomes.
STORE_FORMAT = 3


class StoreError(RuntimeError):
    """The results directory cannot be used: missing, not a directory, or another version's."""


class DamagedManifestError(StoreError):
    """run.json exists but cannot be read (truncated, garbled): a run replaces it."""


@dataclass
class RunManifest:
    """run.json, typed: what the runner knows about a run and the report, the sweep index and
    the tools read. The runner is its one writer (at the start, after the cells, after the
    report); every reader gets this class, never a loose dict."""

    config: dict                    # RunConfig.to_dict()
    cells: list[dict]               # CellConfig.to_dict() of every cell in the grid
    evaluators: dict[str, int]      # name -> version: results of other versions are stale
    evaluator_cards: dict[str, dict]  # Evaluator.card(): metrics, groups, help, sections
    models: dict[str, dict]         # model cards (registry metadata)
    data: dict                      # name, n_train, n_test, input_shape
    environment: dict               # device, training precision, threads, platform, versions, git commit
    timings: dict[str, float] = field(default_factory=dict)  # phase -> seconds, summed over processes
    notes: list[str] = field(default_factory=list)  # shared inputs' remarks (e.g. a missing outlier set)
    judge: str | None = None        # the judge folder under judge/ that scored this run
    workers: int = 1
    executor: str = "local"
    repairs: list[str] = field(default_factory=list)  # damaged files moved aside and recomputed
    cost: dict | None = None        # provenance.run_cost: wall time, peak memory, evaluation share
    tuning: dict | None = None      # --tune: the trials, their scores and the selection (bench.run.tuning)

    def write(self, out: Path) -> None:
        atomic.write_json(Path(out) / "run.json", {"store_format": STORE_FORMAT, **asdict(self)})


FIELDS = {f.name for f in fields(RunManifest)}
# the fields without a default: a run.json without them cannot be reported on
REQUIRED = [f.name for f in fields(RunManifest)
            if f.default is MISSING and f.default_factory is MISSING]


def read_run_manifest(out: Path) -> RunManifest:
    path = Path(out) / "run.json"
    if not path.exists():
        raise StoreError(f"{out} has no run.json: not an aebench results directory")
    record = _read_json(path)
    if not isinstance(record, dict):
        raise DamagedManifestError(f"{path} is damaged (not readable JSON); run the benchmark "
                                   "into this directory again to rewrite it")
    if record.get("store_format") != STORE_FORMAT:
        raise StoreError(f"{out} was written by an incompatible aebench "
                         f"(store format {record.get('store_format')}, this one reads {STORE_FORMAT}: "
                         "its cells are keyed differently and lack the per-image outcomes that "
                         "intervals need; rerun into a new --out, or use the aebench that wrote it)")
    missing = [name for name in REQUIRED if not isinstance(record.get(name), (dict, list))]
    if missing:
        raise DamagedManifestError(f"{path} is damaged (no {', '.join(missing)}); run the benchmark "
                                   "into this directory again to rewrite it")
    return RunManifest(**{k: v for k, v in record.items() if k in FIELDS})


def run_cells(out: Path, manifest: RunManifest) -> list[CellStore]:
    return [CellStore(out, CellConfig.from_dict(c)) for c in manifest.cells]


def collect_results(cells: list[CellStore], evaluators: dict[str, int] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All metrics of the run's cells as one long table, and the failures as another; only
    the given evaluators at the given versions count (a stale result never reaches a report)."""
    rows, failures = [], []
    for cell in cells:
        c = cell.cfg
        if cell.failed:
            err = cell.error() or {"phase": "?", "reason": "see error.txt"}
            failures.append({"model": c.model, "seed": c.seed, "latent_dim": c.latent_dim, **err})
            continue
        for record in cell.evals():
            if evaluators is not None and evaluators.get(record["evaluator"]) != record["version"]:
                continue
            for m in record["metrics"]:
                rows.append({"model": c.model, "seed": c.seed, "latent_dim": c.latent_dim,
                             "evaluator": record["evaluator"], **m, "dataset": c.dataset})
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    return results, pd.DataFrame(failures, columns=["model", "seed", "latent_dim", "phase", "reason"])
