"""Every metric of every model with its 95% interval, who is tied with whom, and ranks with ties.

Why here, between the store and the report: the leaderboard, the task tables, the verdict, the
pairwise figure and results.csv must all agree on one set of intervals; this module computes
them once from the stored per-image outcomes (`bench.report.intervals`) and the evaluator cards.

Each value's interval combines the seeds (Student's t) and the test images (the paired
bootstrap): `bench.report.seed_stats`. Two models are *separated* on a column when the test of
their paired difference rejects "equal" after Holm's correction over all the column's pairs;
otherwise they are *tied*. Bold is a set that holds the best model with 95% confidence, by
multiple comparisons with the best (Hsu 1984; here its Bonferroni form): a model is left out when
some model with a better mean is better by a one-sided test at 5% / (k - 1). The truly best model
is then left out only if one of its k - 1 rivals passes that test, at most 5% in all
(simulated: `python -m bench.tools.calibration simulate`, "best kept"). Holm over all
k(k - 1) / 2 pairs was the rule before: valid too, but it spends the error on pairs that do not
decide who may be best, so with 3 seeds a noisy model far behind stayed bold. A model's rank is
its place by mean value, with a 95% interval from replicates that redraw the test images and
the seeds, so a noisy model gets a wide rank interval instead of escaping a low rank. A metric without any uncertainty
estimate (one seed and no per-image outcomes, e.g. a Fréchet distance) separates nothing.

    comp = compare(cells, results, Cards(manifest.evaluator_cards))
    comp.summary   # one row per (model, latent_dim, metric): mean, ci_low, ci_high, best, rank
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from bench.cards import Cards
from bench.report.intervals import Resampler, interval
from bench.report.seed_stats import LEVEL, Estimate, estimate, holm
from bench.store.cell import CellStore
from bench.store.run_record import RunManifest, collect_results, read_run_manifest, run_cells

SUMMARY_COLUMNS = ["model", "latent_dim", "metric", "mean", "std", "ci_low", "ci_high", "n_seeds",
                   "n_images", "higher_is_better", "diagnostic", "best", "rank", "rank_low",
                   "rank_high"]
N_RANK_DRAWS = 1_000


@dataclass
class PerSeed:
    """One model's metric: its value per seed and, where it has per-image outcomes, each seed's
    bootstrap replicates over the test images (B, seeds)."""
    seeds: list[int]
    values: np.ndarray
    images: np.ndarray | None

    def estimate(self) -> Estimate:
        return estimate(self.values, self.images)


def paired(pa: PerSeed | None, pb: PerSeed | None) -> Estimate | None:
    """a - b over their common seeds, paired by seed and by image (the bootstrap draws the same
    images for every model and run, so replicates pair up): within a run, or across two runs."""
    if pa is None or pb is None:
        return None
    common = [s for s in pa.seeds if s in pb.seeds]
    if not common:
        return None
    ia, ib = [pa.seeds.index(s) for s in common], [pb.seeds.index(s) for s in common]
    images = (pa.images[:, ia] - pb.images[:, ib]
              if pa.images is not None and pb.images is not None else None)
    return estimate(pa.values[ia] - pb.values[ib], images)


@dataclass
class Comparison:
    results: pd.DataFrame          # the long table, each seed's row with its image-only interval
    summary: pd.DataFrame          # SUMMARY_COLUMNS
    replicates: dict[tuple[str, int, str], np.ndarray] = field(default_factory=dict)  # for ranks
    seeds: list[int] = field(default_factory=list)
    per_seed: dict[tuple[str, int, str], PerSeed] = field(default_factory=dict)
    separated: dict[tuple[int, str], set[frozenset]] = field(default_factory=dict)  # Holm-tested

    def row(self, model: str, dim: int, metric: str) -> pd.Series | None:
        sub = self.summary[(self.summary["model"] == model) & (self.summary["latent_dim"] == dim)
                           & (self.summary["metric"] == metric)]
        return None if sub.empty else sub.iloc[0]

    def paired(self, a: str, b: str, dim: int, metric: str) -> Estimate | None:
        """metric(a) - metric(b) over their common seeds, paired by seed and by image."""
        return paired(self.per_seed.get((a, dim, metric)), self.per_seed.get((b, dim, metric)))

    def difference(self, a: str, b: str, dim: int, metric: str) -> tuple[float, float] | None:
        """95% interval of metric(a) - metric(b), paired; None without any uncertainty."""
        est = self.paired(a, b, dim, metric)
        return None if est is None or not est.testable else est.interval()

    def is_separated(self, a: str, b: str, dim: int, metric: str) -> bool:
        return frozenset((a, b)) in self.separated.get((dim, metric), set())

    def win_probability(self, a: str, b: str, dim: int, metric: str, higher: bool) -> float | None:
        """Share of replicates (images and seeds redrawn) in which `a` is better than `b`."""
        ra, rb = self.replicates.get((a, dim, metric)), self.replicates.get((b, dim, metric))
        if ra is None or rb is None:
            return None
        return float(np.nanmean((ra > rb) if higher else (ra < rb)) + 0.5 * np.nanmean(ra == rb))


def compare(cells: list[CellStore], results: pd.DataFrame, cards: Cards) -> Comparison:
    seeds = sorted({c.cfg.seed for c in cells})
    plan = Resampler()
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

    rows, replicates, per_seed = [], {}, {}
    index = results.set_index(["model", "latent_dim", "metric", "seed"]).index
    for (model, dim, metric), group in results.groupby(["model", "latent_dim", "metric"], sort=False):
        spec, evaluator = cards.spec(metric), group["evaluator"].iloc[0]
        group = group.sort_values("seed")
        values = dict(zip(group["seed"], group["value"]))
        images, n_images = [], 0
        for seed in values:
            arrays = outcome(model, dim, seed, evaluator) if spec.interval else None
            if not (arrays is not None and metric in arrays):
                images = None  # a seed without outcomes: the images cannot be resampled
                break
            entry = {"values": arrays[metric], "value": values[seed],
                     "labels": arrays.get(f"{metric}__labels", arrays.get("labels"))}
            if spec.interval == "clusters":
                entry["score"] = spec.score
            n_images = entry["values"].shape[-1]
            images.append(plan.seed_replicates(spec.interval, entry))
        ps = PerSeed(list(values), np.array(list(values.values()), dtype=float),
                     np.stack(images, axis=1) if images else None)
        per_seed[(model, int(dim), metric)] = ps
        est = ps.estimate()
        low, high = est.interval()
        if est.testable:
            replicates[(model, int(dim), metric)] = _rank_draws(est, (model, int(dim), metric))
        if ps.images is not None:
            for j, seed in enumerate(ps.seeds):
                loc = index.get_loc((model, dim, metric, seed))
                results.iloc[loc, results.columns.get_loc("ci_low")], \
                    results.iloc[loc, results.columns.get_loc("ci_high")] = interval(ps.images[:, j])
                results.iloc[loc, results.columns.get_loc("n_images")] = n_images
        vals = ps.values
        rows.append({"model": model, "latent_dim": int(dim), "metric": metric,
                     "mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                     "ci_low": low, "ci_high": high, "n_seeds": len(vals), "n_images": n_images,
                     "higher_is_better": bool(spec.higher_is_better),
                     "diagnostic": bool(spec.diagnostic)})
    comp = Comparison(results, pd.DataFrame(rows, columns=SUMMARY_COLUMNS[:-4]), replicates, seeds,
                      per_seed)
    comp.summary = _best_and_rank(comp)
    return comp


def compare_run(out: Path, manifest: RunManifest | None = None,
                keep: Callable[[CellStore], bool] | None = None,
                adjust: Callable[[list[CellStore], pd.DataFrame], pd.DataFrame] | None = None
                ) -> tuple[Comparison, Cards]:
    """The comparison of the finished results directory `out`, over the cells `keep` accepts
    (all by default): what the diff page and the calibration tools read a run through.
    `adjust` may rewrite the results (and the cells' outcomes) first: a what-if of a tool."""
    manifest = manifest or read_run_manifest(out)
    cells = [c for c in run_cells(out, manifest) if keep is None or keep(c)]
    results, _ = collect_results(cells, manifest.evaluators)
    if adjust is not None:
        results = adjust(cells, results)
    cards = Cards(manifest.evaluator_cards)
    return compare(cells, results, cards), cards


def _rank_draws(est: Estimate, key: tuple) -> np.ndarray:
    """Replicates of a model's value for rank intervals and win probabilities: the image
    replicates (paired across models) plus an independent draw of the seed noise, scaled
    Student's t with S - 1 degrees of freedom. Seeded by the key: a rebuilt report is equal."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(repr(key).encode()).digest()[:8], "big"))
    base = est.replicates - np.nanmean(est.replicates) + est.mean if est.replicates is not None \
        else np.full(N_RANK_DRAWS, est.mean)
    if est.n_seeds < 2 or est.seed_var <= 0:
        return base
    return base + np.sqrt(est.seed_var) * stats.t.rvs(est.n_seeds - 1, size=len(base), random_state=rng)


def _best_and_rank(comp: Comparison) -> pd.DataFrame:
    """Per column: which pairs Holm's test separates, bold (the set that holds the best with
    95% confidence), the rank by mean and its 95% interval over the replicates."""
    summary = comp.summary
    best = np.zeros(len(summary), dtype=bool)
    rank = np.ones(len(summary))
    low, high = np.full(len(summary), np.nan), np.full(len(summary), np.nan)
    for (dim, metric), peers in summary.groupby(["latent_dim", "metric"], sort=False):
        rows = summary.index.get_indexer(peers.index)
        models = list(peers["model"])
        sign = 1 if peers["higher_is_better"].iloc[0] else -1
        means = sign * peers["mean"].to_numpy(dtype=float)
        pairs = [(i, j) for i in range(len(models)) for j in range(i + 1, len(models))]
        p = [_p_value(comp.paired(models[i], models[j], dim, metric)) for i, j in pairs]
        adjusted = holm(p)
        separated = {frozenset((models[i], models[j])) for (i, j), q in zip(pairs, adjusted)
                     if q < 1 - LEVEL}
        comp.separated[(int(dim), metric)] = separated
        rank[rows] = stats.rankdata(-means, method="average")
        best[rows] = ~peers["diagnostic"].to_numpy(dtype=bool) & ~beaten_by_a_better(means, dict(zip(pairs, p)))
        draws = [comp.replicates.get((m, int(dim), metric)) for m in models]
        if all(d is not None for d in draws) and len(models) > 1:
            ranks = stats.rankdata(-sign * np.stack(draws), axis=0, method="average")
            tail = 100 * (1 - LEVEL) / 2
            # outward to ranks that occur (a rank between 3 and 4 is not a rank)
            low[rows] = np.nanpercentile(ranks, tail, axis=1, method="lower")
            high[rows] = np.nanpercentile(ranks, 100 - tail, axis=1, method="higher")
    return summary.assign(best=best, rank=rank, rank_low=low, rank_high=high)


def beaten_by_a_better(means: np.ndarray, p: dict[tuple[int, int], float]) -> np.ndarray:
    """Multiple comparisons with the best: model i is out of the best set when a model j with
    a better mean is better by the one-sided test (half the two-sided p of the symmetric
    pivot) at (1 - LEVEL) / (k - 1). `means` are signed so that higher is better; `p` holds the
    two-sided p-value of each pair (i, j), i < j (NaN: not tested, never out)."""
    k = len(means)
    out = np.zeros(k, dtype=bool)
    for (i, j), p_two in p.items():
        if np.isfinite(p_two) and p_two / 2 < (1 - LEVEL) / (k - 1) and means[i] != means[j]:
            out[i if means[j] > means[i] else j] = True
    return out


def _p_value(est: Estimate | None) -> float:
    return np.nan if est is None else est.p_value()
