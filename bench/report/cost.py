"""The report's cost section: quality against training compute, the Pareto front of final
quality against cost, and whether the ranking still moved at the end of the budget.

Why from the checkpoints: each trainable cell stores its cheap metrics after epochs 1, 2, 4 ...
and its last, with the training FLOPs and seconds spent so far (`bench.run.checkpoints`). So a reader
sees what more compute bought each model, and a ranking that was still changing when the budget
ran out is called out instead of being taken as final. Torch-free, like the rest of the report.

    section = cost_section(cells, results, cards, comparison)   # .blocks, .images, .verdict
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from bench.cards import Cards
from bench.report.comparison import Comparison
from bench.report.figures import plt, png_bytes, sns
from bench.report.leaderboard import focus_dim
from bench.report.render import Block, Bullets, Figure, Heading, Para, Table
from bench.store.cell import CellStore

CURVES = "figures/quality_vs_compute.png"
PARETO = "figures/pareto.png"
INTRO = (
    "Each trainable model's cheap metrics after epochs 1, 2, 4, ... and the last of its "
    "training, against the training FLOPs spent so far (counted per training step with the "
    "formulas of torch.utils.flop_counter: matrix products and convolutions, forward and "
    "backward; elementwise work is not counted). At these checkpoints the probe and k-NN are fitted on a fixed, "
    "class-balanced 10,000 training images (all test images are scored), so a curve may end a "
    "little off the leaderboard's value, which fits on every training image. Baselines are "
    "fitted, not trained: they are horizontal lines, measured the same way.")
CAPTIONS = {
    CURVES: "Quality against training compute (log scale), mean over seeds, one line per model; "
            "dotted lines are the baselines. A line still rising (or falling, for an error) at "
            "its right end means more compute would have bought more.",
    PARETO: "Final quality (the leaderboard's means) against total training FLOPs. Ringed and "
            "named in red: the Pareto front, the models no cheaper model beats on the mean "
            "(differences inside the leaderboard's intervals are ties there).",
}
TAU_HELP = (
    "Kendall's tau between the trainable models' ranking at the checkpoint before the last and "
    "at the last (1: the same order; below 1: the order was still changing when the budget ran "
    "out, so a longer budget may reorder the models). A swap is real when the leaderboard "
    "separates the pair (its paired 95% interval excludes 0); a swap of tied models is noise.")


@dataclass
class CostSection:
    blocks: list[Block] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)
    verdict: list[str] = field(default_factory=list)  # sentences for the report's verdict


def curve_points(cells: list[CellStore]) -> pd.DataFrame:
    """model, seed, epoch, train_flops, train_seconds, metric, value: the checkpoints of every
    cell of the report's latent size (epoch 0: a fitted baseline's one point)."""
    dim = focus_dim(c.cfg.latent_dim for c in cells)
    rows = [(c.cfg.model, c.cfg.seed, p["epoch"], p["train_flops"], p["train_seconds"], m, v)
            for c in cells if c.cfg.latent_dim == dim and not c.failed
            for p in c.checkpoints().get("points", []) for m, v in p["metrics"].items()]
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "train_flops", "train_seconds",
                                       "metric", "value"])


def cost_section(cells: list[CellStore], results: pd.DataFrame, cards: Cards,
                 comp: Comparison) -> CostSection:
    points = curve_points(cells)
    section = CostSection()
    if points.empty:
        return section
    dim = focus_dim(c.cfg.latent_dim for c in cells)
    metrics = [m for m in cards.declared() if cards.spec(m).cheap and cards.spec(m).verdict
               and m in set(points["metric"])]
    headline = [m for m in metrics if cards.spec(m).headline]
    mean = points.groupby(["model", "epoch", "metric"], sort=False)[
        ["train_flops", "train_seconds", "value"]].mean().reset_index()
    fitted = mean[mean["epoch"] == 0].set_index(["model", "metric"])["value"]  # the baselines
    curves = mean[mean["epoch"] > 0]
    final = final_quality(cells, results)
    section.images = {path: png for path, png in {
        CURVES: quality_vs_compute(curves, metrics, fitted, cards),
        PARETO: pareto_figure(final, headline, cards),
    }.items() if png is not None}
    section.blocks = [Heading("Cost: quality against training compute"), Para(INTRO)]
    section.blocks += [Figure(path, CAPTIONS[path]) for path in section.images]
    fronts = {m: pareto_front(final, m, cards.spec(m).higher_is_better) for m in headline}
    section.blocks.append(Bullets([f"Pareto front on {m}: {', '.join(front)} (cheapest first)"
                                   for m, front in fronts.items() if front]))
    taus = rank_agreement(curves, metrics)
    if not taus:
        return section

    real = {m: [p for p in swapped if comp.is_separated(*p, dim, m)] for m, (*_, swapped) in taus.items()}
    section.blocks += [Heading("Does the ranking hold?", 3), Para(TAU_HELP), Table(
        ["metric", "from epoch", "to epoch", "models", "Kendall's tau", "swapped pairs", "real swaps"],
        [[m, str(a), str(b), str(n), f"{t:.2f}", str(len(sw)),
          ", ".join(f"{x}/{y}" for x, y in real[m]) or "none"] for m, (a, b, n, t, sw) in taus.items()])]
    section.verdict = [
        f"The {m} ranking was still changing at the end of the budget: between epochs {a} and "
        f"{b}, {'; '.join(f'{x} and {y}' for x, y in real[m])} swapped places, and the leaderboard "
        f"separates them (Kendall's tau {t:.2f}); a longer budget may reorder them (see Cost)."
        for m, (a, b, n, t, sw) in taus.items() if m in headline and real[m]]
    return section


def final_quality(cells: list[CellStore], results: pd.DataFrame) -> pd.DataFrame:
    """model, metric, value (mean over seeds), train_flops: trainable models of the report's size."""
    dim = focus_dim(c.cfg.latent_dim for c in cells)
    flops: dict[str, list[float]] = {}
    for cell in cells:
        info = cell.train_info()
        if cell.cfg.latent_dim == dim and info.get("trainable") and "train_flops" in info:
            flops.setdefault(cell.cfg.model, []).append(info["train_flops"])
    rows = results[(results["latent_dim"] == dim) & results["model"].isin(flops)]
    final = rows.groupby(["model", "metric"], sort=False)["value"].mean().reset_index()
    final["train_flops"] = [float(np.mean(flops[m])) for m in final["model"]]
    return final


