"""The report's tuning section (`--tune K`): expected best validation score after k trials, the
selected configurations against the defaults, and whether tuning reorders the models.

Why expected-best-of-k: one tuned number hides how much search bought it. Dodge et al. 2019
("Show Your Work") report, for every k up to the budget, the expected best validation score of
k trials; here it is computed exactly as the mean over all k-subsets of the K trials (unbiased
for sampling without replacement), with the spread over those subsets. A model whose curve is
still climbing at K would gain from a larger budget; one flat from k = 1 is insensitive to its
settings. Torch-free, like the rest of the report; everything comes from run.json's record.

    section = tuning_section(manifest.tuning)   # .blocks, .images (None when the run was untuned)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import comb

import numpy as np
from matplotlib.ticker import MaxNLocator
from scipy.stats import kendalltau

from bench.report.figures import plt, png_bytes
from bench.report.render import Block, Figure, Heading, Para, Table
from bench.tunables import Knob

CURVES = "figures/tuning_curves.png"


@dataclass
class TuningSection:
    blocks: list[Block] = field(default_factory=list)
    images: dict[str, bytes] = field(default_factory=dict)


def expected_best(scores, k: int, higher: bool) -> tuple[float, float]:
    """(mean, sd) of the best of `k` trials drawn without replacement from `scores`: over all
    k-subsets, exactly. Sorted worst first, trial i (0-based) is a subset's best when it is in
    the subset and the other k-1 come from the i worse ones: C(i, k-1) of the C(n, k) subsets."""
    v = np.sort(np.asarray(scores, dtype=float))
    if not higher:
        v = v[::-1]
    n = len(v)
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n}, got {k}")
    weights = np.array([comb(i, k - 1) for i in range(n)], dtype=float) / comb(n, k)
    mean = float(weights @ v)
    return mean, float(np.sqrt(max(weights @ (v - mean) ** 2, 0.0)))


def tuning_section(tuning: dict | None) -> TuningSection:
    section = TuningSection()
    if not tuning or "models" not in tuning:
        return section
    metric, higher = tuning["metric"], tuning["higher_is_better"]
    section.blocks = [Heading("Tuning"), Para(
        f"Every trainable model had the same budget: its default configuration and "
        f"{tuning['trials']} configurations drawn over its declared knobs and the learning rate "
        f"(a scrambled Sobol sequence, seed {tuning['seed']}, uniform on each knob's scale). Each "
        f"trained on the same {tuning['n_train']:,} training images (seed {tuning['seed']}) and was "
        f"scored on the other {tuning['n_validation']:,} by {metric} ({tuning['criterion_text']}); "
        f"the test images were not used. The grid above trained the selected "
        f"configuration (the best of the draws and the default) with the run's seeds, so every "
        f"number and interval above is the tuned models'. To compare with an untuned run of "
        f"the same seeds, image by image: `run_all.py --report-only --out THIS --diff UNTUNED`.")]
    entries = tuning["models"]
    images = curves_figure(entries, metric, higher)
    if images:
        section.images[CURVES] = images
        section.blocks.append(Figure(CURVES, (
            f"Expected best validation {metric} after k of the {tuning['trials']} drawn trials "
            f"(mean over all k-subsets, band: their standard deviation), one panel per model; "
            f"dashed: the default configuration's score. A curve still moving at the right edge "
            f"would gain from more trials.")))
    section.blocks += [configurations_table(entries, metric), *ranking_blocks(entries, metric, higher)]
    return section


def _drawn(entry: dict) -> list[float]:
    return [t["score"] for t in entry["trials"] if not t["default"] and t["score"] is not None]


def _default_score(entry: dict) -> float | None:
    return next((t["score"] for t in entry["trials"] if t["default"]), None)


def curves_figure(entries: list[dict], metric: str, higher: bool) -> bytes | None:
    entries = [e for e in entries if _drawn(e)]
    if not entries:
        return None
    cols = min(4, len(entries))
    rows = -(-len(entries) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    for ax, entry in zip(axes.flat, entries):
        scores = _drawn(entry)
        ks = np.arange(1, len(scores) + 1)
        mean, sd = np.array([expected_best(scores, k, higher) for k in ks]).T
        ax.plot(ks, mean, marker="o", ms=3)
        ax.fill_between(ks, mean - sd, mean + sd, alpha=0.25)
        if _default_score(entry) is not None:
            ax.axhline(_default_score(entry), ls="--", color="grey", lw=1)
        ax.set_title(f"{entry['model']} z{entry['latent_dim']}", fontsize=9)
        ax.set_xlabel("trials k", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(entries):]:
        ax.axis("off")
    fig.tight_layout()
    return png_bytes(fig)


def configurations_table(entries: list[dict], metric: str) -> Table:
    """One row per model and knob: the selected value, the default, how far apart (decades on
    a log scale, range fractions on a linear one), and the validation scores."""
    rows = []
    for entry in entries:
        best = entry["selected"]
        chosen = entry["trials"][best] if best is not None else None
        failed = sum(t["score"] is None for t in entry["trials"])
        for name, spec in entry["space"].items():
            knob = Knob(**spec)
            value = chosen["values"][name] if chosen else None
            rows.append([f"{entry['model']} z{entry['latent_dim']}", name, _num(value), _num(knob.default),
                         f"{knob.distance(value):+.2f} {'decades' if knob.scale == 'log' else 'of the range'}"
                         if value is not None else "",
                         f"{knob.low:g}-{knob.high:g} ({knob.scale})",
                         _num(chosen["score"]) if chosen else "all failed",
                         _num(_default_score(entry)),
                         "default" if chosen and chosen["default"] else ("" if not failed else f"{failed} failed")])
    return Table(["model", "knob", "selected", "default", "distance", "range", f"selected {metric}",
                  f"default {metric}", "note"], rows)


def ranking_blocks(entries: list[dict], metric: str, higher: bool) -> list[Block]:
    """Whether the selection reorders the models on the validation criterion (per latent size)."""
    blocks = []
    for dim in sorted({e["latent_dim"] for e in entries}):
        pairs = [(e["model"], _default_score(e), e["trials"][e["selected"]]["score"])
                 for e in entries if e["latent_dim"] == dim and e["selected"] is not None
                 and _default_score(e) is not None]
        if len(pairs) < 2:
            continue
        sign = -1 if higher else 1
        before = {m: r for r, (m, _, _) in enumerate(sorted(pairs, key=lambda p: sign * p[1]), 1)}
        after = {m: r for r, (m, _, _) in enumerate(sorted(pairs, key=lambda p: sign * p[2]), 1)}
        tau = kendalltau([before[m] for m, _, _ in pairs], [after[m] for m, _, _ in pairs]).statistic
        moved = [m for m, _, _ in pairs if before[m] != after[m]]
        blocks.append(Para(
            f"Latent size {dim}, validation {metric}: Kendall's tau between the ranking at the "
            f"defaults and after tuning is {tau:.2f}; "
            + (f"{len(moved)} of {len(pairs)} models change rank ({', '.join(moved)})." if moved
               else f"none of the {len(pairs)} models changes rank.")
            + " One validation score per configuration (seed 0): whether a change holds on the "
              "test set, with intervals, is the diff page's question."))
        blocks.append(Table(["model", f"default {metric}", "rank", f"tuned {metric}", "rank"],
                            [[m, _num(d), str(before[m]), _num(t), str(after[m])]
                             for m, d, t in sorted(pairs, key=lambda p: after[p[0]])]))
    return blocks


def _num(value) -> str:
    return "" if value is None else f"{value:.4g}"
