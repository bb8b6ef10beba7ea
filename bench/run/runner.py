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
import time
from pathlib import Path


from bench.config import ConfigError, RunConfig, effective_workers
from bench.data.datasets import DATASETS, ImageData, load_dataset
from bench.evaluators import EVALUATORS, Evaluator
from bench.model_api import model_fingerprint
from bench.plugins import load_all_evaluators, load_all_models, plugin_files_for
from bench.judge import judge_name
from bench.run.against import check, import_cells, read_reference, with_protocol
from bench.run.execute import RunOutcome, executor_session, run_cells
from bench.run.provenance import environment, model_card, run_cost
from bench.run.shared_inputs import shared_inputs
from bench.run.tuning import tune_models, tuned_cells
from bench.tune import search_spaces
from bench.store.run_record import DamagedManifestError, RunManifest, StoreError, read_run_manifest
from bench.train import TRAINING_VERSION, mixed_precision, pick_device

log = logging.getLogger(__name__)


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
    from bench.report.build import build_report  # the report needs no torch; import it late anyway

    wall_start = time.perf_counter()
    ref = read_reference(cfg.against) if cfg.against else None
    if ref is not None:  # the reference's protocol: its seeds, sizes, evaluators and training
        cfg = with_protocol(cfg, ref)
    models, evaluators = resolve(cfg)
    spaces = search_spaces(models, load_all_models(), cfg.train.lr, cfg.tune_ranges) if cfg.tune else {}
    device = pick_device(cfg.device)  # a missing CUDA is a usage error, found before any write
    if cfg.executor == "ray":
        from bench.run.ray_executor import require_ray
        require_ray()  # missing Ray is a usage error, found before anything is written
    out = Path(out or cfg.out or Path("reports") / cfg.run_name)
    if ref is not None and out.resolve() == ref.root.resolve():
        raise ConfigError(f"--out {out} is the reference itself; give a new --out")
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
    amp = mixed_precision(cfg.train.precision, device)
    cells = [cfg.cell(m, s, d, mixed=amp, code=code[m], training_version=TRAINING_VERSION)
             for d in cfg.latent_dims for m in models for s in cfg.seeds]
    if ref is not None:  # refused, before anything is written, unless it pairs image by image
        check(ref, models, cells, data, evaluators, judge_name(data))
    outcome = RunOutcome(out, len(cells))
    log.info("run %s: %d cells on %s (%d train / %d test images), results in %s",
             cfg.run_name, len(cells), device, len(data.x_train), len(data.x_test), out)
    manifest = RunManifest(
        config=cfg.to_dict(), cells=[c.to_dict() for c in (ref.cells if ref else []) + cells],
        tuning={"trials": cfg.tune, "planned": True} if spaces else None,
        evaluators={e.name: e.version for e in evaluators},
        evaluator_cards={e.name: e.card() for e in sorted(evaluators, key=lambda e: (e.order, e.name))},
        models={**(ref.manifest.models if ref else {}), **{m: model_card(m) for m in models}},
        data={"name": data.name, "n_train": len(data.x_train), "n_test": len(data.x_test),
              "input_shape": list(data.input_shape), "test_sha256": data.test_sha256},
        environment=environment(device, amp), timings=timings)
    manifest.write(out)
    if ref is not None:
        import_cells(ref, out)
    n_trials = sum(len(cfg.latent_dims) * (cfg.tune + 1) for _ in spaces)
    workers = effective_workers(cfg.workers, max(len(cells), n_trials), device.type == "cpu")
    beside = cfg.executor == "local" and workers > 1
    shared, judge_thread = shared_inputs(cfg, out, data, device, evaluators, timings, beside)
    manifest.notes = shared.notes
    if shared.judge_dir:
        manifest.judge = Path(shared.judge_dir).name  # which judge scored this run (report)
    manifest.workers = workers if cfg.executor == "local" else 1
    manifest.executor = cfg.executor
    files = plugin_files_for(models, [e.name for e in evaluators])
    with executor_session(cfg):  # one Ray instance for the trials and the grid
        if spaces:  # the trials first; the grid then trains each model's selected configuration
            manifest.tuning = tune_models(cfg, out, spaces, cells, data, device, shared, workers,
                                          files, outcome, timings)
            cells = tuned_cells(cells, manifest.tuning, spaces)
            manifest.cells = [c.to_dict() for c in cells]
            manifest.write(out)
        headline = [s.name for e in sorted(evaluators, key=lambda e: e.order) for s in e.metrics if s.headline]
        run_cells(cfg, out, cells, evaluators, shared, data, device, workers, files, outcome, timings,
                  headline)
    if judge_thread is not None:
        judge_thread.join()
    manifest.repairs = outcome.repairs  # shown in the report
    manifest.cost = run_cost(timings, time.perf_counter() - wall_start, outcome.cells_peak_rss_mb)
    manifest.write(out)  # the report reads it
    start = time.perf_counter()
    build_report(out)  # also results.csv and summary.csv, with the intervals
    timings["report"] = time.perf_counter() - start
    manifest.write(out)
    return outcome


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
