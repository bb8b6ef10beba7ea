"""Reconstruction error on the test images, per pixel, images in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)

BATCH = 1000
EPS = 1e-6


@torch.no_grad()
def reconstruct_all(model, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model.reconstruct(x[i:i + BATCH]) for i in range(0, len(x), BATCH)])


def example_indices(labels: np.ndarray, per_class: int = 1) -> np.ndarray:
    """The first `per_class` test images of each class, in class order: the grid's columns."""
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)])


@register_evaluator("reconstruction", description="Per-pixel MSE and binary cross-entropy on the test set")
class Reconstruction(Evaluator):
    version = 2
    order = 10
    needs_decoder = True
    metrics = (
        MetricSpec("recon_mse", higher_is_better=False, help="per-pixel squared error between a test image and its "
                   "reconstruction (images in [0, 1])", group="reconstruction", headline=True,
                   verdict="reconstruction", cheap=True, interval="mean"),
        MetricSpec("recon_bce", higher_is_better=False, help="per-pixel binary cross-entropy of the reconstruction "
                   "(its floor is the images' own entropy, not 0)", group="reconstruction",
                   cheap=True, interval="mean"),
    )
    figures = (FigureSpec("figures/reconstructions.png", "bench.report.figures:reconstruction_grid",
                          "Reconstructions: top row, test originals (two per digit); below, each "
                          "model's reconstruction of them. Blurry or wrong digits mean information "
                          "lost in the code."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        x_hat = reconstruct_all(ctx.model, x).to(x.dtype)
        mse = ((x_hat - x) ** 2).flatten(1).mean(1)
        p = x_hat.clamp(EPS, 1 - EPS)
        bce = -(x * torch.log(p) + (1 - x) * torch.log1p(-p)).flatten(1).mean(1)
        idx = example_indices(ctx.y_test, per_class=2)
        per_image = {"recon_mse": mse.double().cpu().numpy(), "recon_bce": bce.double().cpu().numpy()}
        return EvalResult(
            [self.metric(name, values.mean()) for name, values in per_image.items()],
            {"originals": to_uint8(x, idx), "reconstructions": to_uint8(x_hat, idx)}, per_image)
