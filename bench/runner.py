"""The grid: models x seeds x latent sizes -> trained cells -> evaluations -> results.csv.

Why here and not in the CLI: the runner is what tests and other front ends call. Each cell is
trained (or fitted, for baselines) once, embedded once, and every evaluator reads those codes. A
cell that fails is recorded with its phase and reason and becomes a row of the report's failures;
the other cells go on.

    outcome = run(RunConfig(models=("pca",), datasets=("digits",)).validated())
"""
from __future__ import annotations

import logging
import os
import platform
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from bench.config import CellConfig, ConfigError, RunConfig, effective_workers
from bench.data import DATASETS, ImageData, default_data_root, load_dataset, to_float
from bench.evaluators import EVALUATORS, EvalContext, Evaluator, load_all_evaluators
from bench.model_api import Autoencoder, build_model, model_fingerprint
from bench.plugins import load_all_models, plugin_files_for
from bench.faults import reached
from bench.progress import RunProgress, status
from bench.store import (CellStore, DamagedManifestError, StoreError, read_record,
                         read_run_manifest, write_run_manifest)
from bench.train import pick_device, seed_everything, train

log = logging.getLogger(__name__)
ENCODE_BATCH = 2000
MAX_STORED_CODE = 256  # codes wider than this (the raw pixels) are recomputed, not stored


@dataclass
class RunOutcome:
    out: Path
    n_cells: int
    failures: list[str] = field(default_factory=list)
    trained: int = 0          # cells trained (or fitted) in this invocation, not loaded
    evaluated: int = 0        # evaluator runs done in this invocation
    repairs: list[str] = field(default_factory=list)  # damaged files moved aside and recomputed

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def merge(self, report: "CellReport", timings: dict[str, float]) -> None:
        self.trained += report.trained
        self.evaluated += report.evaluated
        self.repairs += report.repairs
        if report.failure:
            self.failures.append(report.failure)
        for key, seconds in report.timings.items():
            timings[key] = timings.get(key, 0.0) + seconds


@dataclass
class CellReport:
    """What one cell did, small enough to send back from a worker process."""
    cell: str = ""            # its directory name (CellConfig.dirname)
    repairs: list[str] = field(default_factory=list)  # damaged files found and recomputed
    trained: int = 0
    evaluated: int = 0
    failure: str | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def add_time(self, phase: str, seconds: float) -> None:
        self.timings[phase] = self.timings.get(phase, 0.0) + seconds


def execute_cell(out: Path, cell_cfg: CellConfig, force: bool, data: ImageData,
                 x_train: torch.Tensor, x_test: torch.Tensor, evaluators: list[Evaluator],
                 shared: "SharedInputs") -> CellReport:
    """Train/fit, embed and evaluate one cell; a failure is recorded, never raised."""
    cell = CellStore(out, cell_cfg, repair=True)
    report = CellReport(cell=cell_cfg.dirname)
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
    return report


def resolve(cfg: RunConfig) -> tuple[list[str], list[Evaluator]]:
    """Model and evaluator names from patterns; unknown names raise with 'did you mean'."""
    registry = load_all_models()
    models = registry.names(cfg.models, cfg.exclude)
    # Learned models first, baselines last: the order of the leaderboard and the figures.
    models.sort(key=lambda m: registry.get(m).meta.get("family") == "baseline")
    if not models:
        raise ConfigError(f"no model matches --models {','.join(cfg.models)}"
                          f" minus --exclude {','.join(cfg.exclude)}")
    DATASETS.get(cfg.dataset)
    return models, [EVALUATORS.get(n).builder() for n in evaluator_names(cfg.evaluators)]


def evaluator_names(patterns: tuple[str, ...]) -> list[str]:
    """Evaluator names from patterns, in name order (import order varies: modules import each
    other); `default` stands for every evaluator not marked opt-in."""
    registry = load_all_evaluators()
    explicit = [p for p in patterns if p != "default"]
    chosen = set(registry.names(explicit)) if explicit else set()
    if "default" in patterns:
        chosen |= {e.name for e in registry if e.builder.default}
    return sorted(chosen)


