"""One cell, start to finish: train (or fit, or load verified weights), encode once, run every
pending evaluator, and record a failure as a result. The same function runs in the main
process, a worker process or a Ray task.

    report = execute_cell(out, cell_cfg, force, data, x_train, x_test, evaluators, shared)
"""
from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from bench.run.checkpoints import CheckpointHook, checkpoint_subset
from bench.config import CellConfig
from bench.cost import epochs_for_budget, model_cost
from bench.data.datasets import ImageData, to_float
from bench.evaluators import EvalContext, Evaluator
from bench.faults import reached
from bench.model_api import Autoencoder, build_model
from bench.progress import status
from bench.run.provenance import peak_rss_mb
from bench.run.shared_inputs import SharedInputs
from bench.store.cell import CellStore
from bench.train import seed_everything, train
from bench.tune import TUNING_SEED, VALIDATION_SHARE

log = logging.getLogger(__name__)
ENCODE_BATCH = 2000
MAX_STORED_CODE = 256  # codes wider than this (the raw pixels) are recomputed, not stored


@dataclass
class CellReport:
    """What one cell did, small enough to send back from a worker process."""
    cell: str = ""            # its directory name (CellConfig.dirname)
    repairs: list[str] = field(default_factory=list)  # damaged files found and recomputed
    trained: int = 0
    evaluated: int = 0
    failure: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0  # of the process that ran it, up to its end (run.json's cost)

    def add_time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds


