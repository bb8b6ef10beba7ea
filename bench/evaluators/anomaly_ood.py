"""Out-of-distribution detection: do models trained on digits reconstruct non-digits worse?

The test digits are the normal set; each outlier set is scored against them by reconstruction
error (`ood_auroc_<set>`, 0.5 = chance). The offline sets are made from the test images
themselves, so they need no download:

- `rotated`: the test digits other than 0, 1 and 8 turned a quarter turn (strokes of the right
  kind in the wrong places). Upside-down digits, used before, are no outliers for 0, 1, 8 and
  many 3s and 4s (the judge still reads them as themselves).
- `patches`: each test digit cut into a 4 x 4 grid of 7 x 7 tiles, shuffled: exactly the
  digits' ink and local stroke statistics, no digit. Brightness cannot tell these apart; only
  a model of what digits look like can.
- `inverted` (1 - x) and `noise` (random pixels with the digits' mean ink) are caught perfectly
  by every model (AUROC 1.000): diagnostics, kept out of the headline and the verdict.

Fashion-MNIST joins as `fashion_mnist` when the runner could load it.
"""
from __future__ import annotations

import numpy as np
import torch

from bench.data.datasets import to_float
from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)
from bench.evaluators._anomaly import auroc, reconstruction_scores, roc_on_grid

N_EXTREMES = 8  # most and least anomalous test digits shown per model


SYMMETRIC_DIGITS = (0, 1, 8)  # still digit-like after a turn: not outliers
TILES = 4                     # patches: a TILES x TILES grid per image


def shuffled_patches(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each image's TILES x TILES tiles in a random order (its own order per image)."""
    n, c, h, w = x.shape
    th, tw = h // TILES, w // TILES
    tiles = (x[:, :, :th * TILES, :tw * TILES].cpu()
             .reshape(n, c, TILES, th, TILES, tw).permute(0, 2, 4, 1, 3, 5).reshape(n, TILES * TILES, c, th, tw))
    order = torch.argsort(torch.rand(n, TILES * TILES, generator=g), dim=1)
    tiles = tiles[torch.arange(n)[:, None], order]
    out = x.cpu().clone()
    out[:, :, :th * TILES, :tw * TILES] = (tiles.reshape(n, TILES, TILES, c, th, tw)
                                           .permute(0, 3, 1, 4, 2, 5).reshape(n, c, th * TILES, tw * TILES))
    return out.to(x.device)


def offline_outliers(x: torch.Tensor, labels: np.ndarray, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ink = x.mean().item()
    noise = (torch.rand(x.shape, generator=g) < ink).to(x.dtype).to(x.device)
    turnable = torch.as_tensor(~np.isin(labels, SYMMETRIC_DIGITS), device=x.device)
    return {"rotated": torch.rot90(x[turnable], 1, dims=(2, 3)), "patches": shuffled_patches(x, g),
            "inverted": 1.0 - x, "noise": noise}


@register_evaluator("anomaly_ood", description="Out-of-distribution AUROC by reconstruction error: "
                    "test digits vs rotated digits, shuffled patches (and Fashion-MNIST when available); "
                    "inverted and noise as checks of the protocol")
class OutOfDistribution(Evaluator):
    version = 3  # 3: no per-image outcomes for the diagnostic sets
    order = 50
    needs_decoder = True
    outlier_sets = {"mnist": ("fashion_mnist",)}  # another dataset's images as outliers
    task = "anomaly detection"
    task_help = ("A model trained on all digits scores each image by its reconstruction error; "
                 "AUROC of the test digits (normal) against an outlier set made from them or "
                 "loaded: 0.5 is chance, 1 perfect separation.",)
    metrics = (
        MetricSpec("ood_auroc_rotated", higher_is_better=True, help="test digits against the digits other than 0, 1, 8 "
                   "turned a quarter turn", group="anomaly detection",
                   verdict="anomaly detection (rotated digits)", interval="auroc"),
        MetricSpec("ood_auroc_patches", higher_is_better=True, help="test digits against the same digits with their 4 x 4 "
                   "tiles shuffled: the same ink, no digit", group="anomaly detection",
                   verdict="anomaly detection (shuffled tiles)", interval="auroc"),
        MetricSpec("ood_auroc_fashion_mnist", higher_is_better=True, help="test digits against Fashion-MNIST's test "
                   "images (when its files are available)", group="anomaly detection",
                   interval="auroc"),
        MetricSpec("ood_auroc_<trivial>", higher_is_better=True, help="inverted (1 - x) and noise (random pixels with "
                   "the digits' mean ink): every model scores ~1.000, so they only check the "
                   "protocol (no interval: nothing to resolve)", group="anomaly detection",
                   diagnostic=True),
    )
    figures = (
        FigureSpec("figures/ood_roc.png", "bench.report.task_figures:ood_roc",
                   "ROC curves of test digits against each outlier set, scored by reconstruction "
                   "error; the dotted diagonal is chance."),
        FigureSpec("figures/anomaly_extremes.png", "bench.report.task_figures:anomaly_extremes",
                   "For each model, the eight test digits it reconstructs best (left) and worst "
                   "(right): what it would flag first as anomalous."),
    )

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        sets = offline_outliers(x, ctx.y_test, ctx.seed)
        for name, images in ctx.outliers.items():
            if images.shape[1:] == tuple(x.shape[1:]):
                sets[name] = to_float(images, x.device)
        normal = reconstruction_scores(ctx.model, x)
        metrics, artifacts, per_image = [], {}, {}
        for name, images in sets.items():
            scores = reconstruction_scores(ctx.model, images)
            metric = f"ood_auroc_{name}"
            metrics.append(self.metric(metric, auroc(normal, scores)))
            artifacts[f"roc_{name}"] = roc_on_grid(normal, scores)
            if self.spec(metric).interval:  # not the diagnostics: nothing to resolve, and a
                per_image[metric] = np.r_[normal, scores].astype(np.float32)  # reference run
                per_image[f"{metric}__labels"] = np.r_[np.zeros(len(normal)),  # keeps them all
                                                       np.ones(len(scores))].astype(np.int8)
        order = np.argsort(normal, kind="stable")
        artifacts["least_anomalous"] = to_uint8(x, order[:N_EXTREMES])
        artifacts["most_anomalous"] = to_uint8(x, order[::-1][:N_EXTREMES].copy())
        return EvalResult(metrics, artifacts, per_image)
