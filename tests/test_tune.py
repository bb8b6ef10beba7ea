"""`--tune K` (issue #32): the search space, the draws, the expected-best-of-k estimator, and a
tuned run on digits that resumes after a SIGKILL mid-tuning without training any trial twice."""
import itertools
import json
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.config import ConfigError, RunConfig
from bench.plugins import load_all_models
from bench.report.tuning import expected_best
from bench.run.tuning import tuned_cells
from bench.tunables import LEARNING_RATE, Knob
from bench.tune import plan_trials, search_spaces, select
from tests import warm_runs

REGISTRY = load_all_models()


@pytest.mark.parametrize("higher", [True, False])
def test_expected_best_of_k_is_the_mean_and_spread_of_the_best_over_all_k_subsets(higher):
    scores = np.random.default_rng(3).normal(size=7)
    best = max if higher else min
    for k in range(1, 8):
        brute = [best(c) for c in itertools.combinations(scores, k)]
        mean, sd = expected_best(scores, k, higher)
        assert mean == pytest.approx(np.mean(brute)) and sd == pytest.approx(np.std(brute))
    assert expected_best(scores, 7, higher) == (pytest.approx(best(scores)), pytest.approx(0.0))


def test_every_trainable_model_is_tuned_over_the_learning_rate_and_its_declared_knobs():
    spaces = search_spaces(REGISTRY.names(), REGISTRY, 2e-3, None)
    assert "pca" not in spaces and "raw" not in spaces  # baselines declare nothing
    assert set(spaces["beta_vae"]) == {"lr", "beta"} and set(spaces["dense_ae"]) == {"lr"}
    assert spaces["dense_ae"]["lr"] == replace(LEARNING_RATE, default=2e-3)  # default: the run's --lr
    assert spaces["beta_vae"]["beta"].default == 4.0


def test_the_draws_are_the_same_for_every_model_with_as_many_knobs_and_stay_in_range():
    spaces = search_spaces(["vae", "dense_ae", "sparse_ae"], REGISTRY, 1e-3, None)
    plan = plan_trials(spaces, 8)
    assert plan == plan_trials(spaces, 8)  # seeded
    for trials in plan.values():
        assert trials[0].default and not any(t.default for t in trials[1:]) and len(trials) == 9
    assert [t.values for t in plan["vae"]] == [t.values for t in plan["dense_ae"]]
    lrs = [t.values["lr"] for t in plan["sparse_ae"][1:]]
    weights = [t.values["weight"] for t in plan["sparse_ae"][1:]]
    assert all(1e-4 <= v <= 1e-2 for v in lrs) and all(0.01 <= v <= 1.0 for v in weights)
    assert len(set(lrs)) == 8  # a quasi-random sequence: no repeats


def test_a_ranges_file_narrows_the_search_and_star_reaches_every_model(tmp_path):
    ranges = tmp_path / "ranges.toml"
    ranges.write_text('["*"]\nlr = [3e-4, 3e-3]\n[beta_vae]\nbeta = [2.0, 8.0]\n')
    spaces = search_spaces(["beta_vae", "dense_ae"], REGISTRY, 1e-3, str(ranges))
    assert (spaces["dense_ae"]["lr"].low, spaces["dense_ae"]["lr"].high) == (3e-4, 3e-3)
    assert (spaces["beta_vae"]["beta"].low, spaces["beta_vae"]["beta"].high) == (2.0, 8.0)
    for text, message in [('[beta_vae]\nbeta = [0.0, 8.0]\n', "must be positive"),
                          ('[beta_vae]\nbeta = "wide"\n', "must be [low, high]"),
                          ('[beta_va]\nbeta = [1, 2]\n', "Did you mean 'beta_vae'"),
                          ('lr = 3\n', "one table per model")]:
        ranges.write_text(text)
        with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
            search_spaces(["beta_vae"], REGISTRY, 1e-3, str(ranges))


