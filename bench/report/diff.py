"""What changed between two runs on the same test images: the settings and environment that
differ, and for every model, latent size and metric both runs have, the paired change (after -
before) with its 95% interval, flagged where it is separable.

Why: after changing a model or a setting, "is it better?" is a paired question. The two runs
share the test images and (usually) the seeds, so the change is computed like a tie in one
report: per seed and per image (`bench.report.comparison.paired`), Holm-corrected over the
models of each metric, as a report's column is. Both runs are read over the seeds and the models
they share, so their rankings have the same power and the same rivals (a 5-seed, 13-model
reference against a 3-seed, 5-model run ranks 5 models on 3 seeds in both).

    python run_all.py --report-only --out reports/after --diff reports/before
    # -> reports/after/diff.md, diff.html, and diff.json (the rankings, for scripts)
"""
from __future__ import annotations

import json
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


def common_seeds(old: RunManifest, new: RunManifest) -> list[int]:
    return sorted(set(old.config.get("seeds", [])) & set(new.config.get("seeds", [])))


def build_diff(before: Path, after: Path, into: Path | None = None) -> Path:
    """Write diff.md, diff.html and diff.json into `into` (by default `after`, and named as it
    is: a study published without its per-image outcomes keeps the diff computed from them);
    returns the HTML's path."""
    before, after = Path(before), Path(after)
    into = Path(into or after)
    old, new = check_diff(before, after)
    seeds, models = common_seeds(old, new), set(old.models) & set(new.models)

    def keep(cell) -> bool:
        return cell.cfg.model in models and (not seeds or cell.cfg.seed in seeds)
    (comp_old, _), (comp_new, cards) = compare_run(before, old, keep), compare_run(after, new, keep)
    rankings = ranking_changes(comp_old, comp_new, cards)
    title = f"aebench diff: {before.name} → {into.name}"
    blocks = [Heading("What differs"), Bullets(settings(old, new) or
                                               ["Nothing in the configuration or the environment."]),
              Para((f"Both runs are read over the seeds they share ({', '.join(map(str, seeds))})"
                    if seeds else "The runs share no seed: each is read over all of its own")
                   + f" and over the {len(models)} models they share, so ranks compare like with like."),
              Heading("Paired changes"),
              Para(f"Each row: a model, latent size and metric both runs have; the change is "
                   f"{into.name} minus {before.name}, paired by seed and by test image, with its "
                   f"95% interval; 'yes' where the change is separable from 0 after Holm's "
                   f"correction over the models of each metric. ↑ higher is better, ↓ lower."),
              changes_table(comp_old, comp_new, cards),
              Heading("Rankings"),
              Para("Each verdict job: the best set (bold in each report: the models that may be the "
                   "best, a 95% confidence set) in both runs, and each shared model whose 95% rank "
                   "interval moved clear of its old one (the calibrated way to say the ranking "
                   "changed; a shift inside the intervals is noise). Kendall's tau compares the "
                   "two orders by mean (1: the same order)."),
              rankings_table(rankings)]
    atomic.write_text(into / "diff.md", to_markdown(blocks, title))
    atomic.write_text(into / "diff.html", to_html(blocks, title, {}))
    atomic.write_text(into / "diff.json", json.dumps({
        "before": _run(before, old), "after": _run(into, new), "seeds": seeds,
        "rankings": rankings}, indent=1) + "\n")
    return into / "diff.html"


def _run(path: Path, manifest: RunManifest) -> dict:
    return {"name": path.name, "commit": manifest.environment.get("git_commit"),
            "seeds": manifest.config.get("seeds"), "models": sorted(manifest.models),
            "epochs": manifest.config.get("train", {}).get("epochs")}


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


def ranking_changes(old: Comparison, new: Comparison, cards: Cards) -> list[dict]:
    """Per verdict job and latent size both runs rank: the leaders by mean, the best sets,
    Kendall's tau between the orders, and the shared models whose rank interval moved clear of
    its old one."""
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
            moved = [{"model": m, "before": _ranks(before.loc[m]), "after": _ranks(after.loc[m]),
                      "way": "rose" if after.loc[m, "rank_high"] < before.loc[m, "rank_low"] else "fell"}
                     for m in shared if after.loc[m, "rank_low"] > before.loc[m, "rank_high"]
                     or after.loc[m, "rank_high"] < before.loc[m, "rank_low"]]
            rows.append({"job": cards.spec(metric).verdict, "metric": metric, "latent_dim": int(dim),
                         "higher_is_better": bool(cards.spec(metric).higher_is_better),
                         "leaders": [before.loc[shared, "rank"].idxmin(), after.loc[shared, "rank"].idxmin()],
                         "best_before": list(before.index[before.best.astype(bool)]),
                         "best_after": list(after.index[after.best.astype(bool)]),
                         "tau": _or_none(kendalltau(before.loc[shared, "rank"], after.loc[shared, "rank"]).statistic),
                         "ranks": {m: [_ranks(before.loc[m]), _ranks(after.loc[m])] for m in shared},
                         "moved": moved})
    return rows


def _or_none(x: float) -> float | None:
    return None if np.isnan(x) else float(x)  # tau of a constant order: undefined, and JSON has no NaN


def rankings_table(rankings: list[dict]) -> Table:
    rows = [[r["job"], f"{r['metric']} {'↑' if r['higher_is_better'] else '↓'}", str(r["latent_dim"]),
             ", ".join(r["best_before"]), ", ".join(r["best_after"]), "n/a" if r["tau"] is None else f"{r['tau']:.2f}",
             "; ".join(f"{m['model']} {m['before']} → {m['after']}" for m in r["moved"]) or "none"]
            for r in rankings]
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
