"""Is a 95% interval a 95% interval, and is "separably better" wrong at most 5% of the time?

Why a tool: a benchmark's statistics are claims too. This checks the report's own code
(`bench.report.intervals` for the images, `bench.report.seed_stats` for the seeds and Holm)
on data whose truth is known, and on an A/A pair of real models that are the same model:

    python -m bench.tools.calibration simulate [--reps 1000]   # synthetic outcomes, S = 3, 5, 10
    python -m bench.tools.calibration aa reports/aa            # a results directory with an A/A pair
    python -m bench.tools.calibration stability RUN_A RUN_B    # two runs with other seeds

Simulation: per-image outcomes y[m, s, i] = mu_m + u[m, s] + e[i] + eps[m, s, i], where the
test images are a fresh sample each repetition (e: image difficulty shared by every model and
seed; eps: how a model's seed does on that image), u is the seed's effect (training and the
evaluators' randomness) and mu_m the truth. It reports how often the interval of a model covers
mu_m, how often two equal models are separated (one comparison), how often any of 10 pairs of
5 equal models is separated after Holm's correction (family-wise), and how often the bold set
keeps model 0 ("best kept"): with every model equal, each is a best model, and this is the least
favourable case for a set that must hold the best with 95% confidence.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bench.report.comparison import beaten_by_a_better
from bench.report.intervals import Resampler
from bench.report.seed_stats import LEVEL, estimate, holm

SEED_COUNTS = (3, 5, 10)
# the seeds' share of a model's variance, from image-dominated to seed-dominated (the image
# noise per image is 0.1, shared and own, over 1,000 images)
SEED_SDS = (0.003, 0.01, 0.03)


def simulate(n_seeds: int, reps: int, n_images: int = 1_000, models: int = 5, seed_sd: float = 0.01,
             image_sd: float = 0.1, shared_sd: float = 0.1, rng_seed: int = 0) -> dict:
    """Coverage and false separations of the report's procedure on `models` equal models."""
    rng = np.random.default_rng([rng_seed, n_seeds])
    plan = Resampler()
    covered, pair_false, family_false, best_kept = 0, 0, 0, 0
    pairs = [(i, j) for i in range(models) for j in range(i + 1, models)]
    for _ in range(reps):
        shared = rng.normal(0, shared_sd, n_images)                      # the test sample
        per_model = []
        for _m in range(models):
            u = rng.normal(0, seed_sd, n_seeds)
            y = u[:, None] + shared[None] + rng.normal(0, image_sd, (n_seeds, n_images))
            values = y.mean(axis=1)
            images = np.stack([plan.seed_replicates("mean", {"values": row, "value": row.mean()})
                               for row in y], axis=1)
            per_model.append((values, images))
        low, high = estimate(*per_model[0]).interval()
        covered += low <= 0.0 <= high                                   # every mu_m is 0
        p = [estimate(per_model[i][0] - per_model[j][0], per_model[i][1] - per_model[j][1]).p_value()
             for i, j in pairs]
        pair_false += p[0] < 1 - LEVEL
        family_false += bool((holm(p) < 1 - LEVEL).any())
        best_kept += not beaten_by_a_better(np.array([v.mean() for v, _ in per_model]), dict(zip(pairs, p)))[0]
    return {"seeds": n_seeds, "reps": reps, "coverage": float(covered) / reps,
            "false_separation": pair_false / reps, "family_wise_false_separation": family_false / reps,
            "best_kept": best_kept / reps}


def _comparison(out: Path, seeds: list[int] | None = None, models: set[str] | None = None,
                one_layout: bool = False):
    """The report's comparison of results directory `out` (only `seeds` and `models`, when
    given), and its non-diagnostic metrics; with `one_layout`, as if `umap_cluster` had fitted
    one UMAP layout per cell instead of its three (`first_layout_only`)."""
    from bench.report.comparison import compare_run

    comp, cards = compare_run(out, keep=lambda c: (seeds is None or c.cfg.seed in seeds)
                              and (models is None or c.cfg.model in models),
                              adjust=first_layout_only if one_layout else None)
    metrics = sorted(m for m in set(comp.results["metric"]) if not cards.spec(m).diagnostic)
    return comp, metrics


