"""`--tune K`, run: every model's trials as cells, their validation scores, the selection, and
the grid's cells rewritten to the selected configurations (the protocol: `bench.tune`).

Why trials are ordinary cells: they are cached by key, resume after a kill (a half-trained trial
continues from its last epoch, a finished one is never trained again) and run on whichever
executor the run uses, with no code of their own for any of that. What makes one a trial is
`CellConfig.trial`: `execute_cell` then trains on the tuning split and evaluates on the
validation images.

    manifest.tuning = tune_models(cfg, out, spaces, cells, data, device, shared, ...)
    cells = tuned_cells(cfg, cells, manifest.tuning)
"""
from __future__ import annotations

import logging
from dataclasses import asdict, replace
from pathlib import Path

from bench.config import CellConfig, RunConfig
from bench.evaluators import EVALUATORS
from bench.run.execute import RunOutcome, run_cells
from bench.store.cell import CellStore
from bench.tune import (CRITERIA, CRITERION_TEXT, TUNING_SEED, VALIDATION_SHARE, plan_trials,
                        select)

log = logging.getLogger(__name__)


def tune_models(cfg: RunConfig, out: Path, spaces: dict, cells: list[CellConfig], data, device,
                shared, workers: int, files: list[str], outcome, timings: dict) -> dict:
    """Train and score every trial; the record run.json keeps (`RunManifest.tuning`): the
    protocol, each trial's configuration, cell and validation score, and the selection."""
    evaluator, metric, higher = CRITERIA[cfg.tune_select]
    plan = plan_trials(spaces, cfg.tune)
    template = {(c.model, c.latent_dim): c for c in cells}
    trials = {}  # (model, latent_dim) -> [(Trial, CellConfig)]
    for (model, dim), cell in template.items():
        if model in plan:
            trials[model, dim] = [(t, trial_cell(cell, t, spaces[model])) for t in plan[model]]
    trial_cells = [c for pairs in trials.values() for _, c in pairs]
    log.info("tuning: %d trials (%d per model and latent size: the default and %d draws), "
             "selected by %s", len(trial_cells), cfg.tune + 1, cfg.tune, metric)
    own = RunOutcome(out, len(trial_cells))  # a diverging trial is a result, not a failed run
    run_cells(cfg, out, trial_cells, [EVALUATORS.get(evaluator).builder()], shared,
              data, device, workers, files, own, timings, [metric])
    outcome.trained += own.trained
    outcome.evaluated += own.evaluated
    outcome.repairs += own.repairs
    n_validation = len(data.x_train) // VALIDATION_SHARE  # as ImageData.tuning_split holds out
    entries = []
    for (model, dim), pairs in trials.items():
        scored = [_trial_record(out, t, c, metric) for t, c in pairs]
        best = select([r["score"] for r in scored], cfg.tune_select)
        entries.append({"model": model, "latent_dim": dim, "selected": best, "trials": scored,
                        "space": {k: asdict(knob) for k, knob in spaces[model].items()}})
        if best is None:
            log.warning("tuning %s z%d: every trial failed; it trains at its defaults", model, dim)
    return {"trials": cfg.tune, "criterion": cfg.tune_select, "criterion_text": CRITERION_TEXT[cfg.tune_select],
            "metric": metric, "higher_is_better": higher, "seed": TUNING_SEED,
            "n_train": len(data.x_train) - n_validation, "n_validation": n_validation, "models": entries}


def trial_cell(template: CellConfig, trial, space: dict) -> CellConfig:
    """The cell that trains `trial`: the grid's cell of its model, on the tuning split, at the
    tuning seed, with the trial's learning rate and knobs (those at their default left out)."""
    values = dict(trial.values)
    lr = values.pop("lr")
    return replace(template, seed=TUNING_SEED, trial=True, knobs=_overrides(values, space),
                   train=replace(template.train, lr=lr))


def tuned_cells(cells: list[CellConfig], tuning: dict, spaces: dict) -> list[CellConfig]:
    """The grid's cells with each tuned model's selected configuration."""
    chosen = {}
    for entry in tuning["models"]:
        if entry["selected"] is not None:
            values = dict(entry["trials"][entry["selected"]]["values"])
            chosen[entry["model"], entry["latent_dim"]] = (values.pop("lr"),
                                                           _overrides(values, spaces[entry["model"]]))
    tuned = []
    for cell in cells:
        if (cell.model, cell.latent_dim) in chosen:
            lr, knobs = chosen[cell.model, cell.latent_dim]
            cell = replace(cell, knobs=knobs, train=replace(cell.train, lr=lr))
        tuned.append(cell)
    return tuned


def _overrides(values: dict, space: dict) -> dict:
    """The knobs not at their declared default: what a cell's key holds (an untuned cell: none)."""
    return {k: v for k, v in values.items() if v != space[k].default}


def _trial_record(out: Path, trial, cell: CellConfig, metric: str) -> dict:
    store = CellStore(out, cell)
    score = next((m["value"] for record in store.evals() for m in record["metrics"]
                  if m["metric"] == metric), None)
    record = {"values": trial.values, "default": trial.default, "cell": cell.dirname, "score": score}
    if store.failed:
        record["failure"] = (store.error() or {}).get("reason", "see error.txt")
    return record
