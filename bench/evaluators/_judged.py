"""What the generation and interpolation evaluators share about the judge: the held-out split
of the test images, their feature statistics, and the judge's calibrated confidence.

Why calibrated: a network's softmax is usually over-confident, so "the judge is 97% sure this
sample is a digit" would mean less than it says. Temperature scaling (Guo et al. 2017) fits
one number T on labelled images the judge never trained on (half B of the test set, the half
that is not FID's reference) by minimising their negative log-likelihood; the confidence
reported is then the top-class probability of softmax(logits / T). Computed once per process
and test set (the same for every cell), since the judge and the test images are.

    ref = reference(judge, x_test, y_test); probs = calibrated(judge_probs, ref.temperature)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from bench.judge import feature_stats, frechet_distance

SPLIT_SEED = 4_242  # fixed: the same reference half for every model and seed


def reference_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of the test indices: (reference, real comparison sample)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[:n - n // 2]), np.sort(order[n - n // 2:])


@dataclass(frozen=True)
class Reference:
    stats: tuple[np.ndarray, np.ndarray]  # the judge's features of half A: FID's reference
    floor: float                          # half B's Fréchet distance to half A
    n_real: int                           # images in half B: how many samples to generate
    temperature: float                    # fitted on half B's labels


def calibrated(probs: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(logits / T) from softmax(logits): the log-probabilities differ from the logits
    by a constant per row, which the softmax removes."""
    logits = np.log(np.clip(probs, 1e-12, None)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.05, 20] that minimises the negative log-likelihood of `labels`."""
    def nll(log_t: float) -> float:
        p = calibrated(probs, float(np.exp(log_t)))[np.arange(len(labels)), labels]
        return float(-np.log(np.clip(p, 1e-12, None)).mean())
    return float(np.exp(minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded").x))


_CACHE: dict[tuple, Reference] = {}


def reference(judge, x_test: torch.Tensor, y_test: np.ndarray) -> Reference:
    """The run's `Reference`, kept per process, keyed by the judge and the test images' bytes
    (a sweep over datasets changes them)."""
    key = (id(judge), hashlib.blake2b(x_test.cpu().numpy().tobytes(), digest_size=16).digest())
    if key not in _CACHE:
        ref, real = reference_split(len(x_test))
        ref_stats = feature_stats(judge.features(x_test[ref]))
        features, probs = judge.features_and_probs(x_test[real])
        floor = frechet_distance(*feature_stats(features), *ref_stats)
        _CACHE.clear()  # one run's test set at a time
        _CACHE[key] = Reference(ref_stats, floor, len(real),
                                fit_temperature(probs, np.asarray(y_test)[real]))
    return _CACHE[key]
