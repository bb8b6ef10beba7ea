"""Clustering scores against labels: purity and Hungarian-matched accuracy, side by side.

Why both: purity lets many clusters share a label, accuracy matches clusters to labels one to
one, so purity >= accuracy always; reporting one under the other's name flatters a model.

    purity(labels, clusters), matched_accuracy(labels, clusters)
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def contingency(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Counts[cluster, label]."""
    _, c = np.unique(clusters, return_inverse=True)
    _, l = np.unique(labels, return_inverse=True)
    table = np.zeros((c.max() + 1, l.max() + 1), dtype=np.int64)
    np.add.at(table, (c, l), 1)
    return table


def purity(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Share of points whose cluster's majority label is their own."""
    return float(contingency(labels, clusters).max(axis=1).sum() / len(labels))


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy under the best one-to-one cluster-to-label map (Hungarian algorithm)."""
    table = contingency(labels, clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(labels))
