"""Generation: sample codes, decode them, and score the images with the judge classifier.

Every model gets the same sampler: a 10-component Gaussian mixture fitted to (10,000 of) its
standardised training codes, as pythae's GaussianMixtureSampler does, so models without a prior can generate
too. Models with a prior (the VAEs) are also sampled from it (`*_prior`).

    fid_judge          Fréchet distance between judge features of the samples and of the training
                       images (lower is better); real test images against training images give the
                       floor, printed in the report
    gen_label_entropy  entropy (bits) of the judge's mean predicted label distribution over the
                       samples; log2(10) = 3.32 when every digit is generated equally often
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from bench.evaluators import (EvalContext, EvalResult, Evaluator, Metric, register_evaluator,
                              to_uint8)
from bench.judge import feature_stats, frechet_distance

N_COMPONENTS = 10
MAX_FIT = 10_000   # training codes the mixture is fitted on: 4 s instead of 11 s for all 60,000
REG_COVAR = 1e-3   # on standardised codes: keeps collapsed or quantised dimensions fittable
N_SHOWN = 40


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


def label_entropy_bits(probs: np.ndarray) -> float:
    p = probs.mean(axis=0)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


@register_evaluator("generation", description="Decode codes sampled from a Gaussian mixture on the "
                    "training codes (and the prior, for VAEs); judge-space Fréchet distance, label entropy")
class Generation(Evaluator):
    version = 1
    needs_decoder = True
    needs_judge = True

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        judge, _, (mu_train, sigma_train) = ctx.judge()
        n = len(ctx.y_test)  # as many samples as the floor's real test images
        samplers = {"": gmm_sample(ctx.z_train, n, ctx.seed)}
        prior = getattr(ctx.model, "prior_sample", None)
        if prior is not None:
            samplers["_prior"] = prior(n, torch.Generator().manual_seed(ctx.seed)).numpy()
        metrics, artifacts = [], {}
        for suffix, codes in samplers.items():
            images = ctx.decode(codes)
            features, probs = judge.features_and_probs(images)
            fid = frechet_distance(*feature_stats(features), mu_train, sigma_train)
            metrics += [Metric(f"fid_judge{suffix}", fid, False),
                        Metric(f"gen_label_entropy{suffix}", label_entropy_bits(probs), True)]
            artifacts[f"samples{suffix}"] = to_uint8(images[:N_SHOWN])
        return EvalResult(metrics, artifacts)
