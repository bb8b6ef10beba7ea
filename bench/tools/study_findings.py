"""The findings of #32's three studies, rendered from their committed results (never typed):
tuned vs default and the long budget from the diff against the reference (`diff.json`, both
runs read over their shared seeds and models), the latent sizes from their own summary.csv,
and whether the long budget's curves have flattened from its cells' checkpoints.

Why here and not in the reports: the reports say what one run found; these blocks say what the
README and docs/studies.md claim about a study, and `tests/test_findings.py` fails when a claim
and its file disagree. Each returns "Not run yet" until its study is committed.
"""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from bench.cards import Cards
from bench.config import DEFAULT_LATENT_DIM
from bench.report.diff import ranking_changes
from bench.store.run_record import read_run_manifest, run_cells

ROOT = Path(__file__).resolve().parents[2]
TUNED, LATENT, LONG = (ROOT / "reports" / name for name in ("tuned", "latent", "long"))
LEVEL = 0.95


def shown(path: Path) -> str:
    """`path` as the docs name it: relative to the repository when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _with_diff(study: Path, render, missing: str = "Not run yet.") -> str:
    """`render(diff, run)` of the study's diff against the reference and its run record, or
    what to say before the study is committed."""
    if not (study / "diff.json").exists():
        return missing
    return render(json.loads((study / "diff.json").read_text()), json.loads((study / "run.json").read_text()))


def _names(models: list[str]) -> str:
    return ", ".join(models) or "none"


def rankings_table(diff: dict, before: str, after: str) -> list[str]:
    """Per verdict job: the best sets in both runs, Kendall's tau, the ranks that moved."""
    lines = [f"| job | best set, {before} | best set, {after} | Kendall's tau | rank moved clear of its interval |",
             "|---|---|---|---|---|"]
    return lines + [f"| {r['job']} (`{r['metric']}`) | {_names(r['best_before'])} | {_names(r['best_after'])} "
                    f"| {'n/a' if r['tau'] is None else format(r['tau'], '.2f')} | "
                    + ("; ".join(f"{m['model']} {m['before']} → {m['after']}" for m in r["moved"]) or "none") + " |"
                    for r in diff["rankings"]]


def _moves_by_model(moved: list[dict]) -> str:
    """'beta_vae rose (job, job); denoising_ae fell (job)': who moved clear, which way, where."""
    by_model: dict[tuple[str, str], list[str]] = {}
    for r in moved:
        for m in r["moved"]:
            by_model.setdefault((m["model"], m["way"]), []).append(r["job"])
    return "; ".join(f"{model} {way} ({', '.join(jobs)})" for (model, way), jobs in by_model.items())


def survival(diff: dict, same_as: str = "", brief: bool = False) -> str:
    """What survives, the calibrated claim first: the jobs where a rank moved clear of its 95%
    interval (elsewhere the orders differ only within the noise), then the leaders by mean, and
    unless `brief` the orders' similarity and the best sets (with 3 seeds wide: the set holds
    every model that may be the best, at 95% confidence)."""
    rows = diff["rankings"]
    moved = [r for r in rows if r["moved"]]
    changed = [r for r in rows if r["leaders"][0] != r["leaders"][1]]
    same = [r["job"] for r in rows if set(r["best_before"]) == set(r["best_after"])]
    taus = [r["tau"] for r in rows if r["tau"] is not None]
    detail = _moves_by_model(moved) if brief else "; ".join(
        f"{r['job']}: " + ", ".join(f"{m['model']} {m['before']} → {m['after']}" for m in r["moved"]) for r in moved)
    text = (f"a rank moved clear of its 95% interval on {len(moved)} of {len(rows)} verdict jobs"
            + (f" ({detail}), on the others every rank stayed within the noise" if moved else "")
            + f"; the leader by mean is the same{same_as} on {len(rows) - len(changed)} of {len(rows)}"
            + (" (" + "; ".join(f"{r['job']}: {r['leaders'][0]} → {r['leaders'][1]}" for r in changed) + ")"
               if changed else ""))
    if brief:
        return text
    return (text + (f"; Kendall's tau between the orders is {min(taus):.2f} to {max(taus):.2f}" if taus else "")
            + f"; the best set is the same on {len(same)} of {len(rows)}")


def _provenance(study: Path, diff: dict, options: str) -> str:
    return (f"{shown(study)}: `python run_all.py {options}` at commit {diff['after']['commit']}, compared "
            f"with {diff['before']['name']} (commit {diff['before']['commit']}) over seeds "
            f"{', '.join(map(str, diff['seeds']))} by `python -m bench.tools.publish_reference DIR {shown(study)} "
            f"--study --diff reports/{diff['before']['name']}`; read from `{shown(study)}/diff.json` by "
            "`python -m bench.tools.findings`.")


