"""Linear probe: logistic regression fitted on standardised training codes, accuracy on test;
also with only 10, 100 and 1,000 labels per class (label efficiency, as disentanglement_lib's
downstream task sweeps training-set sizes).

Why standardised: codes of different models live on very different scales; the probe should
measure linear separability, not how well L-BFGS copes with a badly scaled problem. The labelled
subsets are drawn once per seed and are the same for every model.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator

MAX_ITER = 300
LABELS_PER_CLASS = (10, 100, 1000)


def probe_accuracy(z_train, y_train, z_test, y_test) -> float:
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(z_train, y_train)
    return float(probe.score(z_test, y_test))


def per_class_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` random training examples of each class (fixed by `seed`)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    return np.sort(np.concatenate([order[labels[order] == c][:per_class] for c in np.unique(labels)]))


@register_evaluator("probe", description="Linear probe (logistic regression) on training codes, test "
                    "accuracy; with all labels and with 10 / 100 / 1,000 per class")
class LinearProbe(Evaluator):
    version = 2

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        metrics = [Metric("probe_acc", probe_accuracy(ctx.z_train, ctx.y_train, ctx.z_test, ctx.y_test), True)]
        smallest_class = np.bincount(ctx.y_train).min()
        for k in LABELS_PER_CLASS:
            if k < smallest_class:  # otherwise the subset is simply every label
                idx = per_class_subset(ctx.y_train, k, ctx.seed)
                acc = probe_accuracy(ctx.z_train[idx], ctx.y_train[idx], ctx.z_test, ctx.y_test)
                metrics.append(Metric(f"probe_acc_{k}", acc, True))
        return EvalResult(metrics)