def first_layout_only(cells: list, results):
    """#31's question, answered from stored outcomes without recomputing: would one UMAP layout
    per cell (a third of `umap_cluster`'s cost) keep the calibration? Each cell keeps the first
    of its stored layouts (its own seed), and its umap_cluster scores are recomputed from it."""
    from sklearn.metrics import normalized_mutual_info_score

    from bench.evaluators._cluster_metrics import matched_accuracy

    score = {"umap_cluster_acc": matched_accuracy, "umap_cluster_nmi": normalized_mutual_info_score}
    values = {}
    for cell in cells:
        stored, arrays = cell.outcomes, cell.outcomes("umap_cluster")
        if arrays is None:
            continue
        first = {k: np.atleast_2d(v)[:1] if k in score else v for k, v in arrays.items()}
        cell.outcomes = lambda name, stored=stored, first=first: first if name == "umap_cluster" else stored(name)
        for metric, fn in score.items():
            values[cell.cfg.model, cell.cfg.latent_dim, cell.cfg.seed, metric] = float(
                fn(first["labels"], first[metric][0]))
    keys = list(zip(results["model"], results["latent_dim"], results["seed"], results["metric"]))
    results = results.assign(value=[values.get(k, v) for k, v in zip(keys, results["value"])])
    return results[results["metric"] != "umap_cluster_acc_seed_sd"].reset_index(drop=True)


def aa_separations(out: Path, a: str, b: str, seeds: list[int] | None = None, one_layout: bool = False) -> dict:
    """How many of the pair's metrics the report separates, from a results directory."""
    comp, metrics = _comparison(out, seeds, one_layout=one_layout)
    dims = sorted({int(d) for d in comp.summary["latent_dim"]})
    separated = [m for m in metrics for d in dims if comp.is_separated(a, b, d, m)]
    return {"pair": [a, b], "seeds": comp.seeds, "metrics": len(metrics) * len(dims),
            "separated": separated, "share": len(separated) / max(1, len(metrics) * len(dims))}


def _means(comp) -> dict[tuple[str, int, str], float]:
    return {(r.model, int(r.latent_dim), r.metric): r.mean for r in comp.summary.itertuples()}


def stability(run_a: Path, run_b: Path, one_layout: bool = False) -> dict:
    """Decision stability: of the model pairs run A separates (per metric), how many run B,
    made with other seeds, separates the same way, and how many it separates the other way."""
    models = _finished_models(run_a, run_b)
    (comp_a, metrics), (comp_b, _) = (_comparison(run, models=models, one_layout=one_layout) for run in (run_a, run_b))
    return {**decision_stability(comp_a, comp_b, metrics), "models": sorted(models)}


def _evaluations(out: Path) -> dict[str, list[int]]:
    """Per model, how many evaluation records each of its cells has."""
    from bench.store.run_record import read_run_manifest, run_cells

    counts: dict[str, list[int]] = {}
    for cell in run_cells(out, read_run_manifest(out)):
        counts.setdefault(cell.cfg.model, []).append(len(cell.evals()))
    return counts


def _finished_models(run_a: Path, run_b: Path) -> set[str]:
    """Models whose every cell has every evaluation in both runs (run B may still be going):
    as many records as the model's cells have in the finished run A."""
    a, b = _evaluations(run_a), _evaluations(run_b)
    return {m for m in a.keys() & b.keys() if min(b[m]) == max(a[m]) and min(a[m]) == max(a[m])}