def pareto_front(final: pd.DataFrame, metric: str, higher_is_better: bool) -> list[str]:
    """Models no cheaper (or equally cheap) model beats on `metric` (means), cheapest first."""
    rows = final[final["metric"] == metric].sort_values("train_flops", kind="stable")
    sign = 1 if higher_is_better else -1
    front, best = [], -np.inf
    for model, value in zip(rows["model"], rows["value"] * sign):
        if value > best:
            front.append(model)
            best = value
    return front


def rank_agreement(mean: pd.DataFrame, metrics: list[str]) -> dict[str, tuple]:
    """metric -> (epoch before, last epoch, models, tau, swapped pairs) over the trainable
    models' last two checkpoints (with an equal-FLOPs budget each model has its own epochs)."""
    out = {}
    for metric in metrics:
        before, after, epochs = {}, {}, set()
        for model, group in mean[mean["metric"] == metric].groupby("model", sort=False):
            if len(group) >= 2:
                group = group.sort_values("epoch")
                before[model], after[model] = group["value"].iloc[-2], group["value"].iloc[-1]
                epochs.add((int(group["epoch"].iloc[-2]), int(group["epoch"].iloc[-1])))
        if len(before) < 3:
            continue
        models = list(before)
        a, b = np.array([before[m] for m in models]), np.array([after[m] for m in models])
        swapped = [(models[i], models[j]) for i in range(len(models)) for j in range(i)
                   if (a[i] - a[j]) * (b[i] - b[j]) < 0]
        e1, e2 = epochs.pop() if len(epochs) == 1 else ("last but one", "last")
        out[metric] = (e1, e2, len(models), float(kendalltau(a, b).statistic), swapped)
    return out


def _arrow(cards: Cards, metric: str) -> str:
    return f"{metric} {'↑' if cards.spec(metric).higher_is_better else '↓'}"


def quality_vs_compute(curves: pd.DataFrame, metrics: list[str], fitted: pd.Series,
                       cards: Cards) -> bytes | None:
    if not metrics or curves.empty:
        return None
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    models = list(dict.fromkeys(curves["model"]))
    colours = dict(zip(models, sns.color_palette("husl", len(models))))
    for ax, metric in zip(axes[0], metrics):
        for model in models:
            line = curves[(curves["model"] == model) & (curves["metric"] == metric)].sort_values("train_flops")
            ax.plot(line["train_flops"], line["value"], marker="o", ms=3, label=model, color=colours[model])
        for (baseline, m), value in fitted.items():
            if m == metric:
                ax.axhline(value, ls=":", color="grey", lw=1)
                ax.annotate(baseline, (1, value), xycoords=("axes fraction", "data"), fontsize=7,
                            color="grey", ha="right", va="bottom")
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs")
        ax.set_title(_arrow(cards, metric), fontsize=10)
    axes[0][-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    return png_bytes(fig, tight=True)


def pareto_figure(final: pd.DataFrame, metrics: list[str], cards: Cards) -> bytes | None:
    if not metrics or final.empty:
        return None
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        rows = final[final["metric"] == metric]
        front = set(pareto_front(final, metric, cards.spec(metric).higher_is_better))
        ax.scatter(rows["train_flops"], rows["value"], color="tab:blue", s=18)
        for model, x, y in zip(rows["model"], rows["train_flops"], rows["value"]):
            if model in front:
                ax.scatter([x], [y], s=110, facecolors="none", edgecolors="tab:red")
            ax.annotate(model, (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points",
                        color="tab:red" if model in front else "black")
        ax.set_xscale("log")
        ax.set_xlabel("training FLOPs (total)")
        ax.set_title(_arrow(cards, metric), fontsize=10)
    return png_bytes(fig, tight=True)
