"""The statistics behind every interval, tie and rank, checked against scipy and scikit-learn."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score

from bench.cards import Cards
from bench.report.comparison import _best_and_rank
from bench.evaluators._cluster_metrics import matched_accuracy, purity
from bench.report.intervals import (CLUSTER_SCORES, Resampler, interval, separated, weighted_auroc,
                             weighted_tables)


def accuracy_outcomes(n: int, accuracy: float, seed: int = 0) -> np.ndarray:
    correct = np.zeros(n, dtype=np.int8)
    correct[np.random.default_rng(seed).permutation(n)[: round(accuracy * n)]] = 1
    return correct


@pytest.mark.parametrize("n, accuracy", [(10_000, 0.95), (2_000, 0.8), (500, 0.6)])
def test_interval_of_an_accuracy_matches_the_binomial_interval(n, accuracy):
    correct = accuracy_outcomes(n, accuracy)
    low, high = interval(Resampler(1).replicates("mean", [{"values": correct}])[0])
    exact = stats.binomtest(int(correct.sum()), n).proportion_ci(0.95)
    width = exact.high - exact.low
    assert low == pytest.approx(exact.low, abs=0.08 * width)
    assert high == pytest.approx(exact.high, abs=0.08 * width)


def test_interval_matches_scipy_bootstrap_percentile():
    errors = np.random.default_rng(1).gamma(2.0, 0.01, 3_000)
    low, high = interval(Resampler(1).replicates("mean", [{"values": errors}])[0])
    ref = stats.bootstrap((errors,), np.mean, method="percentile", n_resamples=5_000,
                          random_state=0).confidence_interval
    width = ref.high - ref.low
    assert low == pytest.approx(ref.low, abs=0.1 * width) and high == pytest.approx(ref.high, abs=0.1 * width)


def test_interval_shrinks_as_the_test_set_grows():
    widths = []
    for n in (500, 2_000, 8_000):
        low, high = interval(Resampler(1).replicates("mean", [{"values": accuracy_outcomes(n, 0.9)}])[0])
        widths.append(high - low)
    assert widths[0] > 1.6 * widths[1] > 1.6 * 1.6 * widths[2]  # ~1/sqrt(n): halves per 4x


def test_identical_models_are_tied_and_clearly_different_ones_are_not():
    plan = Resampler(1)
    a = accuracy_outcomes(5_000, 0.90, seed=0)
    same = plan.replicates("mean", [{"values": a.copy()}])[0]
    reps_a = plan.replicates("mean", [{"values": a}])[0]
    assert not separated(reps_a, same)
    better = a.copy()
    better[np.flatnonzero(a == 0)[:200]] = 1          # fixes 200 of the 500 errors: +4 points
    assert separated(plan.replicates("mean", [{"values": better}])[0], reps_a)
    slightly = a.copy()
    slightly[np.flatnonzero(a == 0)[:3]] = 1          # +0.06 points: inside the noise
    assert not separated(plan.replicates("mean", [{"values": slightly}])[0], reps_a)


def test_pairing_separates_what_unpaired_intervals_cannot():
    """Two models that err on nearly the same images: their own intervals overlap, the paired
    difference does not contain 0. This is why the plan is shared."""
    a = accuracy_outcomes(10_000, 0.95)
    b = a.copy()
    b[np.flatnonzero(a == 0)[:40]] = 1                # b fixes 40 of a's errors, breaks nothing
    plan = Resampler(1)
    ra, rb = (plan.replicates("mean", [{"values": v}])[0] for v in (a, b))
    (_, ha), (lb, _) = interval(ra), interval(rb)
    assert lb < ha, "the intervals overlap"
    assert separated(rb, ra)


def test_seeds_widen_the_interval_when_they_disagree():
    plan = Resampler(3)
    same = [{"values": accuracy_outcomes(4_000, 0.9, seed=s)} for s in range(3)]
    apart = [{"values": accuracy_outcomes(4_000, acc, seed=s)} for s, acc in enumerate((0.86, 0.90, 0.94))]
    low_s, high_s = interval(plan.replicates("mean", same)[0])
    low_a, high_a = interval(plan.replicates("mean", apart)[0])
    assert high_a - low_a > 2 * (high_s - low_s)
    # a metric without per-image outcomes still gets the seeds' variation
    assert plan.replicates("", [0.1, 0.2, 0.3]) is not None
    assert Resampler(1).replicates("", [0.1]) is None


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
    w = Resampler(1).image_weights(3_000)[:2]
    for b in range(2):  # a resample is the same as repeating images by their weights
        idx = np.repeat(np.arange(3_000), w[b].astype(int))
        assert CLUSTER_SCORES["ari"](weighted_tables(w[b:b + 1], labels, clusters))[0] == \
            pytest.approx(adjusted_rand_score(labels[idx], clusters[idx]))


def test_weighted_auroc_equals_sklearn_with_sample_weights_and_ties():
    rng = np.random.default_rng(3)
    is_outlier = np.r_[np.zeros(700), np.ones(500)]
    scores = np.round(rng.normal(size=1_200) + 0.5 * is_outlier, 1)  # many ties
    w = Resampler(1).image_weights(1_200)[:3]
    got = weighted_auroc(w, scores, is_outlier)
    for b in range(3):
        assert got[b] == pytest.approx(roc_auc_score(is_outlier, scores, sample_weight=w[b]))


def test_rank_with_ties_and_bold_for_everyone_tied_with_the_best():
    plan = Resampler(1)
    base = accuracy_outcomes(5_000, 0.90)
    best = base.copy()
    best[np.flatnonzero(base == 0)[:200]] = 1
    near_best = best.copy()
    near_best[np.flatnonzero(best == 0)[:2]] = 1      # tied with best, numerically above it
    reps = {("a", 8, "acc"): plan.replicates("mean", [{"values": base}])[0],
            ("b", 8, "acc"): plan.replicates("mean", [{"values": best}])[0],
            ("c", 8, "acc"): plan.replicates("mean", [{"values": near_best}])[0]}
    summary = pd.DataFrame({"model": ["a", "b", "c"], "latent_dim": 8, "metric": "acc",
                            "mean": [base.mean(), best.mean(), near_best.mean()],
                            "higher_is_better": True, "diagnostic": False})
    ranked = _best_and_rank(summary, reps).set_index("model")
    assert ranked.loc["b", "best"] and ranked.loc["c", "best"] and not ranked.loc["a", "best"]
    assert ranked["rank"].to_dict() == {"a": 3, "b": 1, "c": 1}
    diagnostic = _best_and_rank(summary.assign(diagnostic=True), reps)
    assert not diagnostic["best"].any(), "a diagnostic is never bold"


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
    low, high = interval(Resampler(1).replicates("clusters", [entry])[0])
    assert low < value < high
    raw = Resampler(1).replicates("clusters", [{k: v for k, v in entry.items() if k != "value"}])[0]
    assert interval(raw)[0] > value, "without the correction the value falls below its interval"
