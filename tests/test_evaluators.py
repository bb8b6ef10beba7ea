import numpy as np
import pytest
import torch

from bench.evaluators import EvalContext
from bench.plugins import load_all_evaluators
from bench.evaluators._cluster_metrics import matched_accuracy, purity
from bench.model_api import Autoencoder

EVALUATORS = load_all_evaluators()


def test_purity_and_hungarian_accuracy_on_hand_made_labels():
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    # cluster 5 holds all of 0 and 1; cluster 7 holds the 2s; cluster 9 is empty of majority
    clusters = np.array([5, 5, 5, 5, 5, 5, 7, 7, 9])
    # purity: cluster 5 majority 3, cluster 7 -> 2, cluster 9 -> 1  => 6/9
    assert purity(labels, clusters) == pytest.approx(6 / 9)
    # one-to-one: 5->0 (3), 7->2 (2), 9->1 (0)  => 5/9
    assert matched_accuracy(labels, clusters) == pytest.approx(5 / 9)


def test_perfect_clustering_with_permuted_names_scores_one():
    labels = np.repeat(np.arange(4), 5)
    clusters = (labels + 2) % 4 * 10
    assert purity(labels, clusters) == 1.0
    assert matched_accuracy(labels, clusters) == 1.0


def test_purity_is_never_below_accuracy():
    rng = np.random.default_rng(0)
    for _ in range(50):
        labels, clusters = rng.integers(0, 10, 200), rng.integers(0, 12, 200)
        assert purity(labels, clusters) >= matched_accuracy(labels, clusters)


class Identity(Autoencoder):
    def encode(self, x):
        return x.flatten(1)

    def decode(self, z):
        return z.view(-1, *self.input_shape)


def context(model, n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n // 3)
    # three well-separated blobs in 16-D: every code evaluator should find them
    centres = rng.normal(0, 10, (3, 16))
    z = (centres[y] + rng.normal(0, 0.1, (n, 16))).astype(np.float32)
    x = torch.rand(n, 1, 4, 4)
    return EvalContext(model, x, z, z.copy(), y, y.copy(), seed)


def test_identity_reconstruction_has_zero_error():
    ctx = context(Identity((1, 4, 4), 16))
    result = EVALUATORS.get("reconstruction").builder().evaluate(ctx)
    values = {m.metric: m.value for m in result.metrics}
    assert values["recon_mse"] == pytest.approx(0.0, abs=1e-12)
    # a perfect reconstruction's BCE is the images' own entropy (its minimum), not zero
    x = ctx.x_test.double()
    entropy = -torch.mean(x * torch.log(x) + (1 - x) * torch.log1p(-x)).item()
    assert values["recon_bce"] == pytest.approx(entropy, rel=1e-3)
    assert all(not m.higher_is_better for m in result.metrics)
    assert result.artifacts["originals"].dtype == np.uint8


def test_reconstruction_error_is_positive_for_a_wrong_model():
    class Zero(Identity):
        def decode(self, z):
            return torch.zeros(len(z), *self.input_shape)

    ctx = context(Zero((1, 4, 4), 16))
    result = EVALUATORS.get("reconstruction").builder().evaluate(ctx)
    values = {m.metric: m.value for m in result.metrics}
    assert values["recon_mse"] == pytest.approx(torch.mean(ctx.x_test ** 2).item(), rel=1e-5)


def test_kmeans_and_probe_find_separated_blobs():
    ctx = context(Identity((1, 4, 4), 16))
    km = {m.metric: m.value for m in EVALUATORS.get("kmeans").builder().evaluate(ctx).metrics}
    assert km == pytest.approx({"kmeans_purity": 1.0, "kmeans_acc": 1.0, "kmeans_nmi": 1.0, "kmeans_ari": 1.0})
    probe = EVALUATORS.get("probe").builder().evaluate(ctx).metrics
    # 20 codes per class: the 10-per-class subset is fitted too; 100 and 1,000 would be all labels
    assert [(m.metric, m.value, m.higher_is_better) for m in probe] == [
        ("probe_acc", 1.0, True), ("probe_acc_10", 1.0, True)]
    knn = EVALUATORS.get("knn").builder().evaluate(ctx).metrics
    assert [(m.metric, m.value, m.higher_is_better) for m in knn] == [("knn_acc", 1.0, True)]


def test_kmeans_on_noise_is_near_chance():
    ctx = context(Identity((1, 4, 4), 16))
    rng = np.random.default_rng(1)
    ctx.z_test = rng.normal(size=ctx.z_test.shape).astype(np.float32)
    km = {m.metric: m.value for m in EVALUATORS.get("kmeans").builder().evaluate(ctx).metrics}
    assert km["kmeans_ari"] < 0.2 and km["kmeans_acc"] < 0.7


from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays


@settings(max_examples=80, deadline=None)
@given(arrays(np.int64, st.integers(2, 60), elements=st.integers(0, 9)),
       st.integers(0, 2**32 - 1), st.integers(1, 12))
def test_clustering_scores_invariant_under_relabelling_and_bounded(labels, seed, k):
    rng = np.random.default_rng(seed)
    clusters = rng.integers(0, k, len(labels))
    p, a = purity(labels, clusters), matched_accuracy(labels, clusters)
    n_classes = len(np.unique(labels))
    assert 1.0 / n_classes - 1e-12 <= p <= 1.0  # purity is at least the majority share
    assert a <= p + 1e-12
    renamed = rng.permutation(100)[clusters]
    assert purity(labels, renamed) == p and matched_accuracy(labels, renamed) == a


def test_exact_neighbours_match_scikit_learn():
    from sklearn.neighbors import NearestNeighbors

    from bench.evaluators._neighbours import nearest

    rng = np.random.default_rng(0)
    base, queries = rng.normal(size=(3000, 16)), rng.normal(size=(2500, 16))  # > one chunk
    idx, dist = nearest(queries, base, 7)
    ref_dist, ref_idx = NearestNeighbors(n_neighbors=7).fit(base).kneighbors(queries)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-4, atol=1e-4)
    self_idx, self_dist = nearest(base[:50], base, 3)
    assert (self_idx[:, 0] == np.arange(50)).all() and np.allclose(self_dist[:, 0], 0, atol=1e-3)


def test_knn_vote_matches_scikit_learn_including_ties():
    from sklearn.neighbors import KNeighborsClassifier

    from bench.evaluators.knn import knn_predict

    rng = np.random.default_rng(1)
    z_train, z_test = rng.normal(size=(800, 5)), rng.normal(size=(400, 5))
    y_train = rng.integers(0, 10, 800)
    for k in (2, 4, 10):  # even k: ties happen, and go to the smaller label in both
        ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(z_train, y_train).predict(z_test)
        np.testing.assert_array_equal(knn_predict(z_train, y_train, z_test, k), ref)


def test_umaps_numba_kernels_use_numbas_file_cache():
    """Each process's first UMAP compiled umap-learn's uncached kernels again (~8 s);
    `bench.evaluators._umap` turns numba's file cache on for them: the layout kernel an
    embedding runs is looked up in (or saved to) that cache."""
    import umap.layouts

    from bench.evaluators.umap_embed import fit_umap

    z = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    assert fit_umap(z, 2, seed=0).shape == (60, 2)
    stats = umap.layouts._nb_optimize_layout_euclidean_single_epoch.stats
    assert stats.cache_path is not None and sum(stats.cache_hits.values()) + sum(stats.cache_misses.values()) >= 1
