"""The overview that opens a report: models x jobs, each cell the model's rank on that job's
metric with its 95% rank interval, shaded by rank, bold where the model may be the best (a 95% set).

Why: a reader should see who is good at what, and how sure the run is, before any table of
numbers. Rows are in headline-rank order; the ranks and their intervals are the leaderboard's
own (every bootstrap replicate re-ranked, seeds included), so a wide interval says "this run
cannot place the model" rather than hiding it.

    table = overview(board, cards)   # None when no job has results
"""
from __future__ import annotations

import math

from bench.cards import Cards
from bench.report.leaderboard import Leaderboard
from bench.report.render import Table


def _rank_text(rank: float, low: float, high: float) -> str:
    text = f"{rank:g}"
    if not (math.isnan(low) or math.isnan(high)) and (low, high) != (rank, rank):
        text += f" ({low:g}–{high:g})"
    return text


def overview(board: Leaderboard, cards: Cards) -> Table | None:
    if not board.rows:
        return None
    dim = board.dim
    keys = [k for k in board.rows if k[1] == dim]
    jobs = [m for m in board.metrics if cards.spec(m).verdict and not board.saturated(m, dim)
            and any(m in board.cells[k] for k in keys)]
    if not jobs:
        return None
    ranked = {k: board.rank(k, board.headline) for k in keys}
    keys.sort(key=lambda k: (ranked[k] is None, ranked[k] or 0))
    n = len(keys)
    rows, bold, shade = [], [], []
    for k in keys:
        cells = [board.cells[k].get(m) for m in jobs]
        rows.append([k[0], "–" if ranked[k] is None else f"{ranked[k]:.2f}"]
                    + ["–" if c is None else _rank_text(c.rank, c.rank_low, c.rank_high) for c in cells])
        bold.append([False, False] + [bool(c and c.best) for c in cells])
        shade.append([None, None] + [None if c is None else 1 - (c.rank - 1) / max(1, n - 1) for c in cells])
    headers = ["model", "headline rank"] + [cards.spec(m).verdict for m in jobs]
    return Table(headers, rows, bold=bold, shade=shade, id="overview")
