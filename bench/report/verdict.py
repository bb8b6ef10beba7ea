"""The verdict that opens a report: one table row per job (who leads, with what interval, which
models it cannot be told from, by how much the best learned model beats the best baseline),
then the sentences a table cannot hold: what this run cannot tell.

Why generated: a summary written by hand goes stale and claims more than the data supports;
this one is built from the same intervals as the tables, so "separable" always means "separably
better than the rest", and a tie is called a tie. The README's findings are rendered from the
same rows (`bench.tools.findings`), so the two cannot disagree.

    blocks = verdict_blocks(board, comparison, cards, baselines={"pca", "raw"}, extra=[...])
"""
from __future__ import annotations

from dataclasses import dataclass

from bench.cards import Cards
from bench.report.comparison import Comparison
from bench.report.leaderboard import Leaderboard
from bench.report.overview import overview
from bench.report.render import Block, Bullets, Para, Table

HEADERS = ["job", "metric", "leader", "value [95% interval]", "may also be the best (95%)",
           "best learned vs best baseline"]


@dataclass(frozen=True)
class Job:
    job: str
    metric: str             # with its direction, e.g. "recon_mse ↓"
    leader: str
    value: str              # the leader's mean [95% interval]
    tells: str              # the models the leader is not separable from, in words
    margin: str = ""        # best learned model vs best baseline: difference [paired interval]

    def cells(self) -> list[str]:
        return [self.job, self.metric, self.leader, self.value, self.tells, self.margin]


def jobs(board: Leaderboard, comp: Comparison | None, cards: Cards, baselines: set[str]) -> list[Job]:
    """One row per verdict metric that is not saturated, at the board's latent size. Without a
    `comp` (the README, from summary.csv alone) the baseline margin is left empty."""
    if not board.rows:
        return []
    dim = board.dim
    keys = [k for k in board.rows if k[1] == dim]
    return [row for metric in board.metrics
            if (spec := cards.spec(metric)).verdict and not board.saturated(metric, dim)
            and (row := _job(spec.verdict, metric, board, comp, keys, baselines)) is not None]


def verdict_blocks(board: Leaderboard, comp: Comparison, cards: Cards, baselines: set[str],
                   extra: list[str]) -> list[Block]:
    rows = jobs(board, comp, cards, baselines)
    notes = limits(board, comp, cards) + extra
    if not rows and not notes:
        return [Bullets(["No results: every cell failed (see Failed runs)."])]
    glance = overview(board, cards)
    blocks: list[Block] = [] if glance is None else [
        Para("Who is good at what: each model's rank on each job (1 = best) with its 95% "
             "interval in brackets; bold: may be the best (a 95% confidence set); rows by headline rank."),
        glance]
    if rows:
        blocks.append(Table(HEADERS, [r.cells() for r in rows], id="verdict"))
    return blocks + [Bullets(notes)]


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _job(job: str, metric: str, board: Leaderboard, comp: Comparison | None, keys,
         baselines: set[str]) -> Job | None:
    cells = {k[0]: board.cells[k][metric] for k in keys if metric in board.cells[k]}
    if not cells:
        return None
    higher = board.higher_is_better[metric]
    ordered = sorted(cells, key=lambda m: -cells[m].mean if higher else cells[m].mean)
    top = ordered[0]
    winners = [m for m in ordered if cells[m].best]
    c = cells[top]
    value = _fmt(c.mean) + (f" [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]" if c.has_interval else "")
    n_seeds = max(board.n_seeds.get(k, 1) for k in keys)
    seeds = f"{n_seeds} seed{'s' if n_seeds > 1 else ''}"
    if not c.has_interval:
        tells = f"no interval: not separable with {seeds}"
    elif len(winners) == len(cells):
        tells = "no model is separable from the others"
    elif len(winners) == 1:
        tells = "none: the only model that may be the best"
    else:
        tells = f"{', '.join(m for m in winners if m != top)} (with {seeds})"
    return Job(job, board.header(metric), top, value, tells,
               _margin(ordered, winners, baselines, comp, keys[0][1], metric, cells))


def _margin(ordered, winners, baselines, comp, dim, metric, cells) -> str:
    learned = [m for m in ordered if m not in baselines]
    base = [m for m in ordered if m in baselines]
    if not (base and learned and comp is not None):
        return ""
    best_base, best_learned = base[0], learned[0]
    if best_base in winners and best_learned not in winners:
        return f"no learned model matches {best_base}"
    gap = cells[best_learned].mean - cells[best_base].mean
    text = f"{best_learned} vs {best_base}: {'+' if gap >= 0 else ''}{_fmt(gap)}"
    diff = comp.difference(best_learned, best_base, dim, metric)
    if diff is not None:
        text += f" [{_fmt(diff[0])}, {_fmt(diff[1])}]" + (", a tie" if diff[0] <= 0 <= diff[1] else "")
    return text


def limits(board: Leaderboard, comp: Comparison, cards: Cards) -> list[str]:
    """What this run cannot tell, in sentences."""
    if not board.rows:
        return []
    dim = board.dim
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
                     "pairs. \"Not separable\" is what the run cannot tell: more seeds may separate them.")
    no_interval = [m for m in board.metrics
                   if not any(board.cells[k].get(m) and board.cells[k][m].has_interval
                              for k in board.rows)]
    if no_interval:
        lines.append("Without an interval (nothing is separable on them in this run): "
                     + ", ".join(no_interval) + ".")
    saturated = [m for m in board.metrics if cards.spec(m).verdict and board.saturated(m, dim)]
    if saturated:
        lines.append("No verdict where the best model is at the ceiling (nothing left to "
                     f"resolve): {', '.join(saturated)}.")
    if len(board.rows) != len([k for k in board.rows if k[1] == dim]):
        lines.append(f"The verdict compares models at latent size {dim}; the tables show every size.")
    return lines
