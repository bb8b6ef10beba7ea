"""UMAP of the test codes to 2-D: a picture per model, and how faithfully it keeps neighbours.

`umap_trustworthiness` (scikit-learn's, 10 neighbours) is 1 when every 2-D neighbour is also a
neighbour in code space. UMAP runs with `random_state=seed`, which makes it single-threaded and
reproducible. Both use the first `MAX_POINTS` test codes: on 2 cores UMAP of all 10,000 took
16 s per model against 4 s for 5,000, and a 5,000-point picture shows the same structure.

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

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator
from bench.evaluators._neighbours import nearest

N_NEIGHBORS = 10
MAX_POINTS = 5_000
N_EPOCHS = 200


def fit_umap(z: np.ndarray, n_components: int, n_neighbors: int = 15, min_dist: float = 0.1,
             seed: int = 0) -> np.ndarray:
    """UMAP embedding of `z` (float32) on exact neighbours; reproducible for a given seed."""
    import umap  # heavy import (numba): only when an evaluator needs it

    n_neighbors = min(n_neighbors, len(z) - 1)
    idx, dist = nearest(z, z, n_neighbors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
        return umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                         n_epochs=N_EPOCHS, random_state=seed,
                         precomputed_knn=(idx, dist, None)).fit_transform(z)


@register_evaluator("umap", description="UMAP 2-D of the test codes (figure) and its trustworthiness")
class UMAPEval(Evaluator):
    version = 3

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        z = ctx.z_test[:MAX_POINTS].astype(np.float32)
        emb = fit_umap(z, n_components=2, seed=ctx.seed)
        tw = trustworthiness(z, emb, n_neighbors=N_NEIGHBORS)
        return EvalResult([Metric("umap_trustworthiness", float(tw), True)],
                          {"embedding": emb.astype(np.float32), "labels": ctx.y_test[:MAX_POINTS].astype(np.int8)})
