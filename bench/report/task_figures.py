"""Figures for what autoencoders are used for: denoising, anomaly detection, interpolation,
generation and label efficiency. Like `figures`, they read stored arrays and results only.

    png = denoising_examples(FigureInputs(showcase={"conv_ae": cell_store, ...}, ...))

Every function here takes one `FigureInputs`: an evaluator names its figures as
"bench.report.task_figures:<function>" in its `figures`, and the report calls them all the same way.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from bench.report.figures import FigureInputs, image_panel, png_bytes
from bench.store.cell import CellStore


def _artifacts(cells: dict[str, CellStore], evaluator: str) -> dict[str, dict[str, np.ndarray]]:
    return {m: a for m, c in cells.items() if (a := c.artifact(evaluator)) is not None}


def denoising_examples(inp: FigureInputs) -> bytes | None:
    """One panel per corruption: clean and corrupted inputs on top, each model's output below."""
    cells = inp.showcase
    arts = _artifacts(cells, "denoising")
    if not arts:
        return None
    first = next(iter(arts.values()))
    kinds = [k.removeprefix("noisy_") for k in first if k.startswith("noisy_")]
    n_rows = 2 + len(arts)
    fig, axes = plt.subplots(1, len(kinds), figsize=(3.0 * len(kinds), 0.55 * n_rows), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        rows = [("clean", first["clean"]), ("corrupted", first[f"noisy_{kind}"])]
        rows += [(m, a[f"denoised_{kind}"]) for m, a in arts.items()]
        image_panel(ax, rows if ax is axes[0, 0] else [("", images) for _, images in rows])
        ax.set_title(kind, fontsize=9)
    fig.subplots_adjust(wspace=0.04)
    return png_bytes(fig)


def ood_roc(inp: FigureInputs) -> bytes | None:
    """ROC curves of test digits against each outlier set, one line per model."""
    cells = inp.showcase
    arts = _artifacts(cells, "anomaly_ood")
    if not arts:
        return None
    sets = [k.removeprefix("roc_") for k in next(iter(arts.values())) if k.startswith("roc_")]
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(sets), figsize=(3.4 * len(sets), 3.4), squeeze=False)
    colours = dict(zip(arts, sns.color_palette("husl", len(arts))))
    for ax, name in zip(axes[0], sets):
        for model, art in arts.items():
            tpr = art[f"roc_{name}"]  # on an evenly spaced false-positive-rate grid from 0 to 1
            ax.plot(np.linspace(0, 1, len(tpr)), tpr, color=colours[model], lw=1.2, label=model)
        ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=0.8)
        ax.set_title(f"digits vs {name}", fontsize=10)
        ax.set_xlabel("false-positive rate")
        ax.set_ylabel("true-positive rate" if ax is axes[0, 0] else "")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=8)
    return png_bytes(fig, tight=True)


def anomaly_extremes(inp: FigureInputs) -> bytes | None:
    """Per model: the test digits it reconstructs best (least anomalous) and worst (most)."""
    cells = inp.showcase
    arts = _artifacts(cells, "anomaly_ood")
    if not arts:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 0.55 * len(arts) + 0.4), squeeze=False)
    image_panel(axes[0, 0], [(m, a["least_anomalous"]) for m, a in arts.items()])
    image_panel(axes[0, 1], [("", a["most_anomalous"]) for a in arts.values()])
    axes[0, 0].set_title("least anomalous (lowest error)", fontsize=9)
    axes[0, 1].set_title("most anomalous (highest error)", fontsize=9)
    fig.subplots_adjust(wspace=0.04)
    return png_bytes(fig)


def interpolation_strips(inp: FigureInputs) -> bytes | None:
    """Per model, the decoded latent line of each shown pair (the first is 3 -> 7)."""
    cells = inp.showcase
    arts = _artifacts(cells, "interpolation")
    if not arts:
        return None
    n_pairs = min(len(a["strips"]) for a in arts.values())
    fig, axes = plt.subplots(1, n_pairs, figsize=(3.4 * n_pairs, 0.5 * len(arts) + 0.4), squeeze=False)
    for col, ax in enumerate(axes[0]):
        image_panel(ax, [(m if col == 0 else "", a["strips"][col]) for m, a in arts.items()])
        ax.set_title("3 → 7" if col == 0 else f"random pair {col}", fontsize=9)
    fig.subplots_adjust(wspace=0.04)
    return png_bytes(fig)


def generated_samples(inp: FigureInputs) -> bytes | None:
    """Per model a row of decoded Gaussian-mixture samples (and prior samples for VAEs)."""
    cells = inp.showcase
    arts = _artifacts(cells, "generation")
    if not arts:
        return None
    rows = []
    for model, art in arts.items():
        rows.append((f"{model} (mixture)", art["samples"][:20]))
        if "samples_prior" in art:
            rows.append((f"{model} (prior)", art["samples_prior"][:20]))
    fig, ax = plt.subplots(figsize=(9.0, 0.5 * len(rows)))
    image_panel(ax, rows)
    return png_bytes(fig)


def label_efficiency(inp: FigureInputs) -> bytes | None:
    """Linear-probe accuracy against labels per class (log scale), one line per model."""
    results, model_order = inp.results, inp.model_order
    n_train_per_class = max(1, inp.n_train) / 10  # all labels, shown as the mean class size
    probe = results[results["metric"].str.fullmatch(r"probe_acc(_\d+)?")]
    if probe["metric"].nunique() < 2:
        return None
    dim = probe["latent_dim"].iloc[0]
    probe = probe[probe["latent_dim"] == dim].copy()
    probe["labels per class"] = [int(m.rsplit("_", 1)[1]) if m != "probe_acc" else n_train_per_class
                                 for m in probe["metric"]]
    order = [m for m in model_order if m in set(probe["model"])]
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(7.0, 3.8))
    sns.lineplot(data=probe, x="labels per class", y="value", hue="model", hue_order=order,
                 style="model", markers=True, dashes=False, errorbar="sd", palette="husl", ax=ax)
    ax.set_xscale("log")
    ax.set_ylabel("linear-probe test accuracy")
    ax.set_xlabel("labelled training images per class (rightmost: all)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    return png_bytes(fig, tight=True)


def oneclass_heatmap(inp: FigureInputs) -> bytes | None:
    """One-class AUROC, model x digit (drawn when the opt-in evaluator ran)."""
    results, model_order = inp.results, inp.model_order
    data = results[results["metric"].str.fullmatch(r"anomaly_auroc_\d+")]
    if data.empty:
        return None
    data = data.assign(digit=data["metric"].str.rsplit("_", n=1).str[1].astype(int))
    table = data.pivot_table(index="model", columns="digit", values="value", aggfunc="mean")
    table = table.reindex([m for m in model_order if m in table.index])
    sns.set_theme(style="white")
    fig, ax = plt.subplots(figsize=(8.0, 0.4 * len(table) + 1.2))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="viridis", vmin=0.5, vmax=1.0, ax=ax,
                annot_kws={"fontsize": 7}, cbar_kws={"label": "AUROC"})
    ax.set_xlabel("normal class (digit)")
    ax.set_ylabel("")
    return png_bytes(fig, tight=True)
