"""95% intervals and paired comparisons by resampling the test images (and the seeds).

Why one shared resampling plan: comparing two models is only tight when both are scored on the
*same* resampled test images (a paired bootstrap). Every statistic here is computed from
multinomial weights drawn once per test-set length and shared by every model, metric and seed,
so any two models' replicates can be subtracted. The seeds are handled by small-sample
inference on top of these replicates (`bench.report.seed_stats`).

Why not `scipy.stats.bootstrap`: it draws new resamples on every call, so it cannot share one
plan across 13 models x 40 metrics (what pairing needs), nor resample seeds and images together.
The percentile interval it would give on one sample is what `interval` computes (after the
bootstrap's bias correction, see `seed_replicates`); the tests check it against scipy (the binomial
interval of an accuracy, and `scipy.stats.bootstrap` itself).

    plan = Resampler()
    reps = plan.seed_replicates("mean", {"values": correct_s0, "value": correct_s0.mean()})
    low, high = interval(reps)
"""
from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment

N_BOOT = 1_000
LEVEL = 0.95
PLAN_SEED = 2_024


class Resampler:
    """Bootstrap weights shared by every model of a run: `image_weights(n)` is a (N_BOOT, n)
    matrix of multinomial counts over n test images (each row sums to n). Deterministic: the
    report is rebuilt byte for byte. The seeds are not resampled: with a handful of them a
    bootstrap is no 95% procedure, so `bench.report.seed_stats` adds their variance instead."""

    def __init__(self, n_boot: int = N_BOOT, seed: int = PLAN_SEED):
        self.n_boot, self.seed = n_boot, seed
        self._weights = lru_cache(maxsize=8)(self._draw)
        self._tables: dict[bytes, np.ndarray] = {}  # k-means' four scores share one clustering

    def _draw(self, n: int, salt: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, salt, n])
        return rng.multinomial(n, np.full(n, 1.0 / n), size=self.n_boot).astype(np.float32)

    def image_weights(self, n: int) -> np.ndarray:
        return self._weights(n, 1)

    def seed_replicates(self, kind: str, outcome: dict) -> np.ndarray:
        """(B,) bootstrap replicates of one seed's metric over the test images, by the metric's
        interval kind ("mean", "clusters", "auroc"). `outcome` holds the per-image array under
        "values" (and "labels", "score", and the metric's "value").

        With "value" given, the replicates are shifted so that their mean is the seed's own
        value: the bootstrap's bias correction. Resampling images with replacement inflates the
        clustering scores of a poor clustering (duplicated images make its clusters look purer:
        NMI 0.12 scored 0.13-0.20 on 297 digits), which would put the value outside its own
        percentile interval; a mean has no such bias, and the shift is ~0 there."""
        reps = self._resampled(kind, outcome)
        if "value" in outcome:
            reps = reps - (np.nanmean(reps) - outcome["value"])
        return reps

    def _resampled(self, kind: str, outcome: dict) -> np.ndarray:
        values = np.asarray(outcome["values"])
        if kind == "mean":  # float32: the weights are small integers, the sums need no more
            w = self.image_weights(values.shape[-1])
            return (w @ values.astype(np.float32)).astype(np.float64) / values.shape[-1]
        if kind == "clusters":  # (repeats, n) cluster ids: the score averaged over repeats
            score = CLUSTER_SCORES[outcome["score"]]
            return np.mean([score(t) for t in self._cluster_tables(values, np.asarray(outcome["labels"]))], axis=0)
        if kind == "auroc":
            return weighted_auroc(self.image_weights(len(values)), values, np.asarray(outcome["labels"]))
        raise ValueError(f"unknown interval kind {kind!r}")


    def _cluster_tables(self, clusters: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
        key = hashlib.sha256(np.ascontiguousarray(clusters).tobytes() + labels.tobytes()).digest()
        if key not in self._tables:
            w = self.image_weights(labels.shape[-1])
            if len(self._tables) >= 32:  # a cell's seeds and scores come together: keep a few
                self._tables.pop(next(iter(self._tables)))
            self._tables[key] = [weighted_tables(w, labels, c) for c in np.atleast_2d(clusters)]
        return self._tables[key]


def interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of the replicates."""
    tail = 100 * (1 - level) / 2
    low, high = np.nanpercentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


# ----------------------------------------------------------------- clustering under weights
def weighted_tables(w: np.ndarray, labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """(B, clusters, labels) contingency tables, each image counted with its bootstrap weight."""
    _, l = np.unique(labels, return_inverse=True)
    _, c = np.unique(clusters, return_inverse=True)
    n_l, n_c = l.max() + 1, c.max() + 1
    cell = c * n_l + l
    order = np.argsort(cell, kind="stable")
    starts = np.searchsorted(cell[order], np.arange(n_c * n_l))
    present = np.bincount(cell, minlength=n_c * n_l) > 0
    padded = np.concatenate([w[:, order], np.zeros((len(w), 1), w.dtype)], axis=1)  # an empty
    sums = np.add.reduceat(padded, starts, axis=1)  # last cell must not drop the final image
    return np.where(present, sums, 0.0).reshape(len(w), n_c, n_l)


def _purity(t: np.ndarray) -> np.ndarray:
    return t.max(axis=2).sum(axis=1) / t.sum(axis=(1, 2))


def _matched_accuracy(t: np.ndarray) -> np.ndarray:
    out = np.empty(len(t))
    for b, table in enumerate(t):
        rows, cols = linear_sum_assignment(table, maximize=True)
        out[b] = table[rows, cols].sum() / table.sum()
    return out


def _entropy(p: np.ndarray, axis) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=axis)


def _nmi(t: np.ndarray) -> np.ndarray:
    """Normalised mutual information with the arithmetic mean of the entropies (sklearn's default)."""
    p = t / t.sum(axis=(1, 2), keepdims=True)
    h_c, h_l = _entropy(p.sum(axis=2), 1), _entropy(p.sum(axis=1), 1)
    mi = h_c + h_l - _entropy(p, (1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((h_c + h_l) > 0, mi / ((h_c + h_l) / 2), 1.0)


def _ari(t: np.ndarray) -> np.ndarray:
    """Adjusted Rand index from the contingency table (Hubert and Arabie 1985)."""
    def pairs(x):
        return x * (x - 1) / 2
    n = t.sum(axis=(1, 2))
    index = pairs(t).sum(axis=(1, 2))
    a, b = pairs(t.sum(axis=2)).sum(axis=1), pairs(t.sum(axis=1)).sum(axis=1)
    expected = a * b / pairs(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (index - expected) / ((a + b) / 2 - expected)


# The scores a "clusters" metric may declare (MetricSpec.score)
CLUSTER_SCORES = {"purity": _purity, "acc": _matched_accuracy, "nmi": _nmi, "ari": _ari}


# ----------------------------------------------------------------------- AUROC under weights
def weighted_auroc(w: np.ndarray, scores: np.ndarray, is_outlier: np.ndarray) -> np.ndarray:
    """AUROC (outliers scoring above normal images) under every weight row; ties count 1/2."""
    pos = np.asarray(is_outlier).astype(bool)
    order = np.argsort(scores[~pos], kind="stable")
    neg_scores, neg_w = scores[~pos][order], w[:, ~pos][:, order]
    below = np.concatenate([np.zeros((len(w), 1), w.dtype), np.cumsum(neg_w, axis=1)], axis=1)
    lo = np.searchsorted(neg_scores, scores[pos], side="left")    # normal images strictly below
    hi = np.searchsorted(neg_scores, scores[pos], side="right")   # ... and those tied with it
    pos_w = w[:, pos]
    under = below[:, lo] if np.array_equal(lo, hi) else (below[:, lo] + below[:, hi]) / 2  # ties
    wins = (pos_w * under).sum(axis=1, dtype=np.float64)
    return wins / (pos_w.sum(axis=1, dtype=np.float64) * below[:, -1])
