"""k-nearest-neighbour classification of the test codes by the training codes (`knn_acc`).

Why beside the linear probe: the probe asks whether digits are linearly separable in the code,
k-NN asks whether neighbours in the code share a digit, which is what retrieval and clustering
rely on (solo-learn reports both). Euclidean distance on the codes as they are, K = 10, a
plain majority vote (a tie goes to the smaller label, as in scikit-learn's KNeighborsClassifier).
"""
from __future__ import annotations

import numpy as np

from bench.evaluators import EvalContext, EvalResult, Evaluator, MetricSpec, register_evaluator
from bench.evaluators._neighbours import nearest

K = 10


@register_evaluator("knn", description="k-nearest-neighbour (k=10) accuracy of test codes against training codes")
class KNearestNeighbours(Evaluator):
    version = 3
    order = 35
    metrics = (MetricSpec("knn_acc", higher_is_better=True, help="accuracy of a 10-nearest-neighbour vote among the "
                          "training codes: do neighbours in the code share a digit?",
                          group="probing", verdict="neighbours (k-NN)", cheap=True, interval="mean"),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        correct = (knn_predict(ctx.z_train, ctx.y_train, ctx.z_test, K) == ctx.y_test).astype(np.int8)
        return EvalResult([self.metric("knn_acc", correct.mean())], per_image={"knn_acc": correct})


def knn_predict(z_train: np.ndarray, y_train: np.ndarray, z_test: np.ndarray, k: int) -> np.ndarray:
    idx, _ = nearest(z_test, z_train, min(k, len(z_train)))
    votes = np.zeros((len(z_test), int(y_train.max()) + 1), dtype=np.int64)
    np.add.at(votes, (np.arange(len(z_test))[:, None], y_train[idx]), 1)
    return votes.argmax(axis=1)
