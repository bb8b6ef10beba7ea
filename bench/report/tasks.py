"""The report's second half: what autoencoders are used for, one section per task, each with
its table, what its metrics mean, and its figures.

Why separate from `report`: the leaderboard answers "which code is best"; these sections answer
"which model is best for this job", and grow as evaluators are added.

    blocks, images = task_sections(out, board, cards, inputs, manifest)
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from bench.cards import Cards
from bench.report.comparison import Comparison
from bench.report.figures import FigureInputs, png_bytes
from bench.report.leaderboard import Leaderboard, board_table
from bench.report.render import Block, Bullets, Figure, Heading, Para
from bench.store.run_record import RunManifest


def task_sections(out: Path, board: Leaderboard, cards: Cards, inputs: FigureInputs,
                  manifest: RunManifest) -> tuple[list[Block], dict[str, bytes]]:
    """One section per task the evaluator cards declare: its help, its table (ranked on its own
    metrics, not the leaderboard's), and the figures its evaluators declare."""
    blocks: list[Block] = []
    images: dict[str, bytes] = {}
    for task, evaluators in cards.tasks().items():
        metrics = [m for m in board.metrics if cards.evaluator_of(m) in evaluators]
        drawn = draw_figures(cards, evaluators, inputs)
        if not metrics and not any(drawn.values()):
            continue
        help_lines = [line for e in evaluators for line in cards.cards[e].get("task_help", [])]
        seen = {}
        for m in metrics:
            spec = cards.spec(m)
            seen.setdefault(spec.name, f"{spec.name}: {spec.help}" + (" (diagnostic)" if spec.diagnostic else ""))
        blocks += [Heading(f"Task: {task}"), Bullets(help_lines + list(seen.values()))]
        if "generation" in evaluators and (judge := judge_summary(out, manifest)):
            blocks.append(Para(judge))
        if metrics:
            dim = board.dim
            jobs = [m for m in metrics if cards.spec(m).verdict and not board.saturated(m, dim)]
            jobs = jobs or [m for m in metrics if not board.saturated(m, dim)] or metrics
            blocks.append(Para(f"Ranked on one metric per job ({', '.join(jobs)}), not on "
                               "redundant variants of one measurement; bold: the models that "
                               "may be the best (a 95% confidence set)."))
            blocks.append(board_table(board, metrics, f"task-{task.replace(' ', '-')}", rank_on=jobs,
                                      cards=cards, models=manifest.models))
        captions = {f["path"]: f["caption"] for e in evaluators for f in cards.cards[e].get("figures", [])}
        for path, png in drawn.items():
            if png is not None:
                images[path] = png
                blocks.append(Figure(path, captions[path]))
    return blocks, images


def draw_figures(cards: Cards, evaluators: list[str], inputs: FigureInputs) -> dict[str, bytes | None]:
    """The figures the given evaluators declare, drawn by their "module:function"."""
    out = {}
    for name in evaluators:
        for fig in cards.cards[name].get("figures", []):
            module, _, function = fig["draw"].partition(":")
            try:
                draw = getattr(importlib.import_module(module), function)
            except (ImportError, AttributeError):  # a plugin's figure outside this process
                continue
            out[fig["path"]] = draw(inputs)
    return out


def pairwise_figure(board: Leaderboard, comp: Comparison, metrics: list[str]) -> bytes | None:
    """Per metric, a heat map of P(row model beats column model) over the bootstrap resamples;
    "=" marks a tie. Only metrics with intervals; the board's latent size."""
    if not board.rows:
        return None
    dim = board.dim
    metrics = [m for m in metrics if any(comp.replicates.get((k[0], dim, m)) is not None
                                         for k in board.rows)]
    if not metrics:
        return None
    sns.set_theme(style="white")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        models = [k[0] for k in board.rows if k[1] == dim and (k[0], dim, metric) in comp.replicates]
        models.sort(key=lambda m: -board.cells[(m, dim)][metric].mean * (1 if board.higher_is_better[metric] else -1))
        p = np.full((len(models), len(models)), np.nan)
        labels = np.full(p.shape, "", dtype=object)
        for i, a in enumerate(models):
            for j, b in enumerate(models):
                if i != j:
                    p[i, j] = comp.win_probability(a, b, dim, metric, board.higher_is_better[metric])
                    low, high = comp.difference(a, b, dim, metric)
                    labels[i, j] = "=" if low <= 0 <= high else f"{p[i, j]:.2f}".lstrip("0")
        annotated_heatmap(ax, p, labels, models)
        ax.set_title(f"{board.header(metric)}: P(row beats column)", fontsize=9)
        ax.tick_params(labelsize=7)
    return png_bytes(fig, tight=True)


def annotated_heatmap(ax, values: np.ndarray, labels: np.ndarray, models: list[str]) -> None:
    """seaborn's annotated heat map (RdBu from 0 to 1, square cells, no spines, text dark on
    light cells and white on dark ones), drawn directly: `sns.heatmap` draws the whole figure
    once per call to see whether its tick labels overlap, which made the pairwise figure the
    costliest one to build. Here the column labels are always vertical."""
    mesh = ax.pcolormesh(values, cmap="RdBu", vmin=0, vmax=1)
    for (i, j), text in np.ndenumerate(labels):
        if text:
            light = sns.utils.relative_luminance(mesh.cmap(mesh.norm(values[i, j]))) > .408
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=6,
                    color=".15" if light else "w")
    ax.set(xlim=(0, len(models)), ylim=(len(models), 0), aspect="equal")
    ax.set_xticks(np.arange(len(models)) + 0.5, models, rotation="vertical")
    ax.set_yticks(np.arange(len(models)) + 0.5, models, va="center")
    sns.despine(ax=ax, left=True, bottom=True)


def judge_summary(out: Path, manifest: RunManifest) -> str:
    """One sentence about the judge this run used (read from its judge.json), or ''."""
    path = Path(out) / "judge" / str(manifest.judge) / "judge.json"
    if manifest.judge and path.exists():
        info = json.loads(path.read_text())
        which = (f"the judge shipped with aebench ({info['shipped']}, the same on every machine)"
                 if info.get("shipped") else "the judge classifier, trained for this dataset")
        return (f"Generation and interpolation are scored by {which}: a small CNN "
                f"(two conv layers, 128-d features) trained on {info['n_train']:,} "
                f"training images for {info['epochs']} epochs (the last at a tenth of the "
                f"learning rate), test accuracy {info['test_accuracy']:.4f}. fid_judge is "
                f"measured against half of the test images, which the judge never trained on; "
                f"fid_floor is the other half's distance to it.")
    return ""
