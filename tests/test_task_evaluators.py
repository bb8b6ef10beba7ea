"""Known answers for the task evaluators: denoising, anomaly, generation, interpolation, labels."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bench.evaluators import EvalContext
from bench.plugins import load_all_evaluators
from bench.evaluators._anomaly import auroc, roc_on_grid
from bench.evaluators.denoising import CORRUPTIONS, corrupt, masked_square, psnr_per_image
from bench.evaluators._judged import calibrated, fit_temperature
from bench.evaluators.generation import class_coverage, gmm_sample
from bench.evaluators.interpolation import line_codes, pairs
from bench.evaluators.probe import per_class_subset
from bench.judge import feature_stats, frechet_distance
from tests.test_evaluators import Identity

EVALUATORS = load_all_evaluators()


def metrics_of(name, ctx):
    return {m.metric: m.value for m in EVALUATORS.get(name).builder().evaluate(ctx).metrics}


def image_context(model, n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.random((n, 1, 8, 8)).astype(np.float32))
    z = x.flatten(1).numpy()
    y = np.arange(n) % 4
    return EvalContext(model, x, z, z.copy(), y, y.copy(), seed)


# ------------------------------------------------------------------ denoising
def test_identity_model_gains_nothing_and_scores_the_corrupted_input():
    ctx = image_context(Identity((1, 8, 8), 64))
    values = metrics_of("denoising", ctx)
    for k, kind in enumerate(CORRUPTIONS):
        noisy = corrupt(ctx.x_test, kind, ctx.seed * 1000 + k)
        assert values[f"denoise_gain_{kind}"] == pytest.approx(0.0, abs=1e-9)
        assert values[f"denoise_mse_{kind}"] == pytest.approx(torch.mean((noisy - ctx.x_test) ** 2).item(), rel=1e-6)
        assert values[f"denoise_mse_{kind}"] > 0  # every corruption changes the images


def test_a_model_that_returns_the_clean_image_gains_psnr():
    class Oracle(Identity):
        clean = None

        def reconstruct(self, x):
            return self.clean

    model = Oracle((1, 8, 8), 64)
    ctx = image_context(model)
    model.clean = ctx.x_test
    values = metrics_of("denoising", ctx)
    assert values["denoise_mse_gauss_high"] == 0.0
    assert values["denoise_psnr_gauss_high"] == pytest.approx(20 * np.log10(255))  # one grey level
    assert values["denoise_gain_gauss_high"] > 20


def test_masked_square_blanks_exactly_one_square_per_image():
    x = torch.ones(5, 1, 20, 20)
    out = masked_square(x, torch.Generator().manual_seed(0), fraction=0.35)
    assert ((out == 0).flatten(1).sum(1) == 49).all()  # side round(0.35 * 20) = 7


def test_the_mask_changes_every_image_so_its_gain_is_not_an_artefact_of_the_psnr_cap():
    """A digit in one corner of a blank canvas: drawn uniformly, the square missed the ink in
    most images, whose capped PSNR (48.1 dB) then set the gain; it must always hide ink now."""
    x = torch.zeros(200, 1, 28, 28)
    x[:, :, 2:6, 2:6] = 1.0
    x[::50] = 0.0  # a blank image has no ink to hide: any place, and no crash
    out = masked_square(x, torch.Generator().manual_seed(0))
    changed = (out != x).flatten(1).any(1)
    assert changed[x.flatten(1).any(1)].all()
    assert not changed[~x.flatten(1).any(1)].any()


def test_psnr_of_known_error():
    x = torch.zeros(2, 1, 4, 4)
    assert psnr_per_image(x + 0.1, x).tolist() == pytest.approx([20.0, 20.0])


# ------------------------------------------------------------------ anomaly
def test_auroc_known_answers():
    normal, anomalous = np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.9])
    assert auroc(normal, anomalous) == 1.0
    assert auroc(anomalous, normal) == 0.0
    assert auroc(np.ones(4), np.ones(3)) == 0.5
    assert roc_on_grid(normal, anomalous)[-1] == 1.0


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 30), elements=st.floats(0, 1e3)),
       arrays(np.float64, st.integers(1, 30), elements=st.floats(0, 1e3)))
def test_auroc_is_a_probability_and_flips_with_the_sets(normal, anomalous):
    a = auroc(normal, anomalous)
    assert 0.0 <= a <= 1.0
    assert auroc(anomalous, normal) == pytest.approx(1.0 - a)


def test_ood_with_a_digit_only_model_flags_outliers():
    class Projector(Identity):
        """Reconstructs by projecting onto the span of the normal images: normal images come
        back exactly, anything else does not."""
        basis = None

        def reconstruct(self, x):
            flat = x.flatten(1)
            return (flat @ self.basis.T @ self.basis).view_as(x)

    model = Projector((1, 8, 8), 64)
    ctx = image_context(model, n=12)
    ctx.x_test = ctx.x_test * 0.5  # dim images: inverting them gives bright, off-span ones
    model.basis = torch.linalg.qr(ctx.x_test.flatten(1).T)[0].T  # 12 orthonormal rows
    values = metrics_of("anomaly_ood", ctx)
    assert values["ood_auroc_inverted"] == 1.0 and values["ood_auroc_noise"] == 1.0
    identity = metrics_of("anomaly_ood", image_context(Identity((1, 8, 8), 64)))
    assert set(identity.values()) == {0.5}  # every image reconstructed perfectly: no signal


# ------------------------------------------------------------------ generation, judge, lines
def test_frechet_distance_known_answers():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(4000, 5))
    mu, sigma = feature_stats(feats)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([3.0, 0, 0, 0, 4.0])
    assert frechet_distance(mu + shift, sigma, mu, sigma) == pytest.approx(25.0, rel=1e-6)
    # N(0, I) against N(0, 4I) in 5-D: 5 * (1 + 4 - 2 * 2) = 5
    assert frechet_distance(np.zeros(5), np.eye(5), np.zeros(5), 4 * np.eye(5)) == pytest.approx(5.0)


def test_class_coverage_is_one_for_every_digit_equally_and_a_tenth_for_one_digit():
    assert class_coverage(np.eye(10)) == pytest.approx(1.0)
    assert class_coverage(np.tile(np.eye(10)[3], (50, 1))) == pytest.approx(0.1)
    half = np.r_[np.tile(np.eye(10)[3], (50, 1)), np.eye(10)[np.arange(50) % 10]]
    assert class_coverage(half) == pytest.approx(0.1 + 9 * 0.05)  # digit 3: 55%, others 5% each


def test_temperature_scaling_recovers_an_overconfident_judges_temperature():
    """Labels drawn from softmax(logits); a judge reporting softmax(3 * logits) is
    over-confident by a factor 3 in the logits: the fitted temperature is ~3."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (20_000, 10))
    truth = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in truth])
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)
    t = fit_temperature(sharp, labels)
    assert t == pytest.approx(3.0, rel=0.05)
    assert np.allclose(calibrated(sharp, t), truth, atol=0.02)


