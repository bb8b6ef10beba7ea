"""Clustering through UMAP (the N2D protocol, McConville et al. 2019): embed the test codes in
10-D with UMAP (20 neighbours, min_dist 0), then fit a 10-component Gaussian mixture there.

Why: k-means on a raw code assumes round clusters of equal size; a manifold learner first often
separates digits that k-means mixes. `umap_cluster_acc` (Hungarian-matched) and `umap_cluster_nmi`
sit beside `kmeans_acc` so the two can be compared. Uses the first `MAX_POINTS` test codes, like
the UMAP picture, for the same reason (cost).

The mixture keeps the best of `N_INIT` = 10 starts (by likelihood): with one start, five seeds
of the mixture on one embedding of conv_ae's codes gave accuracies from 0.75 to 0.90 (measured);
with ten, 0.902-0.909. UMAP itself: see `umap_embed.fit_umap`.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import normalized_mutual_info_score
from sklearn.mixture import GaussianMixture

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator
from bench.evaluators._cluster_metrics import matched_accuracy
from bench.evaluators.umap_embed import MAX_POINTS, fit_umap

N_NEIGHBORS = 20
N_COMPONENTS = 10
N_INIT = 10
REG_COVAR = (1e-4, 1e-2, 1.0)  # UMAP coordinates span ~10 units: these floors are negligible


def fit_mixture(emb: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels of a k-component Gaussian mixture. With min_dist 0, UMAP can pack a
    cluster into (nearly) one point, and the mixture then fails on a singular covariance (seen
    once in CI on real MNIST); a larger variance floor is tried before giving up."""
    for reg in REG_COVAR:
        try:
            return GaussianMixture(k, covariance_type="full", reg_covar=reg, n_init=N_INIT,
                                   random_state=seed).fit_predict(emb)
        except ValueError:
            if reg == REG_COVAR[-1]:
                raise


@register_evaluator("umap_cluster", description="N2D: Gaussian mixture on a 10-D UMAP of the test codes; "
                    "Hungarian accuracy and NMI")
class UMAPCluster(Evaluator):
    version = 3

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        z, y = ctx.z_test[:MAX_POINTS].astype(np.float32), ctx.y_test[:MAX_POINTS]
        k = len(np.unique(ctx.y_train))
        emb = fit_umap(z, n_components=min(N_COMPONENTS, len(z) - 2), n_neighbors=N_NEIGHBORS,
                       min_dist=0.0, seed=ctx.seed)
        clusters = fit_mixture(emb.astype(np.float64), k, ctx.seed)
        return EvalResult([Metric("umap_cluster_acc", matched_accuracy(y, clusters), True),
                           Metric("umap_cluster_nmi", float(normalized_mutual_info_score(y, clusters)), True)])
