"""The report's figures, drawn with seaborn/matplotlib from stored arrays only (no torch).

Why from stored arrays: the report can be rebuilt, diffed and shared from the results directory
alone. Each function returns PNG bytes, or None when there is nothing to draw.

    png = reconstruction_grid(FigureInputs(showcase={"conv_ae": cell_store, ...}))
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from bench.report.drawn import reuse_or_draw  # noqa: E402
from bench.store.cell import CellStore  # noqa: E402

PALETTE = "tab10"  # one palette for every UMAP panel: digit d has the same colour everywhere
DPI = 100
SAVEFIG = {"format": "png", "dpi": DPI, "metadata": {"Software": None}}


@dataclass
class FigureInputs:
    """What a figure may draw from: one cell per model (the showcase), the long results table,
    the model order of the report, and the training-set size."""
    showcase: dict[str, CellStore]
    results: pd.DataFrame = field(default_factory=pd.DataFrame)
    model_order: list[str] = field(default_factory=list)
    n_train: int = 0


def png_bytes(fig, tight: bool | tuple = False) -> bytes:
    """The figure as PNG, after `fig.tight_layout()` when `tight` (True, or the rect to fit the
    subplots into); otherwise cropped to what is drawn (`bbox_inches="tight"`). Not both: the
    crop lays the figure out once more before drawing it, and after `tight_layout` (which makes
    room for legends beside the axes too) it only trims the margin. Layout happens here, not in
    the figure functions, so that a figure drawn before (`bench.report.drawn`) skips it as well
    as the rasterising."""
    settings = {**SAVEFIG, "bbox_inches": None if tight else "tight"}

    def draw() -> bytes:
        if tight:
            fig.tight_layout(**({} if tight is True else {"rect": tight}))
        buffer = io.BytesIO()
        fig.savefig(buffer, **settings)
        return buffer.getvalue()

    try:  # the key holds exactly what draw() is given besides the figure
        return reuse_or_draw(fig, {**settings, "tight": tight}, draw)
    finally:
        plt.close(fig)


def strip(images: np.ndarray, gap: int = 1) -> np.ndarray:
    """(n, C, H, W) uint8 -> one (H, n*W) row, `gap` white pixels between images."""
    spacer = np.zeros((images.shape[2], gap), dtype=images.dtype)
    return np.concatenate([part for img in images for part in (img[0], spacer)][:-1], axis=1)


ROW_GAP = 3  # white pixels between the rows of an image panel


def image_panel(ax, rows: list[tuple[str, np.ndarray]], fontsize: int = 8, gap: int = 1) -> None:
    """Rows of images (label, (n, C, H, W)) as one picture in one axes, `ROW_GAP` pixels apart,
    each row's label at its left ('' for none). One axes for all rows, not one per row: a
    13-model report had ~140 axes of image rows, and building and laying out an axes costs
    far more than the pixels in it."""
    strips = [strip(images, gap) for _, images in rows]
    width = max(s.shape[1] for s in strips)
    parts, centres, top = [], [], 0
    for s in strips:
        parts += [np.pad(s, ((0, 0), (0, width - s.shape[1]))), np.zeros((ROW_GAP, width), s.dtype)]
        centres.append(top + (s.shape[0] - 1) / 2)
        top += s.shape[0] + ROW_GAP
    ax.imshow(np.concatenate(parts[:-1]), cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks(centres, [label for label, _ in rows], fontsize=fontsize)
    ax.tick_params(axis="y", length=0)
    ax.grid(False)  # a theme with a grid would draw it across the images, at the labels


def reconstruction_grid(inp: FigureInputs) -> bytes | None:
    """Test originals on top, then one row of reconstructions per model."""
    cells = inp.showcase
    arts = {m: a for m, c in cells.items() if (a := c.artifact("reconstruction")) is not None}
    if not arts:
        return None
    originals = next(iter(arts.values()))["originals"]
    rows = [("original", originals)] + [(m, a["reconstructions"]) for m, a in arts.items()]
    sns.set_theme(style="white")
    fig, ax = plt.subplots(figsize=(len(originals) * 0.45, len(rows) * 0.6))
    image_panel(ax, rows, fontsize=9, gap=0)
    return png_bytes(fig)


def umap_panels(inp: FigureInputs) -> bytes | None:
    """Small multiples of the 2-D UMAP of each model's test codes, coloured by digit."""
    cells = inp.showcase
    arts = {m: a for m, c in cells.items() if (a := c.artifact("umap")) is not None}
    if not arts:
        return None
    sns.set_theme(style="white")
    cols = min(3, len(arts))
    rows = -(-len(arts) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.3 * cols, 3.3 * rows), squeeze=False)
    colours = sns.color_palette(PALETTE, 10)
    for ax, (model, art) in zip(axes.flat, arts.items()):
        emb, labels = art["embedding"], art["labels"].astype(int)
        ax.scatter(emb[:, 0], emb[:, 1], c=[colours[l % 10] for l in labels], s=0.5,
                   alpha=0.6, linewidths=0, rasterized=True)
        ax.set_title(model, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(arts):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], marker="o", ls="", color=colours[d], label=str(d)) for d in range(10)]
    fig.legend(handles=handles, loc="lower center", ncol=10, frameon=False, title="digit")
    return png_bytes(fig, tight=(0, 0.08, 1, 1))


