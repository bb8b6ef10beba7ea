"""Reconstruction error on the test images, per pixel, images in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch

from bench.evaluators import (EvalContext, EvalResult, Evaluator, Metric, register_evaluator,
                              to_uint8)

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
    version = 1
    needs_decoder = True

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        x_hat = reconstruct_all(ctx.model, x).to(x.dtype)
        mse = torch.mean((x_hat - x) ** 2).item()
        p = x_hat.clamp(EPS, 1 - EPS)
        bce = -torch.mean(x * torch.log(p) + (1 - x) * torch.log1p(-p)).item()
        idx = example_indices(ctx.y_test, per_class=2)
        return EvalResult(
            [Metric("recon_mse", mse, False), Metric("recon_bce", bce, False)],
            {"originals": to_uint8(x, idx), "reconstructions": to_uint8(x_hat, idx)})
