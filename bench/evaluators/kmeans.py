"""k-means (k = number of classes) on the test codes, scored against the digit labels."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator
from bench.evaluators._cluster_metrics import matched_accuracy, purity

N_INIT = 10


@register_evaluator("kmeans", description="k-means with k=10 on test codes: purity, Hungarian accuracy, NMI, ARI")
class KMeansEval(Evaluator):
    version = 1

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        k = len(np.unique(ctx.y_train))
        with warnings.catch_warnings():
            # a code with fewer than k distinct values (an undertrained VQ-VAE) is scored as it is
            warnings.simplefilter("ignore", ConvergenceWarning)
            clusters = KMeans(n_clusters=k, n_init=N_INIT, random_state=ctx.seed).fit_predict(
                ctx.z_test.astype(np.float64))
        y = ctx.y_test
        return EvalResult([
            Metric("kmeans_purity", purity(y, clusters), True),
            Metric("kmeans_acc", matched_accuracy(y, clusters), True),
            Metric("kmeans_nmi", float(normalized_mutual_info_score(y, clusters)), True),
            Metric("kmeans_ari", float(adjusted_rand_score(y, clusters)), True),
        ])