def test_a_knob_declaration_that_cannot_be_searched_fails_where_it_is_written():
    with pytest.raises(ValueError, match="empty"):
        Knob(1.0, 2.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        Knob(0.5, 0.0, 1.0)
    assert Knob(128, 16, 1024, integer=True).at(0.5) == 128


def test_selecting_the_default_keeps_the_untuned_cell_and_its_key():
    cfg = RunConfig.of(models=("beta_vae",), datasets=("digits",)).validated()
    cell = cfg.cell("beta_vae", 0, 8, mixed=False, code="abc")
    spaces = search_spaces(["beta_vae"], REGISTRY, cfg.train.lr, None)
    trials = [{"values": {"lr": 1e-3, "beta": 4.0}, "score": 1.0, "default": True},
              {"values": {"lr": 3e-3, "beta": 2.0}, "score": 2.0, "default": False}]
    tuning = {"models": [{"model": "beta_vae", "latent_dim": 8, "selected": 0, "trials": trials}]}
    assert tuned_cells([cell], tuning, spaces)[0].key == cell.key
    tuning["models"][0]["selected"] = 1
    tuned = tuned_cells([cell], tuning, spaces)[0]
    assert (tuned.knobs, tuned.train.lr) == ({"beta": 2.0}, 3e-3) and tuned.key != cell.key
    assert select([1.0, None, 0.5], "recon") == 2 and select([0.5, None, 0.5], "probe") == 0


ARGS = ["--dataset", "digits", "--models", "sparse_ae,pca", "--tune", "2", "--seeds", "1",
        "--evaluators", "reconstruction,probe", "--epochs", "2", "--latent-dim", "4",
        "--workers", "1", "-q"]


def _run(out: Path, kill_at: str | None = None) -> int:
    env = {**os.environ, "AEBENCH_QUIET": "1"}
    env.pop("AEBENCH_KILL_AT", None)
    if kill_at:
        env["AEBENCH_KILL_AT"] = kill_at
    return warm_runs.run_all([*ARGS, "--out", str(out)], env).returncode


def _trained(out: Path) -> dict[str, int]:
    return {p.parent.name: p.stat().st_mtime_ns for p in out.glob("cells/trial-*/train.json")}


def test_a_tuned_run_resumes_after_a_kill_mid_tuning_and_trains_no_trial_twice(tmp_path):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert _run(clean) == 0
    assert _run(killed, kill_at="weights-saved:2") != 0  # the second trial's weights, unrecorded
    before = _trained(killed)
    assert len(before) == 1
    assert _run(killed) == 0
    after = _trained(killed)
    assert len(after) == 3 and all(after[name] == t for name, t in before.items())
    record = json.loads((clean / "run.json").read_text())["tuning"]
    assert json.loads((killed / "run.json").read_text())["tuning"] == record
    (entry,) = record["models"]  # pca is a baseline: not tuned
    assert entry["model"] == "sparse_ae" and len(entry["trials"]) == 3
    assert (record["n_train"], record["n_validation"]) == (1250, 250)  # 5/6 and 1/6 of 1,500
    chosen = entry["trials"][entry["selected"]]
    assert chosen["score"] == min(t["score"] for t in entry["trials"])
    cell = next(c for c in json.loads((clean / "run.json").read_text())["cells"] if c["model"] == "sparse_ae")
    assert cell["train"]["lr"] == chosen["values"]["lr"] and "trial" not in cell
    pd.testing.assert_frame_equal(pd.read_csv(clean / "results.csv"), pd.read_csv(killed / "results.csv"))
    report = (clean / "report.md").read_text()
    assert "## Tuning" in report and (clean / "figures" / "tuning_curves.png").exists()


def test_the_knob_table_in_docs_is_the_registry():
    """docs/tuning.md's table of knobs: model, knob names, defaults and ranges as registered."""
    text = (Path(__file__).parents[1] / "docs" / "tuning.md").read_text()
    rows = [[c.strip() for c in line.strip().split("|")[1:-1]] for line in text.splitlines()
            if line.strip().startswith("| `")]
    shown = {re.findall(r"`(\w+)`", r[0])[0]: r[1:] for r in rows}
    declared = {n: REGISTRY.get(n).meta["tunables"] for n in REGISTRY.names()
                if REGISTRY.get(n).meta.get("tunables")}
    assert set(shown) == set(declared)
    for model, knobs in declared.items():
        names, defaults, ranges = shown[model]
        assert re.findall(r"`(\w+)`", names) == list(knobs)
        assert defaults == ", ".join(f"{k.default:g}" for k in knobs.values())
        assert ranges == ", ".join(f"{k.low:g}-{k.high:g} ({k.scale}{', integer' if k.integer else ''})"
                                   for k in knobs.values())


def test_a_study_is_priced_from_measured_cells():
    from bench.tools.estimate import estimate

    costs = {"a": {"train": 60.0, "eval": 30.0, "eval:reconstruction": 2.0, "trainable": 1.0},
             "pca": {"train": 1.0, "eval": 10.0, "trainable": 0.0}}
    # trials: (8 + 1) x (5/6 of a training + the criterion's evaluation); baselines none
    assert estimate(costs, ["a", "pca"], 3, 1.0, 8) == {"trials": 9 * (50 + 2), "grid": 3 * (90 + 11)}
    assert estimate(costs, ["a"], 1, 4.0, None) == {"trials": 0.0, "grid": 240 + 30}


def test_a_tuned_run_gets_its_own_default_directory():
    names = {RunConfig.of(**kw).validated().run_name for kw in
             ({}, {"tune": 8}, {"tune": 8, "tune_select": "probe"}, {"tune": 4})}
    assert len(names) == 4 and "mnist-z32-e8" in names
