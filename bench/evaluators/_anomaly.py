"""Anomaly scores and their AUROC, shared by the out-of-distribution and one-class evaluators.

Why reconstruction error: an autoencoder trained on normal data reconstructs normal images
well and others badly, so the per-image error is an anomaly score that needs no labels.

    auroc(normal_scores, anomalous_scores)   # 1.0 when every anomaly scores above every normal
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score, roc_curve

from bench.evaluators.reconstruction import reconstruct_all

FPR_GRID = np.linspace(0.0, 1.0, 101)  # ROC curves are stored on a fixed grid: small and plottable


def reconstruction_scores(model, x: torch.Tensor) -> np.ndarray:
    """Per-image mean squared reconstruction error: the anomaly score."""
    x_hat = reconstruct_all(model, x).to(x.dtype)
    return ((x_hat - x) ** 2).flatten(1).mean(1).double().cpu().numpy()


def _labelled(normal: np.ndarray, anomalous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.r_[np.zeros(len(normal)), np.ones(len(anomalous))]
    return labels, np.r_[normal, anomalous]


def auroc(normal: np.ndarray, anomalous: np.ndarray) -> float:
    """Probability that a random anomaly scores higher than a random normal image (ties 1/2)."""
    return float(roc_auc_score(*_labelled(normal, anomalous)))


def roc_on_grid(normal: np.ndarray, anomalous: np.ndarray) -> np.ndarray:
    """True-positive rate at each false-positive rate of FPR_GRID."""
    fpr, tpr, _ = roc_curve(*_labelled(normal, anomalous))
    return np.interp(FPR_GRID, fpr, tpr).astype(np.float32)
