"""Quality along the training, for the cost section: the cheap metrics at a doubling schedule
of epochs (1, 2, 4, 8, ... and always the last), each point with the training seconds and
FLOPs spent so far; and a snapshot after every epoch, so a killed cell goes on from its last
finished epoch.

Why inside the training loop: a curve of quality against compute needs the model as it was
after epoch 1, 2, 4 ..., which exists only while it trains. The evaluation must not change
the training: it runs on the model in eval mode and `bench.train` puts every random stream back
after it, so a cell's final weights are the same with or without checkpoints, and after a resume.

Why a training subset: at a checkpoint, the probe and k-NN are fitted on the codes of a fixed,
class-balanced 10,000 of the training images (the same for every model and checkpoint) and
scored on all test images. Encoding and fitting on all 60,000 made checkpoints cost a fifth of
the default run; the subset keeps them under a tenth. The last point is measured the same way,
so a curve is one measurement throughout; the leaderboard keeps the full evaluation.

    hook = CheckpointHook(cell, evaluators, make_context, epochs, flops_per_epoch)
    train(model, x_train, ..., resume=cell.load_resume(), after_epoch=hook)
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import numpy as np

from bench.evaluators import EvalContext, Evaluator
from bench.evaluators.probe import per_class_subset
from bench.progress import status
from bench.store.cell import CellStore
from bench.train import seed_everything

log = logging.getLogger(__name__)


CHECKPOINT_TRAIN_IMAGES = 10_000


def checkpoint_epochs(epochs: int) -> list[int]:
    """1, 2, 4, ... below `epochs`, and `epochs` itself."""
    points, epoch = [], 1
    while epoch < epochs:
        points.append(epoch)
        epoch *= 2
    return points + [epochs]


def checkpoint_subset(y_train: np.ndarray) -> np.ndarray:
    """Indices of the fixed, class-balanced training images the checkpoints fit on (all of
    them when there are no more than CHECKPOINT_TRAIN_IMAGES)."""
    if len(y_train) <= CHECKPOINT_TRAIN_IMAGES:
        return np.arange(len(y_train))
    return per_class_subset(y_train, CHECKPOINT_TRAIN_IMAGES // len(np.unique(y_train)), seed=0)


def cheap_evaluators(evaluators: list[Evaluator]) -> list[Evaluator]:
    return [e for e in evaluators if e.cheap_metrics()]


class CheckpointHook:
    """`after_epoch` for `bench.train.train`: snapshot every epoch, evaluate at checkpoints."""

    def __init__(self, cell: CellStore, evaluators: list[Evaluator],
                 context: Callable[[], EvalContext], epochs: int, flops_per_epoch: float):
        self.cell = cell
        self.evaluators = cheap_evaluators(evaluators)
        self.context = context  # encodes with the model as it is now
        self.schedule = set(checkpoint_epochs(epochs))
        self.flops_per_epoch = flops_per_epoch
        self.eval_seconds = 0.0
        record = cell.checkpoints()
        self.points: list[dict] = record.get("points", [])

    def resumed_at(self, epoch: int) -> None:
        """Forget points beyond where training goes on from (they are recomputed, identically)."""
        self.points = [p for p in self.points if p["epoch"] <= epoch]

    def __call__(self, epoch: int, history: list[dict], snapshot: Callable[[], dict]) -> None:
        if epoch in self.schedule and not any(p["epoch"] == epoch for p in self.points):
            self.record(epoch, history)
        self.cell.save_resume(snapshot())

    def record(self, epoch: int, history: list[dict]) -> None:
        """Evaluate and store one point (epoch 0: a fitted baseline, its only point)."""
        start = time.perf_counter()
        self.points = [p for p in self.points if p["epoch"] != epoch] + [self.evaluate(epoch, history)]
        self.cell.save_checkpoints({"points": self.points})
        self.eval_seconds += time.perf_counter() - start

    def evaluate(self, epoch: int, history: list[dict]) -> dict:
        ctx = self.context()
        metrics = {}
        for evaluator in self.evaluators:
            if evaluator.needs_decoder and not ctx.model.has_decoder:
                continue
            status(f"{self.cell.cfg.model}: checkpoint {epoch}: {evaluator.name}")
            seed_everything(ctx.seed)  # as in the full evaluation; `train` restores its streams
            cheap = set(evaluator.cheap_metrics())
            try:
                result = evaluator.evaluate(ctx)
            except Exception as exc:
                exc.phase = f"checkpoint {epoch}:{evaluator.name}"  # the failure record's phase
                raise
            metrics.update({m.metric: m.value for m in result.metrics if m.metric in cheap})
        return {"epoch": epoch, "train_seconds": sum(h["seconds"] for h in history),
                "train_flops": epoch * self.flops_per_epoch, "metrics": metrics,
                "evaluators": {e.name: e.version for e in self.evaluators}}
