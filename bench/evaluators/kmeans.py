"""k-means (k = number of classes) on the test codes, scored against the digit labels."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from bench.evaluators import EvalContext, EvalResult, Evaluator, MetricSpec, register_evaluator
from bench.evaluators._cluster_metrics import matched_accuracy, purity

N_INIT = 10


@register_evaluator("kmeans", description="k-means with k=10 on test codes: purity, Hungarian accuracy, NMI, ARI")
class KMeansEval(Evaluator):
    version = 2
    order = 20
    metrics = tuple(
        MetricSpec(f"kmeans_{name}", higher_is_better=True, help=help, group="clustering", headline=name == "acc",
                   verdict="clustering" if name == "acc" else "", cheap=True, interval="clusters",
                   score=name)
        for name, help in [
            ("purity", "k-means (k = 10) on the test codes; each cluster counts its majority digit "
             "(several clusters may share one), so purity >= acc"),
            ("acc", "k-means (k = 10) on the test codes, clusters matched one-to-one to digits "
             "(Hungarian): labels for free"),
            ("nmi", "normalised mutual information between k-means clusters and digits"),
            ("ari", "adjusted Rand index between k-means clusters and digits (0 = chance)")])

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        k = len(np.unique(ctx.y_train))
        with warnings.catch_warnings():
            # a code with fewer than k distinct values (an undertrained VQ-VAE) is scored as it is
            warnings.simplefilter("ignore", ConvergenceWarning)
            clusters = KMeans(n_clusters=k, n_init=N_INIT, random_state=ctx.seed).fit_predict(
                ctx.z_test.astype(np.float64))
        y = ctx.y_test
        values = {"kmeans_purity": purity(y, clusters), "kmeans_acc": matched_accuracy(y, clusters),
                  "kmeans_nmi": normalized_mutual_info_score(y, clusters),
                  "kmeans_ari": adjusted_rand_score(y, clusters)}
        # the clusters are the per-image outcome: the report rescores them on resampled images
        return EvalResult([self.metric(k, v) for k, v in values.items()],
                          per_image={**{k: clusters[None].astype(np.int16) for k in values},
                                     "labels": y.astype(np.int16)})