def run(cfg: RunConfig, out: Path | None = None) -> RunOutcome:
    from bench.report import build_report  # the report needs no torch; import it late anyway

    wall_start = time.perf_counter()
    models, evaluators = resolve(cfg)
    device = pick_device(cfg.device)  # a missing CUDA is a usage error, found before any write
    if cfg.executor == "ray":
        from bench.ray_executor import require_ray
        require_ray()  # missing Ray is a usage error, found before anything is written
    out = Path(out or cfg.out or Path("reports") / cfg.run_name)
    check_out_dir(out)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = load_dataset(cfg.dataset, cfg.data_root)
    check_against_data(cfg, data)
    data = data.limited(cfg.limit)
    timings["data"] = time.perf_counter() - start
    if cfg.workers != "auto" and cfg.workers > 1 and device.type != "cpu":
        raise ConfigError("--workers > 1 runs cells in CPU processes; use --device cpu with it")
    code = {m: model_fingerprint(m) for m in models}
    cells = [replace(cfg.cell(m, s, d), code=code[m])
             for d in cfg.latent_dims for m in models for s in cfg.seeds]
    outcome = RunOutcome(out, len(cells))
    log.info("run %s: %d cells on %s (%d train / %d test images), results in %s",
             cfg.run_name, len(cells), device, len(data.x_train), len(data.x_test), out)
    manifest = {"config": cfg.to_dict(), "cells": [c.to_dict() for c in cells],
                "evaluators": {e.name: e.version for e in evaluators},
                "evaluator_cards": {e.name: e.card() for e in sorted(evaluators, key=lambda e: (e.order, e.name))},
                "models": {m: model_card(m) for m in models},
                "data": {"name": data.name, "n_train": len(data.x_train), "n_test": len(data.x_test),
                         "input_shape": list(data.input_shape)},
                "environment": environment(device)}
    write_run_manifest(out, {**manifest, "timings": timings})
    workers = effective_workers(cfg.workers, len(cells), device.type == "cpu")
    beside = cfg.executor == "local" and workers > 1
    shared, judge_thread = shared_inputs(cfg, out, data, device, evaluators, timings, beside)
    manifest["notes"] = shared.notes
    if shared.judge_dir:
        manifest["judge"] = Path(shared.judge_dir).name  # which judge scored this run (report)
    manifest["workers"] = workers if cfg.executor == "local" else 1
    manifest["executor"] = cfg.executor
    files = plugin_files_for(models, [e.name for e in evaluators])
    status_queue = None
    if cfg.executor == "ray":
        from bench.ray_executor import run_ray
        reports = run_ray(cfg, out, longest_first(cells), evaluators, shared, files)
    elif workers > 1:
        import multiprocessing

        from bench.parallel import run_parallel
        status_queue = multiprocessing.get_context("spawn").Queue()
        reports = run_parallel(cfg, out, longest_first(cells), evaluators, shared, workers, files,
                               status_queue)
    else:
        x_train, x_test = to_float(data.x_train, device), to_float(data.x_test, device)
        reports = (execute_cell(out, c, cfg.force, data, x_train, x_test, evaluators, shared)
                   for c in cells)
    by_name = {c.dirname: c for c in cells}
    headline = [s.name for e in sorted(evaluators, key=lambda e: e.order) for s in e.metrics if s.headline]
    with RunProgress(len(cells), workers_queue=status_queue) as progress:
        for report in reports:
            outcome.merge(report, timings)
            progress.cell_done(cell_line(CellStore(out, by_name[report.cell]), report, headline))
    if judge_thread is not None:
        judge_thread.join()
    manifest["repairs"] = outcome.repairs  # shown in the report
    manifest["cost"] = run_cost(timings, time.perf_counter() - wall_start)
    write_run_manifest(out, {**manifest, "timings": timings})  # the report reads it
    start = time.perf_counter()
    build_report(out)  # also results.csv and summary.csv, with the intervals
    timings["report"] = time.perf_counter() - start
    write_run_manifest(out, {**manifest, "timings": timings})
    return outcome


