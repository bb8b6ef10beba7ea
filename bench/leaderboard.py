"""Pivot the long results table into a leaderboard: one row per model (and latent size), one
column per metric, mean ± std over seeds, the best value per column marked.

Why a separate module: the Markdown and the HTML report render the same table, and the tests
check the "best" marks and the aggregation without drawing anything.

    board = leaderboard(results_df)   # board.cells[(model, dim)][metric] -> Cell
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.render import Table

# Headline metrics first, in reading order; anything else follows alphabetically.
METRIC_ORDER = ["recon_mse", "recon_bce", "kmeans_purity", "kmeans_acc", "kmeans_nmi",
                "kmeans_ari", "probe_acc", "umap_trustworthiness"]
# Column groups, by metric-name prefix. The core groups make the leaderboard; each task group
# (what autoencoders are used for) gets its own table in the report.
GROUPS = [("reconstruction", ("recon_",)), ("clustering", ("kmeans_", "umap_cluster_")),
          ("probing", ("probe_", "knn_")), ("denoising", ("denoise_",)),
          ("anomaly detection", ("ood_", "anomaly_")), ("generation", ("fid_", "gen_", "interp_")),
          ("other", ("",))]
CORE_GROUPS = ("reconstruction", "clustering", "probing", "other")
# The rank column: mean over these metrics of the model's rank among the rows of its latent size
# (1 = best); a model without a metric (raw has no reconstruction) is ranked on the others.
HEADLINE = ["recon_mse", "kmeans_acc", "probe_acc"]


def group_of(metric: str) -> str:
    return next(name for name, prefixes in GROUPS if metric.startswith(prefixes))


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    best: bool

    def text(self, digits: int = 4) -> str:
        if self.n > 1:
            return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"
        return f"{self.mean:.{digits}f}"


@dataclass
class Leaderboard:
    rows: list[tuple[str, int]]                  # (model, latent_dim), in run order
    metrics: list[str]
    higher_is_better: dict[str, bool]
    cells: dict[tuple[str, int], dict[str, Cell]]
    n_seeds: dict[tuple[str, int], int]
    rank: dict[tuple[str, int], float]

    def header(self, metric: str) -> str:
        return f"{metric} {'↑' if self.higher_is_better[metric] else '↓'}"


def leaderboard(results: pd.DataFrame, model_order: list[str] | None = None) -> Leaderboard:
    if results.empty:
        return Leaderboard([], [], {}, {}, {}, {})
    directions = results.groupby("metric")["higher_is_better"].first().astype(bool).to_dict()
    metrics = [m for m in METRIC_ORDER if m in directions]
    metrics += sorted(m for m in directions if m not in METRIC_ORDER)
    metrics.sort(key=lambda m: [g for g, _ in GROUPS].index(group_of(m)))  # stable within groups
    stats = results.groupby(["model", "latent_dim", "metric"])["value"].agg(["mean", "std", "count"])
    seeds = results.groupby(["model", "latent_dim"])["seed"].nunique().to_dict()
    order = model_order or list(dict.fromkeys(results["model"]))
    rows = sorted({(m, int(d)) for m, d, _ in stats.index},
                  key=lambda r: (r[1], order.index(r[0]) if r[0] in order else len(order)))
    best = {}
    for (dim, metric), group in stats.reset_index().groupby(["latent_dim", "metric"]):
        values = group["mean"].to_numpy()
        target = np.nanmax(values) if directions[metric] else np.nanmin(values)
        best[(dim, metric)] = set(group.loc[np.isclose(values, target), "model"])
    cells: dict[tuple[str, int], dict[str, Cell]] = {}
    for (model, dim, metric), s in stats.iterrows():
        std = 0.0 if s["count"] < 2 or np.isnan(s["std"]) else float(s["std"])
        cells.setdefault((model, int(dim)), {})[metric] = Cell(
            float(s["mean"]), std, int(s["count"]), model in best[(dim, metric)])
    return Leaderboard(rows, metrics, directions, cells, {k: int(v) for k, v in seeds.items()},
                       headline_rank(stats, directions))


def headline_rank(stats: pd.DataFrame, directions: dict[str, bool]) -> dict[tuple[str, int], float]:
    """Mean over HEADLINE metrics of each model's rank within its latent size (1 = best)."""
    means = stats["mean"].unstack("metric")
    ranks = pd.DataFrame(index=means.index)
    for metric in HEADLINE:
        if metric in means:
            col = means[metric] if directions[metric] else -means[metric]
            ranks[metric] = col.groupby(level="latent_dim").rank(ascending=False, method="min")
    score = ranks.mean(axis=1, skipna=True)
    return {(m, int(d)): float(v) for (m, d), v in score.items() if not np.isnan(v)}


def grouped(metrics: list[str]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for m in metrics:
        groups.setdefault(group_of(m), []).append(m)
    return list(groups.items())


def board_table(board: Leaderboard, metrics: list[str], table_id: str) -> Table:
    """The sortable table of `metrics`: model, latent size, seeds, rank, then grouped columns."""
    fixed = ["model", "latent_dim", "seeds", "rank ↓"]
    rows, bold = [], []
    for key in sorted(board.rows, key=lambda k: (k[1], board.rank.get(k, float("inf")))):
        model, dim = key
        row_cells = board.cells[key]
        rank = board.rank.get(key)
        rows.append([model, str(dim), str(board.n_seeds.get(key, 0)),
                     f"{rank:.2f}" if rank is not None else "–"]
                    + [row_cells[m].text() if m in row_cells else "–" for m in metrics])
        bold.append([False] * len(fixed) + [m in row_cells and row_cells[m].best for m in metrics])
    groups = [("", len(fixed))] + [(g, len(ms)) for g, ms in grouped(metrics)]
    return Table(fixed + [board.header(m) for m in metrics], rows, bold, sortable=True,
                 id=table_id, groups=groups)
