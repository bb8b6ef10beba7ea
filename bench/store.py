"""The results store: one directory per cell, keyed by its config hash, every file atomic.

Why: a finished cell is never recomputed (resume is the default), a killed run never leaves a file
that looks finished, and the report is rebuilt from these files alone.

    <out>/run.json                      the run's config, its cells, environment, phase timings
    <out>/cells/<model>-z32-s0-<hash>/  config.json, model.pt, history.csv, train.json,
                                        embeddings.npz, eval_<name>.json, art_<name>.npz,
                                        outcomes_<name>.npz (per-image outcomes), error.txt
    <out>/results.csv                   long format, one row per metric
"""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from bench import atomic
from bench.config import CellConfig

# `dataset` last: the first seven are the foundation's contract, kept in their order.
RESULT_COLUMNS = ["model", "seed", "latent_dim", "evaluator", "metric", "value", "higher_is_better",
                  "dataset"]
# 2: cells keyed by the model protocol alone (the plugin loader moved out of model_api.py),
#    per-image outcomes, evaluator cards in run.json.
STORE_FORMAT = 2


class StoreError(RuntimeError):
    """The results directory cannot be used: missing, not a directory, or another version's."""


class CellStore:
    def __init__(self, root: Path, cfg: CellConfig):
        self.cfg = cfg
        self.dir = Path(root) / "cells" / cfg.dirname

    # ---- lifecycle
    def reset(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def begin(self) -> None:
        """Record the config and clear a previous failure (this attempt replaces it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "error.txt").unlink(missing_ok=True)
        atomic.write_json(self.dir / "config.json", self.cfg.to_dict())

    def fail(self, phase: str, reason: str, detail: str = "") -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        atomic.write_json(self.dir / "error.json", {"phase": phase, "reason": reason})
        atomic.write_text(self.dir / "error.txt", f"{phase}: {reason}\n\n{detail}")

    @property
    def failed(self) -> bool:
        return (self.dir / "error.txt").exists()

    # ---- training
    @property
    def trained(self) -> bool:
        return (self.dir / "train.json").exists()  # written last, after the weights

    def save_training(self, state_dict, history: list[dict], info: dict) -> None:
        import torch

        atomic.write_with(self.dir / "model.pt", lambda f: torch.save(state_dict, f))
        atomic.write_text(self.dir / "history.csv", pd.DataFrame(history).to_csv(index=False))
        atomic.write_json(self.dir / "train.json", info)

    def load_state_dict(self):
        import torch

        return torch.load(self.dir / "model.pt", map_location="cpu", weights_only=True)

    def history(self) -> pd.DataFrame:
        path = self.dir / "history.csv"
        return pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()

    def train_info(self) -> dict:
        return _read_json(self.dir / "train.json") or {}

    # ---- embeddings
    def save_embeddings(self, z_train: np.ndarray, z_test: np.ndarray) -> None:
        save_npz(self.dir / "embeddings.npz", z_train=z_train, z_test=z_test)

    def load_embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        arrays = load_npz(self.dir / "embeddings.npz")
        return None if arrays is None else (arrays["z_train"], arrays["z_test"])

    # ---- evaluations
    def eval_path(self, name: str) -> Path:
        return self.dir / f"eval_{name}.json"

    def has_eval(self, name: str, version: int) -> bool:
        record = _read_json(self.eval_path(name))
        return record is not None and record.get("version") == version

    def save_eval(self, name: str, version: int, metrics, artifacts: dict, seconds: float,
                  per_image: dict | None = None) -> None:
        if artifacts:  # arrays first: the JSON is the "finished" marker
            save_npz(self.dir / f"art_{name}.npz", **artifacts)
        if per_image:
            save_npz(self.dir / f"outcomes_{name}.npz", **per_image)
        atomic.write_json(self.eval_path(name), {
            "evaluator": name, "version": version, "seconds": seconds,
            "metrics": [{"metric": m.metric, "value": m.value,
                         "higher_is_better": m.higher_is_better} for m in metrics]})

    def evals(self) -> list[dict]:
        return [r for p in sorted(self.dir.glob("eval_*.json")) if (r := _read_json(p))]

    def artifact(self, name: str) -> dict[str, np.ndarray] | None:
        return load_npz(self.dir / f"art_{name}.npz")

    def outcomes(self, name: str) -> dict[str, np.ndarray] | None:
        """Per-image outcomes of evaluator `name` (what the report's intervals resample)."""
        return load_npz(self.dir / f"outcomes_{name}.npz")

    def error(self) -> dict | None:
        return _read_json(self.dir / "error.json")


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic.write_bytes(path, buffer.getvalue())


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


# ---------------------------------------------------------------------- the run as a whole
def write_run_manifest(out: Path, manifest: dict) -> None:
    atomic.write_json(Path(out) / "run.json", {"store_format": STORE_FORMAT, **manifest})


def read_run_manifest(out: Path) -> dict:
    manifest = _read_json(Path(out) / "run.json")
    if manifest is None:
        raise StoreError(f"{out} has no run.json: not an aebench results directory")
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
