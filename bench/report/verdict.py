"""The verdict that opens a report: per job, who wins (with every model tied with the winner),
by how much over the best baseline, and what this run cannot tell.

Why generated: a summary written by hand goes stale and claims more than the data supports;
this one is built from the same intervals as the tables, so "wins" always means "separably
better than the rest", and a tie is called a tie.

    lines = verdict(board, comparison, cards, baselines={"pca", "raw"})
"""
from __future__ import annotations

from bench.cards import Cards
from bench.report.comparison import Comparison
from bench.report.leaderboard import Leaderboard


def verdict(board: Leaderboard, comp: Comparison, cards: Cards, baselines: set[str]) -> list[str]:
    if not board.rows:
        return []
    dim = board.rows[0][1]
    keys = [k for k in board.rows if k[1] == dim]
    lines = []
    saturated = []
    for metric in board.metrics:
        spec = cards.spec(metric)
        if spec.verdict and board.saturated(metric, dim):
            saturated.append(metric)
        elif spec.verdict:
            lines.append(_job_line(spec.verdict, metric, board, comp, keys, baselines))
    limits = _limits(board, comp, dim, len(board.rows) != len(keys))
    if saturated:
        limits.append("No verdict where the best model is at the ceiling (nothing left to "
                      f"resolve): {', '.join(saturated)}.")
    return lines + limits


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _job_line(job: str, metric: str, board: Leaderboard, comp: Comparison, keys, baselines) -> str:
    arrow = board.header(metric).split()[-1]
    cells = {k[0]: board.cells[k][metric] for k in keys if metric in board.cells[k]}
    if not cells:
        return f"{job}: no results."
    higher = board.higher_is_better[metric]
    ordered = sorted(cells, key=lambda m: -cells[m].mean if higher else cells[m].mean)
    top = ordered[0]
    winners = [m for m in ordered if cells[m].best]
    dim = keys[0][1]

    def value(m):
        c = cells[m]
        return _fmt(c.mean) + (f" [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]" if c.has_interval else "")

    n_seeds = len(comp.seeds)
    if not cells[top].has_interval:
        head = (f"{top} leads with {value(top)}; not separable with {n_seeds} seed"
                f"{'s' if n_seeds > 1 else ''} (no interval)")
    elif len(winners) == len(cells):
        return (f"{job} ({metric} {arrow}): no model is separable from the others "
                f"(best value {top} {value(top)}).")
    elif len(winners) == 1:
        head = f"{top} {value(top)}, separably better than every other model (Holm-corrected)"
    else:
        head = (f"{top} leads with {value(top)}; not separable with {n_seeds} seed"
                f"{'s' if n_seeds > 1 else ''} from {', '.join(winners[1:])}")
    line = f"{job} ({metric} {arrow}): {head}."
    learned = [m for m in ordered if m not in baselines]
    base = [m for m in ordered if m in baselines]
    if base and learned:
        best_base = base[0]
        best_learned = learned[0]
        if best_base in winners and best_learned not in winners:
            return line + f" No learned model matches the baseline {best_base}."
        diff = comp.difference(best_learned, best_base, dim, metric)
        gap = cells[best_learned].mean - cells[best_base].mean
        margin = f"{'+' if gap >= 0 else ''}{_fmt(gap)}"
        if diff is not None:
            tied = diff[0] <= 0 <= diff[1]
            margin += f" [{_fmt(diff[0])}, {_fmt(diff[1])}]" + (", a tie" if tied else "")
        line += f" Best learned model {best_learned} vs best baseline {best_base}: {margin}."
    return line


def _limits(board: Leaderboard, comp: Comparison, dim: int, several_dims: bool) -> list[str]:
    seeds = comp.seeds
    lines = []
    if len(seeds) < 2:
        lines.append("What this run cannot tell: it trained one seed per model, so the intervals "
                     "cover the test images only; the seeds and the evaluators' own randomness "
                     "(k-means starts, UMAP layouts, the few-label draws) are not in them (run "
                     "with --seeds 0,1,2,3,4 to include them).")
    else:
        lines.append(f"Intervals combine the {len(seeds)} training seeds (Student's t on "
                     f"{len(seeds) - 1} degree{'s' if len(seeds) > 2 else ''} of freedom) with the test images (a paired "
                     "bootstrap); separations are paired tests, Holm-corrected over each column's "
                     "pairs.")
    no_interval = [m for m in board.metrics
                   if not any(board.cells[k].get(m) and board.cells[k][m].has_interval
                              for k in board.rows)]
    if no_interval:
        lines.append("Without an interval (nothing is separable on them in this run): "
                     + ", ".join(no_interval) + ".")
    if several_dims:
        lines.append(f"The verdict compares models at latent size {dim}; the tables show every size.")
    return lines
