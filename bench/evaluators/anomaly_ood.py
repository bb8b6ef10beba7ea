"""Out-of-distribution detection: do models trained on digits reconstruct non-digits worse?

The test digits are the normal set; each outlier set is scored against them by reconstruction
error (`ood_auroc_<set>`, 0.5 = chance). The offline sets are made from the test images
themselves, so they need no download: `inverted` (1 - x: same shapes, opposite ink), `flipped`
(upside down: strokes of the right kind in the wrong places) and `noise` (random pixels with the
digits' mean ink). Fashion-MNIST joins as `fashion_mnist` when the runner could load it.
"""
from __future__ import annotations

import numpy as np
import torch

from bench.data import to_float
from bench.evaluators import (EvalContext, EvalResult, Evaluator, Metric, register_evaluator,
                              to_uint8)
from bench.evaluators._anomaly import auroc, reconstruction_scores, roc_on_grid

N_EXTREMES = 8  # most and least anomalous test digits shown per model


def offline_outliers(x: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ink = x.mean().item()
    noise = (torch.rand(x.shape, generator=g) < ink).to(x.dtype).to(x.device)
    return {"inverted": 1.0 - x, "flipped": torch.flip(x, dims=[2]), "noise": noise}


@register_evaluator("anomaly_ood", description="Out-of-distribution AUROC by reconstruction error: "
                    "test digits vs inverted, flipped, noise (and Fashion-MNIST when available)")
class OutOfDistribution(Evaluator):
    version = 1
    needs_decoder = True

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        sets = offline_outliers(x, ctx.seed)
        for name, images in ctx.outliers.items():
            if images.shape[1:] == tuple(x.shape[1:]):
                sets[name] = to_float(images, x.device)
        normal = reconstruction_scores(ctx.model, x)
        metrics, artifacts = [], {}
        for name, images in sets.items():
            scores = reconstruction_scores(ctx.model, images)
            metrics.append(Metric(f"ood_auroc_{name}", auroc(normal, scores), True))
            artifacts[f"roc_{name}"] = roc_on_grid(normal, scores)
        order = np.argsort(normal, kind="stable")
        artifacts["least_anomalous"] = to_uint8(x, order[:N_EXTREMES])
        artifacts["most_anomalous"] = to_uint8(x, order[::-1][:N_EXTREMES].copy())
        return EvalResult(metrics, artifacts)
