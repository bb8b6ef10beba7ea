"""The run as a whole: run.json (the manifest every cell and report reads), its format, and
the long results table collected from the cells' verified evaluation records.

Why apart from `bench.store`: that file is one cell's files; this one is the directory's
contract with the report and with other aebench versions (`STORE_FORMAT`).

    manifest = read_run_manifest(out); results, failures = collect_results(run_cells(out, manifest))
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench import atomic
from bench.config import CellConfig
from bench.records import _read_json
from bench.store import CellStore

# `dataset` last: the first seven are the foundation's contract, kept in their order.
RESULT_COLUMNS = ["model", "seed", "latent_dim", "evaluator", "metric", "value", "higher_is_better",
                  "dataset"]
# 2: cells keyed by the model protocol alone (the plugin loader moved out of model_api.py),
#    per-image outcomes, evaluator cards in run.json.
STORE_FORMAT = 2


class StoreError(RuntimeError):
    """The results directory cannot be used: missing, not a directory, or another version's."""


class DamagedManifestError(StoreError):
    """run.json exists but cannot be read (truncated, garbled): a run replaces it."""


def write_run_manifest(out: Path, manifest: dict) -> None:
    atomic.write_json(Path(out) / "run.json", {"store_format": STORE_FORMAT, **manifest})


def read_run_manifest(out: Path) -> dict:
    path = Path(out) / "run.json"
    if not path.exists():
        raise StoreError(f"{out} has no run.json: not an aebench results directory")
    manifest = _read_json(path)
    if not isinstance(manifest, dict):
        raise DamagedManifestError(f"{path} is damaged (not readable JSON); run the benchmark "
                                   "into this directory again to rewrite it")
    if manifest.get("store_format") != STORE_FORMAT:
        raise StoreError(f"{out} was written by an incompatible aebench "
                         f"(store format {manifest.get('store_format')}, this one reads {STORE_FORMAT}: "
                         "its cells are keyed differently and lack the per-image outcomes that "
                         "intervals need; rerun into a new --out, or use the aebench that wrote it)")
    return manifest


def run_cells(out: Path, manifest: dict) -> list[CellStore]:
    return [CellStore(out, CellConfig(**c)) for c in manifest["cells"]]


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
