"""Denoising: corrupt the test images, reconstruct them, and measure against the clean images.

Why every model: a plain autoencoder also denoises a little, since its decoder can only draw
digit-like images; the question is by how much, and whether `denoising_ae`, which trained on
noise, does better. The corruptions are drawn once from the seed, identical for every model.

PSNR is per image, with the error floored at one grey level (1/255)^2, i.e. capped at 48.1 dB,
so an exact copy is not infinitely good. The masked square is placed where it hides ink: on
the background (469 of 10,000 test images, drawn uniformly) it left the image unchanged, whose
capped PSNR then dragged every model's `denoise_gain_mask` down by ~1.2 dB.
`denoise_inpaint_mse` is the error inside the masked square only: what inpainting is about,
undiluted by the 88% of pixels the mask did not touch.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)
from bench.evaluators.reconstruction import example_indices, reconstruct_all

MSE_FLOOR = (1 / 255) ** 2  # one grey level: PSNR at most 48.1 dB (an exact copy is not infinitely good)


def gaussian(sigma: float):
    return lambda x, g: (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def salt_and_pepper(x: torch.Tensor, g: torch.Generator, share: float = 0.1) -> torch.Tensor:
    u = torch.rand(x.shape, generator=g)
    return torch.where(u < share / 2, 0.0, torch.where(u > 1 - share / 2, 1.0, x))


def masked_square(x: torch.Tensor, g: torch.Generator, fraction: float = 0.35) -> torch.Tensor:
    """A square of side `fraction` x image side set to 0, at a random place that covers ink."""
    return x.masked_fill(square_mask(x, g, fraction), 0.0)


def square_mask(x: torch.Tensor, g: torch.Generator, fraction: float = 0.35) -> torch.Tensor:
    """Boolean (n, 1, h, w): True inside each image's square, drawn uniformly among the places
    where it hides at least one inked pixel (so the corruption changes every image: a square on
    the background left the image as it was and made its PSNR gain an artefact of the cap)."""
    n, _, h, w = x.shape
    side = max(1, round(fraction * min(h, w)))
    ink = F.avg_pool2d((x > 0).float().cpu(), side, stride=1).flatten(1) > 0  # (n, places)
    ink[~ink.any(dim=1)] = True  # a blank image: any place
    u = torch.rand(n, generator=g)
    count = ink.sum(dim=1)
    pick = (u * count).long().clamp_max(count - 1)  # the pick-th place that covers ink
    place = (ink.cumsum(dim=1) <= pick[:, None]).sum(dim=1)
    top, left = place // (w - side + 1), place % (w - side + 1)
    rows, cols = torch.arange(h), torch.arange(w)
    inside_r = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + side)
    inside_c = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + side)
    return (inside_r[:, :, None] & inside_c[:, None, :])[:, None].to(x.device)


CORRUPTIONS = {"gauss_low": gaussian(0.2), "gauss_high": gaussian(0.5),
               "salt_pepper": salt_and_pepper, "mask": masked_square}


def psnr_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    mse = ((x_hat - x) ** 2).flatten(1).mean(1).clamp_min(MSE_FLOOR)
    return -10.0 * torch.log10(mse)


def inpaint_error(x_hat: torch.Tensor, x: torch.Tensor, seed: int) -> torch.Tensor:
    """Per-image squared error inside the masked square drawn from `seed` (as `corrupt` draws it)."""
    inside = square_mask(x, torch.Generator().manual_seed(seed))
    return ((x_hat - x) ** 2 * inside).flatten(1).sum(1) / inside.flatten(1).sum(1)


def corrupt(x: torch.Tensor, kind: str, seed: int) -> torch.Tensor:
    """The corruption `kind` of `x`, drawn on the CPU from `seed` (the same on every device)."""
    g = torch.Generator().manual_seed(seed)
    return CORRUPTIONS[kind](x.cpu(), g).to(x.device)


@register_evaluator("denoising", description="Reconstruct corrupted test images (2 Gaussian levels, "
                    "salt-and-pepper, a masked square); MSE and PSNR against the clean images")
class Denoising(Evaluator):
    version = 3  # 3: the mask always covers ink (every image changed)
    order = 40
    needs_decoder = True
    task = "denoising"
    task_help = ("The test images are corrupted four ways, the same for every model: gauss_low "
                 "(Gaussian noise, sigma 0.2), gauss_high (sigma 0.5), salt_pepper (10% of pixels "
                 "set to 0 or 1), mask (a square of 35% of the side set to 0, placed where it hides "
                 "ink). Every model "
                 "is evaluated, not only denoising_ae.",)
    metrics = (
        MetricSpec("denoise_mse_<kind>", higher_is_better=False, help="per-pixel squared error of the reconstruction of "
                   "the corrupted image against the clean one", group="denoising", interval="mean"),
        MetricSpec("denoise_psnr_gauss_high", higher_is_better=True, help="PSNR (dB, peak 1, per image, capped at "
                   "48.1 dB = one grey level) of the reconstruction against the clean image, at "
                   "the strongest noise", group="denoising", verdict="denoising (sigma 0.5)",
                   interval="mean"),
        MetricSpec("denoise_psnr_<kind>", higher_is_better=True, help="the same PSNR for the other corruptions",
                   group="denoising", interval="mean"),
        MetricSpec("denoise_gain_<kind>", higher_is_better=True, help="PSNR of the reconstruction minus PSNR of the "
                   "corrupted input: above 0, the model removed more error than it added",
                   group="denoising", interval="mean"),
        MetricSpec("denoise_inpaint_mse", higher_is_better=False, help="per-pixel squared error inside the masked "
                   "square only (inpainting)", group="denoising", verdict="inpainting",
                   interval="mean"),
    )
    figures = (FigureSpec("figures/denoising.png", "bench.report.task_figures:denoising_examples",
                          "Denoising, one panel per corruption: the clean test digits, the "
                          "corrupted input every model received, then each model's "
                          "reconstruction of it."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        show = example_indices(ctx.y_test)[:6]
        per_image, artifacts = {}, {"clean": to_uint8(x, show)}
        for k, kind in enumerate(CORRUPTIONS):
            noisy = corrupt(x, kind, ctx.seed * 1000 + k)
            x_hat = reconstruct_all(ctx.model, noisy).to(x.dtype)
            psnr = psnr_per_image(x_hat, x)
            per_image[f"denoise_mse_{kind}"] = ((x_hat - x) ** 2).flatten(1).mean(1)
            per_image[f"denoise_psnr_{kind}"] = psnr
            per_image[f"denoise_gain_{kind}"] = psnr - psnr_per_image(noisy, x)
            if kind == "mask":
                per_image["denoise_inpaint_mse"] = inpaint_error(x_hat, x, ctx.seed * 1000 + k)
            artifacts[f"noisy_{kind}"] = to_uint8(noisy, show)
            artifacts[f"denoised_{kind}"] = to_uint8(x_hat, show)
        per_image = {k: v.double().cpu().numpy().astype(np.float32) for k, v in per_image.items()}
        metrics = [self.metric(k, v.mean(dtype=np.float64)) for k, v in per_image.items()]
        return EvalResult(metrics, artifacts, per_image)
