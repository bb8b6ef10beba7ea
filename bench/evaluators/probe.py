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

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator)

MAX_ITER = 300
LABELS_PER_CLASS = (10, 100, 1000)


def probe_correct(z_train, y_train, z_test, y_test) -> np.ndarray:
    """1 where the probe fitted on the training codes labels a test code right, else 0."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(z_train, y_train)
    return (probe.predict(z_test) == y_test).astype(np.int8)


def per_class_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` random training examples of each class (fixed by `seed`)."""
    order = np.random.default_rng(seed).permutation(len(labels))
    return np.sort(np.concatenate([order[labels[order] == c][:per_class] for c in np.unique(labels)]))


@register_evaluator("probe", description="Linear probe (logistic regression) on training codes, test "
                    "accuracy; with all labels and with 10 / 100 / 1,000 per class")
class LinearProbe(Evaluator):
    version = 3
    order = 30
    metrics = (
        MetricSpec("probe_acc", higher_is_better=True, help="test accuracy of a logistic regression fitted on the "
                   "standardised training codes: how linearly separable the digits are in the code",
                   group="probing", headline=True, verdict="linear probe", cheap=True, interval="mean"),
        MetricSpec("probe_acc_10", higher_is_better=True, help="the same probe fitted on only 10 labelled images per "
                   "class (the same images for every model): how many labels the code needs",
                   group="probing", verdict="few labels (10 per class)", interval="mean"),
        MetricSpec("probe_acc_<labels_per_class>", higher_is_better=True, help="the same probe fitted on only 100 or "
                   "1,000 labelled images per class", group="probing", interval="mean"),
    )
    figures = (FigureSpec("figures/label_efficiency.png", "bench.report.task_figures:label_efficiency",
                          "Linear-probe test accuracy when the probe sees only 10, 100 or 1,000 "
                          "labelled training images per class, and all of them (rightmost point). "
                          "A code that stays high on the left needs few labels."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        per_image = {"probe_acc": probe_correct(ctx.z_train, ctx.y_train, ctx.z_test, ctx.y_test)}
        smallest_class = np.bincount(ctx.y_train).min()
        for k in () if ctx.checkpoint else LABELS_PER_CLASS:  # only probe_acc is cheap
            if k < smallest_class:  # otherwise the subset is simply every label
                idx = per_class_subset(ctx.y_train, k, ctx.seed)
                per_image[f"probe_acc_{k}"] = probe_correct(ctx.z_train[idx], ctx.y_train[idx],
                                                            ctx.z_test, ctx.y_test)
        return EvalResult([self.metric(k, v.mean()) for k, v in per_image.items()],
                          per_image=per_image)