FAMILY_COST = {"conv": 0, "dense": 1, "linear": 2, "baseline": 2}  # training time: conv ~4.5x dense


def longest_first(cells: list[CellConfig]) -> list[CellConfig]:
    """Cells in the order parallel workers should start them: the slow (convolutional) ones
    first, so that the last cells to finish are short ones and no worker idles at the end
    waiting for one long cell (longest-processing-time-first scheduling). Results do not
    depend on the order: every cell is seeded on its own."""
    registry = load_all_models()
    return sorted(cells, key=lambda c: FAMILY_COST.get(registry.get(c.model).meta.get("family"), 1))


def cell_line(cell: CellStore, report: CellReport, headline: list[str]) -> str:
    """One line per finished cell, for a person: what it did, what it cost, how it scored."""
    c = cell.cfg
    name = f"{c.model} z{c.latent_dim} s{c.seed}"
    if report.failure:
        return f"{name}: FAILED: {report.failure.split(': ', 1)[-1]}"
    done = f"trained in {report.timings.get('train', 0.0):.0f} s" if report.trained else "trained earlier"
    evaluation = sum(v for k, v in report.timings.items() if k.startswith("eval:"))
    values = {m["metric"]: m["value"] for record in cell.evals() for m in record["metrics"]}
    scores = ", ".join(f"{m} {values[m]:.4g}" for m in headline if m in values)
    return (f"{name}: {done}, {report.evaluated} evaluations in {evaluation:.0f} s"
            + (f"; {scores}" if scores else ""))


def run_cost(timings: dict[str, float], wall_seconds: float) -> dict:
    """What this invocation cost: wall time (up to the report), the peak resident memory of the
    largest process (this one or a finished worker; Ray's workers are not counted), and the
    share of all compute (phases summed over processes) spent evaluating."""
    eval_seconds = sum(v for k, v in timings.items() if k.startswith("eval:"))
    compute = sum(v for k, v in timings.items() if k != "report")
    try:
        import resource
        peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        peak_mb = peak / 1024 / (1024 if sys.platform == "darwin" else 1)  # bytes there, KiB on Linux
    except (ImportError, OSError):  # Windows has no `resource` module
        peak_mb = float("nan")
    return {"wall_seconds": wall_seconds, "peak_rss_mb": peak_mb, "eval_seconds": eval_seconds,
            "compute_seconds": compute, "eval_share": eval_seconds / compute if compute else 0.0}


@dataclass
class SharedInputs:
    """What every cell's evaluators share beyond the data: computed once in the main process,
    then handed to each cell (and each worker process)."""
    judge_dir: Path | None = None
    outliers: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # shown in the report's "What was run"


OOD_DATASET = "fashion_mnist"


def shared_inputs(cfg: RunConfig, out: Path, data: ImageData, device: torch.device,
                  evaluators: list[Evaluator], timings: dict[str, float], judge_beside_cells: bool
                  ) -> tuple[SharedInputs, threading.Thread | None]:
    """The outlier sets and the judge. With `judge_beside_cells` (cells in worker processes),
    the judge trains in a one-thread background thread of this otherwise idle process while the
    workers train the models; the evaluators that need it run last in each cell and wait for
    it. Serially it cost ~140 s of 2-thread wall time before the first cell (two threads are
    only ~1.2x one on these small networks)."""
    shared = SharedInputs()
    if any(e.name == "anomaly_ood" for e in evaluators) and data.name == "mnist":
        try:
            shared.outliers[OOD_DATASET] = load_dataset(OOD_DATASET, cfg.data_root).x_test
        except Exception as exc:  # optional: the offline outlier sets still run
            lines = [line.strip(" -") for line in str(exc).splitlines()] or [type(exc).__name__]
            tried = "; ".join(lines[1:-1]) or lines[0]
            shared.notes.append(f"{OOD_DATASET} was not available as an outlier set, so "
                                f"ood_auroc_{OOD_DATASET} is missing (tried: {tried}). "
                                + (lines[-1] if len(lines) > 1 else ""))
            log.warning("%s", shared.notes[-1])
    if not any(e.needs_judge for e in evaluators):
        return shared, None
    from bench.judge import adopt_cached_judge, cached_judge_folder, ensure_judge, judge_folder

    shared.judge_dir = judge_folder(out, data)
    cache = cached_judge_folder(Path(cfg.data_root or default_data_root()) / "judges", data)
    if adopt_cached_judge(shared.judge_dir, cache):  # trained by this or an earlier run
        return shared, None
    if judge_beside_cells:
        thread = threading.Thread(target=_judge_in_background, name="judge", daemon=True,
                                  args=(out, data, device, cache, timings))
        thread.start()
        return shared, thread
    start = time.perf_counter()
    _phase("judge", ensure_judge, out, data, device, cache)
    status("")
    timings["judge"] = time.perf_counter() - start
    return shared, None


