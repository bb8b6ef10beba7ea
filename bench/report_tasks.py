"""The report's second half: what autoencoders are used for, one section per task, each with
its table, what its metrics mean, and its figures.

Why separate from `report`: the leaderboard answers "which code is best"; these sections answer
"which model is best for this job", and grow as evaluators are added.

    blocks, images = task_sections(out, results, board, showcase, model_order, manifest)
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from bench import task_figures
from bench.leaderboard import Leaderboard, board_table, group_of
from bench.render import Block, Bullets, Figure, Heading, Para
from bench.store import CellStore

TASKS = {
    "denoising": [
        "denoise_mse_<kind> / denoise_psnr_<kind>: the test images are corrupted (gauss_low: "
        "Gaussian noise sigma 0.2; gauss_high: sigma 0.5; salt_pepper: 10% of pixels set to 0 or 1; "
        "mask: a random square of 35% of the side set to 0), reconstructed, and compared with the "
        "clean images (MSE per pixel; PSNR in dB, peak 1, averaged over images).",
        "denoise_gain_<kind>: PSNR of the reconstruction minus PSNR of the corrupted input; above 0 "
        "the model removed more error than it added. Every model is evaluated, not only denoising_ae.",
    ],
    "anomaly detection": [
        "ood_auroc_<set>: models trained on all digits score each test image by its reconstruction "
        "error; AUROC of test digits (normal) against an outlier set: inverted (1 - x), flipped "
        "(upside down), noise (random pixels with the digits' mean ink), fashion_mnist when its "
        "files are available. 0.5 is chance, 1 is perfect separation.",
        "anomaly_auroc_<digit> / _mean (opt-in, --evaluators default,anomaly_oneclass): the "
        "one-class protocol; a fresh model trained on one digit only scores the whole test set, "
        "its own digit being normal.",
    ],
    "generation": [
        "fid_judge: Fréchet distance between the judge classifier's features of 10,000 generated "
        "images and of the training images (lower is better). Codes are sampled from a "
        "10-component Gaussian mixture fitted to each model's training codes; *_prior: sampled "
        "from the N(0, I) prior, for the VAEs.",
        "gen_label_entropy: entropy in bits of the judge's mean predicted digit distribution over "
        "the samples; log2(10) = 3.32 when every digit is generated equally often.",
        "interp_confidence: the judge's mean top-class probability along straight latent lines "
        "between pairs of test digits (interior points): does the path stay among digits?",
    ],
}

FIGURES = {
    "denoising": [
        ("figures/denoising.png", task_figures.denoising_examples,
         "Denoising, one panel per corruption: the clean test digits, the corrupted input every "
         "model received, then each model's reconstruction of it."),
    ],
    "anomaly detection": [
        ("figures/ood_roc.png", task_figures.ood_roc,
         "ROC curves of test digits against each outlier set, scored by reconstruction error; "
         "the dotted diagonal is chance."),
        ("figures/anomaly_extremes.png", task_figures.anomaly_extremes,
         "For each model, the eight test digits it reconstructs best (left) and worst (right): "
         "what it would flag first as anomalous."),
    ],
    "generation": [
        ("figures/generated.png", task_figures.generated_samples,
         "Samples: codes drawn from a Gaussian mixture fitted to each model's training codes "
         "(and from the prior for VAEs), decoded."),
        ("figures/interpolation.png", task_figures.interpolation_strips,
         "Latent interpolation: each strip decodes ten evenly spaced points on the straight line "
         "between the codes of two test digits (first column: a 3 to a 7)."),
    ],
}


def task_sections(out: Path, results: pd.DataFrame, board: Leaderboard,
                  showcase: dict[str, CellStore], model_order: list[str], manifest: dict
                  ) -> tuple[list[Block], dict[str, bytes]]:
    blocks: list[Block] = []
    images: dict[str, bytes] = {}
    extra = _label_efficiency(results, model_order, manifest)
    if extra:
        images["figures/label_efficiency.png"] = extra
        blocks += [Heading("Label efficiency"), Figure(
            "figures/label_efficiency.png",
            "Linear-probe test accuracy when the probe sees only 10, 100 or 1,000 labelled "
            "training images per class, and all of them (rightmost point). A code that stays high "
            "on the left needs few labels.")]
    for task, help_lines in TASKS.items():
        metrics = [m for m in board.metrics if group_of(m) == task]
        if not metrics:
            continue
        blocks += [Heading(f"Task: {task}"), Bullets(help_lines)]
        if task == "generation" and (judge := judge_summary(out, manifest)):
            blocks.append(Para(judge))
        blocks.append(board_table(board, metrics, f"task-{task.replace(' ', '-')}"))
        figures = [(p, fn(showcase), caption) for p, fn, caption in FIGURES[task]]
        if task == "anomaly detection":
            figures.append(("figures/oneclass.png", task_figures.oneclass_heatmap(results, model_order),
                            "One-class anomaly detection: AUROC per model and normal digit."))
        for path, png, caption in figures:
            if png is not None:
                images[path] = png
                blocks.append(Figure(path, caption))
    return blocks, images


def _label_efficiency(results: pd.DataFrame, model_order: list[str], manifest: dict) -> bytes | None:
    data = manifest.get("data", {})
    per_class = max(1, data.get("n_train", 0)) / 10  # all labels, shown as the mean class size
    return task_figures.label_efficiency(results, model_order, per_class)


def judge_summary(out: Path, manifest: dict) -> str:
    """One sentence about the judge this run used (read from its judge.json), or ''."""
    data = manifest.get("data", {})
    used = [Path(out) / "judge" / manifest["judge"] / "judge.json"] if manifest.get("judge") else []
    for path in used or sorted(Path(out).glob(f"judge/{data.get('name', '')}-*/judge.json")):
        info = json.loads(path.read_text())
        if info.get("n_train") == data.get("n_train"):
            return (f"Generation and interpolation are scored by a small CNN classifier (two conv "
                    f"layers, 128-d features) trained on the {info['n_train']:,} "
                    f"training images for {info['epochs']} epochs (the last at a tenth of the learning rate): "
                    f"test accuracy "
                    f"{info['test_accuracy']:.4f}. Fréchet distance of the real test images to "
                    f"the training images in its feature space (the floor for fid_judge): "
                    f"{info['fid_floor']:.3f}.")
    return ""
