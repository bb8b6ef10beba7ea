"""One-class anomaly detection, the literature's protocol (e.g. Ruff et al. 2018, Deep SVDD).

For each digit class, a fresh copy of the model is trained on that class's training images only
(same epochs, batch size, learning rate and seed as the main run, so the number of steps scales
with the class size), then scores the whole test set by reconstruction error: the class's own
test digits are normal, the other nine classes are anomalies. `anomaly_auroc_<digit>` per class,
`anomaly_auroc_mean` over classes.

Not in the default set: it trains every model once more in total (ten class-sized runs), which
roughly doubles the run's training time. Run it with `--evaluators default,anomaly_oneclass`.
"""
from __future__ import annotations

import numpy as np
import torch

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator)
from bench.evaluators._anomaly import auroc, reconstruction_scores


@register_evaluator("anomaly_oneclass", description="One-class anomaly AUROC per digit: a model "
                    "trained on one class scores the test set by reconstruction error (opt-in: "
                    "about doubles training time)")
class OneClassAnomaly(Evaluator):
    version = 1
    order = 55
    needs_decoder = True
    default = False
    task = "anomaly detection"
    metrics = (
        MetricSpec("anomaly_auroc_mean", higher_is_better=True, help="one-class protocol (opt-in): for each digit a "
                   "fresh model trained on that digit only scores the whole test set, its own "
                   "digit being normal; mean AUROC over the ten digits", group="anomaly detection"),
        MetricSpec("anomaly_auroc_<digit>", higher_is_better=True, help="the one-class AUROC with that digit normal",
                   group="anomaly detection"),
    )
    figures = (FigureSpec("figures/oneclass.png", "bench.report.task_figures:oneclass_heatmap",
                          "One-class anomaly detection: AUROC per model and normal digit."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        if ctx.fit_fresh is None:
            raise RuntimeError("the one-class protocol trains models: it needs the runner's fit_fresh")
        y_train = torch.as_tensor(ctx.y_train, device=ctx.x_train.device)
        metrics = []
        for digit in np.unique(ctx.y_train):
            model = ctx.fit_fresh(ctx.x_train[y_train == int(digit)])
            scores = reconstruction_scores(model, ctx.x_test)
            normal = ctx.y_test == digit
            metrics.append(self.metric(f"anomaly_auroc_{digit}", auroc(scores[normal], scores[~normal])))
        mean = float(np.mean([m.value for m in metrics]))
        return EvalResult([self.metric("anomaly_auroc_mean", mean), *metrics])