def test_gmm_sampler_reproduces_the_codes_distribution():
    rng = np.random.default_rng(0)
    z = rng.normal([5.0, -2.0], [1.0, 3.0], size=(5000, 2))
    samples = gmm_sample(z, 20000, seed=0)
    assert samples.mean(0) == pytest.approx([5.0, -2.0], abs=0.1)
    assert samples.std(0) == pytest.approx([1.0, 3.0], rel=0.05)
    assert np.array_equal(samples, gmm_sample(z, 20000, seed=0))


def test_interpolation_lines_start_and_end_at_the_codes():
    z = np.arange(12, dtype=np.float32).reshape(4, 3)
    lines = line_codes(z, np.array([[0, 3]]), steps=5)
    assert np.allclose(lines[0, 0], z[0]) and np.allclose(lines[0, -1], z[3])
    assert np.allclose(lines[0, 2], (z[0] + z[3]) / 2)
    labels = np.array([1, 3, 5, 7, 3, 7])
    assert tuple(pairs(labels)[0]) == (1, 3)  # the first 3 to the first 7, then random pairs
    assert np.array_equal(pairs(labels), pairs(labels))


def test_per_class_subset_is_balanced_and_fixed_by_seed():
    labels = np.repeat(np.arange(5), 30)
    idx = per_class_subset(labels, 10, seed=3)
    assert np.bincount(labels[idx]).tolist() == [10] * 5
    assert np.array_equal(idx, per_class_subset(labels, 10, seed=3))
    assert not np.array_equal(idx, per_class_subset(labels, 10, seed=4))


def test_extra_outlier_sets_from_the_runner_are_scored():
    """Fashion-MNIST reaches the evaluator as uint8 images in `ctx.outliers` (when the runner
    could load it); a set of another shape is ignored, not crashed on."""
    ctx = image_context(Identity((1, 8, 8), 64))
    ctx.outliers = {"fashion_mnist": np.full((10, 1, 8, 8), 200, np.uint8),
                    "wrong_shape": np.zeros((10, 1, 28, 28), np.uint8)}
    values = metrics_of("anomaly_ood", ctx)
    assert "ood_auroc_fashion_mnist" in values and "ood_auroc_wrong_shape" not in values


