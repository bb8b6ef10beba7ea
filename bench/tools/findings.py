"""The README's findings, rendered from the committed reference run (reports/example), never
typed: the verdict rows the report itself computes (`bench.report.verdict.jobs`) over the
reference's summary.csv, with the run's seeds and commit.

Why a script and a test: a number typed into the README goes stale at the next run;
`tests/test_findings.py` fails whenever the README and the committed files disagree.

    python -m bench.tools.findings           # rewrite the generated blocks (README.md, docs/studies.md)
    python -m bench.tools.findings --check   # exit 1 when they are stale
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

from bench.cards import Cards
from bench.report.leaderboard import leaderboard
from bench.report.verdict import jobs
from bench.store.run_record import read_run_manifest
from bench.tools import study_findings
from bench.tools.study_findings import ROOT, shown

README = ROOT / "README.md"
FILES = [README, ROOT / "docs" / "studies.md"]  # where generated blocks live
REFERENCE = ROOT / "reports" / "example"
CALIBRATION = ROOT / "reports" / "calibration"


def findings(ref: Path = REFERENCE) -> str:
    """The reference's verdict as a Markdown table, with where it came from."""
    manifest = read_run_manifest(ref)
    cards = Cards(manifest.evaluator_cards)
    summary = pd.read_csv(ref / "summary.csv")
    board = leaderboard(summary, cards, list(manifest.models))
    baselines = {m for m, meta in manifest.models.items() if meta.get("family") == "baseline"}
    lines = ["| job | leader: mean [95% interval] | may also be the best (95%) |", "|---|---|---|"]
    lines += [f"| {r.job} (`{r.metric}`) | {r.leader}: {r.value} | {r.tells} |"
              for r in jobs(board, None, cards, baselines)]
    seeds = manifest.config["seeds"]
    return "\n".join(lines) + (
        f"\n\n{len(manifest.models)} models x {len(seeds)} seeds ({', '.join(map(str, seeds))}), "
        f"its last run_all.py invocation at commit {manifest.environment.get('git_commit')}; every figure above is "
        f"read from `{shown(ref)}/summary.csv` by `python -m bench.tools.findings`.")


def _from(path: Path, render, missing: str = "Not measured yet.") -> str:
    """`render` of the committed results file `path`, or what to say while there is none."""
    return render(json.loads(path.read_text())) if path.exists() else missing


def stability(r: dict) -> str:
    """Decision stability between two independent 5-seed runs (`bench.tools.calibration stability`)."""
    models = r.get("models", [])
    return (f"over {len(models)} models ({', '.join(models)}) and {r['metrics']} metrics, run A "
            f"(seeds {', '.join(map(str, r['seeds_a']))}) separates {r['separated_a']} of "
            f"{r['pairs']} (model pair, metric) comparisons; run B (seeds {', '.join(map(str, r['seeds_b']))}) "
            f"separates {r['confirmed']} of them the same way ({r['confirmed_share']:.0%}) and "
            f"{r['reversed']} the other way. Command: `{r['command']}`.")


def aa(r: dict) -> str:
    """The A/A test on real MNIST (`bench.tools.calibration aa`)."""
    return (f"`{r['pair'][0]}` and `{r['pair'][1]}` (the same model under two names) are separated "
            f"on {len(r['separated'])} of {r['metrics']} metrics ({r['share']:.0%}) with "
            f"{len(r['seeds'])} seeds" + (f" ({', '.join(r['separated'])})" if r["separated"] else "")
            + f". Command: `{r['command']}`.")


def simulation(path: Path = CALIBRATION / "simulation.json") -> str:
    """The simulation's worst figures (`bench.tools.calibration simulate`; the table is in
    docs/statistics.md)."""
    rows = json.loads(path.read_text())["rows"]
    cover = [r["coverage"] for r in rows]
    return (f"the intervals cover the truth {min(cover):.1%}-{max(cover):.1%} of the time and two "
            f"equal models are separated at most {max(r['false_separation'] for r in rows):.1%} "
            f"of the time ({max(r['family_wise_false_separation'] for r in rows):.1%} family-wise); "
            f"the bold set keeps a best model at least {min(r['best_kept'] for r in rows):.1%} of the time")


