"""Denoising: corrupt the test images, reconstruct them, and measure against the clean images.

Why every model: a plain autoencoder also denoises a little, since its decoder can only draw
digit-like images; the question is by how much, and whether `denoising_ae`, which trained on
noise, does better. The corruptions are drawn once from the seed, identical for every model.

    denoise_mse_<kind>   per-pixel MSE of the reconstruction against the clean image (lower is better)
    denoise_psnr_<kind>  mean per-image PSNR in dB, peak 1 (higher is better)
    denoise_gain_<kind>  PSNR of the reconstruction minus PSNR of the corrupted input (dB)
"""
from __future__ import annotations

import numpy as np
import torch

from bench.evaluators import (EvalContext, EvalResult, Evaluator, Metric, register_evaluator,
                              to_uint8)
from bench.evaluators.reconstruction import example_indices, reconstruct_all

MSE_FLOOR = 1e-10  # a perfect reconstruction would give infinite PSNR


def gaussian(sigma: float):
    return lambda x, g: (x + sigma * torch.randn(x.shape, generator=g)).clamp(0, 1)


def salt_and_pepper(x: torch.Tensor, g: torch.Generator, share: float = 0.1) -> torch.Tensor:
    u = torch.rand(x.shape, generator=g)
    return torch.where(u < share / 2, 0.0, torch.where(u > 1 - share / 2, 1.0, x))


def masked_square(x: torch.Tensor, g: torch.Generator, fraction: float = 0.35) -> torch.Tensor:
    """A square of side `fraction` x image side set to 0 at a random place in each image."""
    n, _, h, w = x.shape
    side = max(1, round(fraction * min(h, w)))
    top = torch.randint(0, h - side + 1, (n,), generator=g)
    left = torch.randint(0, w - side + 1, (n,), generator=g)
    rows, cols = torch.arange(h), torch.arange(w)
    inside_r = (rows[None] >= top[:, None]) & (rows[None] < top[:, None] + side)
    inside_c = (cols[None] >= left[:, None]) & (cols[None] < left[:, None] + side)
    mask = (inside_r[:, :, None] & inside_c[:, None, :])[:, None]
    return x.masked_fill(mask, 0.0)


CORRUPTIONS = {"gauss_low": gaussian(0.2), "gauss_high": gaussian(0.5),
               "salt_pepper": salt_and_pepper, "mask": masked_square}


def psnr_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    mse = ((x_hat - x) ** 2).flatten(1).mean(1).clamp_min(MSE_FLOOR)
    return -10.0 * torch.log10(mse)


def corrupt(x: torch.Tensor, kind: str, seed: int) -> torch.Tensor:
    """The corruption `kind` of `x`, drawn on the CPU from `seed` (the same on every device)."""
    g = torch.Generator().manual_seed(seed)
    return CORRUPTIONS[kind](x.cpu(), g).to(x.device)


@register_evaluator("denoising", description="Reconstruct corrupted test images (2 Gaussian levels, "
                    "salt-and-pepper, a masked square); MSE and PSNR against the clean images")
class Denoising(Evaluator):
    version = 1
    needs_decoder = True

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        x = ctx.x_test
        show = example_indices(ctx.y_test)[:6]
        metrics, artifacts = [], {"clean": to_uint8(x, show)}
        for k, kind in enumerate(CORRUPTIONS):
            noisy = corrupt(x, kind, ctx.seed * 1000 + k)
            x_hat = reconstruct_all(ctx.model, noisy).to(x.dtype)
            psnr = psnr_per_image(x_hat, x).mean().item()
            metrics += [Metric(f"denoise_mse_{kind}", torch.mean((x_hat - x) ** 2).item(), False),
                        Metric(f"denoise_psnr_{kind}", psnr, True),
                        Metric(f"denoise_gain_{kind}", psnr - psnr_per_image(noisy, x).mean().item(), True)]
            artifacts[f"noisy_{kind}"] = to_uint8(noisy, show)
            artifacts[f"denoised_{kind}"] = to_uint8(x_hat, show)
        return EvalResult(metrics, artifacts)
