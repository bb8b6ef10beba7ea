"""Linear probe: logistic regression fitted on standardised training codes, accuracy on test.

Why standardised: codes of different models live on very different scales; the probe should
measure linear separability, not how well L-BFGS copes with a badly scaled problem.
"""
from __future__ import annotations

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator

MAX_ITER = 300


@register_evaluator("probe", description="Linear probe (logistic regression) on training codes, test accuracy")
class LinearProbe(Evaluator):
    version = 1

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=MAX_ITER))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            probe.fit(ctx.z_train, ctx.y_train)
        return EvalResult([Metric("probe_acc", float(probe.score(ctx.z_test, ctx.y_test)), True)])
