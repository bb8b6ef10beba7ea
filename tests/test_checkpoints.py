"""Cost along the training (issue #16): counted FLOPs, the checkpoint schedule, checkpoints
that leave the training untouched, a SIGKILLed cell that goes on from its last finished epoch
to the same result as an uninterrupted run, and equal-FLOPs budgets."""
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from bench.train_spec import TrainSpec
from bench.run.checkpoints import checkpoint_epochs, checkpoint_subset
from bench.cost import epochs_for_budget, model_cost
from bench.model_api import build_model
from bench.plugins import load_all_models
from bench.train import seed_everything, train
from tests import warm_runs


ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--dataset", "digits", "--models", "dense_ae,linear_ae", "--evaluators",
        "reconstruction,probe,knn", "--latent-dim", "4", "--limit", "250", "--workers", "1", "-q"]


def run_all(out: Path, *extra: str, kill_at: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != "AEBENCH_KILL_AT"}
    if kill_at:
        env["AEBENCH_KILL_AT"] = kill_at
    return warm_runs.run_all([*ARGS, *extra, "--out", str(out)], env)


def cell_dir(out: Path, model: str) -> Path:
    return next((out / "cells").glob(f"{model}-*"))


def test_the_schedule_doubles_and_always_ends_with_the_last_epoch():
    assert checkpoint_epochs(8) == [1, 2, 4, 8]
    assert checkpoint_epochs(32) == [1, 2, 4, 8, 16, 32]
    assert checkpoint_epochs(5) == [1, 2, 4, 5]
    assert checkpoint_epochs(1) == [1]


def test_checkpoints_fit_on_a_fixed_balanced_training_subset():
    labels = np.repeat(np.arange(10), 6_000)
    subset = checkpoint_subset(labels)
    assert len(subset) == 10_000 and set(np.bincount(labels[subset])) == {1_000}
    assert np.array_equal(subset, checkpoint_subset(labels))  # the same for every cell
    assert np.array_equal(checkpoint_subset(labels[:500]), np.arange(500))  # small: all of it


def test_flops_are_counted_per_image_as_the_layers_imply():
    load_all_models()
    pixels, code = 64, 4
    model = build_model("linear_ae", (1, 8, 8), code)
    cost = model_cost(model, torch.rand(32, 1, 8, 8))
    # two matrix products of pixels x code, 2 FLOPs per multiply-add
    assert cost["forward_flops_per_image"] == 4 * pixels * code
    # backward: the weight gradients of both layers and the decoder's input gradient (the
    # images need none): 3 more products, 10 in all
    assert cost["train_flops_per_image"] == 10 * pixels * code
    assert cost["train_memory_mb"] > 4 * 4 * (2 * pixels * code) / 2**20  # weights, grads, Adam
    assert model_cost(build_model("pca", (1, 8, 8), code), torch.rand(32, 1, 8, 8))["train_flops_per_image"] == 0


def test_a_budget_buys_whole_epochs_within_half_an_epoch():
    assert epochs_for_budget(1e12, 1e6, 60_000) == 17  # 16.7 epochs' worth -> 17
    assert epochs_for_budget(1e3, 1e6, 60_000) == 1    # never zero
    for budget in (3e11, 7.7e11, 2e12):
        epochs = epochs_for_budget(budget, 1e6, 60_000)
        assert abs(epochs * 6e10 - budget) <= 3e10


def test_evaluating_at_checkpoints_leaves_the_training_untouched():
    """The hook reseeds and draws random numbers, as evaluators do; the weights must not care."""
    load_all_models()
    x = torch.rand(256, 1, 8, 8)

    def trained(hook):
        seed_everything(0)
        model = build_model("vae", (1, 8, 8), 4)  # the loss samples: a shared random stream
        train(model, x, TrainSpec(epochs=3, batch_size=64, precision="float32"), seed=0, after_epoch=hook)
        return model.state_dict()

    def noisy_hook(epoch, history, snapshot):
        torch.manual_seed(1234)
        torch.rand(100)
        snapshot()

    plain, hooked = trained(None), trained(noisy_hook)
    assert all(torch.equal(plain[k], hooked[k]) for k in plain)


