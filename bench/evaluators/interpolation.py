"""Latent interpolation: decode straight lines between the codes of two test digits.

Why a judge: a smooth, "on-manifold" latent space decodes every point of the line into something
that looks like a digit; a poor one passes through blurs. `interp_confidence` is the judge's mean
top-class probability over the interior points of the lines (the endpoints are plain
reconstructions, measured elsewhere). Pairs: the first test 3 to the first test 7 (the classic
picture) and `N_RANDOM` random pairs drawn once with a fixed seed, the same for every model.
"""
from __future__ import annotations

import numpy as np

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)
from bench.evaluators._judged import calibrated, reference

STEPS = 10
N_RANDOM = 64
N_SHOWN = 4           # strips kept for the figure: 3 -> 7 and three random pairs
PAIR_SEED = 1234      # fixed: every model and seed interpolates between the same digits


def pairs(labels: np.ndarray) -> np.ndarray:
    """(n, 2) test indices: first 3 -> first 7 (when both exist), then random pairs."""
    rng = np.random.default_rng(PAIR_SEED)
    chosen = []
    if (labels == 3).any() and (labels == 7).any():
        chosen.append((np.flatnonzero(labels == 3)[0], np.flatnonzero(labels == 7)[0]))
    a = rng.choice(len(labels), size=N_RANDOM)
    b = rng.choice(len(labels), size=N_RANDOM)
    chosen += [(i, j) for i, j in zip(a, b) if i != j]
    return np.asarray(chosen, dtype=np.int64)


def line_codes(z: np.ndarray, index_pairs: np.ndarray, steps: int = STEPS) -> np.ndarray:
    """(n_pairs, steps, d): z_a + t (z_b - z_a) for t evenly spaced in [0, 1]."""
    t = np.linspace(0.0, 1.0, steps)[None, :, None]
    za, zb = z[index_pairs[:, 0]][:, None], z[index_pairs[:, 1]][:, None]
    return (za + t * (zb - za)).astype(np.float32)


@register_evaluator("interpolation", description="Decode straight latent lines between test digits; "
                    "judge confidence along the path")
class Interpolation(Evaluator):
    version = 4  # 4: the judge's confidence is calibrated (temperature scaling)
    order = 65
    needs_decoder = True
    needs_judge = True
    task = "generation"
    metrics = (MetricSpec("interp_confidence", higher_is_better=True, help="the judge's mean calibrated top-class probability at "
                          "the interior points of straight latent lines between pairs of test "
                          "digits (a 3 to a 7, and 64 random pairs): does the path stay among "
                          "digits? Its interval resamples the pairs", group="generation",
                          interval="mean", unit="pair"),)
    figures = (FigureSpec("figures/interpolation.png", "bench.report.task_figures:interpolation_strips",
                          "Latent interpolation: each strip decodes ten evenly spaced points on "
                          "the straight line between the codes of two test digits (first column: "
                          "a 3 to a 7)."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        judge, _ = ctx.judge()
        temperature = reference(judge, ctx.x_test, ctx.y_test).temperature
        index_pairs = pairs(ctx.y_test)
        lines = line_codes(ctx.z_test, index_pairs)
        n, steps, d = lines.shape
        images = ctx.decode(lines.reshape(n * steps, d))
        confidence = calibrated(judge.probs(images), temperature).max(axis=1).reshape(n, steps)
        strips = to_uint8(images.reshape(n, steps, *images.shape[1:])[:N_SHOWN])
        per_pair = confidence[:, 1:-1].mean(axis=1).astype(np.float32)
        return EvalResult([self.metric("interp_confidence", per_pair.mean(dtype=np.float64))],
                          {"strips": strips, "pairs": index_pairs[:N_SHOWN]},
                          per_image={"interp_confidence": per_pair})
