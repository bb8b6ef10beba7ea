"""One test per metric that did not measure what it claimed (issue #15, "Metrics that measure
what they claim"); each fails on the code before the fix."""
import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from bench.cards import Cards
from bench.plugins import load_all_evaluators
from bench.evaluators import umap_embed
from bench.evaluators.anomaly_ood import SYMMETRIC_DIGITS, offline_outliers
from bench.evaluators.denoising import psnr_per_image
from bench.evaluators._judged import reference_split
from bench.report.leaderboard import Cell, Leaderboard, board_table
from bench.model_api import build_model
from bench.plugins import load_all_models
from tests.test_evaluators import Identity
from tests.test_task_evaluators import image_context, metrics_of

EVALUATORS = load_all_evaluators()


# 1. UMAP evaluators used the first 5,000 test images, a harder-than-average half
def test_umap_subset_is_stratified_and_not_the_first_images():
    labels = np.r_[np.zeros(6_000, int), np.repeat(np.arange(1, 10), 500)]  # first 6,000 all zeros
    subset = umap_embed.umap_subset(labels, 1_000)
    counts = np.bincount(labels[subset], minlength=10)
    assert len(subset) == len(set(subset)) == 1_000
    assert counts[0] == 571 and (counts[1:] == 48).sum() + (counts[1:] == 47).sum() == 9  # pro rata
    assert not np.array_equal(subset, np.arange(1_000))
    assert np.array_equal(subset, umap_embed.umap_subset(labels, 1_000)), "the same for every model"


def test_umap_cluster_scores_the_subset_with_kmeans_beside_it_and_one_layout(monkeypatch):
    ctx = image_context(Identity((1, 8, 8), 64), n=120)
    ctx.y_test = np.r_[np.zeros(60, int), np.arange(60) % 3 + 1]
    ctx.y_train = ctx.y_test
    monkeypatch.setattr(umap_embed, "MAX_POINTS", 40)
    result = EVALUATORS.get("umap_cluster").builder().evaluate(ctx)
    values = {m.metric: m.value for m in result.metrics}
    assert set(values) == {"umap_cluster_acc", "umap_cluster_nmi", "umap_cluster_kmeans_acc"}
    assert result.per_image["umap_cluster_acc"].shape == (1, 40), "one UMAP + mixture seed per cell"
    assert set(result.per_image["labels"]) == {0, 1, 2, 3}, "every class, not the first 40 images"


# 2. Task tables were ordered by the headline rank
def test_task_tables_rank_by_their_own_metrics():
    cells = {("good_code", 8): {"recon_mse": Cell(0.01, 0, 1, True, rank=1),
                                "denoise_mse_mask": Cell(0.5, 0, 1, False, rank=2)},
             ("good_denoiser", 8): {"recon_mse": Cell(0.02, 0, 1, False, rank=2),
                                    "denoise_mse_mask": Cell(0.1, 0, 1, True, rank=1)}}
    board = Leaderboard(list(cells), ["recon_mse", "denoise_mse_mask"],
                        {"recon_mse": False, "denoise_mse_mask": False},
                        {"recon_mse": "reconstruction", "denoise_mse_mask": "denoising"},
                        cells, {k: 1 for k in cells}, ["recon_mse"])
    task = board_table(board, ["denoise_mse_mask"], "task-denoising")
    assert [row[0] for row in task.rows] == ["good_denoiser", "good_code"]
    assert [row[3] for row in task.rows] == ["1.00", "2.00"]
    leaderboard = board_table(board, ["recon_mse", "denoise_mse_mask"], "lb", rank_on=["recon_mse"])
    assert [row[0] for row in leaderboard.rows] == ["good_code", "good_denoiser"]


# 3. PSNR of an unchanged image came from a 1e-10 floor: 100 dB
def test_psnr_is_capped_at_one_grey_level_and_unchanged_images_gain_nothing():
    x = torch.rand(3, 1, 8, 8)
    assert psnr_per_image(x, x).tolist() == pytest.approx([20 * np.log10(255)] * 3)
    ctx = image_context(Identity((1, 8, 8), 64))
    ctx.x_test = torch.zeros_like(ctx.x_test)  # the masked square changes nothing
    values = metrics_of("denoising", ctx)
    assert values["denoise_psnr_mask"] == pytest.approx(48.13, abs=0.01)
    assert values["denoise_gain_mask"] == pytest.approx(0.0)


def test_inpainting_error_is_measured_inside_the_square_only():
    class FillsWithGrey(Identity):
        def reconstruct(self, x):
            return torch.where(x == 0, torch.full_like(x, 0.5), x)  # repaints every black pixel

    ctx = image_context(FillsWithGrey((1, 8, 8), 64))
    ctx.x_test = ctx.x_test.clamp(0.01, 1)  # no black pixel except where the mask blanks
    values = metrics_of("denoising", ctx)
    inside = values["denoise_inpaint_mse"]
    assert values["denoise_mse_mask"] < inside, "the whole-image error dilutes the square's"
    assert inside == pytest.approx(((ctx.x_test - 0.5) ** 2).mean().item(), rel=0.2)