def decision_stability(comp_a, comp_b, metrics: list[str]) -> dict:
    """`stability` on two comparisons (their summaries and Holm-separated pairs)."""
    mean, mean_b = _means(comp_a), _means(comp_b)
    pairs = separated = confirmed = reversed_ = 0
    for (dim, metric), found in comp_a.separated.items():
        if metric not in metrics:
            continue
        models = sorted({m for (m, d, k) in mean if d == dim and k == metric and (m, d, k) in mean_b})
        pairs += len(models) * (len(models) - 1) // 2
        for pair in found:
            a, b = sorted(pair)
            if (a, dim, metric) not in mean_b or (b, dim, metric) not in mean_b:
                continue
            separated += 1
            same_way = (mean[a, dim, metric] > mean[b, dim, metric]) == (mean_b[a, dim, metric] > mean_b[b, dim, metric])
            if comp_b.is_separated(a, b, dim, metric):
                confirmed += same_way
                reversed_ += not same_way
    return {"seeds_a": comp_a.seeds, "seeds_b": comp_b.seeds, "metrics": len(metrics), "pairs": pairs,
            "separated_a": separated, "confirmed": confirmed, "reversed": reversed_,
            "confirmed_share": confirmed / max(1, separated)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tools.calibration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate")
    sim.add_argument("--reps", type=int, default=1_000)
    sim.add_argument("--json", type=Path, help="also write the figures here")
    aa = sub.add_parser("aa")
    aa.add_argument("out", type=Path)
    aa.add_argument("--pair", default="dense_ae,dense_ae_twin")
    aa.add_argument("--seeds", help="only these seeds of the run, e.g. 0,1,2")
    aa.add_argument("--json", type=Path)
    aa.add_argument("--one-layout", action="store_true", help="as if umap_cluster fitted one UMAP layout per cell")
    stable = sub.add_parser("stability")
    stable.add_argument("run_a", type=Path)
    stable.add_argument("run_b", type=Path)
    stable.add_argument("--json", type=Path)
    stable.add_argument("--one-layout", action="store_true", help="as if umap_cluster fitted one UMAP layout per cell")
    args = parser.parse_args(argv)
    if args.command == "simulate":
        rows = [{"seed_sd": sd, **simulate(s, args.reps, seed_sd=sd)} for sd in SEED_SDS
                for s in SEED_COUNTS]
        print(f"{'seed sd':>7} {'seeds':>5} {'coverage':>9} {'false sep.':>11} {'family-wise':>12}"
              f" {'best kept':>10}   ({args.reps} runs each)")
        for r in rows:
            print(f"{r['seed_sd']:>7} {r['seeds']:>5} {r['coverage']:>9.3f} {r['false_separation']:>11.3f} "
                  f"{r['family_wise_false_separation']:>12.3f} {r['best_kept']:>10.3f}")
        result = {"command": f"python -m bench.tools.calibration simulate --reps {args.reps} "
                             f"--json {args.json}", "rows": rows}
    elif args.command == "stability":
        result = stability(args.run_a, args.run_b, args.one_layout)
        result["command"] = (f"python -m bench.tools.calibration stability {args.run_a} {args.run_b}"
                             + " --one-layout" * args.one_layout)
        print(f"run A (seeds {result['seeds_a']}) separates {result['separated_a']} of {result['pairs']} "
              f"pairs; run B (seeds {result['seeds_b']}) confirms {result['confirmed']} "
              f"({result['confirmed_share']:.1%}) and reverses {result['reversed']}")
    else:
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
        result = aa_separations(args.out, *args.pair.split(","), seeds=seeds, one_layout=args.one_layout)
        result["command"] = (f"python -m bench.tools.calibration aa {args.out} --pair {args.pair}"
                             + (f" --seeds {args.seeds}" if args.seeds else "") + " --one-layout" * args.one_layout)
        print(f"A/A pair {' vs '.join(result['pair'])}, seeds {result['seeds']}: separated on "
              f"{len(result['separated'])} of {result['metrics']} metrics ({result['share']:.1%})"
              + (f": {', '.join(result['separated'])}" if result["separated"] else ""))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
