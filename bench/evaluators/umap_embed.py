"""UMAP of the test codes to 2-D: a picture per model, and how faithfully it keeps neighbours.

`umap_trustworthiness` (scikit-learn's, 10 neighbours) is 1 when every 2-D neighbour is also a
neighbour in code space. UMAP runs with `random_state=seed`, which makes it single-threaded and
reproducible. Both use the first `MAX_POINTS` test codes: on 2 cores UMAP of all 10,000 took
16 s per model against 4 s for 5,000, and a 5,000-point picture shows the same structure.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.manifold import trustworthiness

from bench.evaluators import EvalContext, EvalResult, Evaluator, Metric, register_evaluator

N_NEIGHBORS = 10
MAX_POINTS = 5_000


@register_evaluator("umap", description="UMAP 2-D of the test codes (figure) and its trustworthiness")
class UMAPEval(Evaluator):
    version = 2

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        import umap  # heavy import (numba): only when this evaluator runs

        z = ctx.z_test[:MAX_POINTS].astype(np.float32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs overridden by random_state" and friends
            emb = umap.UMAP(n_components=2, random_state=ctx.seed).fit_transform(z)
        tw = trustworthiness(z, emb, n_neighbors=N_NEIGHBORS)
        return EvalResult([Metric("umap_trustworthiness", float(tw), True)],
                          {"embedding": emb.astype(np.float32), "labels": ctx.y_test[:MAX_POINTS].astype(np.int8)})