def execute_cell(out: Path, cell_cfg: CellConfig, force: bool, data: ImageData,
                 x_train: torch.Tensor, x_test: torch.Tensor, evaluators: list[Evaluator],
                 shared: "SharedInputs") -> CellReport:
    """Train/fit, embed and evaluate one cell; a failure is recorded, never raised."""
    cell = CellStore(out, cell_cfg, repair=True)
    report = CellReport(cell=cell_cfg.dirname)
    if cell_cfg.trial:  # a tuning trial: the fixed split of the training set (bench.tune)
        data = data.tuning_split(VALIDATION_SHARE, TUNING_SEED)
        x_train, x_test = to_float(data.x_train, x_train.device), to_float(data.x_test, x_train.device)
    try:
        with cell.lock() as waited:  # another run on this --out may be computing it
            if force and not waited:
                cell.reset()
            run_cell(cell, data, x_train, x_test, evaluators, report, shared)
    except Exception as exc:  # a failed cell is a result, not the end of the run
        phase = getattr(exc, "phase", "run")
        log.error("cell %s failed in %s: %s", cell_cfg.dirname, phase, exc)
        cell.fail(phase, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        report.failure = f"{cell_cfg.dirname}: {exc}"
    report.repairs = cell.repairs
    report.peak_rss_mb = peak_rss_mb("self")
    return report


def cell_line(cell: CellStore, report: CellReport, headline: list[str]) -> str:
    """One line per finished cell, for a person: what it did, what it cost, how it scored."""
    c = cell.cfg
    name = f"{c.model} z{c.latent_dim} s{c.seed}"
    if c.trial:  # which configuration: the learning rate and the knobs not at their default
        name = f"{c.model} z{c.latent_dim} trial " + ", ".join(
            f"{k}={v:.3g}" for k, v in {"lr": c.train.lr, **c.knobs}.items())
    if report.failure:
        return f"{name}: FAILED: {report.failure.split(': ', 1)[-1]}"
    done = f"trained in {report.timings.get('train', 0.0):.0f} s" if report.trained else "trained earlier"
    evaluation = sum(v for k, v in report.timings.items() if k.startswith("eval:"))
    values = {m["metric"]: m["value"] for record in cell.evals() for m in record["metrics"]}
    scores = ", ".join(f"{m} {values[m]:.4g}" for m in headline if m in values)
    return (f"{name}: {done}, {report.evaluated} evaluations in {evaluation:.0f} s"
            + (f"; {scores}" if scores else ""))


def run_cell(cell: CellStore, data: ImageData, x_train: torch.Tensor, x_test: torch.Tensor,
             evaluators: list[Evaluator], report: CellReport, shared: SharedInputs) -> None:
    c = cell.cfg
    name = f"{c.model} z{c.latent_dim} s{c.seed}"
    status(f"{name}: starting")
    cell.begin()
    seed_everything(c.seed)
    model = _phase("build", build_model, c.model, data.input_shape, c.latent_dim, c.knobs).to(x_train.device)
    start = time.perf_counter()
    pending = [e for e in evaluators if not cell.has_eval(e.name, e.version)
               and not (e.needs_decoder and not model.has_decoder)]
    record, problem = cell.inspect("train.json")
    # a damaged train.json, or damaged checkpoints (the cost curves the report draws): retrain
    needed = problem is not None and problem.file in ("train.json", "checkpoints.json")
    if record is not None and not pending and not needed:
        # every evaluation is stored: the weights are not needed, not even loaded
        if problem:
            log.warning("%s: %s; no evaluation needs the weights now, so they are not retrained "
                        "(a run that needs them will)", c.dirname, problem)
        report.add_time("train", time.perf_counter() - start)
        return
    checkpoint_seconds = 0.0
    if cell.trained:  # verified; damaged weights are moved aside and trained again
        model.load_state_dict(cell.load_state_dict())
    else:
        checkpoint_seconds = _phase("train", train_cell, cell, model, data, x_train, x_test, evaluators)
        report.trained += 1
    report.add_time("train", time.perf_counter() - start - checkpoint_seconds)
    report.add_time("checkpoints", checkpoint_seconds)
    model.eval()
    start = time.perf_counter()
    pending.sort(key=lambda e: e.needs_judge)  # last: the judge may still be training
    if not pending:
        return
    status(f"{name}: encoding")
    z_train, z_test = _phase("encode", codes, cell, model, x_train, x_test)
    report.add_time("embed", time.perf_counter() - start)
    ctx = EvalContext(model, x_test, z_train, z_test, data.y_train, data.y_test, c.seed,
                      x_train=x_train, cell=c, judge_dir=shared.judge_dir, outliers=shared.outliers,
                      fit_fresh=lambda x: fresh_model(c, data.input_shape, x))
    for evaluator in pending:
        status(f"{name}: {evaluator.name}")
        reached(f"evaluate:{evaluator.name}")
        start = time.perf_counter()
        seed_everything(c.seed)
        result = _phase(f"evaluate:{evaluator.name}", evaluator.evaluate, ctx)
        seconds = time.perf_counter() - start
        _phase(f"evaluate:{evaluator.name}", evaluator.check, result, len(x_test))
        cell.save_eval(evaluator.name, evaluator.version, result.metrics, result.artifacts, seconds,
                       result.per_image)
        report.add_time(f"eval:{evaluator.name}", seconds)
        report.evaluated += 1


def train_cell(cell: CellStore, model: Autoencoder, data: ImageData, x_train: torch.Tensor,
               x_test: torch.Tensor, evaluators: list[Evaluator]) -> float:
    """Train (resuming from the last finished epoch, evaluating the cheap metrics at the
    checkpoints) or fit the cell's model and store it with its costs; the seconds spent on
    checkpoint evaluation come back (they are not training time)."""
    c = cell.cfg
    cost = model_cost(model, x_train[:c.train.batch_size])
    epochs = cell_epochs(c, cost, len(x_train)) if model.trainable else 0
    flops_per_epoch = cost["train_flops_per_image"] * len(x_train)
    subset = checkpoint_subset(data.y_train)
    x_sub = x_train[torch.as_tensor(subset, device=x_train.device)]

    def context() -> EvalContext:
        z_train, z_test = encode_checked(model, x_sub), encode_checked(model, x_test)
        return EvalContext(model, x_test, z_train, z_test, data.y_train[subset], data.y_test,
                           c.seed, x_train=x_sub, cell=c, checkpoint=True)

    hook = CheckpointHook(cell, evaluators, context, epochs, flops_per_epoch)
    resume = cell.load_resume() if model.trainable else None
    if resume is not None:
        hook.resumed_at(len(resume["history"]))
        log.info("%s: resuming after epoch %d of %d", c.dirname, len(resume["history"]), epochs)
    history = fit_model(model, x_train, c, epochs, resume, hook if model.trainable else None)
    if not model.trainable:
        hook.record(0, history)  # measured as the curves are: the baselines' lines in the figure
    n_params = sum(t.numel() for t in [*model.parameters(), *model.buffers()])
    train_seconds = sum(h["seconds"] for h in history)
    cell.save_training(model.state_dict(), history, {
        "seconds": train_seconds, "n_params": n_params, "trainable": model.trainable,
        "epochs": epochs, "train_flops": epochs * flops_per_epoch, **cost})
    return hook.eval_seconds


def cell_epochs(c: CellConfig, cost: dict, n_train: int) -> int:
    """The cell's epochs: as configured, or what its share of a FLOPs budget buys."""
    if c.train.budget_flops is None:
        return c.train.epochs
    return epochs_for_budget(c.train.budget_flops, cost["train_flops_per_image"], n_train)


def fresh_model(c: CellConfig, input_shape, x_train: torch.Tensor) -> Autoencoder:
    """A new model of cell `c`, seeded as the cell, trained (or fitted) on `x_train`."""
    seed_everything(c.seed)
    model = build_model(c.model, input_shape, c.latent_dim, c.knobs).to(x_train.device)
    fit_model(model, x_train, c)
    return model.eval()


def fit_model(model: Autoencoder, x_train: torch.Tensor, c: CellConfig, epochs: int | None = None,
              resume: dict | None = None, after_epoch=None) -> list[dict]:
    if not model.trainable:
        start = time.perf_counter()
        model.fit(x_train)
        return [{"epoch": 0, "seconds": time.perf_counter() - start}]
    if epochs is None:
        epochs = cell_epochs(c, model_cost(model, x_train[:c.train.batch_size]), len(x_train))
    return train(model, x_train, replace(c.train, epochs=epochs), seed=c.seed,
                 desc=f"{c.model} z{c.latent_dim} s{c.seed}", resume=resume, after_epoch=after_epoch)


def codes(cell: CellStore, model: Autoencoder, x_train, x_test) -> tuple[np.ndarray, np.ndarray]:
    """Codes from the store, or `encode` in eval mode (stored when they are small)."""
    stored = cell.load_embeddings()
    if stored is not None:
        return stored
    z_train = encode_checked(model, x_train)
    start = time.perf_counter()
    z_test = encode_checked(model, x_test)
    images_per_s = len(x_test) / max(time.perf_counter() - start, 1e-9)  # for the model card
    if z_train.shape[1] <= MAX_STORED_CODE:
        cell.save_embeddings(z_train, z_test, {"encode_images_per_s": images_per_s})
    return z_train, z_test


def encode_checked(model: Autoencoder, x: torch.Tensor) -> np.ndarray:
    """`encode_all`, refusing codes no evaluator can use (a plugin's bug, named as such)."""
    z = encode_all(model, x)
    if z.ndim != 2 or len(z) != len(x):
        raise ValueError(f"encode returned codes of shape {z.shape} for {len(x)} images; "
                         "expected (images, latent_dim)")
    if not np.isfinite(z).all():
        raise ValueError("encode returned NaN or infinite codes")
    return z


@torch.no_grad()
def encode_all(model: Autoencoder, x: torch.Tensor) -> np.ndarray:
    model.eval()
    z = torch.cat([model.encode(x[i:i + ENCODE_BATCH]) for i in range(0, len(x), ENCODE_BATCH)])
    return z.float().cpu().numpy()


def _phase(name: str, fn, *args):
    """Run `fn`, tagging any exception with the phase it happened in (for the failure record)."""
    try:
        return fn(*args)
    except Exception as exc:
        exc.phase = getattr(exc, "phase", name)  # a checkpoint's evaluator names its own
        raise
