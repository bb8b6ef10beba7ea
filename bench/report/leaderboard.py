"""Pivot the comparison into tables: one row per model (and latent size), one column per metric,
each value with its 95% interval, bold for the best and every model tied with it.

Why a separate module: the Markdown and the HTML report render the same tables, and the tests
check the marks, ranks and ordering without drawing anything. Which metrics exist, their
direction, group and order come from the evaluator cards, not from lists kept here.

    board = leaderboard(comparison.summary, cards)   # board.cells[(model, dim)][metric] -> Cell
    table = board_table(board, board.metrics, "leaderboard")
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.cards import Cards
from bench.config import DEFAULT_LATENT_DIM
from bench.report.render import Table

LAST_GROUPS = ("diagnostics", "other")  # after every group that answers a question


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float
    n: int
    best: bool
    ci_low: float = math.nan
    ci_high: float = math.nan
    rank: float = 0.0                # by mean value among the column's models (ties averaged)
    diagnostic: bool = False
    rank_low: float = math.nan       # its 95% interval over replicates of images and seeds
    rank_high: float = math.nan

    @property
    def has_interval(self) -> bool:
        return not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    def text(self, digits: int = 4) -> str:
        """`0.9459 ± 0.0045`: the mean and half the 95% interval's width (results.csv and
        summary.csv hold the exact, possibly asymmetric, bounds)."""
        if self.has_interval:
            return f"{self.mean:.{digits}f} ± {(self.ci_high - self.ci_low) / 2:.{digits}f}"
        return f"{self.mean:.{digits}f}"

    def interval_text(self, digits: int = 4) -> str:
        return f"[{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]" if self.has_interval else ""


@dataclass
class Leaderboard:
    rows: list[tuple[str, int]]                  # (model, latent_dim), in run order
    metrics: list[str]                           # in column order (grouped)
    higher_is_better: dict[str, bool]
    groups: dict[str, str]                       # metric -> column group
    cells: dict[tuple[str, int], dict[str, Cell]]
    n_seeds: dict[tuple[str, int], int]
    headline: list[str]

    @property
    def dim(self) -> int | None:
        """The latent size the verdict and the overview read (`focus_dim`)."""
        return focus_dim(k[1] for k in self.rows)

    def header(self, metric: str) -> str:
        return f"{metric} {'↑' if self.higher_is_better[metric] else '↓'}"

    def rank(self, key: tuple[str, int], metrics: list[str]) -> float | None:
        """Mean rank over `metrics` (diagnostics aside); None unless the model has every one of
        them that any model has: a model without a reconstruction is listed apart, never
        ranked on fewer metrics than the others."""
        wanted = [m for m in metrics if not self.diagnostic(m)
                  and any(m in cells for k, cells in self.cells.items() if k[1] == key[1])]
        ranks = [c.rank for m in wanted if (c := self.cells[key].get(m))]
        return float(np.mean(ranks)) if ranks and len(ranks) == len(wanted) else None

    def saturated(self, metric: str, dim: int, ceiling: float = 0.995) -> bool:
        """A score bounded by 1 (an AUROC, an accuracy) whose best model is at the ceiling:
        too easy to tell models apart, so no verdict and no rank rests on it."""
        means = [c[metric].mean for k, c in self.cells.items() if k[1] == dim and metric in c]
        return (bool(means) and self.higher_is_better.get(metric, False)
                and 0 <= min(means) and max(means) <= 1 and max(means) >= ceiling)

    def diagnostic(self, metric: str) -> bool:
        return any(c[metric].diagnostic for c in self.cells.values() if metric in c)


def focus_dim(dims: Iterable[int]) -> int | None:
    """The one latent size a report reads where it shows one (verdict, overview, pairwise,
    figures, cost curves): the default size when the run has it, so a latent-size study's verdict
    speaks of the same size as the reference's; else the smallest."""
    dims = set(dims)
    return DEFAULT_LATENT_DIM if DEFAULT_LATENT_DIM in dims else min(dims, default=None)


