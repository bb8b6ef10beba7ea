"""The results store: one directory per cell, keyed by its config hash, every file atomic.

Why: a finished cell is never recomputed (resume is the default), a killed run never leaves a file
that looks finished, and the report is rebuilt from these files alone. Every record that marks
something finished (train.json, embeddings.json, eval_<name>.json) carries the SHA-256 of the
files it declares and of its own content; a record or file that does not verify is *damaged*:
the runner moves it aside into the cell's `damaged/` folder (kept for inspection, named in the
log and the report) and recomputes only that part, and a reader skips it.

    <out>/run.json                      the run's config, its cells, environment, phase timings
    <out>/cells/<model>-z32-s0-<hash>/  config.json, model.pt, history.csv, train.json,
                                        resume-e<epoch>.pt + resume.json (while training),
                                        checkpoints.json (cheap metrics along the training),
                                        embeddings.npz + embeddings.json, eval_<name>.json,
                                        art_<name>.npz, outcomes_<name>.npz (per-image
                                        outcomes), error.txt, damaged/
    <out>/results.csv                   long format, one row per metric
"""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bench import atomic
from bench.config import CellConfig
from bench.faults import reached
from bench.store.outcomes import load_outcomes, save_outcomes
from bench.store.records import _read_json, file_lock, load_npz, read_record, save_npz, write_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Damage:
    """What is wrong in a cell: which file (a record, or a file a record declares) and why."""
    file: str
    reason: str

    def __str__(self) -> str:
        return self.reason


