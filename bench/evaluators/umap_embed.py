"""UMAP of the test codes to 2-D: a picture per model, and how faithfully it keeps neighbours.

`umap_trustworthiness` (scikit-learn's, 10 neighbours) is 1 when every 2-D neighbour is also a
neighbour in code space. It describes the *picture*, not the code: a code that collapses onto a
few directions is easy to draw faithfully in 2-D and scores high while clustering badly, so it
is a diagnostic (never bold, never ranked). UMAP runs with `random_state=seed`, which makes it
single-threaded and reproducible. Both UMAP evaluators use `umap_subset`: `MAX_POINTS` test
images drawn at random within each digit, once, the same for every model and seed. (The first
5,000 test images, used before, are not a fair half: MNIST's test set is easier in its second
half, and the raw-pixel and PCA rows swapped order between the halves.) On 2 cores UMAP of all
10,000 took 16 s per model against 4 s for 5,000.

`fit_umap` (also used by `umap_cluster`) hands UMAP exact neighbours (`_neighbours.nearest`)
instead of letting it compile its approximate search in every process (32 s -> 5 s for the
first UMAP of a process), and runs `N_EPOCHS` = 200 layout epochs, UMAP's own choice for
more than 10,000 points (for 5,000 it would run 500): 5.0 s -> 1.7 s per model, trustworthiness
0.9690 -> 0.9662 for conv_ae and 0.9556 -> 0.9544 for vae (measured on the example run's codes).
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.manifold import trustworthiness

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator)
from bench.evaluators._neighbours import nearest
from bench.evaluators._umap import umap_module

N_NEIGHBORS = 10
MAX_POINTS = 5_000
N_EPOCHS = 200
SUBSET_SEED = 20_240  # fixed: every model and seed sees the same images


def umap_subset(labels: np.ndarray, n: int | None = None) -> np.ndarray:
    """Sorted indices of `n` (default MAX_POINTS) test images (all when fewer), drawn at random
    within each class in proportion to its size: a representative sample, identical for every
    model."""
    n = MAX_POINTS if n is None else n
    if len(labels) <= n:
        return np.arange(len(labels))
    rng = np.random.default_rng(SUBSET_SEED)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts * n / len(labels)).astype(int)
    quota[np.argsort(-(counts * n / len(labels) - quota))[:n - quota.sum()]] += 1  # largest remainders
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), q, replace=False)
                                   for c, q in zip(classes, quota)]))


def fit_umap(z: np.ndarray, n_components: int, n_neighbors: int = 15, min_dist: float = 0.1,
             seed: int = 0, n_epochs: int = N_EPOCHS) -> np.ndarray:
    """UMAP embedding of `z` (float32) on exact neighbours; reproducible for a given seed."""
    umap = umap_module()
    n_neighbors = min(n_neighbors, len(z) - 1)
    idx, dist = nearest(z, z, n_neighbors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
        return umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                         n_epochs=n_epochs, random_state=seed,
                         precomputed_knn=(idx, dist, None)).fit_transform(z)


@register_evaluator("umap", description="UMAP 2-D of the test codes (figure) and its trustworthiness")
class UMAPEval(Evaluator):
    version = 4
    order = 90
    metrics = (MetricSpec("umap_trustworthiness", higher_is_better=True, help="how well the 2-D UMAP picture keeps each "
                          "test code's 10 nearest neighbours (1 = all kept); a diagnostic of the "
                          "picture: collapsed codes are easy to draw and score high",
                          group="diagnostics", diagnostic=True),)
    figures = (FigureSpec("figures/umap.png", "bench.report.figures:umap_panels",
                          "UMAP of each model's test codes, coloured by the true digit (same "
                          "colours in every panel). Tight, separated blobs mean the code groups "
                          "digits without labels."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        subset = umap_subset(ctx.y_test)
        z = ctx.z_test[subset].astype(np.float32)
        emb = fit_umap(z, n_components=2, seed=ctx.seed)
        tw = trustworthiness(z, emb, n_neighbors=N_NEIGHBORS)
        return EvalResult([self.metric("umap_trustworthiness", tw)],
                          {"embedding": emb.astype(np.float32), "labels": ctx.y_test[subset].astype(np.int8)})


def compile_kernels() -> None:
    """Fill numba's cache with one tiny embedding, at install time (`dev.py`): with an empty
    cache the first UMAP of a process compiles for many times longer than it embeds (README),
    and a fresh venv's first run paid that in every process that embeds (test processes, a run's
    workers) until one of them had written the cache. The kernels it compiles serve both UMAP
    evaluators (any point count or dimension: numba compiles per type, not per shape)."""
    fit_umap(np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32), n_components=2)