def leaderboard(summary: pd.DataFrame, cards: Cards, model_order: list[str] | None = None) -> Leaderboard:
    if summary.empty:
        return Leaderboard([], [], {}, {}, {}, {}, [])
    present = list(dict.fromkeys(summary["metric"]))
    specs = {m: cards.spec(m) for m in present}
    declared = cards.declared()
    groups = list(dict.fromkeys(specs[m].group for m in sorted(present, key=lambda m: _position(specs[m], declared))))
    groups.sort(key=lambda g: g in LAST_GROUPS)  # otherwise in the evaluators' declared order
    metrics = sorted(present, key=lambda m: (groups.index(specs[m].group), _position(specs[m], declared), m))
    order = model_order or list(dict.fromkeys(summary["model"]))
    rows = sorted({(m, int(d)) for m, d in zip(summary["model"], summary["latent_dim"])},
                  key=lambda r: (r[1], order.index(r[0]) if r[0] in order else len(order)))
    cells: dict[tuple[str, int], dict[str, Cell]] = {}
    n_seeds: dict[tuple[str, int], int] = {}
    for r in summary.itertuples(index=False):
        key = (r.model, int(r.latent_dim))
        cells.setdefault(key, {})[r.metric] = Cell(
            float(r.mean), float(r.std), int(r.n_seeds), bool(r.best), float(r.ci_low),
            float(r.ci_high), float(r.rank), bool(r.diagnostic), float(r.rank_low),
            float(r.rank_high))
        n_seeds[key] = max(n_seeds.get(key, 0), int(r.n_seeds))
    return Leaderboard(rows, metrics, {m: specs[m].higher_is_better for m in metrics},
                       {m: specs[m].group for m in metrics}, cells, n_seeds,
                       [m for m in metrics if specs[m].headline])


def _position(spec, declared: list[str]) -> int:
    return declared.index(spec.name) if spec.name in declared else len(declared)


def grouped(board: Leaderboard, metrics: list[str]) -> list[tuple[str, list[str]]]:
    groups: dict[str, list[str]] = {}
    for m in metrics:
        groups.setdefault(board.groups[m], []).append(m)
    return list(groups.items())


def board_table(board: Leaderboard, metrics: list[str], table_id: str,
                rank_on: list[str] | None = None, cards: Cards | None = None,
                models: dict[str, dict] | None = None) -> Table:
    """The sortable table of `metrics`: model, latent size, seeds, rank, then grouped columns.
    The rank column is the mean rank (with ties) over `rank_on` (default: these metrics).
    With the run's `cards`, hovering a header shows the metric's help; with its `models`
    (run.json's, name -> metadata), the HTML filter matches each model's family besides its
    name; the CSV download holds the exact bounds."""
    rank_on = rank_on if rank_on is not None else metrics
    fixed = ["model", "latent_dim", "seeds", "rank ↓"]
    rows, bold, notes = [], [], []
    ranks = {key: board.rank(key, rank_on) for key in board.rows}
    for key in sorted(board.rows, key=lambda k: (k[1], ranks[k] if ranks[k] is not None else math.inf)):
        model, dim = key
        row_cells = board.cells[key]
        rank = ranks[key]
        rows.append([model, str(dim), str(board.n_seeds.get(key, 0)),
                     f"{rank:.2f}" if rank is not None else "–"]
                    + [row_cells[m].text() if m in row_cells else "–" for m in metrics])
        bold.append([False] * len(fixed) + [m in row_cells and row_cells[m].best for m in metrics])
        notes.append([""] * len(fixed) + [row_cells[m].interval_text() if m in row_cells else ""
                                          for m in metrics])
    groups = [("", len(fixed))] + [(g, len(ms)) for g, ms in grouped(board, metrics)]
    models = models or {}
    return Table(fixed + [board.header(m) for m in metrics], rows, bold, sortable=True,
                 id=table_id, groups=groups, notes=notes,
                 help=["", "", "", "mean rank over " + ", ".join(rank_on)]
                 + [cards.spec(m).help if cards else "" for m in metrics],
                 tags=[models.get(row[0], {}).get("family", "") for row in rows],
                 csv=_csv(board, metrics, rows))


def _csv(board: Leaderboard, metrics: list[str], rows: list[list[str]]) -> str:
    """The table as a reader's spreadsheet wants it: one row per model, each metric's mean
    and its exact 95% bounds, in the table's row order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["model", "latent_dim", "seeds", "rank"]
                    + [f"{m}{part}" for m in metrics for part in ("", "_ci_low", "_ci_high")])
    for row in rows:
        cells = board.cells[(row[0], int(row[1]))]
        writer.writerow(row[:3] + ["" if row[3] == "–" else row[3]]
                        + [f"{v:.6g}" if m in cells and not math.isnan(v := getattr(cells[m], part)) else ""
                           for m in metrics for part in ("mean", "ci_low", "ci_high")])
    return out.getvalue()
