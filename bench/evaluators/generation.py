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

import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from bench.evaluators import (EvalContext, EvalResult, Evaluator, FigureSpec, MetricSpec,
                              register_evaluator, to_uint8)
from bench.evaluators._judged import calibrated, reference
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


def class_coverage(probs: np.ndarray) -> float:
    """How much of the uniform digit distribution the samples cover: the sum over digits of
    min(share of samples the judge assigns to it, 1/10). 1 when every digit is generated equally
    often; 0.1 when one digit is all a model draws."""
    shares = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
    return float(np.minimum(shares, 1 / probs.shape[1]).sum())


@register_evaluator("generation", description="Decode codes sampled from a Gaussian mixture on the "
                    "training codes (and the prior, for VAEs); judge-space Fréchet distance, "
                    "calibrated confidence, class coverage")
class Generation(Evaluator):
    version = 4  # 4: calibrated confidence and class coverage replace the marginal label entropy
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
        MetricSpec("gen_confidence", higher_is_better=True, help="the judge's calibrated top-class probability "
                   "per mixture sample, averaged: does each sample look like some digit? (the "
                   "judge's softmax is temperature-scaled on held-out test images, so 0.9 means "
                   "right 9 times in 10 on real digits)", group="generation", interval="mean",
                   unit="sample"),
        MetricSpec("gen_confidence_prior", higher_is_better=True, help="the same for prior samples",
                   group="generation", interval="mean", unit="sample"),
        MetricSpec("gen_coverage", higher_is_better=True, help="how much of the uniform digit distribution the "
                   "mixture samples cover: the sum over digits of min(the share of samples the "
                   "judge assigns to it, 1/10); 1 = every digit equally often", group="generation"),
        MetricSpec("gen_coverage_prior", higher_is_better=True, help="the same for prior samples",
                   group="generation"),
    )
    figures = (FigureSpec("figures/generated.png", "bench.report.task_figures:generated_samples",
                          "Samples: codes drawn from a Gaussian mixture fitted to each model's "
                          "training codes (and from the prior for VAEs), decoded."),)

    def evaluate(self, ctx: EvalContext) -> EvalResult:
        judge, _ = ctx.judge()
        ref = reference(judge, ctx.x_test, ctx.y_test)
        n = ref.n_real
        metrics = [self.metric("fid_floor", ref.floor)]
        per_sample = {}
        samplers = {"": gmm_sample(ctx.z_train, n, ctx.seed)}
        prior = getattr(ctx.model, "prior_sample", None)
        if prior is not None:
            samplers["_prior"] = prior(n, torch.Generator().manual_seed(ctx.seed)).numpy()
        artifacts = {}
        for suffix, codes in samplers.items():
            images = ctx.decode(codes)
            features, probs = judge.features_and_probs(images)
            probs = calibrated(probs, ref.temperature)
            confidence = probs.max(axis=1).astype(np.float32)
            per_sample[f"gen_confidence{suffix}"] = confidence
            metrics += [self.metric(f"fid_judge{suffix}", frechet_distance(*feature_stats(features), *ref.stats)),
                        self.metric(f"gen_confidence{suffix}", confidence.mean(dtype=np.float64)),
                        self.metric(f"gen_coverage{suffix}", class_coverage(probs))]
            artifacts[f"samples{suffix}"] = to_uint8(images[:N_SHOWN])
        return EvalResult(metrics, artifacts, per_sample)
