"""The evaluator protocol and registry.

Why: an evaluator sees codes computed once per trained model (`EvalContext`), returns metrics,
and has a `version` that is part of its cache key, so changing what a metric means invalidates
stale results instead of mixing them into a report. It also *describes* every metric it returns
(`MetricSpec`: direction, column group, help, headline or diagnostic, how its interval is
computed) and, for a task, its report section and figures: the runner stores these cards in
run.json and the report derives everything from them, so adding an evaluator is one file.

    @register_evaluator("kmeans")
    class KMeansEval(Evaluator):
        version = 1
        metrics = (MetricSpec("kmeans_acc", higher_is_better=True, help="k-means accuracy", group="clustering"),)
        def evaluate(self, ctx): return EvalResult([self.metric("kmeans_acc", 0.8)])
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from bench.cards import FigureSpec, MetricSpec  # noqa: F401 (part of the protocol)
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
    per_image: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> outcome per test image


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
    checkpoint: bool = False              # a training checkpoint: only the cheap metrics are kept,
                                          # so an evaluator may skip computing the others
    # a fresh model of this cell (same seed, same TrainSpec) trained on the given images, in
    # eval mode: the one-class protocol's capability, given by the runner (evaluators never
    # import it)
    fit_fresh: Callable[[torch.Tensor], torch.nn.Module] | None = None

    def judge(self):
        """(judge, its judge.json), loaded once per process."""
        from bench.judge import load_judge
        from bench.store.judges import wait_for_judge

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
    # outlier image sets it scores against, by the run's dataset: {"mnist": ("fashion_mnist",)}
    # loads Fashion-MNIST's test images into EvalContext.outliers of an MNIST run (optional:
    # a set that cannot be had is a note in the report, and the evaluator runs without it)
    outlier_sets: dict[str, tuple[str, ...]] = {}
    default: bool = True          # run unless --evaluators names a set without it
    metrics: tuple[MetricSpec, ...] = ()   # every metric `evaluate` may return
    task: str = ""                # a report section of its own ("denoising"), or the leaderboard
    task_help: tuple[str, ...] = ()        # extra lines for that section
    figures: tuple[FigureSpec, ...] = ()   # drawn in that section (or under Figures)
    order: int = 50               # where its columns, section and verdict lines go (low: first)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        raise NotImplementedError

    @classmethod
    def cheap_metrics(cls) -> list[str]:
        """Its metrics cheap enough for training checkpoints (the cost curves)."""
        return [m.name for m in cls.metrics if m.cheap]

    def spec(self, metric: str) -> MetricSpec:
        """The declared spec of `metric`; an undeclared metric is the evaluator's bug."""
        for spec in self.metrics:
            if spec.matches(metric):
                return spec
        raise ValueError(f"evaluator {self.name!r} returned {metric!r}, which it does not declare "
                         f"in `metrics` (declared: {', '.join(s.name for s in self.metrics)})")

    def check(self, result: EvalResult, n_test: int) -> None:
        """Refuse a result the report would misread: an undeclared metric, a flipped direction,
        or per-image outcomes that do not line up with the test images (paired intervals
        subtract models image by image, so a misaligned array would pair the wrong images)."""
        values = {m.metric: m.value for m in result.metrics}
        for m in result.metrics:
            if self.spec(m.metric).higher_is_better != m.higher_is_better:
                raise ValueError(f"{self.name}: {m.metric} returned with the wrong direction")
        for metric, array in result.per_image.items():
            if metric == "labels" or metric.endswith("__labels"):  # what clusters or AUROCs score
                continue
            spec = self.spec(metric)
            n = np.shape(array)[-1] if np.ndim(array) else 0
            if spec.interval in ("mean", "clusters") and spec.unit == "image" and n != n_test:
                raise ValueError(f"{self.name}: per-image outcomes of {metric} have {n} values for "
                                 f"{n_test} test images")
            mean = float(np.mean(array)) if spec.interval == "mean" and n else None
            if mean is not None and metric in values and not np.isclose(mean, values[metric],
                                                                         rtol=1e-4, atol=1e-6):
                raise ValueError(f"{self.name}: {metric} is {values[metric]:.6g} but the mean of "
                                 f"its per-image outcomes is {mean:.6g}")

    def metric(self, name: str, value: float) -> Metric:
        """A result of this evaluator, its direction taken from the declaration."""
        return Metric(name, float(value), self.spec(name).higher_is_better)

    @classmethod
    def card(cls) -> dict:
        """What the report needs to know about this evaluator, as JSON (stored in run.json)."""
        return {"version": cls.version, "description": EVALUATORS.get(cls.name).description,
                "order": cls.order,
                "task": cls.task, "task_help": list(cls.task_help),
                "metrics": [asdict(m) for m in cls.metrics],
                "figures": [asdict(f) for f in cls.figures]}