PERF = ROOT / "reports" / "perf"


def cost(name: str) -> str:
    """A run's wall time, from a file `bench.tools.perf_first_run --save` wrote."""
    path = PERF / f"{name}.json"
    return _from(path, lambda r: f"{r['wall_s'] / 60:.0f} minutes on {r['workers']} worker"
                                 f"{'s' if r['workers'] > 1 else ''} (`{path.relative_to(ROOT)}`, "
                                 f"commit {r['commit']})",
                 missing="not measured cleanly yet (docs/performance.md)")


STUDIES = [  # (study, its command's options, the estimate's options)
    ("tuned vs default", "--tune 8 --seeds 0,1,2 --out reports/tuned", ["--tune", "8", "--seeds", "0,1,2"]),
    ("latent size", "--latent-dim 16,32,64 --seeds 0,1,2 --out reports/latent",
     ["--seeds", "0,1,2,3,4,5"]),
    ("long budget", "--models conv_ae,conv_vae,dense_ae,vae,pca --epochs 32 --seeds 0,1,2 --out reports/long",
     ["--models", "conv_ae,conv_vae,dense_ae,vae,pca", "--epochs", "32", "--seeds", "0,1,2"]),
]


def study_costs(ref: Path = REFERENCE) -> str:
    """The #32 studies priced from the reference's own per-cell seconds (bench.tools.estimate)."""
    from bench.tools.estimate import priced

    lines = ["| study | `run_all.py` options | priced: trials + grid, core-hours | wall on 2 workers, at best |",
             "|---|---|---|---|"]
    for study, command, options in STUDIES:
        seconds = priced([str(ref), *options])
        total = seconds["trials"] + seconds["grid"]
        lines.append(f"| {study} | `{command}` | {seconds['trials'] / 3600:.1f} + {seconds['grid'] / 3600:.1f} "
                     f"| {total / 2 / 3600:.1f} h |")
    return "\n".join(lines) + (f"\n\nCommand: `python -m bench.tools.estimate {shown(ref)} OPTIONS` "
                               "with the estimate's options in `bench/tools/findings.py`. The latent sizes reuse the "
                               "reference's z32 cells (run in a copy of it): two new sizes x 3 seeds, "
                               "priced as 6 seeds of the reference's size.")


BLOCKS = {"against": lambda: cost("against"), "five_seeds": lambda: cost("five_seeds"),
          "first_run": lambda: cost("first_run"),
          "study_costs": study_costs, "tuned_summary": study_findings.tuned_summary,
          "long_summary": study_findings.long_summary, "latent_summary": study_findings.latent_summary,
          "tuned": study_findings.tuned_table, "latent": study_findings.latent_table,
          "long": study_findings.long_table,
          "findings": findings, "stability": lambda: _from(CALIBRATION / "stability.json", stability),
          "aa": lambda: _from(CALIBRATION / "aa.json", aa), "simulation": simulation}


def render(text: str) -> str:
    for name, make in BLOCKS.items():  # a block on its own lines, or inline: <!-- x -->...<!-- /x -->
        text = re.sub(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
                      lambda m: m.group(1) + make() + "\n" + m.group(2), text, flags=re.S)
        text = re.sub(rf"(<!-- {name} -->).*?(<!-- /{name} -->)",
                      lambda m: m.group(1) + make() + m.group(2), text, flags=re.S)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.findings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when a file is stale")
    args = parser.parse_args(argv)
    stale = [path for path in FILES if path.read_text() != render(path.read_text())]
    if args.check:
        for path in stale:
            print(f"{shown(path)} is stale: run `python -m bench.tools.findings`")
        return int(bool(stale))
    for path in stale:
        path.write_text(render(path.read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
