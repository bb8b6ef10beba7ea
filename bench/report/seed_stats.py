"""Small-sample inference over training seeds, combined with the test images' bootstrap.

Why not a bootstrap over seeds: with 3 seeds a percentile bootstrap's "95%" interval is the
range of three values; simulated, it covered the truth 74-89% of the time and separated two
equal models 11-25% of the time. Here a model's value has two independent sources of noise:

- the seeds (training and the evaluators' own randomness), estimated by the variance of the
  per-seed values, s^2 / S, with S - 1 degrees of freedom;
- the test images, shared by every seed and model, from the paired image bootstrap of
  `bench.report.intervals`: the covariance of two seeds' replicates, i.e. the part of the image
  noise all seeds share (the rest already varies from seed to seed), treated as known.

With only one of the two, the interval and test are exact: Student's t on S - 1 degrees of
freedom, or the normal. With both, they come from the generalized pivot Z * sqrt(a + b), where
the seed variance a is drawn from its fiducial distribution a_hat * (S - 1) / chi2(S - 1)
(Tsui and Weerahandi 1989). A Welch-Satterthwaite t was tried first: when the seed variance came
out small by chance it claimed many degrees of freedom, and 5 equal models with 3 seeds were
separated somewhere 20% of the time after Holm's correction (simulated). A difference between
two models is paired by seed (same seed: same evaluator draws, same corruptions) and by image.
With one seed only the images are left: the percentile bootstrap, and the report says the
seeds are not in it. scipy.stats gives the distributions; the calibration is shown, not
assumed (`python -m bench.tools.calibration`, tests/test_calibration.py, docs/statistics.md).

    est = estimate(per_seed_values, image_replicates); est.interval(); est.p_value()
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

from bench.report.intervals import LEVEL, interval

N_PIVOT, PIVOT_SEED = 40_000, 31_337


@dataclass(frozen=True)
class Estimate:
    """A mean (of a model's metric, or of a paired difference) and its uncertainty."""
    mean: float
    seed_var: float          # s^2 / S: the variance of the mean over seeds (0 with one seed)
    image_var: float         # the test images' share, known from the bootstrap (0 without it)
    n_seeds: int
    replicates: np.ndarray | None = None  # the image replicates (for one seed: percentile)

    @property
    def testable(self) -> bool:
        """Whether there is any uncertainty estimate at all."""
        return self.n_seeds >= 2 or self.replicates is not None

    def _pivot(self) -> np.ndarray:
        """Draws of (estimate - truth): Z * sqrt(a + b), with the seed variance a drawn from
        its fiducial distribution, a_hat * k / chi2_k. With no image part this is Student's t
        on k = S - 1 degrees of freedom exactly; with no seed part it is the normal."""
        z, chi2 = _draws(self.n_seeds - 1)
        k = self.n_seeds - 1
        return z * np.sqrt(self.seed_var * k / chi2 + self.image_var)

    @property
    def _exact_df(self) -> float | None:
        """Degrees of freedom when one source of noise is absent: Student's t on S - 1 (no
        image part) or the normal (no seed part); None when both are there (the pivot)."""
        if self.image_var == 0:
            return self.n_seeds - 1
        return np.inf if self.seed_var == 0 else None

    def interval(self, level: float = LEVEL) -> tuple[float, float]:
        if not self.testable:
            return np.nan, np.nan
        if self.n_seeds < 2:  # the images alone: their percentile interval
            return interval(self.replicates, level)
        if (df := self._exact_df) is not None:
            half = stats.t.ppf(0.5 + level / 2, df) * np.sqrt(self.seed_var + self.image_var)
        else:
            half = float(np.percentile(np.abs(self._pivot()), 100 * level))
        return self.mean - half, self.mean + half

    def p_value(self) -> float:
        """Two-sided p-value of "the mean is 0" (NaN when there is nothing to test with)."""
        if not self.testable:
            return np.nan
        if self.n_seeds < 2:
            reps = self.replicates[np.isfinite(self.replicates)]
            return float(min(1.0, 2 * min((reps <= 0).mean(), (reps >= 0).mean())))
        se = np.sqrt(self.seed_var + self.image_var)
        if se == 0:
            return 1.0 if self.mean == 0 else 0.0
        if (df := self._exact_df) is not None:
            return float(2 * stats.t.sf(abs(self.mean) / se, df))
        pivot = np.abs(self._pivot())
        return float((np.sum(pivot >= abs(self.mean)) + 1) / (len(pivot) + 1))


@lru_cache(maxsize=16)
def _draws(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed standard-normal and chi-square(k) draws (common random numbers: a report is
    rebuilt to the same bytes, and every comparison uses the same ones)."""
    rng = np.random.default_rng([PIVOT_SEED, k])
    return rng.standard_normal(N_PIVOT), rng.chisquare(k, N_PIVOT)


def estimate(values, image_replicates: np.ndarray | None = None) -> Estimate:
    """`values`: one number per seed; `image_replicates`: (B, seeds) bootstrap replicates of
    each seed's value over the test images (the same image weights for every model), or None."""
    values = np.asarray(values, dtype=float)
    s = len(values)
    seed_var = float(values.var(ddof=1) / s) if s > 1 else 0.0
    reps, image_var = None, 0.0
    if image_replicates is not None:
        per_seed = np.atleast_2d(np.asarray(image_replicates, dtype=float).T).T  # (B, seeds)
        per_seed = per_seed[np.isfinite(per_seed).all(axis=1)]
        reps = per_seed.mean(axis=1)
        image_var = float(np.var(reps, ddof=1)) if s < 2 else shared_image_variance(per_seed)
    return Estimate(float(values.mean()), seed_var, image_var, s, reps)


def shared_image_variance(per_seed: np.ndarray) -> float:
    """The part of the test images' variance that every seed shares: the mean covariance of
    two different seeds' replicates (under the same image weights). The rest of each seed's
    image noise (how that seed does on those images) already varies from seed to seed, so the
    per-seed values' variance counts it; adding the whole bootstrap variance would count it
    twice."""
    cov = np.cov(per_seed, rowvar=False)
    k = len(cov)
    return max(0.0, float((cov.sum() - np.trace(cov)) / (k * (k - 1))))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment (1979): family-wise error at most the level for any
    dependence. NaN stays NaN (not tested)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out