# 4. Trustworthiness rewards codes that are easy to draw: a diagnostic, never bold or ranked
def test_trustworthiness_is_a_diagnostic():
    cards = Cards({"umap": EVALUATORS.get("umap").builder.card()})
    spec = cards.spec("umap_trustworthiness")
    assert spec.diagnostic and not spec.headline and not spec.verdict


# 5. vq_vae decoded codes that were never quantised
def test_vq_vae_decodes_sampled_codes_through_its_codebook():
    load_all_models()
    model = build_model("vq_vae", (1, 8, 8), 8).eval()
    z = torch.randn(16, 8)
    with torch.no_grad():
        assert torch.equal(model.decode(z), model.decode(model.quantise(z)))
        assert not torch.equal(model.decode(z), torch.sigmoid(model.decode_logits(z)))


# 6. Out-of-distribution sets: no trivial set in the headline, no digit that stays a digit
def test_outlier_sets_are_informative_and_trivial_ones_are_diagnostics():
    x = torch.rand(40, 1, 28, 28)
    labels = np.arange(40) % 10
    sets = offline_outliers(x, labels, seed=0)
    assert "flipped" not in sets
    assert len(sets["rotated"]) == int((~np.isin(labels, SYMMETRIC_DIGITS)).sum())
    # shuffled tiles: exactly the same pixels per image, in another arrangement
    assert torch.equal(sets["patches"].flatten(1).sort(1).values, x.flatten(1).sort(1).values)
    assert not torch.equal(sets["patches"], x)
    cards = Cards({"anomaly_ood": EVALUATORS.get("anomaly_ood").builder.card()})
    assert cards.spec("ood_auroc_inverted").diagnostic and cards.spec("ood_auroc_noise").diagnostic
    assert not cards.spec("ood_auroc_rotated").diagnostic and cards.spec("ood_auroc_rotated").verdict


# 7. Fréchet distance: the reference was the judge's training set, the "floor" not a floor
def test_frechet_reference_and_floor_are_disjoint_held_out_halves():
    reference, real = reference_split(10_001)
    assert len(set(reference) & set(real)) == 0 and len(reference) + len(real) == 10_001
    assert abs(len(reference) - len(real)) <= 1
    spec = Cards({"generation": EVALUATORS.get("generation").builder.card()}).spec("fid_floor")
    assert spec.diagnostic and "held-out" in Cards({"generation": EVALUATORS.get(
        "generation").builder.card()}).spec("fid_judge").help


# 8. Metrics that barely separate models show intervals, and the verdict calls no winner then
def test_the_verdict_calls_a_tie_when_nothing_separates():
    from bench.report.comparison import Comparison
    from bench.report.verdict import jobs, limits

    cells = {(m, 8): {"interp_confidence": Cell(v, 0, 1, True, v - 0.03, v + 0.03, rank=1)}
             for m, v in [("a", 0.91), ("b", 0.90), ("pca", 0.89)]}
    board = Leaderboard(list(cells), ["interp_confidence"], {"interp_confidence": True},
                        {"interp_confidence": "generation"}, cells, {k: 1 for k in cells}, [])
    cards = Cards({"interpolation": {"metrics": [{"name": "interp_confidence", "higher_is_better": True,
                                                  "help": "", "verdict": "interpolation"}]}})
    comp = Comparison(pd.DataFrame(), pd.DataFrame(), {}, [0])
    rows = jobs(board, comp, cards, {"pca"})
    assert rows[0].leader == "a" and rows[0].tells == "no model is separable from the others"
    assert "one seed" in " ".join(limits(board, comp, cards))


def test_umap_cluster_outcomes_over_its_subset_pass_the_alignment_check():
    """With more test images than the 5,000-image subset (real MNIST has 10,000), umap_cluster's
    outcomes are one per subset image: its declaration says so (unit 'subset'), so the check
    that failed every cell of the first 5-seed reference run accepts them, while a metric
    declared per image of the whole test set is still refused."""
    from bench.evaluators import EvalResult, Metric
    from bench.evaluators.umap_cluster import UMAPCluster
    from bench.evaluators.umap_embed import umap_subset
    labels = np.repeat(np.arange(10), 1_000)
    subset = umap_subset(labels)
    assert len(subset) == 5_000 < len(labels)
    evaluator = UMAPCluster()
    ids = np.arange(len(subset)) % 10
    per_image = {"umap_cluster_acc": ids, "umap_cluster_nmi": ids, "umap_cluster_kmeans_acc": ids,
                 "labels": labels[subset]}
    evaluator.check(EvalResult([Metric("umap_cluster_acc", 0.5, True)], per_image=per_image), len(labels))
    evaluator.metrics = tuple(dataclasses.replace(m, unit="image") for m in UMAPCluster.metrics)
    with pytest.raises(ValueError, match="5000 values for 10000 test images"):
        evaluator.check(EvalResult([Metric("umap_cluster_acc", 0.5, True)], per_image=per_image), len(labels))
