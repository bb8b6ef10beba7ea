"""Per-image outcomes are stored compactly and come back faithful enough for every interval."""
import numpy as np
import pytest

from bench.store.outcomes import compact, load_outcomes, save_outcomes


def test_each_kind_of_outcome_gets_its_compact_encoding_and_comes_back(tmp_path):
    rng = np.random.default_rng(0)
    outcomes = {"probe_acc": rng.random(10_000) < 0.9,                    # 0/1 correctness
                "labels": rng.integers(0, 2, 500).astype(np.int8),          # 0/1 as integers
                "kmeans_acc": rng.integers(0, 10, (1, 10_000)).astype(np.int16),  # cluster ids
                "recon_mse": rng.gamma(2.0, 0.004, 10_000).astype(np.float32),
                "huge": np.array([1e6, -3.0], dtype=np.float64)}
    assert {k: v.dtype for k, v in compact("probe_acc", outcomes["probe_acc"]).items()} == {
        "bits__probe_acc": np.uint8, "shape__probe_acc": np.int64}
    assert compact("kmeans_acc", outcomes["kmeans_acc"])["kmeans_acc"].dtype == np.uint8
    assert compact("recon_mse", outcomes["recon_mse"])["recon_mse"].dtype == np.float16
    assert compact("huge", outcomes["huge"])["huge"].dtype == np.float32  # beyond float16's range
    save_outcomes(tmp_path / "o.npz", outcomes)
    back = load_outcomes(tmp_path / "o.npz")
    assert set(back) == set(outcomes)
    for name in ("probe_acc", "labels", "kmeans_acc"):
        assert np.array_equal(back[name], outcomes[name]) and back[name].shape == outcomes[name].shape
    assert back["recon_mse"].mean() == pytest.approx(outcomes["recon_mse"].mean(), rel=1e-3)
    assert np.allclose(back["recon_mse"], outcomes["recon_mse"], rtol=1e-3, atol=1e-7)
    assert np.array_equal(back["huge"], outcomes["huge"])


def test_a_reference_cells_outcomes_fit_in_a_few_kilobytes(tmp_path):
    """10,000 test images: 0/1 outcomes as bits, errors as float16, compressed."""
    rng = np.random.default_rng(1)
    save_outcomes(tmp_path / "o.npz", {"probe_acc": rng.random(10_000) < 0.95,
                                       "recon_mse": rng.gamma(2.0, 0.004, 10_000).astype(np.float32)})
    assert (tmp_path / "o.npz").stat().st_size < 25_000  # 10,000 float32 + 10,000 bytes: 50 kB


def test_identical_outcomes_are_stored_once(tmp_path):
    clusters = np.random.default_rng(2).integers(0, 10, (3, 5_000))
    save_outcomes(tmp_path / "one.npz", {"acc": clusters})
    save_outcomes(tmp_path / "four.npz", {m: clusters for m in ("acc", "nmi", "ari", "purity")})
    back = load_outcomes(tmp_path / "four.npz")
    assert all(np.array_equal(back[m], clusters) for m in ("acc", "nmi", "ari", "purity"))
    assert (tmp_path / "four.npz").stat().st_size < 1.2 * (tmp_path / "one.npz").stat().st_size


def test_an_array_of_another_type_is_refused():
    with pytest.raises(TypeError, match="dtype"):
        compact("names", np.array(["a", "b"]))
