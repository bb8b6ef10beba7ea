"""The evaluator protocol and registry.

Why: an evaluator sees codes computed once per trained model (`EvalContext`), returns metrics that
each carry their direction, and has a `version` that is part of its cache key, so changing what a
metric means invalidates stale results instead of mixing them into a report.

    @register_evaluator("kmeans")
    class KMeansEval(Evaluator): version = 1; def evaluate(self, ctx): ...
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bench.registry import Registry

EVALUATORS = Registry("evaluator")


def register_evaluator(name: str, *, description: str = "", **meta):
    def decorator(cls):
        cls.name = name
        EVALUATORS.register(name, description=description or cls.__doc__, **meta)(cls)
        return cls
    return decorator


@dataclass(frozen=True)
class Metric:
    metric: str
    value: float
    higher_is_better: bool


@dataclass
class EvalResult:
    metrics: list[Metric]
    artifacts: dict[str, np.ndarray] = field(default_factory=dict)  # arrays for the report's figures


@dataclass
class EvalContext:
    """What every evaluator may use; codes are `model.encode(x)` in eval mode, computed once."""
    model: torch.nn.Module
    x_test: torch.Tensor          # float images in [0, 1] on the model's device
    z_train: np.ndarray
    z_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    seed: int
    x_train: torch.Tensor | None = None   # for evaluators that train (one-class anomaly)
    cell: object | None = None            # the CellConfig: model name and training budget
    judge_dir: Path | None = None         # the trained judge classifier (bench.judge)
    outliers: dict[str, np.ndarray] = field(default_factory=dict)  # extra uint8 OOD image sets

    def judge(self):
        """(judge, judge.json, training-feature stats), loaded once per process."""
        from bench.judge import load_judge, wait_for_judge

        if self.judge_dir is None:
            raise RuntimeError("this evaluator needs the judge, but the run trained none")
        wait_for_judge(Path(self.judge_dir))  # it may still be training beside the cells
        return load_judge(Path(self.judge_dir), str(self.x_test.device))

    @torch.no_grad()
    def decode(self, z: np.ndarray | torch.Tensor, batch: int = 1000) -> torch.Tensor:
        """Images in [0, 1] decoded from codes, in batches, on the model's device."""
        self.model.eval()
        z = torch.as_tensor(z, dtype=torch.float32, device=self.x_test.device)
        return torch.cat([self.model.decode(z[i:i + batch]) for i in range(0, len(z), batch)])


def to_uint8(images: torch.Tensor, index=None) -> np.ndarray:
    """Images in [0, 1] (optionally the rows `index`) as uint8 arrays: what artifacts store."""
    if index is not None:
        images = images[torch.as_tensor(index, device=images.device)]
    return (images * 255).round().byte().cpu().numpy()


class Evaluator:
    name: str = ""
    version: int = 1
    needs_decoder: bool = False   # skipped for models without a decoder (the raw-pixel row)
    needs_judge: bool = False     # the runner trains the judge classifier (before or beside the cells)
    default: bool = True          # run unless --evaluators names a set without it

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        raise NotImplementedError


_loaded = False


def load_all_evaluators() -> Registry:
    """Import every evaluator module in this package (each registers itself)."""
    global _loaded
    if not _loaded:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return EVALUATORS
