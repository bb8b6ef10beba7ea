"""Every metric of every model with its 95% interval, who is tied with whom, and ranks with ties.

Why here, between the store and the report: the leaderboard, the task tables, the verdict, the
pairwise figure and results.csv must all agree on one set of intervals; this module computes
them once from the stored per-image outcomes (`bench.report.intervals`) and the evaluator cards.

A model is *tied* with another when the 95% interval of their paired difference contains 0.
The best model of a column and every model tied with it are bold; a model's rank is 1 + the
number of models that are separably better than it, so tied models share a rank. A metric
without an interval (one seed and no per-image outcomes, e.g. a Fréchet distance) is ranked by
its value, and the report says so.

    comp = compare(cells, results, Cards(manifest.evaluator_cards), n_seeds=len(seeds))
    comp.summary   # one row per (model, latent_dim, metric): mean, ci_low, ci_high, best, rank
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.cards import Cards
from bench.report.intervals import Resampler, interval, separated
from bench.store.cell import CellStore

SUMMARY_COLUMNS = ["model", "latent_dim", "metric", "mean", "std", "ci_low", "ci_high", "n_seeds",
                   "n_images", "higher_is_better", "diagnostic", "best", "rank"]


@dataclass
class Comparison:
    results: pd.DataFrame          # the long table, each seed's row with its image-only interval
    summary: pd.DataFrame          # SUMMARY_COLUMNS
    replicates: dict[tuple[str, int, str], np.ndarray] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)

    def row(self, model: str, dim: int, metric: str) -> pd.Series | None:
        sub = self.summary[(self.summary["model"] == model) & (self.summary["latent_dim"] == dim)
                           & (self.summary["metric"] == metric)]
        return None if sub.empty else sub.iloc[0]

    def difference(self, a: str, b: str, dim: int, metric: str) -> tuple[float, float] | None:
        """95% interval of metric(a) - metric(b), paired; None without replicates."""
        ra, rb = self.replicates.get((a, dim, metric)), self.replicates.get((b, dim, metric))
        return None if ra is None or rb is None else interval(ra - rb)

    def win_probability(self, a: str, b: str, dim: int, metric: str, higher: bool) -> float | None:
        """Share of bootstrap replicates in which `a` is better than `b`."""
        ra, rb = self.replicates.get((a, dim, metric)), self.replicates.get((b, dim, metric))
        if ra is None or rb is None:
            return None
        return float(np.nanmean((ra > rb) if higher else (ra < rb)) + 0.5 * np.nanmean(ra == rb))


def compare(cells: list[CellStore], results: pd.DataFrame, cards: Cards) -> Comparison:
    seeds = sorted({c.cfg.seed for c in cells})
    plan = Resampler(len(seeds))
    results = results.assign(ci_low=np.nan, ci_high=np.nan, n_images=0)
    if results.empty:
        return Comparison(results, pd.DataFrame(columns=SUMMARY_COLUMNS), {}, seeds)
    by_cell = {(c.cfg.model, c.cfg.latent_dim, c.cfg.seed): c for c in cells}
    outcomes: dict[tuple, dict | None] = {}

    def outcome(model, dim, seed, evaluator):
        key = (model, dim, seed, evaluator)
        if key not in outcomes:
            cell = by_cell.get((model, dim, seed))
            outcomes[key] = cell.outcomes(evaluator) if cell is not None else None
        return outcomes[key]

    rows, replicates = [], {}
    index = results.set_index(["model", "latent_dim", "metric", "seed"]).index
    for (model, dim, metric), group in results.groupby(["model", "latent_dim", "metric"], sort=False):
        spec, evaluator = cards.spec(metric), group["evaluator"].iloc[0]
        values = dict(zip(group["seed"], group["value"]))
        per_seed, n_images = [], 0
        for seed in seeds:
            if seed not in values:
                per_seed.append(None)
                continue
            arrays = outcome(model, dim, seed, evaluator) if spec.interval else None
            if spec.interval and arrays is not None and metric in arrays:
                entry = {"values": arrays[metric], "value": values[seed],
                         "labels": arrays.get(f"{metric}__labels", arrays.get("labels"))}
                if spec.interval == "clusters":
                    entry["score"] = spec.score
                n_images = entry["values"].shape[-1]
                per_seed.append(entry)
            else:
                per_seed.append(values[seed])
        kind = spec.interval if any(isinstance(p, dict) for p in per_seed) else ""
        if kind:  # a seed without outcomes (an old result) cannot join the image resampling
            per_seed = [p if isinstance(p, dict) else None for p in per_seed]
        reps = plan.replicates(kind, per_seed)
        low = high = np.nan
        if reps is not None:
            combined, by_seed = reps
            replicates[(model, int(dim), metric)] = combined
            low, high = interval(combined)
            if kind:
                present = [s for s, p in zip(seeds, per_seed) if p is not None]
                for j, seed in enumerate(present):
                    loc = index.get_loc((model, dim, metric, seed))
                    results.iloc[loc, results.columns.get_loc("ci_low")], \
                        results.iloc[loc, results.columns.get_loc("ci_high")] = interval(by_seed[:, j])
                    results.iloc[loc, results.columns.get_loc("n_images")] = n_images
        vals = group["value"].to_numpy(dtype=float)
        rows.append({"model": model, "latent_dim": int(dim), "metric": metric,
                     "mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                     "ci_low": low, "ci_high": high, "n_seeds": len(vals), "n_images": n_images,
                     "higher_is_better": bool(spec.higher_is_better),
                     "diagnostic": bool(spec.diagnostic)})
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-2])
    summary = _best_and_rank(summary, replicates)
    return Comparison(results, summary, replicates, seeds)


def _best_and_rank(summary: pd.DataFrame, replicates: dict) -> pd.DataFrame:
    """Bold (the best and every model tied with it) and the rank with ties, per column: a model
    ranks below each one whose mean is better and whose paired replicates separate from its own
    (by value alone where either has no interval)."""
    best, rank = np.zeros(len(summary), dtype=bool), np.ones(len(summary), dtype=int)
    for (dim, metric), peers in summary.groupby(["latent_dim", "metric"], sort=False):
        rows = summary.index.get_indexer(peers.index)
        sign = 1 if peers["higher_is_better"].iloc[0] else -1
        means = sign * peers["mean"].to_numpy(dtype=float)
        reps = [replicates.get((m, dim, metric)) for m in peers["model"]]
        for i, row in enumerate(rows):
            better = 0
            for j in range(len(rows)):
                if j == i or not means[j] > means[i]:
                    continue
                if reps[i] is None or reps[j] is None:  # no interval: by value
                    better += 1
                else:
                    better += separated(sign * reps[j], sign * reps[i])
            rank[row] = 1 + better
            best[row] = better == 0 and not peers["diagnostic"].iloc[i]
    return summary.assign(best=best, rank=rank)
