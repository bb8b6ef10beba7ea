"""The report's statistics are calibrated: checked on synthetic outcomes whose truth is known
(`bench.tools.calibration`), small enough to run in seconds; the committed figures come from
`python -m bench.tools.calibration simulate` (docs/statistics.md)."""
import numpy as np
import pytest
from scipy import stats

from bench.report.seed_stats import estimate, holm
from bench.tools.calibration import simulate


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_intervals_cover_the_truth_and_equal_models_are_rarely_separated(n_seeds):
    """The seed bootstrap this replaces covered 74-89% with 3 seeds and separated two equal
    models 11-25% of the time; 300 runs give about +-2.5 points of Monte Carlo error."""
    r = simulate(n_seeds, reps=300, n_images=300, seed_sd=0.02)
    assert 0.92 <= r["coverage"] <= 1.0
    assert r["false_separation"] <= 0.08
    assert r["family_wise_false_separation"] <= 0.09
    assert r["best_kept"] >= 0.92, "the bold set holds a best model with 95% confidence"


def test_with_seeds_alone_the_interval_is_students_t():
    values = [0.91, 0.93, 0.95]
    low, high = estimate(values).interval()
    exact = stats.t.interval(0.95, 2, loc=np.mean(values), scale=stats.sem(values))
    assert (low, high) == pytest.approx(exact, rel=2e-3)
    assert estimate(values).p_value() == pytest.approx(stats.ttest_1samp(values, 0).pvalue, abs=1e-3)


def test_with_images_alone_the_interval_is_normal():
    """Three seeds that agree exactly, on a test set whose resampling moves them together."""
    shared = np.random.default_rng(0).normal(0.5, 0.01, 1_000)
    est = estimate([0.5, 0.5, 0.5], np.stack([shared] * 3, axis=1))
    low, high = est.interval()
    assert est.image_var == pytest.approx(shared.var(ddof=1), rel=1e-6)
    assert high - low == pytest.approx(2 * 1.96 * 0.01, rel=0.05)


def test_holm_matches_the_textbook_example():
    """Holm (1979): sorted p 0.01, 0.04, 0.03, 0.005 -> adjusted 0.03, 0.06, 0.06, 0.02."""
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([np.nan, 0.01])[0]) and holm([np.nan, 0.01])[1] == pytest.approx(0.01)


def test_decision_stability_counts_confirmed_and_reversed_separations():
    import pandas as pd

    from bench.report.comparison import Comparison
    from bench.tools.calibration import decision_stability

    def comp(means, separated, seeds):
        summary = pd.DataFrame([{"model": m, "latent_dim": 8, "metric": "acc", "mean": v}
                                for m, v in means.items()])
        return Comparison(summary, summary, seeds=seeds,
                          separated={(8, "acc"): {frozenset(p) for p in separated}})

    a = comp({"x": 0.9, "y": 0.8, "z": 0.7}, [("x", "y"), ("x", "z")], [0, 1])
    b = comp({"x": 0.9, "y": 0.8, "z": 0.95}, [("x", "y"), ("x", "z")], [5, 6])
    r = decision_stability(a, b, ["acc"])
    assert (r["pairs"], r["separated_a"], r["confirmed"], r["reversed"]) == (3, 2, 1, 1)
    assert r["confirmed_share"] == 0.5 and r["seeds_b"] == [5, 6]



def test_one_layout_per_cell_is_read_from_the_first_stored_layout():
    """#31's what-if for runs stored with three layouts (`calibration ... --one-layout`): each
    cell's umap_cluster scores come from its first stored layout alone, and its outcomes keep
    only that layout."""
    from types import SimpleNamespace

    import pandas as pd

    from bench.evaluators._cluster_metrics import matched_accuracy
    from bench.tools.calibration import first_layout_only

    labels = np.repeat(np.arange(3), 4).astype(np.int16)
    layouts = {0: np.stack([labels, np.roll(labels, 1), np.roll(labels, 2)]),
               1: np.stack([np.roll(labels, 3), labels, labels])}

    def cell(seed):
        stored = {"umap_cluster_acc": layouts[seed], "umap_cluster_nmi": layouts[seed], "labels": labels}
        return SimpleNamespace(cfg=SimpleNamespace(model="m", latent_dim=4, seed=seed),
                               outcomes=lambda name: stored if name == "umap_cluster" else {"recon_mse": labels})
    cells = [cell(0), cell(1)]
    results = pd.DataFrame([("m", 4, s, metric, 0.5) for s in (0, 1) for metric in
                            ("umap_cluster_acc", "umap_cluster_nmi", "umap_cluster_acc_seed_sd", "recon_mse")],
                           columns=["model", "latent_dim", "seed", "metric", "value"])
    after = first_layout_only(cells, results).set_index(["seed", "metric"])["value"]
    assert after[0, "umap_cluster_acc"] == 1.0 and after[1, "umap_cluster_acc"] == matched_accuracy(labels, layouts[1][0])
    assert after[0, "umap_cluster_nmi"] == pytest.approx(1.0) and after[0, "recon_mse"] == 0.5, "other metrics as stored"
    assert (0, "umap_cluster_acc_seed_sd") not in after.index, "one layout has no spread to report"
    assert cells[1].outcomes("umap_cluster")["umap_cluster_acc"].shape == (1, 12), "only the first layout's ids"