def _tuned_sentence(diff: dict, run: dict, brief: bool = False) -> str:
    tuning = run["tuning"]
    kept = [e["model"] for e in tuning["models"] if e["trials"][e["selected"]]["default"]]
    return (f"with {tuning['trials']} trials per model selected by {tuning['metric']} "
            f"({tuning['criterion_text']}) and seeds {', '.join(map(str, diff['seeds']))}, "
            + survival(diff, " as untuned", brief)
            + f"; {len(kept)} of {len(tuning['models'])} models kept their defaults"
            + (f" ({', '.join(kept)})" if kept else "") + ".")


def tuned_summary(study: Path = TUNED) -> str:
    """One paragraph: whether the headline rankings survive an equal tuning budget."""
    return _with_diff(study, lambda diff, run: _tuned_sentence(diff, run, brief=True),
                      missing="Not run yet: its command and price are in docs/studies.md.")


def tuned_table(study: Path = TUNED) -> str:
    def render(diff: dict, run: dict) -> str:
        config = run["config"]
        options = f"--tune {config['tune']} --seeds {','.join(map(str, config['seeds']))}"
        summary = _tuned_sentence(diff, run)
        return "\n".join(rankings_table(diff, "default configurations", "tuned")) + (
            f"\n\n{_provenance(study, diff, options)} {summary[0].upper()}{summary[1:]}\n\n"
            f"The selected configurations (default → selected):\n\n" + "\n".join(selected(run["tuning"])))

    return _with_diff(study, render)


def selected(tuning: dict) -> list[str]:
    """Per tuned model, each knob's default and selected value: which way the selection pushed."""
    lines = []
    for entry in tuning["models"]:
        default = next(t["values"] for t in entry["trials"] if t["default"])
        chosen = entry["trials"][entry["selected"]]["values"]
        lines.append(f"- {entry['model']}: " + ("its default" if chosen == default else ", ".join(
            f"{knob} {default[knob]:.3g} → {value:.3g}" for knob, value in sorted(chosen.items()))))
    return lines


def _latent_study(study: Path) -> tuple:
    """The latent study's run record, evaluator cards and summary, read once."""
    manifest = read_run_manifest(study)
    return manifest, Cards(manifest.evaluator_cards), pd.read_csv(study / "summary.csv")


def latent_changes(cards: Cards, summary: pd.DataFrame) -> dict[int, list[dict]]:
    """Per latent size other than the default's, the ranking changes from the default size to
    it, as the diff page computes them between two runs (leaders, best sets, ranks whose 95%
    interval moved clear of the old one): a size changes a conclusion only where the calibrated
    ranks say so, not where two best sets merely differ."""
    def at(dim: int) -> SimpleNamespace:  # one size's rows, labelled as the default size to pair them
        return SimpleNamespace(summary=summary[summary.latent_dim == dim].assign(latent_dim=DEFAULT_LATENT_DIM))
    return {int(dim): ranking_changes(at(DEFAULT_LATENT_DIM), at(dim), cards)
            for dim in sorted(summary.latent_dim.unique()) if dim != DEFAULT_LATENT_DIM}


def latent_summary(study: Path = LATENT) -> str:
    """One paragraph: which of the default size's conclusions change at the other sizes."""
    if not (study / "summary.csv").exists():
        return "Not run yet: its command and price are in docs/studies.md."
    manifest, cards, summary = _latent_study(study)
    seeds = ", ".join(map(str, manifest.config["seeds"]))
    return f"with seeds {seeds}, " + _latent_sentence(latent_changes(cards, summary))


def _latent_sentence(changes: dict[int, list[dict]]) -> str:
    return "; ".join(f"from z{DEFAULT_LATENT_DIM} to z{dim}, " + survival({"rankings": rows}, brief=True)
                     for dim, rows in changes.items()) + "."