def training_curves(cells: dict[str, CellStore]) -> bytes | None:
    """Training reconstruction loss per epoch relative to epoch 1, one line per trained model.

    Relative, because models measure reconstruction in different units (BCE for most, squared
    error for linear_ae); the question the figure answers is whether a curve had flattened."""
    frames = []
    for model, cell in cells.items():
        history = cell.history()
        if "recon" in history.columns and len(history) > 1:
            rel = history["recon"] / history["recon"].iloc[0]
            frames.append(pd.DataFrame({"model": model, "epoch": history["epoch"], "relative": rel}))
    if not frames:
        return None
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    data = pd.concat(frames)
    sns.lineplot(data=data, x="epoch", y="relative", hue="model", style="model", markers=True,
                 dashes=False, palette="husl", ax=ax)
    ax.set_ylabel("train reconstruction loss\n(relative to epoch 1)")
    ax.set_yscale("log")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    return png_bytes(fig, tight=True)


def metric_bars(results: pd.DataFrame, model_order: list[str], groups: list[tuple[str, list[str]]]
                ) -> bytes | None:
    """One small bar chart per metric, laid out by metric group; error bars are the standard
    deviation over seeds (none with a single seed). None when no metric is in `groups` (a run
    of task evaluators only)."""
    if results.empty or not groups:
        return None
    dim = results["latent_dim"].iloc[0]
    data = results[results["latent_dim"] == dim]
    cols = max(len(ms) for _, ms in groups)
    sns.set_theme(style="whitegrid")
    height = 0.22 * len(model_order) + 0.9
    fig, axes = plt.subplots(len(groups), cols, figsize=(3.2 * cols, height * len(groups)), squeeze=False)
    palette = dict(zip(model_order, map(lambda c: sns.desaturate(c, 0.75),  # seaborn's bar colours
                                        sns.color_palette("husl", len(model_order)))))
    for r, (group, metrics) in enumerate(groups):
        for c in range(cols):
            ax = axes[r, c]
            if c >= len(metrics):
                ax.axis("off")
                continue
            metric = metrics[c]
            sub = data[data["metric"] == metric]
            # plain matplotlib bars: seaborn's barplot took ~0.2 s a panel (10 s of a report)
            stats = sub.groupby("model")["value"].agg(["mean", "std"]).reindex(
                [m for m in model_order if m in set(sub["model"])])
            higher = bool(sub["higher_is_better"].iloc[0])
            bars = ax.barh(range(len(stats)), stats["mean"], color=[palette[m] for m in stats.index],
                           xerr=stats["std"].fillna(0) if stats["std"].notna().any() else None,
                           error_kw={"ecolor": ".26", "elinewidth": 2.25})
            ax.set_yticks(range(len(stats)), stats.index)
            ax.set_ylim(len(stats) - 0.5, -0.5)  # the report's order top to bottom
            ax.grid(axis="y", visible=False)
            ax.bar_label(bars, fmt="%.3g", fontsize=6, padding=2)  # bars near 1 look alike
            ax.margins(x=0.25)
            ax.set_title(f"{metric} {'↑' if higher else '↓'}", fontsize=9)
            ax.set_xlabel("")
            ax.set_ylabel(group if c == 0 else "")
            ax.tick_params(labelsize=7)
            if c:
                ax.set_yticklabels([])
    return png_bytes(fig, tight=True)


def metric_vs_latent(summary: pd.DataFrame, model_order: list[str], metrics: list[str]) -> bytes | None:
    """Headline metrics against latent size, one line per model: the mean over seeds with the
    report's 95% interval (seeds and images, as in the leaderboard) as error bars, so a size
    effect inside the bars is not read as one; drawn only for more than one latent size."""
    data = summary[summary["metric"].isin(metrics)]
    if data["latent_dim"].nunique() < 2:
        return None
    present = [m for m in metrics if m in set(data["metric"])]
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.4), squeeze=False)
    order = [m for m in model_order if m in set(data["model"])]
    colors = dict(zip(order, sns.color_palette("husl", len(order))))
    markers = dict(zip(order, "osD^vP*Xhp<>8"*4))
    for ax, metric in zip(axes[0], present):
        sub = data[data["metric"] == metric]
        for model in order:
            line = sub[sub["model"] == model].sort_values("latent_dim")
            if line.empty:
                continue
            low = (line["mean"] - line["ci_low"]).fillna(0).clip(lower=0)
            high = (line["ci_high"] - line["mean"]).fillna(0).clip(lower=0)
            ax.errorbar(line["latent_dim"], line["mean"], yerr=[low, high], label=model,
                        color=colors[model], marker=markers[model], ms=4, capsize=2, lw=1)
        higher = bool(sub["higher_is_better"].iloc[0])
        ax.set_title(f"{metric} {'↑' if higher else '↓'}", fontsize=10)
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(sub["latent_dim"].unique()))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("latent size")
        ax.set_ylabel("")
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False, fontsize=8)
    return png_bytes(fig, tight=True)
