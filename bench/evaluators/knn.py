"""k-nearest-neighbour classification of the test codes by the training codes (`knn_acc`).

Why beside the linear probe: the probe asks whether digits are linearly separable in the code,
k-NN asks whether neighbours in the code share a digit, which is what retrieval and clustering
rely on (solo-learn reports both). Euclidean distance on the codes as they are, K = 10.
"""
from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator

K = 10


@register_evaluator("knn", description="k-nearest-neighbour (k=10) accuracy of test codes against training codes")
class KNearestNeighbours(Evaluator):
    version = 1

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        knn = KNeighborsClassifier(n_neighbors=K, algorithm="brute", n_jobs=1)
        knn.fit(ctx.z_train, ctx.y_train)
        return EvalResult([Metric("knn_acc", float(knn.score(ctx.z_test, ctx.y_test)), True)])
