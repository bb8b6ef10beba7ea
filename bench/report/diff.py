"""What changed between two runs on the same test images: the settings and environment that
differ, and for every model, latent size and metric both runs have, the paired change (after -
before) with its 95% interval, flagged where it is separable.

Why: after changing a model or a setting, "is it better?" is a paired question. The two runs
share the test images and (usually) the seeds, so the change is computed like a tie in one
report: per seed and per image (`bench.report.comparison.paired`), Holm-corrected over the
models of each metric, as a report's column is.

    python run_all.py --report-only --out reports/after --diff reports/before
    # -> reports/after/diff.md and diff.html
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import kendalltau

from bench import atomic
from bench.cards import Cards
from bench.errors import ConfigError
from bench.report.comparison import Comparison, compare_run, paired
from bench.report.render import Bullets, Heading, Para, Table, to_html, to_markdown
from bench.report.seed_stats import LEVEL, holm
from bench.store.run_record import RunManifest, StoreError, read_run_manifest

IGNORED = {"out", "data_root", "force", "report_only", "diff"}  # where, not what


def check_diff(before: Path, after: Path) -> tuple[RunManifest, RunManifest]:
    """The two runs' records, or a ConfigError (a usage error: nothing is written)."""
    try:
        old, new = read_run_manifest(Path(before)), read_run_manifest(Path(after))
    except StoreError as exc:
        raise ConfigError(f"--diff: {exc}") from None
    if old.data.get("test_sha256") != new.data.get("test_sha256"):
        raise ConfigError(f"--diff: {before} and {after} were evaluated on other test images; a "
                          "diff pairs the same images")
    return old, new


def build_diff(before: Path, after: Path) -> Path:
    """Write `after`/diff.md and diff.html; returns the HTML's path."""
    before, after = Path(before), Path(after)
    old, new = check_diff(before, after)
    (comp_old, _), (comp_new, cards) = compare_run(before, old), compare_run(after, new)
    title = f"aebench diff: {before.name} → {after.name}"
    blocks = [Heading("What differs"), Bullets(settings(old, new) or
                                               ["Nothing in the configuration or the environment."]),
              Heading("Paired changes"),
              Para(f"Each row: a model, latent size and metric both runs have; the change is "
                   f"{after.name} minus {before.name}, paired by seed and by test image, with its "
                   f"95% interval; 'yes' where the change is separable from 0 after Holm's "
                   f"correction over the models of each metric. ↑ higher is better, ↓ lower."),
              changes_table(comp_old, comp_new, cards),
              Heading("Rankings"),
              Para("Each verdict job: the models no model is separably better than (the best set, "
                   "bold in each report) in both runs, and each shared model whose 95% rank "
                   "interval moved clear of its old one (the calibrated way to say the ranking "
                   "changed; a shift inside the intervals is noise). Kendall's tau compares the "
                   "two orders by mean (1: the same order)."),
              rankings_table(comp_old, comp_new, cards)]
    atomic.write_text(after / "diff.md", to_markdown(blocks, title))
    atomic.write_text(after / "diff.html", to_html(blocks, title, {}))
    return after / "diff.html"


def _flat(prefix: str, value) -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in _flat(f"{prefix}{key}.", sub).items()}
    return {prefix.rstrip("."): value}


def _fields(manifest: RunManifest) -> dict[str, object]:
    return {**_flat("", {k: v for k, v in manifest.config.items() if k not in IGNORED}),
            **_flat("environment.", manifest.environment), "models": sorted(manifest.models)}


def settings(old: RunManifest, new: RunManifest) -> list[str]:
    """'name: before -> after' for each configuration, data, environment or model-set field
    that differs (paths that only say where a run lives are left out)."""
    a, b = _fields(old), _fields(new)
    return [f"{k}: {a.get(k, '(absent)')} → {b.get(k, '(absent)')}"
            for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _identical(est) -> bool:
    return est.mean == 0 and est.seed_var == 0 and est.image_var == 0


def rankings_table(old: Comparison, new: Comparison, cards: Cards) -> Table:
    a, b = old.summary, new.summary
    rows = []
    for metric in dict.fromkeys(b["metric"]):
        if not cards.spec(metric).verdict:
            continue
        for dim in sorted(set(a[a.metric == metric].latent_dim) & set(b[b.metric == metric].latent_dim)):
            before = a[(a.metric == metric) & (a.latent_dim == dim)].set_index("model")
            after = b[(b.metric == metric) & (b.latent_dim == dim)].set_index("model")
            shared = [m for m in after.index if m in before.index]
            if len(shared) < 2:
                continue
            moved = [f"{m} {_ranks(before.loc[m])} → {_ranks(after.loc[m])}" for m in shared
                     if after.loc[m, "rank_low"] > before.loc[m, "rank_high"]
                     or after.loc[m, "rank_high"] < before.loc[m, "rank_low"]]
            tau = kendalltau(before.loc[shared, "rank"], after.loc[shared, "rank"]).statistic
            arrow = "↑" if cards.spec(metric).higher_is_better else "↓"
            rows.append([cards.spec(metric).verdict, f"{metric} {arrow}", str(dim),
                         ", ".join(before.index[before.best.astype(bool)]),
                         ", ".join(after.index[after.best.astype(bool)]),
                         f"{tau:.2f}", "; ".join(moved) or "none"])
    return Table(["job", "metric", "latent_dim", "best set before", "best set after",
                  "Kendall's tau", "rank moved clear of its interval"], rows)


def _ranks(row) -> str:
    low, high = int(row["rank_low"]), int(row["rank_high"])
    return f"{row['rank']:g} [{low}-{high}]" if low != high else f"{row['rank']:g}"


def changes_table(old: Comparison, new: Comparison, cards: Cards) -> Table:
    keys = [k for k in new.per_seed if k in old.per_seed and not cards.spec(k[2]).diagnostic]
    estimates = [paired(new.per_seed[k], old.per_seed[k]) for k in keys]
    # a change that is identically 0 (the same outcomes in both runs: a model that did not
    # change) can never be rejected, so it leaves the family: Holm stays valid, and sharper
    raw = np.array([e.p_value() if e is not None and e.testable and not _identical(e) else np.nan
                    for e in estimates])
    p = np.full(len(keys), np.nan)
    for metric in {k[2] for k in keys}:  # one family per metric, like a report's column
        rows_of = [i for i, k in enumerate(keys) if k[2] == metric]
        p[rows_of] = holm(raw[rows_of])
    rows, bold = [], []
    for (model, dim, metric), est, q in zip(keys, estimates, p):
        arrow = "↑" if cards.spec(metric).higher_is_better else "↓"
        before, after = old.per_seed[(model, dim, metric)], new.per_seed[(model, dim, metric)]
        if est is None:
            change = "no common seed"
        elif _identical(est):
            change = "0 (identical)"
        else:
            change = f"{est.mean:+.4g}"
            if est.testable:
                low, high = est.interval()
                change += f" [{low:+.4g}, {high:+.4g}]"
        separable = q < 1 - LEVEL
        rows.append([model, str(dim), f"{metric} {arrow}", f"{before.values.mean():.4g}",
                     f"{after.values.mean():.4g}", change, "yes" if separable else ""])
        bold.append([False] * 5 + [separable, separable])
    order = sorted(range(len(rows)), key=lambda i: (rows[i][6] != "yes", rows[i][0], rows[i][2]))
    return Table(["model", "latent_dim", "metric", "before", "after", "change [95% interval]",
                  "separable"], [rows[i] for i in order], [bold[i] for i in order],
                 sortable=True, id="diff")
