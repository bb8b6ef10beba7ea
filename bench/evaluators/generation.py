"""Generation: sample codes, decode them, and score the images with the judge classifier.

Every model gets the same sampler: a 10-component Gaussian mixture fitted to (10,000 of) its
standardised training codes, as pythae's GaussianMixtureSampler does, so models without a prior can generate
too. Models with a prior (the VAEs) are also sampled from it (`*_prior`).

The Fréchet distance is taken to *held-out* images: the test set is split once, at random, in
two halves; half A is the reference, the model generates as many images as half B holds, and
`fid_floor` is half B's own distance to half A: what real digits score at this sample size.
(Before, the reference was the judge's own training images and the "floor" the test set, of a
different size: neither was a floor.)
"""
from __future__ import annotations

import hashlib
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)
from bench.judge import feature_stats, frechet_distance

N_COMPONENTS = 10
MAX_FIT = 10_000   # training codes the mixture is fitted on: 4 s instead of 11 s for all 60,000
REG_COVAR = 1e-3   # on standardised codes: keeps collapsed or quantised dimensions fittable
N_SHOWN = 40
SPLIT_SEED = 4_242  # fixed: the same reference half for every model and seed


def reference_split(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random halves of the test indices: (reference, real comparison sample)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[:n - n // 2]), np.sort(order[n - n // 2:])


def gmm_sample(z_train: np.ndarray, n: int, seed: int) -> np.ndarray:
    """`n` codes from a Gaussian mixture fitted to the standardised training codes.

    Sampled here rather than by `GaussianMixture.sample`, which orders samples by component
    and rejects weights whose float sum exceeds 1 by rounding (seen with a VQ-VAE's codes)."""
    rng = np.random.default_rng(seed)
    if len(z_train) > MAX_FIT:
        z_train = z_train[rng.choice(len(z_train), MAX_FIT, replace=False)]
    scaler = StandardScaler().fit(z_train)
    with warnings.catch_warnings():  # a quantised code has few distinct points: fit it anyway
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm = GaussianMixture(N_COMPONENTS, covariance_type="full", reg_covar=REG_COVAR,
                              random_state=seed).fit(scaler.transform(z_train))
    component = rng.choice(len(gmm.weights_), size=n, p=gmm.weights_ / gmm.weights_.sum())
    chol = np.linalg.cholesky(gmm.covariances_)
    noise = rng.standard_normal((n, gmm.means_.shape[1]))
    samples = gmm.means_[component] + np.einsum("nij,nj->ni", chol[component], noise)
    return scaler.inverse_transform(samples).astype(np.float32)


_REFERENCE_CACHE: dict[tuple, tuple] = {}


def reference_stats(judge, x_test: torch.Tensor) -> tuple[tuple[np.ndarray, np.ndarray], float, int]:
    """(feature statistics of the reference half, fid_floor, size of the other half). The same
    for every cell of a run, so kept per process, keyed by the judge and the test images'
    bytes (a sweep over datasets changes them)."""
    key = (id(judge), hashlib.blake2b(x_test.cpu().numpy().tobytes(), digest_size=16).digest())
    if key not in _REFERENCE_CACHE:
        reference, real = reference_split(len(x_test))
        ref_stats = feature_stats(judge.features(x_test[reference]))
        floor = frechet_distance(*feature_stats(judge.features(x_test[real])), *ref_stats)
        _REFERENCE_CACHE.clear()  # one run's test set at a time
        _REFERENCE_CACHE[key] = ref_stats, floor, len(real)
    return _REFERENCE_CACHE[key]


def label_entropy_bits(probs: np.ndarray) -> float:
    p = probs.mean(axis=0)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


@register_evaluator("generation", description="Decode codes sampled from a Gaussian mixture on the "
                    "training codes (and the prior, for VAEs); judge-space Fréchet distance, label entropy")
class Generation(Evaluator):
    version = 3  # 3: scored by the shipped judge (bench.store.judges)
    order = 60
    needs_decoder = True
    needs_judge = True
    task = "generation"
    task_help = ("Generated images are scored offline by a judge: a small CNN classifier trained "
                 "on the training split (its test accuracy is given below).",)
    metrics = (
        MetricSpec("fid_judge", higher_is_better=False, help="Fréchet distance, in the judge's feature space, between "
                   "images decoded from codes sampled from a 10-component Gaussian mixture fitted "
                   "to the model's training codes and a held-out half of the test images (no "
                   "per-image interval: a distance between two samples is not a mean over images; "
                   "with several seeds, its interval resamples the seeds)",
                   group="generation", verdict="generation"),
        MetricSpec("fid_judge_prior", higher_is_better=False, help="the same for codes sampled from the N(0, I) prior "
                   "(the VAEs)", group="generation"),
        MetricSpec("fid_floor", higher_is_better=False, help="the same distance for real test images (the other half): "
                   "what real digits score at this sample size", group="generation",
                   diagnostic=True),
        MetricSpec("gen_label_entropy", higher_is_better=True, help="entropy (bits) of the judge's mean predicted digit "
                   "over the mixture samples; log2(10) = 3.32 when every digit is generated "
                   "equally often", group="generation"),
        MetricSpec("gen_label_entropy_prior", higher_is_better=True, help="the same for prior samples",
                   group="generation"),
    )
    figures = (FigureSpec("figures/generated.png", "bench.report.task_figures:generated_samples",
                          "Samples: codes drawn from a Gaussian mixture fitted to each model's "
                          "training codes (and from the prior for VAEs), decoded."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        judge, _ = ctx.judge()
        ref_stats, floor, n = reference_stats(judge, ctx.x_test)
        metrics = [self.metric("fid_floor", floor)]
        samplers = {"": gmm_sample(ctx.z_train, n, ctx.seed)}
        prior = getattr(ctx.model, "prior_sample", None)
        if prior is not None:
            samplers["_prior"] = prior(n, torch.Generator().manual_seed(ctx.seed)).numpy()
        artifacts = {}
        for suffix, codes in samplers.items():
            images = ctx.decode(codes)
            features, probs = judge.features_and_probs(images)
            metrics += [self.metric(f"fid_judge{suffix}", frechet_distance(*feature_stats(features), *ref_stats)),
                        self.metric(f"gen_label_entropy{suffix}", label_entropy_bits(probs))]
            artifacts[f"samples{suffix}"] = to_uint8(images[:N_SHOWN])
        return EvalResult(metrics, artifacts)