def latent_table(study: Path = LATENT) -> str:
    """Per verdict job, the best set at each latent size, the ranks that moved clear of their
    interval at the default size, and whether one model is among the best at every size (the
    conclusion does not depend on the size) or none is."""
    if not (study / "summary.csv").exists():
        return "Not run yet."
    manifest, cards, summary = _latent_study(study)
    dims = sorted(summary["latent_dim"].unique())
    changes = latent_changes(cards, summary)
    lines = ["| job | " + " | ".join(f"best set, z{d}" for d in dims)
             + f" | rank moved clear of its z{DEFAULT_LATENT_DIM} interval | among the best at every size |",
             "|---|" + "---|" * len(dims) + "---|---|"]
    for metric in dict.fromkeys(summary["metric"]):
        if not cards.spec(metric).verdict:
            continue
        column = summary[summary["metric"] == metric]
        best = [list(column[(column.latent_dim == d) & column.best.astype(bool)]["model"]) for d in dims]
        steady = set.intersection(*map(set, best)) if best else set()
        moved = [f"{m['model']} {m['before']} → {m['after']} (z{dim})" for dim, rows in changes.items()
                 for r in rows if r["metric"] == metric for m in r["moved"]]
        lines.append(f"| {cards.spec(metric).verdict} (`{metric}`) | " + " | ".join(map(_names, best))
                     + f" | {'; '.join(moved) or 'none'}"
                     + f" | {_names(sorted(steady)) if steady else 'nobody: the winner depends on the size'} |")
    seeds, sentence = manifest.config["seeds"], _latent_sentence(changes)
    return "\n".join(lines) + (
        f"\n\n{shown(study)}: `python run_all.py --latent-dim {','.join(map(str, dims))} --seeds "
        f"{','.join(map(str, seeds))}` at commit {manifest.environment.get('git_commit')}; read from "
        f"`{shown(study)}/summary.csv` by `python -m bench.tools.findings`. "
        + sentence[0].upper() + sentence[1:])


def last_doubling(study: Path, metrics: tuple[str, ...] = ("recon_mse", "probe_acc", "knn_acc", "kmeans_acc")
                  ) -> dict[str, tuple[tuple[int, int], list[tuple[str, float, float, bool]]]]:
    """Per model: its last two checkpoint epochs and, per cheap metric, the change over them
    (mean over seeds, half its Student-t 95% interval, and whether the interval lies on the
    better side of 0: still improving, else flat within what the seeds can tell)."""
    manifest = read_run_manifest(study)
    cards = Cards(manifest.evaluator_cards)
    changes: dict[tuple[str, str], list[float]] = {}
    epochs: dict[str, tuple[int, int]] = {}
    for cell in run_cells(study, manifest):
        points = cell.checkpoints().get("points", [])
        if len(points) < 2:
            continue
        last, before = points[-1], points[-2]
        epochs[cell.cfg.model] = (before["epoch"], last["epoch"])
        for metric in metrics:
            if metric in last["metrics"] and metric in before["metrics"]:
                changes.setdefault((cell.cfg.model, metric), []).append(
                    last["metrics"][metric] - before["metrics"][metric])
    found = {}
    for model in dict.fromkeys(m for m, _ in changes):
        rows = []
        for metric in metrics:
            values = np.array(changes.get((model, metric), []))
            if len(values) < 2:
                continue
            half = stats.t.ppf(0.5 + LEVEL / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
            better = values.mean() - half > 0 if cards.spec(metric).higher_is_better else values.mean() + half < 0
            rows.append((metric, float(values.mean()), float(half), bool(better)))
        found[model] = (epochs[model], rows)
    return found


def still_improving(study: Path) -> list[str]:
    return [f"- {model}, epoch {start} → {end}: " + ", ".join(
                f"`{metric}` {mean:+.3g} ± {half:.2g}" + (" (still improving)" if better else "")
                for metric, mean, half, better in rows)
            for model, ((start, end), rows) in last_doubling(study).items()]


def long_summary(study: Path = LONG) -> str:
    """One paragraph: which 8-epoch conclusions survive the long budget, and who still improves."""
    def render(diff: dict, run: dict) -> str:
        improving = [model for model, (_, rows) in last_doubling(study).items() if any(r[3] for r in rows)]
        return (f"from {diff['before']['epochs']} to {run['config']['train']['epochs']} epochs with seeds "
                f"{', '.join(map(str, diff['seeds']))}, {survival(diff, brief=True)}; still improving over "
                f"the last doubling of epochs: {_names(improving)}.")
    return _with_diff(study, render, missing="Not run yet: its command and price are in docs/studies.md.")


def long_table(study: Path = LONG) -> str:
    def render(diff: dict, run: dict) -> str:
        config = run["config"]
        epochs, start = config["train"]["epochs"], diff["before"]["epochs"]
        options = (f"--models {','.join(sorted(run['models']))} --epochs {epochs} "
                   f"--seeds {','.join(map(str, config['seeds']))}")
        return "\n".join(rankings_table(diff, f"{start} epochs", f"{epochs} epochs")) + (
            f"\n\n{_provenance(study, diff, options)} From {start} to {epochs} epochs {survival(diff)}.\n\n"
            f"Over the last doubling of epochs (checkpoints; mean over {len(config['seeds'])} seeds ± half "
            "its 95% Student-t interval; \"still improving\" where the interval excludes no change):\n\n"
            + "\n".join(still_improving(study)))
    return _with_diff(study, render)