def test_the_runner_loads_the_outlier_sets_evaluators_declare_and_notes_a_missing_one(tmp_path):
    """The runner names no dataset: an evaluator's `outlier_sets` decide what is loaded, for the
    run's dataset only; a set that cannot be had is a note naming the evaluator."""
    from bench.config import RunConfig
    from bench.data.datasets import load_dataset
    from bench.evaluators import Evaluator
    from bench.run.shared_inputs import shared_inputs

    class Wants(Evaluator):
        name = "wants_outliers"
        outlier_sets = {"digits": ("digits", "no_such_set"), "mnist": ("kmnist",)}

    data = load_dataset("digits", tmp_path / "data")
    cfg = RunConfig(datasets=("digits",), data_root=str(tmp_path / "data"))
    shared, thread = shared_inputs(cfg, tmp_path / "out", data, torch.device("cpu"), [Wants()], {}, False)
    assert thread is None and list(shared.outliers) == ["digits"]  # not kmnist: an MNIST run's
    assert np.array_equal(shared.outliers["digits"], data.x_test)
    assert len(shared.notes) == 1 and shared.notes[0].startswith(
        "no_such_set was not available as an outlier set, so wants_outliers ran without it")


def test_umap_mixture_falls_back_to_a_larger_variance_floor(monkeypatch):
    """A cluster packed into one point makes the default fit fail (seen once in CI); the
    evaluator retries with a larger covariance floor instead of failing the cell."""
    from bench.evaluators import umap_cluster

    real = umap_cluster.GaussianMixture
    tried = []

    def fussy(k, **kwargs):
        tried.append(kwargs["reg_covar"])
        if kwargs["reg_covar"] < 1e-3:
            raise ValueError("ill-defined empirical covariance")
        return real(k, **kwargs)

    monkeypatch.setattr(umap_cluster, "GaussianMixture", fussy)
    emb = np.r_[np.zeros((20, 2)), np.ones((20, 2)) * 5]
    labels = umap_cluster.fit_mixture(emb, 2, seed=0)
    assert tried == [1e-4, 1e-2]
    assert len(set(labels[:20])) == 1 and len(set(labels[20:])) == 1 and labels[0] != labels[-1]


def test_judge_trains_beside_parallel_cells_and_evaluators_wait_for_it(tmp_path):
    import json

    import pandas as pd

    from bench.cli import main

    out = tmp_path / "beside"
    assert main(["--dataset", "digits", "--epochs", "1", "--latent-dim", "8", "--models", "dense_ae,pca",
                 "--evaluators", "generation,reconstruction", "--workers", "2", "--out", str(out),
                 "--data-root", str(tmp_path / "data"), "-q"]) == 0  # no cached judge there
    timings = json.loads((out / "run.json").read_text())["timings"]
    assert "judge (beside the cells)" in timings and "judge" not in timings
    results = pd.read_csv(out / "results.csv")
    assert set(results.loc[results["metric"] == "fid_judge", "model"]) == {"dense_ae", "pca"}
    (judge_json,) = out.glob("judge/digits-*/judge.json")
    for evaluation in out.glob("cells/*/eval_generation.json"):  # each waited for the judge
        assert evaluation.stat().st_mtime_ns >= judge_json.stat().st_mtime_ns


def test_waiting_for_the_judge_fails_with_its_reason_or_times_out(tmp_path):
    import json

    from bench.store.judges import FAILED, wait_for_judge

    with pytest.raises(TimeoutError, match="not ready"):
        wait_for_judge(tmp_path, timeout=0.2, poll=0.05)
    (tmp_path / FAILED).write_text(json.dumps({"reason": "MemoryError: out of memory"}))
    with pytest.raises(RuntimeError, match="could not be trained: MemoryError: out of memory"):
        wait_for_judge(tmp_path, timeout=5, poll=0.05)


def test_the_reference_half_is_computed_once_per_test_set():
    """Every cell of a run shares the judge's statistics of the reference half; a different
    test set (a sweep over datasets) must not reuse them."""
    from bench.evaluators import _judged

    calls = []

    class CountingJudge:
        def features(self, x):
            calls.append(len(x))
            return x.flatten(1).double().numpy()[:, :3] + np.arange(len(x))[:, None] % 7

        def features_and_probs(self, x):
            return self.features(x), np.full((len(x), 10), 0.1)

    judge, x, y = CountingJudge(), torch.rand(40, 1, 8, 8), np.arange(40) % 10
    first = _judged.reference(judge, x, y)
    assert _judged.reference(judge, x.clone(), y) is first and calls == [20, 20]
    second = _judged.reference(judge, x * 0.5, y)
    assert calls == [20, 20, 20, 20] and second.floor != first.floor
