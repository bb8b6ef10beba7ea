"""Every registered evaluator keeps its card's promises, on a tiny real cell (like the models'
registry-driven tests): the metrics it returns are the metrics it declares, with the declared
direction; every declared metric shows up; and the per-image outcomes behind an interval
reproduce the metric exactly, so the report's intervals are intervals of *that* number."""
import json

import numpy as np
import pytest
import torch

from bench.train_spec import TrainSpec
from bench.data.datasets import load_dataset, to_float
from bench.evaluators import EVALUATORS, EvalContext
from bench.plugins import load_all_evaluators
from bench.report.intervals import CLUSTER_SCORES, weighted_auroc, weighted_tables
from bench.judge import ensure_judge
from bench.model_api import build_model
from bench.plugins import load_all_models
from bench.run.cell import encode_all
from bench.train import seed_everything, train

load_all_evaluators()
load_all_models()


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    """A VAE (it has a prior, so every generation metric appears) trained briefly on 250
    digits, its codes, the judge, and an extra outlier set."""
    root = tmp_path_factory.mktemp("contract")
    data = load_dataset("digits", root).limited(250)
    judge_dir = ensure_judge(root, data, torch.device("cpu"))
    seed_everything(0)
    x_train, x_test = to_float(data.x_train), to_float(data.x_test)
    model = build_model("vae", data.input_shape, 4)
    spec = TrainSpec(epochs=1, batch_size=64, precision="float32")
    train(model, x_train, spec, seed=0, desc="contract")
    from bench.config import CellConfig
    from bench.run.cell import fresh_model
    cell = CellConfig(model="vae", seed=0, latent_dim=4, dataset="digits", limit=250, train=spec)
    return EvalContext(model.eval(), x_test, encode_all(model, x_train), encode_all(model, x_test),
                       data.y_train, data.y_test, 0, x_train=x_train, cell=cell, judge_dir=judge_dir,
                       outliers={"fashion_mnist": data.x_test[::-1].copy()},
                       fit_fresh=lambda x: fresh_model(cell, data.input_shape, x))


@pytest.mark.parametrize("name", [e.name for e in EVALUATORS])
def test_evaluator_returns_what_it_declares(name, context):
    evaluator = EVALUATORS.get(name).builder()
    json.dumps(evaluator.card())  # stored in run.json
    assert evaluator.metrics, "an evaluator declares its metrics"
    result = evaluator.evaluate(context)
    returned = {m.metric: m for m in result.metrics}
    assert len(returned) == len(result.metrics), "one value per metric"
    for m in result.metrics:
        spec = evaluator.spec(m.metric)  # raises for an undeclared metric
        assert m.higher_is_better == spec.higher_is_better
        assert np.isfinite(m.value)
    for spec in evaluator.metrics:
        assert any(spec.matches(m) for m in returned), f"declared {spec.name} never returned"
        if spec.verdict or spec.headline:
            assert not spec.diagnostic, "a diagnostic is never a headline or a verdict"


@pytest.mark.parametrize("name", [e.name for e in EVALUATORS])
def test_per_image_outcomes_reproduce_the_metric(name, context):
    evaluator = EVALUATORS.get(name).builder()
    result = evaluator.evaluate(context)
    for m in result.metrics:
        spec = evaluator.spec(m.metric)
        kind = spec.interval
        if not kind:
            continue
        values = result.per_image[m.metric]
        labels = result.per_image.get(f"{m.metric}__labels", result.per_image.get("labels"))
        if kind == "mean":
            assert values.mean(dtype=np.float64) == pytest.approx(m.value, rel=1e-5, abs=1e-7)
        elif kind == "clusters":
            ones = np.ones((1, labels.shape[-1]), dtype=np.float32)
            score = CLUSTER_SCORES[spec.score]
            rescored = np.mean([score(weighted_tables(ones, labels, c))[0] for c in np.atleast_2d(values)])
            assert rescored == pytest.approx(m.value, abs=1e-6)
        elif kind == "auroc":
            ones = np.ones((1, len(values)), dtype=np.float32)
            assert weighted_auroc(ones, values.astype(np.float64), labels)[0] == pytest.approx(m.value, abs=1e-6)
        else:
            pytest.fail(f"unknown interval kind {kind}")