class CellStore:
    """One cell's files. With `repair` (the runner), damaged records and files are moved aside
    so that they are recomputed; without it (the report), they are only skipped."""

    def __init__(self, root: Path, cfg: CellConfig, repair: bool = False):
        self.cfg = cfg
        self.dir = Path(root) / "cells" / cfg.dirname
        self.repair = repair
        self.repairs: list[str] = []  # what was found damaged and moved aside, for the log

    # ---- integrity
    def inspect(self, name: str) -> tuple[dict | None, "Damage | None"]:
        """(record, damage): the record `name` and what is wrong with it or its files (None:
        nothing); moves nothing. A missing record is (None, None): not finished, not damaged."""
        path = self.dir / name
        if not path.exists():
            return None, None
        record, problem = read_record(path)
        if problem is not None:
            return record, Damage(name, problem)
        for file, digest in record.get("files", {}).items():
            if not (self.dir / file).exists():
                return record, Damage(file, f"{file} is missing")
            if atomic.sha256_file(self.dir / file) != digest:
                return record, Damage(file, f"{file} does not match its SHA-256 in {name}")
        return record, None

    def record(self, name: str) -> dict | None:
        """The record `name` (e.g. train.json) if it and every file it declares verify; None if
        it is missing or damaged (a damaged one is moved aside, with its files, when repairing)."""
        record, problem = self.inspect(name)
        if problem is None:
            return record
        self.damaged(problem, [name, *(record or {}).get("files", {})])
        return None

    def damaged(self, problem: "Damage | str", names: list[str]) -> None:
        message = f"{self.cfg.dirname}: {problem}"
        if not self.repair:
            log.warning("%s (skipped)", message)
            return
        aside = self.dir / "damaged"
        aside.mkdir(exist_ok=True)
        moved = []
        for name in names:
            if (self.dir / name).exists():
                target = aside / name
                n = 1
                while target.exists():
                    target, n = aside / f"{name}.{n}", n + 1
                (self.dir / name).rename(target)
                moved.append(name)
        self.repairs.append(f"{message}; moved {', '.join(moved) or 'nothing'} to damaged/ and recomputed it")
        log.warning("%s", self.repairs[-1])

    def _files(self, *names: str) -> dict[str, str]:
        return {n: atomic.sha256_file(self.dir / n) for n in names if (self.dir / n).exists()}

    # ---- lifecycle
    def lock(self, poll: float = 1.0):
        """Held while computing the cell: a second run on the same --out waits here, then
        finds the cell finished (see `records.file_lock`); yields whether it waited."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return file_lock(self.dir / "lock", self.cfg.dirname, poll)

    def reset(self) -> None:
        """Forget everything computed (--force), keeping the lock this run holds."""
        for path in self.dir.iterdir() if self.dir.exists() else []:
            if path.name != "lock":
                shutil.rmtree(path) if path.is_dir() else path.unlink()

    def begin(self) -> None:
        """Record the config and clear a previous failure (this attempt replaces it)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in ("error.txt", "error.json"):
            (self.dir / name).unlink(missing_ok=True)
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
        return self.record("train.json") is not None  # written last, after the weights

    def save_training(self, state_dict, history: list[dict], info: dict) -> None:
        import torch

        atomic.write_with(self.dir / "model.pt", lambda f: torch.save(state_dict, f))
        atomic.write_text(self.dir / "history.csv", pd.DataFrame(history).to_csv(index=False))
        reached("weights-saved")
        write_record(self.dir / "train.json", {**info, "files": self._files("model.pt", "history.csv", "checkpoints.json")})
        self._drop_resume()  # finished: the snapshots have done their job

    def save_resume(self, snapshot: dict) -> None:
        """The training state after an epoch (`bench.train`), for a run killed mid-training.
        Each epoch's snapshot is a new file, recorded only once whole: a kill while writing
        it leaves the previous epoch's snapshot and record as they were."""
        import torch

        name = f"resume-e{len(snapshot['history'])}.pt"
        atomic.write_with(self.dir / name, lambda f: torch.save(snapshot, f))
        reached("snapshot-saved")
        write_record(self.dir / "resume.json", {"epoch": len(snapshot["history"]),
                                                "files": self._files(name)})
        self._drop_resume(keep=name)

    def _drop_resume(self, keep: str = "") -> None:
        if not keep:
            (self.dir / "resume.json").unlink(missing_ok=True)
        for path in self.dir.glob("resume-e*.pt"):
            if path.name != keep:
                path.unlink()

    def load_resume(self) -> dict | None:
        """The last verified training snapshot, or None (none, or damaged: then moved aside)."""
        import torch

        record = self.record("resume.json")
        if record is None:
            return None
        return torch.load(self.dir / next(iter(record["files"])), map_location="cpu", weights_only=True)

    def save_checkpoints(self, record: dict) -> None:
        write_record(self.dir / "checkpoints.json", record)

    def checkpoints(self) -> dict:
        """The cheap metrics measured along the training (`bench.run.checkpoints`), or {}."""
        return self.record("checkpoints.json") or {}

    def load_state_dict(self):
        import torch

        return torch.load(self.dir / "model.pt", map_location="cpu", weights_only=True)

    def history(self) -> pd.DataFrame:
        path = self.dir / "history.csv"
        if self.inspect("train.json")[1] is not None or not path.exists() or not path.stat().st_size:
            return pd.DataFrame()
        return pd.read_csv(path)

    def train_info(self) -> dict:
        return self.record("train.json") or {}

    # ---- embeddings
    def save_embeddings(self, z_train: np.ndarray, z_test: np.ndarray, info: dict | None = None) -> None:
        save_npz(self.dir / "embeddings.npz", {"z_train": z_train, "z_test": z_test})
        reached("codes-saved")
        write_record(self.dir / "embeddings.json", {**(info or {}), "files": self._files("embeddings.npz")})

    def encode_rate(self) -> float | None:
        """Test images encoded per second when the codes were computed (the model card)."""
        return (self.record("embeddings.json") or {}).get("encode_images_per_s")

    def load_embeddings(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.record("embeddings.json") is None:
            return None
        arrays = load_npz(self.dir / "embeddings.npz")
        return None if arrays is None else (arrays["z_train"], arrays["z_test"])

    # ---- evaluations
    def eval_path(self, name: str) -> Path:
        return self.dir / f"eval_{name}.json"

    def has_eval(self, name: str, version: int) -> bool:
        record = self.record(self.eval_path(name).name)
        return record is not None and record.get("version") == version

    def save_eval(self, name: str, version: int, metrics, artifacts: dict, seconds: float,
                  per_image: dict | None = None) -> None:
        if artifacts:  # arrays first: the JSON is the "finished" marker
            save_npz(self.dir / f"art_{name}.npz", artifacts)
        if per_image:
            save_outcomes(self.dir / f"outcomes_{name}.npz", per_image)
        reached("evaluation-saved")
        write_record(self.eval_path(name), {
            "evaluator": name, "version": version, "seconds": seconds,
            "files": self._files(*(f"{kind}_{name}.npz" for kind, arrays in
                                   (("art", artifacts), ("outcomes", per_image)) if arrays)),
            "metrics": [{"metric": m.metric, "value": m.value,
                         "higher_is_better": m.higher_is_better} for m in metrics]})

    def evals(self) -> list[dict]:
        return [r for p in sorted(self.dir.glob("eval_*.json")) if (r := self.record(p.name))]

    def _declared(self, evaluator: str, kind: str, load) -> dict[str, np.ndarray] | None:
        """An evaluator's arrays, only when its record declares them and they verify."""
        record = self.record(self.eval_path(evaluator).name)
        if record is None or f"{kind}_{evaluator}.npz" not in record["files"]:
            return None
        return load(self.dir / f"{kind}_{evaluator}.npz")

    def artifact(self, name: str) -> dict[str, np.ndarray] | None:
        return self._declared(name, "art", load_npz)

    def outcomes(self, name: str) -> dict[str, np.ndarray] | None:
        """Per-image outcomes of evaluator `name` (what the report's intervals resample)."""
        return self._declared(name, "outcomes", load_outcomes)

    def error(self) -> dict | None:
        return _read_json(self.dir / "error.json")
