"""The statistics behind every interval, tie and rank, checked against scipy and scikit-learn."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score

from bench.cards import Cards
from bench.evaluators._cluster_metrics import matched_accuracy, purity
from bench.report.comparison import Comparison, PerSeed, _best_and_rank
from bench.report.intervals import CLUSTER_SCORES, Resampler, interval, weighted_auroc, weighted_tables
from bench.report.seed_stats import estimate


def separated(ra: np.ndarray, rb: np.ndarray) -> bool:
    """One seed each: the paired image bootstrap of the difference excludes 0."""
    return estimate([np.mean(ra - rb)], (ra - rb)[:, None]).p_value() < 0.05


def accuracy_outcomes(n: int, accuracy: float, seed: int = 0) -> np.ndarray:
    correct = np.zeros(n, dtype=np.int8)
    correct[np.random.default_rng(seed).permutation(n)[: round(accuracy * n)]] = 1
    return correct


@pytest.mark.parametrize("n, accuracy", [(10_000, 0.95), (2_000, 0.8), (500, 0.6)])
def test_interval_of_an_accuracy_matches_the_binomial_interval(n, accuracy):
    correct = accuracy_outcomes(n, accuracy)
    low, high = interval(Resampler().seed_replicates("mean", {"values": correct}))
    exact = stats.binomtest(int(correct.sum()), n).proportion_ci(0.95)
    width = exact.high - exact.low
    assert low == pytest.approx(exact.low, abs=0.08 * width)
    assert high == pytest.approx(exact.high, abs=0.08 * width)


def test_interval_matches_scipy_bootstrap_percentile():
    errors = np.random.default_rng(1).gamma(2.0, 0.01, 3_000)
    low, high = interval(Resampler().seed_replicates("mean", {"values": errors}))
    ref = stats.bootstrap((errors,), np.mean, method="percentile", n_resamples=5_000,
                          random_state=0).confidence_interval
    width = ref.high - ref.low
    assert low == pytest.approx(ref.low, abs=0.1 * width) and high == pytest.approx(ref.high, abs=0.1 * width)


def test_interval_shrinks_as_the_test_set_grows():
    widths = []
    for n in (500, 2_000, 8_000):
        low, high = interval(Resampler().seed_replicates("mean", {"values": accuracy_outcomes(n, 0.9)}))
        widths.append(high - low)
    assert widths[0] > 1.6 * widths[1] > 1.6 * 1.6 * widths[2]  # ~1/sqrt(n): halves per 4x


def test_identical_models_are_tied_and_clearly_different_ones_are_not():
    plan = Resampler()
    a = accuracy_outcomes(5_000, 0.90, seed=0)
    same = plan.seed_replicates("mean", {"values": a.copy()})
    reps_a = plan.seed_replicates("mean", {"values": a})
    assert not separated(reps_a, same)
    better = a.copy()
    better[np.flatnonzero(a == 0)[:200]] = 1          # fixes 200 of the 500 errors: +4 points
    assert separated(plan.seed_replicates("mean", {"values": better}), reps_a)
    slightly = a.copy()
    slightly[np.flatnonzero(a == 0)[:3]] = 1          # +0.06 points: inside the noise
    assert not separated(plan.seed_replicates("mean", {"values": slightly}), reps_a)


def test_pairing_separates_what_unpaired_intervals_cannot():
    """Two models that err on nearly the same images: their own intervals overlap, the paired
    difference does not contain 0. This is why the plan is shared."""
    a = accuracy_outcomes(10_000, 0.95)
    b = a.copy()
    b[np.flatnonzero(a == 0)[:40]] = 1                # b fixes 40 of a's errors, breaks nothing
    plan = Resampler()
    ra, rb = (plan.seed_replicates("mean", {"values": v}) for v in (a, b))
    (_, ha), (lb, _) = interval(ra), interval(rb)
    assert lb < ha, "the intervals overlap"
    assert separated(rb, ra)


def test_seeds_widen_the_interval_when_they_disagree():
    plan = Resampler()

    def per_seed(accuracies):
        outcomes = [accuracy_outcomes(4_000, acc, seed=s) for s, acc in enumerate(accuracies)]
        return estimate([o.mean() for o in outcomes],
                        np.stack([plan.seed_replicates("mean", {"values": o}) for o in outcomes], axis=1))
    low_s, high_s = per_seed((0.9, 0.9, 0.9)).interval()
    low_a, high_a = per_seed((0.86, 0.90, 0.94)).interval()
    assert high_a - low_a > 2 * (high_s - low_s)
    # with 3 seeds that disagree (the seeds dominate), about Student's t on 2 degrees of freedom
    est = per_seed((0.86, 0.90, 0.94))
    t_half = stats.t.ppf(0.975, 2) * np.sqrt(est.seed_var + est.image_var)
    assert high_a - est.mean == pytest.approx(t_half, rel=0.02)
    # a metric without per-image outcomes still gets the seeds' variation; one seed, nothing
    assert estimate([0.1, 0.2, 0.3]).interval() == pytest.approx(
        stats.t.interval(0.95, 2, loc=0.2, scale=stats.sem([0.1, 0.2, 0.3])))
    assert not estimate([0.1]).testable


def test_weighted_cluster_scores_equal_sklearn_and_resampling():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 10, 3_000)
    clusters = np.where(rng.random(3_000) < 0.7, labels, rng.integers(0, 12, 3_000))
    clusters[clusters == 11] = 10  # cluster 11 empty: the last cells of the table are empty
    t = weighted_tables(np.ones((1, 3_000), np.float32), labels, clusters)
    assert CLUSTER_SCORES["purity"](t)[0] == pytest.approx(purity(labels, clusters))
    assert CLUSTER_SCORES["acc"](t)[0] == pytest.approx(matched_accuracy(labels, clusters))
    assert CLUSTER_SCORES["nmi"](t)[0] == pytest.approx(normalized_mutual_info_score(labels, clusters))
    assert CLUSTER_SCORES["ari"](t)[0] == pytest.approx(adjusted_rand_score(labels, clusters))
    w = Resampler().image_weights(3_000)[:2]
    for b in range(2):  # a resample is the same as repeating images by their weights
        idx = np.repeat(np.arange(3_000), w[b].astype(int))
        assert CLUSTER_SCORES["ari"](weighted_tables(w[b:b + 1], labels, clusters))[0] == \
            pytest.approx(adjusted_rand_score(labels[idx], clusters[idx]))


def test_weighted_auroc_equals_sklearn_with_sample_weights_and_ties():
    rng = np.random.default_rng(3)
    is_outlier = np.r_[np.zeros(700), np.ones(500)]
    scores = np.round(rng.normal(size=1_200) + 0.5 * is_outlier, 1)  # many ties
    w = Resampler().image_weights(1_200)[:3]
    got = weighted_auroc(w, scores, is_outlier)
    for b in range(3):
        assert got[b] == pytest.approx(roc_auc_score(is_outlier, scores, sample_weight=w[b]))


def column(values: dict[str, np.ndarray], diagnostic: bool = False) -> Comparison:
    """A one-seed comparison of 0/1 outcome arrays on one column "acc"."""
    plan = Resampler()
    per_seed = {(m, 8, "acc"): PerSeed([0], np.array([v.mean()]),
                                       plan.seed_replicates("mean", {"values": v})[:, None])
                for m, v in values.items()}
    summary = pd.DataFrame({"model": list(values), "latent_dim": 8, "metric": "acc",
                            "mean": [v.mean() for v in values.values()],
                            "higher_is_better": True, "diagnostic": diagnostic})
    reps = {k: p.images[:, 0] for k, p in per_seed.items()}
    return Comparison(pd.DataFrame(), summary, reps, [0], per_seed)


def test_rank_by_mean_with_an_interval_and_bold_for_everyone_tied_with_the_best():
    base = accuracy_outcomes(5_000, 0.90)
    best = base.copy()
    best[np.flatnonzero(base == 0)[:200]] = 1
    near_best = best.copy()
    near_best[np.flatnonzero(best == 0)[:2]] = 1      # tied with best, numerically above it
    comp = column({"a": base, "b": best, "c": near_best})
    ranked = _best_and_rank(comp).set_index("model")
    assert ranked.loc["b", "best"] and ranked.loc["c", "best"] and not ranked.loc["a", "best"]
    assert ranked["rank"].to_dict() == {"a": 3, "b": 2, "c": 1}
    assert ranked.loc["a", "rank_low"] == ranked.loc["a", "rank_high"] == 3  # clearly last
    assert ranked.loc["c", "rank_low"] == 1 and ranked.loc["b", "rank_high"] == 2  # b, c swap
    assert comp.is_separated("a", "b", 8, "acc") and not comp.is_separated("b", "c", 8, "acc")
    comp = column({"a": base, "b": best, "c": near_best}, diagnostic=True)
    assert not _best_and_rank(comp)["best"].any(), "a diagnostic is never bold"


def test_cards_find_specs_by_pattern_and_default_to_other():
    cards = Cards({"denoising": {"task": "denoising", "metrics": [
        {"name": "denoise_psnr_gauss_high", "higher_is_better": True, "help": "h", "verdict": "v"},
        {"name": "denoise_psnr_<kind>", "higher_is_better": True, "help": "h2"}]}})
    assert cards.spec("denoise_psnr_gauss_high").verdict == "v"
    assert cards.spec("denoise_psnr_mask").help == "h2"
    assert cards.task_of("denoise_psnr_mask") == "denoising"
    assert cards.spec("mystery").group == "other" and cards.task_of("mystery") == ""


def test_a_poor_clustering_lies_inside_its_own_interval():
    """Resampling images with replacement makes a poor clustering look purer; the intervals are
    bias-corrected so that the value itself is inside (on 297 digits, NMI 0.12 resampled to
    0.13-0.20 before the correction)."""
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 10, 300)
    clusters = np.where(rng.random(300) < 0.2, labels, rng.integers(0, 10, 300))
    value = normalized_mutual_info_score(labels, clusters)
    entry = {"values": clusters[None], "labels": labels, "score": "nmi", "value": value}
    low, high = interval(Resampler().seed_replicates("clusters", entry))
    assert low < value < high
    raw = Resampler().seed_replicates("clusters", {k: v for k, v in entry.items() if k != "value"})
    assert interval(raw)[0] > value, "without the correction the value falls below its interval"


def test_bold_is_a_confidence_set_for_the_best_by_comparisons_with_the_best():
    """The reference's recon_mse over seeds 0-2: vae, at three times conv_ae's error with a
    paired p of 0.0016, stayed bold under Holm over all 66 pairs of 12 models. Compared with
    the best (one-sided, 5% / 11) it is out; a close rival (p 0.03) and an untested one stay."""
    from bench.report.comparison import beaten_by_a_better
    from bench.report.seed_stats import holm
    k = 12
    means = -np.arange(k, dtype=float)                 # model 0 is best (signed: higher is better)
    p = {(i, j): 0.5 for i in range(k) for j in range(i + 1, k)}
    p[(0, 8)], p[(0, 1)], p[(0, 2)] = 0.0016, 0.03, np.nan
    out = beaten_by_a_better(means, p)
    assert out[8] and not out[1] and not out[2] and not out[0]
    assert not (holm(list(p.values())) < 0.05).any(), "Holm over every pair kept them all"
    assert not beaten_by_a_better(-means, p)[8], "only a model with a better mean can put one out"