def _judge_in_background(out: Path, data: ImageData, device: torch.device, cache: Path,
                         timings: dict[str, float]) -> None:
    from bench.judge import ensure_judge

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers hold the other cores
    start = time.perf_counter()
    try:
        ensure_judge(out, data, device, cache)
    except Exception:  # recorded in failed.json: the waiting evaluators fail with the reason
        log.exception("the judge classifier could not be trained")
    finally:
        status("")  # the judge is done: off the progress display
        timings["judge (beside the cells)"] = time.perf_counter() - start
        torch.set_num_threads(threads)


def model_card(name: str) -> dict:
    """Registry metadata, stored in run.json so the report needs no registry (and no torch)."""
    entry = load_all_models().get(name)
    return {"description": entry.description,
            **{k: v for k, v in entry.meta.items() if isinstance(v, (str, int, float, bool))}}


def check_out_dir(out: Path) -> None:
    """Refuse, before any work, a results directory we could not write or must not mix with."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a directory")
    if (out / "sweep.json").exists():
        raise ConfigError(f"--out {out} holds a sweep over several datasets; give the same "
                          f"--dataset list, or --out {out}/<dataset> for one of them")
    if (out / "run.json").exists():
        try:
            read_run_manifest(out)
        except DamagedManifestError:  # rewritten by this run; the damaged one is kept aside
            aside = out / "run.json.damaged"
            (out / "run.json").replace(aside)
            log.warning("%s was damaged: moved to %s; this run writes a new one", out / "run.json", aside)
        except StoreError as exc:
            raise ConfigError(f"{exc}; choose another --out") from None
    ancestor = out
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"--out {out}: {ancestor} is a file, not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out} is not writable ({ancestor} does not allow it)")


def check_against_data(cfg: RunConfig, data: ImageData) -> None:
    if cfg.limit is not None and (cfg.limit > len(data.x_train) or cfg.limit > len(data.x_test)):
        raise ConfigError(f"--limit {cfg.limit} is larger than {data.name} "
                          f"({len(data.x_train)} train / {len(data.x_test)} test images)")
    for dim in cfg.latent_dims:
        if dim > data.n_pixels:
            raise ConfigError(f"--latent-dim {dim} is larger than the input "
                              f"({data.n_pixels} pixels of {data.name})")


def run_cell(cell: CellStore, data: ImageData, x_train: torch.Tensor, x_test: torch.Tensor,
             evaluators: list[Evaluator], report: CellReport, shared: SharedInputs) -> None:
    c = cell.cfg
    name = f"{c.model} z{c.latent_dim} s{c.seed}"
    status(f"{name}: starting")
    cell.begin()
    seed_everything(c.seed)
    model = _phase("build", build_model, c.model, data.input_shape, c.latent_dim).to(x_train.device)
    start = time.perf_counter()
    pending = [e for e in evaluators if not cell.has_eval(e.name, e.version)
               and not (e.needs_decoder and not model.has_decoder)]
    record, problem = cell.inspect("train.json")
    files_only = record is not None and read_record(cell.dir / "train.json")[1] is None
    if record is not None and not pending and (problem is None or files_only):
        # every evaluation is stored: the weights are not needed, not even loaded
        if problem:
            log.warning("%s: %s; no evaluation needs the weights now, so they are not retrained "
                        "(a run that needs them will)", c.dirname, problem)
        report.add_time("train", time.perf_counter() - start)
        return
    if cell.trained:  # verified; damaged weights are moved aside and trained again
        model.load_state_dict(cell.load_state_dict())
    else:
        history = _phase("train", fit_model, model, x_train, c)
        n_params = sum(t.numel() for t in [*model.parameters(), *model.buffers()])
        cell.save_training(model.state_dict(), history, {
            "seconds": time.perf_counter() - start, "n_params": n_params,
            "trainable": model.trainable})
        report.trained += 1
    report.add_time("train", time.perf_counter() - start)
    model.eval()
    start = time.perf_counter()
    pending.sort(key=lambda e: e.needs_judge)  # last: the judge may still be training
    if not pending:
        return
    status(f"{name}: encoding")
    z_train, z_test = _phase("encode", codes, cell, model, x_train, x_test)
    report.add_time("embed", time.perf_counter() - start)
    ctx = EvalContext(model, x_test, z_train, z_test, data.y_train, data.y_test, c.seed,
                      x_train=x_train, cell=c, judge_dir=shared.judge_dir, outliers=shared.outliers)
    for evaluator in pending:
        status(f"{name}: {evaluator.name}")
        reached(f"evaluate:{evaluator.name}")
        start = time.perf_counter()
        seed_everything(c.seed)
        result = _phase(f"evaluate:{evaluator.name}", evaluator.evaluate, ctx)
        seconds = time.perf_counter() - start
        for m in result.metrics:  # an undeclared metric, or a declared one with its direction
            if evaluator.spec(m.metric).higher_is_better != m.higher_is_better:  # flipped, is a bug
                raise ValueError(f"{evaluator.name}: {m.metric} returned with the wrong direction")
        cell.save_eval(evaluator.name, evaluator.version, result.metrics, result.artifacts, seconds,
                       result.per_image)
        report.add_time(f"eval:{evaluator.name}", seconds)
        report.evaluated += 1


def fit_model(model: Autoencoder, x_train: torch.Tensor, c: CellConfig) -> list[dict]:
    if not model.trainable:
        start = time.perf_counter()
        model.fit(x_train)
        return [{"epoch": 0, "seconds": time.perf_counter() - start}]
    return train(model, x_train, epochs=c.epochs, batch_size=c.batch_size, lr=c.lr,
                 seed=c.seed, desc=f"{c.model} z{c.latent_dim} s{c.seed}", amp=c.amp)


def codes(cell: CellStore, model: Autoencoder, x_train, x_test) -> tuple[np.ndarray, np.ndarray]:
    """Codes from the store, or `encode` in eval mode (stored when they are small)."""
    stored = cell.load_embeddings()
    if stored is not None:
        return stored
    z_train, z_test = encode_all(model, x_train), encode_all(model, x_test)
    if z_train.ndim != 2 or len(z_train) != len(x_train) or len(z_test) != len(x_test):
        raise ValueError(f"encode returned codes of shape {z_train.shape} for {len(x_train)} "
                         "images; expected (images, latent_dim)")
    if not (np.isfinite(z_train).all() and np.isfinite(z_test).all()):
        raise ValueError("encode returned NaN or infinite codes")
    if z_train.shape[1] <= MAX_STORED_CODE:
        cell.save_embeddings(z_train, z_test)
    return z_train, z_test


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
        exc.phase = name
        raise


def environment(device: torch.device) -> dict:
    import sklearn
    import torchvision

    versions = {"python": platform.python_version(), "torch": torch.__version__,
                "torchvision": torchvision.__version__, "scikit-learn": sklearn.__version__}
    try:
        from importlib.metadata import version
        versions["umap-learn"] = version("umap-learn")
    except Exception:
        pass
    return {"device": str(device), "threads": torch.get_num_threads(),
            "platform": platform.platform(), "versions": versions, "git_commit": _git_commit()}


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