def test_a_run_killed_mid_training_resumes_from_its_last_epoch_to_the_same_result(tmp_path):
    reference = tmp_path / "reference"
    assert run_all(reference, "--epochs", "5").returncode == 0
    out = tmp_path / "killed"
    # dense_ae trains first: killed as its 4th epoch starts, after the snapshot of epoch 3
    assert run_all(out, "--epochs", "5", kill_at="epoch:4").returncode == -9
    cell = cell_dir(out, "dense_ae")
    assert json.loads((cell / "resume.json").read_text())["epoch"] == 3
    assert [p["epoch"] for p in json.loads((cell / "checkpoints.json").read_text())["points"]] == [1, 2]
    assert not (cell / "train.json").exists()
    snapshot = torch.load(next(cell.glob("resume-e3.pt")), weights_only=True)
    resumed = run_all(out, "--epochs", "5")
    assert resumed.returncode == 0, resumed.stderr
    assert not list(cell.glob("resume*")), "the snapshot is dropped once training finished"
    for model in ("dense_ae", "linear_ae"):
        a = torch.load(cell_dir(reference, model) / "model.pt", weights_only=True)
        b = torch.load(cell_dir(out, model) / "model.pt", weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a), f"{model}: resumed weights differ"
        ref_points = json.loads((cell_dir(reference, model) / "checkpoints.json").read_text())["points"]
        points = json.loads((cell_dir(out, model) / "checkpoints.json").read_text())["points"]
        assert [p["metrics"] for p in points] == [p["metrics"] for p in ref_points]
    history = pd.read_csv(cell / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4, 5]
    # epochs 1-3 are the killed run's (their timings came from the snapshot), not retrained
    assert list(history["seconds"][:3]) == pytest.approx([h["seconds"] for h in snapshot["history"]], rel=1e-12)
    assert pd.read_csv(out / "results.csv")["value"].tolist() == pd.read_csv(reference / "results.csv")["value"].tolist()


def test_a_kill_while_writing_a_snapshot_keeps_the_one_before(tmp_path):
    out = tmp_path / "run"
    # the 3rd snapshot is on disk but not yet recorded when the process dies
    assert run_all(out, "--epochs", "4", "--models", "dense_ae", kill_at="snapshot-saved:3").returncode == -9
    cell = cell_dir(out, "dense_ae")
    assert json.loads((cell / "resume.json").read_text())["epoch"] == 2
    first_two = torch.load(cell / "resume-e2.pt", weights_only=True)["history"]
    assert run_all(out, "--epochs", "4", "--models", "dense_ae").returncode == 0
    assert list(pd.read_csv(cell / "history.csv")["seconds"][:2]) == pytest.approx(
        [h["seconds"] for h in first_two], rel=1e-12)


def test_an_equal_flops_budget_gives_cheap_models_more_epochs(tmp_path):
    budget = 3e8
    result = run_all(tmp_path / "budget", "--budget-flops", f"{budget:g}")
    assert result.returncode == 0, result.stderr
    info = {m: json.loads((cell_dir(tmp_path / "budget", m) / "train.json").read_text())
            for m in ("dense_ae", "linear_ae")}
    for model, record in info.items():
        per_epoch = record["train_flops_per_image"] * 250
        assert abs(record["train_flops"] - budget) <= per_epoch / 2, model
    assert info["linear_ae"]["epochs"] > info["dense_ae"]["epochs"]
    config = json.loads((cell_dir(tmp_path / "budget", "dense_ae") / "config.json").read_text())
    assert config["train"]["budget_flops"] == budget and config["train"]["epochs"] is None
